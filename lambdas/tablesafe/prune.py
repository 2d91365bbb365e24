"""The prune run: delete tablesafe's own expired backups, table by table, at DeleteBackup's rate.

What is deleted is decided by retention.decide (pure). This module feeds it the complete picture of each table
without listing every backup ever made (ListBackups: 5 calls/s, 100 backups a page):

1. One account-wide listing of the USER backups created before the cutoff (now minus the shortest retention of any
   rule): every backup that can be expired, of every table, deleted tables included. If it fails part-way, nothing
   is deleted: a missing page could hide nothing, or a newer backup that minKeep must count.
2. For each table with at least one backup past its rule's retention, a listing of that table's backups created
   since the cutoff. The two listings together hold every USER backup of the table, so minKeep sees them all. If it
   fails part-way, nothing of that table is deleted and the table is reported failed.

Deletions run on a bounded thread pool paced by the gateway's DeleteBackup rate limiter while the next tables are
listed, so a run takes about deletions / 10 seconds. Tables are processed in name order; when time runs short the run
finishes what it started and hands the tables after the last finished one to a continuation.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from tablesafe.constants import JOB_PRUNE
from tablesafe.dynamodb import Backup, DeleteOutcome, DynamoDbGateway, GatewayError, ListingIncomplete
from tablesafe.events import MAX_CONTINUATIONS, EventError, parse_continuation, parse_time, require_job
from tablesafe.naming import parse_scheduled
from tablesafe.observability import logger
from tablesafe.retention import Decision, Verdict, decide, past_retention, shortest_retention
from tablesafe.settings import Settings

LIST_AHEAD = 4  # tables listed ahead of the one being deleted from (listing and deleting overlap)
LIST_WORKERS = 2  # enough to keep ListBackups at its rate despite each call's latency
STORED_STATUSES = frozenset({"AVAILABLE", "CREATING"})
BYTES_PER_GB = 1_000_000_000  # AWS prices backup storage per GB-month; see docs/cost.md


class PruneRunFailed(RuntimeError):
    """Some tables or deletions failed; raised after everything else was done and the metrics were emitted."""


class Outcome(StrEnum):
    """What happened to one backup the rules said to delete."""

    DELETED = "deleted"
    ALREADY_GONE = "already_gone"  # BackupNotFoundException: someone (or our own retried call) deleted it first
    IN_USE = "in_use"  # BackupInUseException: skipped this run, the next run tries again
    FAILED = "failed"
    WOULD_DELETE = "would_delete"  # dry run


REMOVED = frozenset({Outcome.DELETED, Outcome.ALREADY_GONE, Outcome.WOULD_DELETE})


@dataclass(frozen=True)
class PruneRequest:
    """One prune run, from the schedule, a manual invoke or a continuation."""

    now: datetime  # the scheduled time: every decision is made as of this moment, so a retry decides the same
    start_after: str | None = None  # tables up to and including this name were done by earlier invocations
    continuation: int = 0

    @classmethod
    def from_event(cls, event: object, now: datetime) -> PruneRequest:
        """Validate the event; EventError names the key that is wrong."""
        event = require_job(event, JOB_PRUNE)
        scheduled = event.get("scheduledTime")
        moment = now if scheduled is None else parse_time("scheduledTime", scheduled)
        start_after = event.get("startAfter")
        if start_after is not None and (not isinstance(start_after, str) or not start_after):
            raise EventError(f"startAfter={start_after!r}: expected the name of the last table done")
        continuation = parse_continuation(event)
        return cls(now=moment.astimezone(UTC), start_after=start_after, continuation=continuation)

    def as_event(self) -> dict[str, Any]:
        """The event that runs this request (used for continuations)."""
        event: dict[str, Any] = {
            "job": JOB_PRUNE,
            "scheduledTime": self.now.isoformat().replace("+00:00", "Z"),
            "continuation": self.continuation,
        }
        if self.start_after is not None:
            event["startAfter"] = self.start_after
        return event


@dataclass(frozen=True)
class Deletion:
    """One backup the rules said to delete, and what happened to it."""

    table: str
    backup_name: str
    backup_arn: str
    plan: str
    rule: str
    age_days: float
    reason: str
    outcome: Outcome
    detail: str = ""


@dataclass
class PlanStorage:
    """What one plan's backups occupy, of those the run listed."""

    backups: int = 0
    bytes: int = 0


