"""Discovery read ahead: the same pages in order, an error where it happened, and read without being pulled."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tablesafe.backup.read_ahead import read_ahead


def test_the_pages_come_in_order_and_all_of_them():
    assert list(read_ahead(iter([["a", "b"], ["c"], []]))) == [["a", "b"], ["c"], []]


def test_an_error_of_the_source_is_raised_after_the_pages_before_it():
    def pages() -> Iterator[list[str]]:
        yield ["a"]
        raise RuntimeError("GetResources refused")

    got = read_ahead(pages())
    assert next(got) == ["a"]
    with pytest.raises(RuntimeError, match="GetResources refused"):
        next(got)


def test_every_page_is_read_while_the_consumer_has_taken_only_the_first():
    done = threading.Event()

    def pages() -> Iterator[list[str]]:
        yield from ([f"t{i}"] for i in range(50))
        done.set()

    got = read_ahead(pages())
    assert next(got) == ["t0"]
    assert done.wait(timeout=10), "the pages after the first were not read until pulled"
    assert len(list(got)) == 49
