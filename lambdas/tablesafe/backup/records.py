"""A table's result into the report and the log, and what a table still deferred at the end amounts to."""

from __future__ import annotations

from typing import Any

from tablesafe.backup.report import BackupReport, Deferral, Outcome, TableResult
from tablesafe.observability import logger


def record(report: BackupReport, result: TableResult) -> None:
    """Add `result` to the report with its log line (an error for a failure, a warning for a skip)."""
    report.results.append(result)
    fields: dict[str, Any] = {
        "table": result.table,
        "outcome": result.outcome.value,
        "detail": result.detail,
        "backup_name": report.backup_name,
        "backup_arn": result.backup_arn,
    }
    if result.outcome is Outcome.FAILED:
        logger.error("table backup failed", **fields)
    elif result.outcome is Outcome.SKIPPED:
        logger.warning("table skipped", **fields)
    else:
        logger.info("table backed up", **fields)


def final_verdict(deferred: TableResult) -> TableResult:
    """What a table still deferred at the end of the run amounts to."""
    if deferred.deferral is Deferral.TABLE_CREATING:
        return TableResult(deferred.table, Outcome.SKIPPED, "table is still being created; the next slot backs it up")
    if deferred.deferral is Deferral.TABLE_UPDATING:
        return TableResult(deferred.table, Outcome.FAILED, f"{deferred.detail} for the whole run; no backup")
    return TableResult(
        deferred.table,
        Outcome.FAILED,
        f"another backup of this table stayed in progress for the whole run ({deferred.detail}); no backup",
    )