@dataclass
class PruneReport:
    """What a prune run (one invocation) did."""

    now: datetime
    dry_run: bool
    price_per_gb_month: float
    deletions: list[Deletion] = field(default_factory=list)
    orphaned: int = 0
    failed_tables: dict[str, str] = field(default_factory=dict)  # table -> why
    listing_error: str = ""  # the account-wide listing failed: nothing was deleted
    tables_done: list[str] = field(default_factory=list)  # finished by this invocation, in name order
    handed_over: list[str] = field(default_factory=list)  # left to a continuation
    storage: dict[str, PlanStorage] = field(default_factory=dict)  # plan -> what its listed backups hold
    duration_seconds: float = 0.0

    def count(self, *outcomes: Outcome) -> int:
        return sum(d.outcome in outcomes for d in self.deletions)

    @property
    def deleted(self) -> int:
        """Backups this run removed (or, in a dry run, would remove)."""
        return self.count(*REMOVED)

    @property
    def failed_deletions(self) -> list[Deletion]:
        return [d for d in self.deletions if d.outcome is Outcome.FAILED]

    @property
    def failed(self) -> bool:
        return bool(self.listing_error or self.failed_tables or self.failed_deletions)

    def estimated_monthly_cost(self, plan: str) -> float:
        return self.storage[plan].bytes / BYTES_PER_GB * self.price_per_gb_month

    def failure_summary(self) -> str:
        parts = []
        if self.listing_error:
            parts.append(f"the account-wide listing failed, nothing was deleted ({self.listing_error})")
        if self.failed_tables:
            parts.append(f"{len(self.failed_tables)} table(s) failed: {', '.join(sorted(self.failed_tables))}")
        failed = self.failed_deletions
        if failed:
            named = ", ".join(f"{d.backup_name} of {d.table} ({d.detail})" for d in failed[:20])
            more = f" and {len(failed) - 20} more" if len(failed) > 20 else ""
            parts.append(f"{len(failed)} deletion(s) failed: {named}{more}")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "dryRun": self.dry_run,
            "deleted": self.count(Outcome.DELETED),
            "alreadyGone": self.count(Outcome.ALREADY_GONE),
            "wouldDelete": self.count(Outcome.WOULD_DELETE),
            "inUseSkipped": self.count(Outcome.IN_USE),
            "deleteFailed": {d.backup_arn: f"{d.table}: {d.detail}" for d in self.failed_deletions},
            "orphaned": self.orphaned,
            "failedTables": self.failed_tables,
            "listingError": self.listing_error,
            "tablesDone": len(self.tables_done),
            "handedOver": len(self.handed_over),
            "storage": {
                plan: {
                    "backups": s.backups,
                    "bytes": s.bytes,
                    "estimatedMonthlyCost": round(self.estimated_monthly_cost(plan), 4),
                }
                for plan, s in sorted(self.storage.items())
            },
            "durationSeconds": round(self.duration_seconds, 3),
        }


def run_prune(
    gateway: DynamoDbGateway,
    settings: Settings,
    request: PruneRequest,
    *,
    time_left: Callable[[], float] = lambda: float("inf"),
    continue_run: Callable[[dict[str, Any]], None] | None = None,
    workers: int = 16,
) -> PruneReport:
    """Delete the expired backups tablesafe made; see the module docstring for how and what is guaranteed."""
    report = _PruneRun(gateway, settings, request, time_left, workers).execute()
    if report.handed_over:
        progressed = bool(report.tables_done or report.deletions)
        if continue_run is None or request.continuation >= MAX_CONTINUATIONS or not progressed:
            # An invocation that finished no table would hand the same work on and on: fail it instead.
            reason = (
                "no continuation available"
                if continue_run is None
                else "continuation limit reached"
                if progressed
                else "the invocation had no time to finish any table (timeout below the reserve?)"
            )
            _fail_handed_over(report, f"ran out of time ({reason}); the next scheduled run prunes it")
        else:
            last_done = report.tables_done[-1] if report.tables_done else request.start_after
            following = PruneRequest(request.now, last_done, request.continuation + 1)
            try:
                continue_run(following.as_event())
            except Exception as error:  # the tables it should have taken over must not vanish silently
                _fail_handed_over(report, f"could not start a continuation: {error}")
                return report
            logger.info(
                "prune continues in a new invocation",
                remaining_tables=len(report.handed_over),
                start_after=following.start_after,
                continuation=following.continuation,
            )
    return report


def _fail_handed_over(report: PruneReport, why: str) -> None:
    for table in report.handed_over:
        report.failed_tables[table] = why
        logger.error("table not pruned", table=table, error=why)
    report.handed_over = []


