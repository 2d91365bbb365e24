"""The backup run: one on-demand backup of every table of a plan, exactly once per slot.

Exactly once rests on three things. The backup's name says its slot, and a run first lists what already exists for
the slot (one account-wide ListBackups since the slot), so a retried, repeated or continued run skips what is done.
CreateBackup is sent once per attempt and never retried blindly: after an ambiguous answer (5xx, timeout, lost
connection) the run looks for the backup by name before sending it again. And while a backup of a table is CREATING,
AWS answers any other CreateBackup of that table with BackupInUseException, which serializes concurrent runs: the run
that gets it waits, looks again, and finds the other run's backup.

None of that serializes two deliveries of the same slot that drift apart: a run that reaches a table after another
run's backup of it is AVAILABLE would make a second one. So a run first takes the slot's lease (lease.py): a second
delivery waits for the holder, then lists the slot itself and finds the holder's backups; a continuation inherits
the lease from the invocation that handed it on.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.backup.invocation import BackupRun, select_tables
from tablesafe.backup.report import BackupReport, BackupRequest, BackupRunFailed, Outcome, TableResult
from tablesafe.config.events import EventError
from tablesafe.config.settings import Settings
from tablesafe.constants import JOB_BACKUP
from tablesafe.observability import logger
from tablesafe.rules.naming import scheduled_name
from tablesafe.runtime.handoff import ContinueRun, hand_on
from tablesafe.slots.lease import Claim, ClaimState, LeaseKey, SlotLeases

__all__ = [
    "BackupReport",
    "BackupRequest",
    "BackupRunFailed",
    "EventError",
    "Outcome",
    "TableResult",
    "run_backup",
    "select_tables",
]


def run_backup(
    gateway: DynamoDbGateway,
    settings: Settings,
    request: BackupRequest,
    *,
    time_left: Callable[[], float] = lambda: float("inf"),
    continue_run: ContinueRun | None = None,
    workers: int = 16,
    sleep: Callable[[float], None] = time.sleep,
    leases: SlotLeases | None = None,
) -> BackupReport:
    """Back up every table tagged with the request's plan; see the module docstring for the guarantees.

    Without `leases` two runs of one slot are not serialized: only a caller that runs one at a time may omit it.
    """
    _check_request(settings, request)
    claim = None
    if leases is not None:
        key = LeaseKey(JOB_BACKUP, request.plan, request.rule, request.slot)
        reserve = settings.time_reserve_seconds
        claim = leases.claim(key, predecessor=request.lease_holder, time_left=time_left, reserve=reserve)
        if claim.state is ClaimState.BUSY:
            return _hand_on_the_wait(settings, request, claim, continue_run)
    inherited = claim is not None and claim.inherited
    run = BackupRun(gateway, settings, request, time_left, sleep, workers, inherited=inherited)
    try:
        report = run.execute()
    except Exception:
        if leases is not None and claim is not None:
            leases.release(claim)  # this invocation ends here: a waiting delivery may verify the slot now
        raise
    if leases is None or claim is None:
        _hand_over(run, request, continue_run, None, lambda: None)
        return report
    report.lease, report.duplicate_delivery = claim.state.value, claim.waited
    held = claim.state is ClaimState.HELD

    def keep_lease() -> None:
        _note(report, leases.hand_off(claim, time_left))

    if not _hand_over(run, request, continue_run, claim.holder if held else None, keep_lease):
        _note(report, leases.release(claim))
    return report


def _check_request(settings: Settings, request: BackupRequest) -> None:
    plan = settings.plans.get(request.plan)
    if plan is None:
        raise EventError(f"plan={request.plan!r} is not configured; configured plans: {sorted(settings.plans)}")
    if plan.rule(request.rule) is None:
        raise EventError(
            f"rule={request.rule!r} is not a rule of plan {request.plan!r}; its rules: {[r.name for r in plan.rules]}"
        )


def _note(report: BackupReport, lease_problem: str | None) -> None:
    if lease_problem is not None:
        report.lease_problems.append(lease_problem)


def _hand_over(
    run: BackupRun,
    request: BackupRequest,
    continue_run: ContinueRun | None,
    lease_holder: str | None,
    before_invoking: Callable[[], None],
) -> bool:
    """Start the continuation that takes the tables left over; False when there is none (nothing left, or they
    are reported failed)."""
    report = run.report
    if not report.handed_over:
        return False
    cursor = run.next_cursor()
    following = BackupRequest(request.plan, request.rule, request.slot, request.continuation + 1, lease_holder, cursor)
    refused = hand_on(
        continue_run,
        following.as_event(),
        continuation=request.continuation,
        progressed=bool(report.results),  # one that started no table would hand the same work on and on
        idle_reason="the invocation had no time to start any table (timeout below the reserve?)",
        before_invoking=before_invoking,  # the lease is extended before the continuation can start and take it over
    )
    if refused is not None:
        for table in report.handed_over:
            report.results.append(TableResult(table, Outcome.FAILED, refused.detail()))
        report.handed_over = []
        return False
    logger.info(
        "run continues in a new invocation",
        remaining_tables=len(report.handed_over),
        continuation=following.continuation,
        # Too large for the event: the continuation discovers and lists the slot again, as a run without one.
        carries_cursor=cursor.encoded is not None,
    )
    return True


def _hand_on_the_wait(
    settings: Settings,
    request: BackupRequest,
    claim: Claim,
    continue_run: ContinueRun | None,
) -> BackupReport:
    """Another run still holds the slot and this invocation has no time left to wait: a continuation waits on (it
    holds nothing, so its event names no lease holder). A wait that cannot go on fails loudly: if the holder died
    later, no one would finish the slot."""
    name = scheduled_name(settings.backup_name_prefix, request.plan, request.rule, request.slot)
    report = BackupReport(request.plan, request.rule, request.slot, name, lease=claim.state.value)
    report.duplicate_delivery, report.waiting_for = True, claim.holder
    # Its cursor goes on with it (a continuation's tables); it names no lease holder, so it will list the slot.
    following = BackupRequest(request.plan, request.rule, request.slot, request.continuation + 1, cursor=request.cursor)
    refused = hand_on(continue_run, following.as_event(), continuation=request.continuation)
    if refused is None:
        logger.info(
            "slot still held by another run; the wait continues in a new invocation",
            lease=claim.key,
            holder=claim.holder,
            continuation=following.continuation,
        )
        return report
    reason = refused.reason
    report.waiting_for = ""
    report.problem = (
        f"slot {claim.key} is held by run {claim.holder} (lease until {claim.expires_at:.0f}); this delivery "
        f"stopped waiting ({reason}) and did not verify the slot"
    )
    logger.error("a duplicate delivery could not wait for the slot's holder", lease=claim.key, reason=reason)
    return report
