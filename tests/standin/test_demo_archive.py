"""`make demo`'s archive part: a monthly export rule run by the synthesized function, and an item recovered."""

from __future__ import annotations

import io

from rich.console import Console

from tools.demo_archive import run_archive_demo


def test_the_monthly_archive_exports_each_slot_once_and_gives_back_a_deleted_entry(standin) -> None:
    out = io.StringIO()

    account = run_archive_demo(Console(file=out, width=120), standin=standin)

    assert account.problems == [], out.getvalue()
    text = " ".join(out.getvalue().split())
    assert "1 export started, the duplicate delivery found 1 already there" in text
    assert "ExportsCompleted 1" in text
    assert "20260901T0400Z, 20261001T0400Z, 20261101T0400Z" in text
    assert "the entry is back as the November export held it" in text