class _PruneRun:
    def __init__(
        self,
        gateway: DynamoDbGateway,
        settings: Settings,
        request: PruneRequest,
        time_left: Callable[[], float],
        workers: int,
    ) -> None:
        self.gateway = gateway
        self.settings = settings
        self.plans = settings.plans
        self.prefix = settings.backup_name_prefix
        self.request = request
        self.now = request.now
        self.time_left = time_left
        self.workers = workers
        self.cutoff = self.now - shortest_retention(self.plans)
        self.report = PruneReport(self.now, settings.dry_run, settings.storage_price_per_gb_month)
        self.listed: dict[str, Backup] = {}  # every backup seen of the tables this invocation covered, by ARN
        self.in_flight: dict[Future[Deletion], Decision[Backup]] = {}

    def execute(self) -> PruneReport:
        started = time.monotonic()
        try:
            expired = self.gateway.list_backups(created_before=self.cutoff)
        except ListingIncomplete as error:
            self.report.listing_error = str(error)
            logger.error(
                "listing the expired backups failed part-way; nothing is deleted this run",
                cutoff=self.cutoff.isoformat(),
                error=str(error),
            )
        else:
            by_table: dict[str, list[Backup]] = defaultdict(list)
            for backup in expired:
                by_table[backup.table_name].append(backup)
            after = self.request.start_after
            tables = sorted(t for t in by_table if after is None or t > after)
            logger.info(
                "expired backups listed",
                cutoff=self.cutoff.isoformat(),
                backups=len(expired),
                tables=len(by_table),
                tables_this_invocation=len(tables),
                start_after=after,
                dry_run=self.settings.dry_run,
            )
            self._prune_tables(tables, by_table)
            self._tally_storage()
        self.report.duration_seconds = time.monotonic() - started
        return self.report

    # -- the pipeline ----------------------------------------------------------------------------------------------

    def _prune_tables(self, tables: list[str], expired: Mapping[str, list[Backup]]) -> None:
        pending = deque(tables)
        ahead: deque[tuple[str, Future[list[Backup]] | None]] = deque()
        with (
            ThreadPoolExecutor(LIST_WORKERS, thread_name_prefix="prune-list") as lister,
            ThreadPoolExecutor(self.workers, thread_name_prefix="prune-delete") as deleter,
        ):
            while self._has_time():
                while pending and len(ahead) < LIST_AHEAD:
                    table = pending.popleft()
                    ahead.append((table, self._start_listing(lister, table, expired[table])))
                if not ahead:
                    break
                table, listing = ahead.popleft()
                if not self._prune_table(deleter, table, expired[table], listing):
                    ahead.appendleft((table, None))  # ran out of time part-way: the continuation redoes it
                    break
                self.report.tables_done.append(table)
            for _, listing in ahead:
                if listing is not None:
                    listing.cancel()  # a read: harmless to drop
            self._settle(wait_all=True)
        self.report.handed_over = [t for t, _ in ahead] + list(pending)

    def _start_listing(
        self, lister: ThreadPoolExecutor, table: str, expired: list[Backup]
    ) -> Future[list[Backup]] | None:
        if not any(past_retention(b, self.plans, self.prefix, self.now) for b in expired):
            return None  # nothing can be deleted: no need for the table's recent backups
        return lister.submit(self.gateway.list_backups, table_name=table, created_from=self.cutoff)

    def _prune_table(
        self,
        deleter: ThreadPoolExecutor,
        table: str,
        expired: list[Backup],
        listing: Future[list[Backup]] | None,
    ) -> bool:
        """Decide and start the table's deletions; False when time ran out before all were started."""
        recent: list[Backup] = []
        if listing is not None:
            try:
                recent = listing.result()
            except ListingIncomplete as error:
                self._remember(expired)  # they exist: the cost report counts them
                self.report.failed_tables[table] = f"listing its backups failed part-way: {error}"
                logger.error(
                    "listing a table's backups failed part-way; none of its backups is deleted this run",
                    table=table,
                    error=str(error),
                )
                return True
        decisions = decide(expired + recent, self.plans, self.prefix, self.now)
        for decision in decisions:
            if decision.verdict is not Verdict.DELETE:
                continue
            if self.settings.dry_run:
                self._record(self._deletion(decision, Outcome.WOULD_DELETE))
                continue
            while len(self.in_flight) >= self.workers * 2:
                self._settle(wait_all=False)
            if not self._has_time():
                return False
            self.in_flight[deleter.submit(self._delete, decision)] = decision
        # Reported only once the table is done: a table left part-way is listed and reported again by the continuation.
        self._remember(expired + recent)
        for decision in decisions:
            if decision.verdict is Verdict.ORPHANED:
                self.report.orphaned += 1
                logger.warning("orphaned backup kept", **self._fields(decision))
        verdicts = Counter(d.verdict.value for d in decisions)
        logger.info(
            "table pruned",
            table=table,
            listed=len(decisions),
            deleting=verdicts[Verdict.DELETE.value],
            kept=verdicts[Verdict.KEEP.value],
            kept_by_min_keep=sum(d.verdict is Verdict.KEEP and "minKeep" in d.reason for d in decisions),
            orphaned=verdicts[Verdict.ORPHANED.value],
            foreign=verdicts[Verdict.FOREIGN.value],
            dry_run=self.settings.dry_run,
        )
        self._settle(wait_all=False, block=False)
        return True

    def _delete(self, decision: Decision[Backup]) -> Deletion:
        try:
            outcome = self.gateway.delete_backup(decision.backup.arn)
        except GatewayError as error:
            return self._deletion(decision, Outcome.FAILED, f"{error.code}: {error.message}")
        if outcome is DeleteOutcome.ALREADY_GONE:
            return self._deletion(decision, Outcome.ALREADY_GONE, "BackupNotFoundException: already deleted")
        if outcome is DeleteOutcome.IN_USE:
            return self._deletion(decision, Outcome.IN_USE, "BackupInUseException: the next run tries again")
        return self._deletion(decision, Outcome.DELETED)

    def _settle(self, *, wait_all: bool, block: bool = True) -> None:
        """Record finished deletions: all of them, at least one, or (block=False) those already done."""
        if not self.in_flight:
            return
        if wait_all:
            done, _ = wait(self.in_flight)
        elif block:
            done, _ = wait(self.in_flight, return_when=FIRST_COMPLETED)
        else:
            done = {f for f in self.in_flight if f.done()}
        for future in done:
            del self.in_flight[future]
            self._record(future.result())

    # -- bookkeeping -----------------------------------------------------------------------------------------------

    def _has_time(self) -> bool:
        return self.time_left() > self.settings.time_reserve_seconds

    def _remember(self, backups: list[Backup]) -> None:
        for backup in backups:
            self.listed.setdefault(backup.arn, backup)

    def _deletion(self, decision: Decision[Backup], outcome: Outcome, detail: str = "") -> Deletion:
        b = decision.backup
        return Deletion(
            table=b.table_name,
            backup_name=b.name,
            backup_arn=b.arn,
            plan=decision.plan,
            rule=decision.rule,
            age_days=round(decision.age_days(self.now), 2),
            reason=decision.reason,
            outcome=outcome,
            detail=detail,
        )

    def _record(self, deletion: Deletion) -> None:
        self.report.deletions.append(deletion)
        fields: dict[str, Any] = {
            "table": deletion.table,
            "backup_name": deletion.backup_name,
            "backup_arn": deletion.backup_arn,
            "age_days": deletion.age_days,
            "plan": deletion.plan,
            "rule": deletion.rule,
            "reason": deletion.reason,
            "outcome": deletion.outcome.value,
        }
        if deletion.detail:
            fields["detail"] = deletion.detail
        if deletion.outcome is Outcome.FAILED:
            logger.error("backup deletion failed", **fields)
        elif deletion.outcome is Outcome.IN_USE:
            logger.warning("backup in use; skipped this run", **fields)
        elif deletion.outcome is Outcome.WOULD_DELETE:
            logger.info("backup would be deleted (dry run)", **fields)
        else:
            logger.info("backup deleted", **fields)

    def _fields(self, decision: Decision[Backup]) -> dict[str, Any]:
        b = decision.backup
        return {
            "table": b.table_name,
            "backup_name": b.name,
            "backup_arn": b.arn,
            "age_days": round(decision.age_days(self.now), 2),
            "plan": decision.plan,
            "rule": decision.rule,
            "reason": decision.reason,
        }

    def _tally_storage(self) -> None:
        """Per plan, what the listed backups occupy once this run's deletions are done (counted once each)."""
        storage = {plan: PlanStorage() for plan in self.plans}
        removed = {d.backup_arn for d in self.report.deletions if d.outcome in REMOVED}
        for arn, backup in self.listed.items():
            name = parse_scheduled(backup.name, self.prefix)
            if name is None or arn in removed or backup.status not in STORED_STATUSES:
                continue
            plan = storage.setdefault(name.plan, PlanStorage())  # a plan no longer configured still costs
            plan.backups += 1
            plan.bytes += backup.size_bytes or 0
        self.report.storage = storage
