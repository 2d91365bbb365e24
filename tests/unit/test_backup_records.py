"""What a table still deferred at the end of a run amounts to, decided by why it was deferred (not by its text)."""

from __future__ import annotations

from tablesafe.backup.records import final_verdict
from tablesafe.backup.report import Deferral, Outcome, TableResult


def deferred(deferral: Deferral, detail: str) -> TableResult:
    return TableResult("orders", Outcome.DEFERRED, detail, deferral=deferral)


def test_a_table_still_being_created_is_skipped_for_the_next_slot():
    verdict = final_verdict(deferred(Deferral.TABLE_CREATING, "any words at all"))
    assert verdict.outcome is Outcome.SKIPPED
    assert "next slot" in verdict.detail


def test_a_table_updating_for_the_whole_run_fails():
    verdict = final_verdict(deferred(Deferral.TABLE_UPDATING, "table is UPDATING"))
    assert verdict.outcome is Outcome.FAILED
    assert verdict.detail == "table is UPDATING for the whole run; no backup"


def test_a_backup_in_progress_for_the_whole_run_fails_even_if_its_message_reads_like_a_table_state():
    # AWS's message text is not ours to parse: "table is CREATING" from BackupInUse is still a backup in progress.
    verdict = final_verdict(deferred(Deferral.BACKUP_IN_USE, "table is CREATING"))
    assert verdict.outcome is Outcome.FAILED
    assert "another backup of this table stayed in progress" in verdict.detail
