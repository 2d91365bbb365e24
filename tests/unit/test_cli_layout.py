"""The CLI's tables at a given width: identifiers whole on one line, as a table when they fit, else as records."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from tablesafe_cli.layout import Column, fits, print_table
from tests.integration.cli_support import cut_identifiers

ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders-restored-2026-11-27-a/backup/01732681234567-1a2b3c4d"
COLUMNS = (Column("name", identifier=True), Column("status"), Column("detail"), Column("ARN", identifier=True))


def render(width: int, rows: list[list[str]]) -> str:
    screen = io.StringIO()
    print_table(Console(file=screen, width=width, color_system=None), "backups of orders", COLUMNS, rows)
    return screen.getvalue()


def test_identifiers_that_fit_make_a_table_whose_other_columns_wrap():
    rows = [["orders-a", "AVAILABLE", "a long detail that has to wrap over several lines at this width", "arn:x:1"]]
    out = render(60, rows)
    assert max(len(line.rstrip()) for line in out.splitlines()) <= 60
    assert "name" in out.splitlines()[1] and not cut_identifiers(out, ["orders-a", "arn:x:1"])
    assert len(out.splitlines()) > 4  # the detail wrapped


@pytest.mark.parametrize("width", [40, 80, 120])
def test_identifiers_too_wide_for_the_terminal_are_printed_whole_as_records(width):
    rows = [["tablesafe.daily.daily.20261127T0300Z", "AVAILABLE", "a detail", ARN]]
    out = render(width, rows)
    assert not cut_identifiers(out, ["tablesafe.daily.daily.20261127T0300Z", ARN]), out
    assert "status: AVAILABLE; detail: a detail" in " ".join(out.split())


def test_a_record_breaks_its_details_between_fields_not_inside_one():
    rows = [[ARN, "AVAILABLE", "x" * 30, ""]]
    out = render(50, rows)
    assert "    status: AVAILABLE\n    detail: " + "x" * 30 in out


def test_fits_counts_identifiers_whole_and_the_other_columns_at_their_narrowest():
    columns = (Column("name", identifier=True), Column("long header"))
    assert fits(30, columns, [["n" * 20, "words " * 10]])  # 20 + 2 + 8
    assert not fits(29, columns, [["n" * 20, "words " * 10]])
