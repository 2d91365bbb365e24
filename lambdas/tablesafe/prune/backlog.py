"""The expired backlog at the end of a run: backups the rules delete that are still stored, and days to clear them.

A run that reaches the cutoff leaves behind only what could not be deleted (in use, failed), carried from
invocation to invocation in the continuation event. A run that stops before the cutoff (the continuation limit, or
no continuation to hand to) also leaves the part beyond its cursor, which it has not listed: that part is counted
at the density of deletions the last invocation found per second of creation time (an estimate, flagged as one).
The days to clear are the backlog over what the whole run deleted, the prune running once a day.
"""

from __future__ import annotations

from datetime import datetime

from tablesafe.observability import logger
from tablesafe.prune.report import Outcome, PruneReport, PruneRequest

DECIDED = (Outcome.DELETED, Outcome.ALREADY_GONE, Outcome.WOULD_DELETE, Outcome.IN_USE, Outcome.FAILED)


def settle_backlog(report: PruneReport, request: PruneRequest, cutoff: datetime) -> None:
    """Set the report's backlog figures; call it on the run's last invocation only."""
    backlog = request.backlog_behind + report.left_behind + report.pending
    estimated = report.pending_estimated
    if report.handed_over and not report.listing_error:
        beyond = _beyond(report, cutoff)
        estimated = estimated or beyond is None or beyond > 0
        backlog += beyond or 0
    deleted = request.deleted_in_run + report.deleted
    report.expired_backlog = backlog
    report.backlog_estimated = estimated
    report.days_to_clear = 0.0 if backlog == 0 else round(backlog / deleted, 1) if deleted else None
    if backlog:
        logger.warning(
            "expired backups remain; the next runs delete them",
            expired_backlog=backlog,
            backlog_estimated=estimated,
            backlog_days_to_clear=report.days_to_clear,
            deleted_this_run=deleted,
            cursor=None if report.cursor is None else report.cursor.isoformat(),
        )


def _beyond(report: PruneReport, cutoff: datetime) -> int | None:
    """What the unlisted part [listed_until, cutoff) holds for deletion, at the density this invocation found in
    what it listed; None when it listed too little to tell."""
    start, end = report.covered_from, report.listed_until
    if start is None or end is None or end <= start:
        return None
    density = (report.count(*DECIDED) + report.pending) / (end - start).total_seconds()
    return round(density * max(0.0, (cutoff - end).total_seconds()))
