"""An export rule's slot under its lease: the same (job, plan, rule, slot) key the backup run takes, so a second
delivery of the slot waits for the first and then finds its exports; the run itself is run.py."""

from __future__ import annotations

import time
from collections.abc import Callable

from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.aws.exports import ExportGateway
from tablesafe.config.settings import Settings
from tablesafe.constants import JOB_BACKUP
from tablesafe.export.report import ExportReport, ExportRequest
from tablesafe.export.run import run_exports
from tablesafe.slots.lease import ClaimState, LeaseKey, SlotLeases


def run_export_slot(
    tables: DynamoDbGateway,
    exports: ExportGateway,
    settings: Settings,
    request: ExportRequest,
    *,
    leases: SlotLeases | None,
    predecessor: str | None = None,
    time_left: Callable[[], float] = lambda: float("inf"),
    clock: Callable[[], float] = time.time,
) -> ExportReport:
    """Take the slot's lease, export, release. A slot still held when this invocation can wait no longer is a
    failure (`problem`): Lambda retries the invocation, and the retry finds the holder's exports."""
    if leases is None:
        return run_exports(tables, exports, settings, request, time_left=time_left, clock=clock)
    key = LeaseKey(JOB_BACKUP, request.plan, request.rule, request.slot)
    claim = leases.claim(key, predecessor=predecessor, time_left=time_left, reserve=settings.time_reserve_seconds)
    if claim.state is ClaimState.BUSY:
        report = ExportReport(request.plan, request.rule, request.slot)
        report.problem = f"slot {claim.key} is held by run {claim.holder}; this delivery did not verify its exports"
        return report
    try:
        report = run_exports(tables, exports, settings, request, time_left=time_left, clock=clock)
    finally:
        problem = leases.release(claim)
    report.lease_problem = problem or ""
    return report
