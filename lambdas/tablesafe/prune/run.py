"""The prune run: delete tablesafe's own expired backups, table by table, at DeleteBackup's rate.

What is deleted is decided by retention.decide (pure). This module feeds it the complete picture of each table
without listing every backup ever made (ListBackups: 5 calls/s, 100 backups a page):

1. One account-wide listing of the USER backups created before the cutoff (now minus the shortest retention of any
   rule): every backup that can be expired, of every table, deleted tables included. If it fails part-way, nothing
   is deleted: a missing page could hide nothing, or a newer backup that minKeep must count.
2. For the tables with at least one backup past its rule's retention, the recent backups minKeep needs: see
   tablesafe.prune.recent (time windows from the cutoff on, account-wide, then a listing of their own for the few tables
   still waiting). A table whose own listing fails part-way has nothing deleted and is reported failed.

Deletions run on a bounded thread pool paced by the gateway's DeleteBackup rate limiter while the listing goes on,
so a run takes about deletions / 10 seconds. Tables are pruned as their listings are released; when time runs short
the run finishes what it started and hands the tables after the longest finished prefix (in name order) to a
continuation.
"""

from __future__ import annotations

import itertools
import queue
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta
from typing import Any

from tablesafe.aws.dynamodb import Backup, DeleteOutcome, DynamoDbGateway, GatewayError, ListingIncomplete
from tablesafe.config.settings import Settings
from tablesafe.observability import logger
from tablesafe.prune.estimate import TailEstimate
from tablesafe.prune.recent import Group, Need, RecentListing, Release, TableTally, tally
from tablesafe.prune.report import (
    REMOVED,
    Deletion,
    Outcome,
    PlanStorage,
    PruneReport,
    PruneRequest,
)
from tablesafe.rules.naming import parse_scheduled
from tablesafe.rules.retention import Decision, Verdict, decide, past_retention, shortest_retention, table_identity
from tablesafe.runtime.handoff import ContinueRun, hand_on


def run_prune(
    gateway: DynamoDbGateway,
    settings: Settings,
    request: PruneRequest,
    *,
    time_left: Callable[[], float] = lambda: float("inf"),
    continue_run: ContinueRun | None = None,
    workers: int = 16,
) -> PruneReport:
    """Delete the expired backups tablesafe made; see the module docstring for how and what is guaranteed."""
    report = _PruneRun(gateway, settings, request, time_left, workers).execute()
    if not report.handed_over:
        return report
    last_done = report.tables_done[-1] if report.tables_done else request.start_after
    following = PruneRequest(request.now, last_done, request.continuation + 1)
    refused = hand_on(
        continue_run,
        following.as_event(),
        continuation=request.continuation,
        progressed=bool(report.tables_done or report.deletions),
        idle_reason="the invocation had no time to finish any table (timeout below the reserve?)",
    )
    if refused is not None:
        _fail_handed_over(report, refused.detail("; the next scheduled run prunes it"))
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
        self.recent: RecentListing | None = None
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
            self._tally_storage(by_table)
        self.report.duration_seconds = time.monotonic() - started
        return self.report

    # -- the pipeline ----------------------------------------------------------------------------------------------

    def _prune_tables(self, tables: list[str], expired: Mapping[str, list[Backup]]) -> None:
        """Prune the tables with nothing to delete at once, the others as their recent backups are released."""
        needs = {table: n for table in tables if (n := self._needs(expired[table]))}
        self.recent = recent = RecentListing(self.gateway, self.prefix, self.cutoff, self.now, needs, self._interval)
        order = deque(Release(table, []) for table in tables if table not in needs)
        listing_open = bool(needs)
        done: set[str] = set()
        with (
            ThreadPoolExecutor(1, thread_name_prefix="prune-recent") as lister,
            ThreadPoolExecutor(self.workers, thread_name_prefix="prune-delete") as deleter,
        ):
            if listing_open:
                lister.submit(recent.run)
            while self._has_time():
                if order:
                    release: Release | None = order.popleft()
                elif listing_open:
                    try:
                        release = recent.released.get(timeout=0.25)
                    except queue.Empty:
                        self._settle(wait_all=False, block=False)
                        continue
                    if release is None:
                        listing_open = False
                        continue
                else:
                    break
                assert release is not None
                if not self._prune_table(deleter, release, expired[release.table]):
                    break  # ran out of time part-way: the continuation redoes this table
                done.add(release.table)
            recent.stop.set()  # a read: harmless to drop
            self._settle(wait_all=True)
        logger.info(
            "recent backups listed",
            window_hours=round(recent.window / timedelta(hours=1), 2),
            windows=recent.windows,
            complete=recent.complete,
            tables_with_candidates=len(needs),
            listed_on_their_own=recent.fallbacks,
        )
        # The cursor a continuation starts after: the longest run of finished tables in name order. A table
        # finished beyond it is pruned again by the continuation, which finds its deleted backups gone.
        finished = list(itertools.takewhile(lambda table: table in done, tables))
        self.report.tables_done = finished
        self.report.handed_over = tables[len(finished) :]

    def _needs(self, expired: list[Backup]) -> dict[Need, int]:
        """minKeep of each (table of this name, plan, rule) with a backup past its retention: what its recent listing
        must show. Each table (TableId) counts its own slots: a newer table of the name releases nothing of an older."""
        needs: dict[Need, int] = {}
        for backup in expired:
            if past_retention(backup, self.plans, self.prefix, self.now):
                name = parse_scheduled(backup.name, self.prefix)
                rule = None if name is None else self.plans[name.plan].rule(name.rule)
                assert name is not None and rule is not None  # past_retention found both
                needs[Need.of(backup, name.plan, name.rule)] = rule.min_keep
        return needs

    def _interval(self, group: Group) -> timedelta:
        rule = self.plans[group[0]].rule(group[1])
        assert rule is not None  # groups come from _needs
        return rule.schedule.interval

    def _prune_table(self, deleter: ThreadPoolExecutor, release: Release, expired: list[Backup]) -> bool:
        """Decide and start the table's deletions; False when time ran out before all were started."""
        table = release.table
        if release.error is not None:
            self.report.failed_tables[table] = f"listing its backups failed part-way: {release.error}"
            logger.error(
                "listing a table's backups failed part-way; none of its backups is deleted this run",
                table=table,
                error=str(release.error),
            )
            return True
        decisions = decide(expired + release.backups, self.plans, self.prefix, self.now)
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
        for decision in decisions:
            if decision.verdict is Verdict.ORPHANED:
                self.report.orphaned += 1
                logger.warning("orphaned backup kept", **self._fields(decision))
        verdicts = Counter(d.verdict.value for d in decisions)
        logger.info(
            "table pruned",
            table=table,
            table_ids=len({table_identity(d.backup) for d in decisions}),  # more than one: the name was re-used
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
            table_id=b.table_id,
        )

    def _record(self, deletion: Deletion) -> None:
        self.report.deletions.append(deletion)
        fields: dict[str, Any] = {
            "table": deletion.table,
            "table_id": deletion.table_id,
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
            "table_id": b.table_id,
            "backup_name": b.name,
            "backup_arn": b.arn,
            "age_days": round(decision.age_days(self.now), 2),
            "plan": decision.plan,
            "rule": decision.rule,
            "reason": decision.reason,
        }

    def _tally_storage(self, expired: Mapping[str, list[Backup]]) -> None:
        """Per plan, what this invocation's share of the tables holds once its deletions are done (docs/cost.md).

        The share is the tables named after startAfter and, when the run hands over, up to the last it finished, so
        that continuations never count a table twice. Counted exactly: the expired listing, the complete windows of
        the recent listing, the tables listed on their own. Estimated: a rule's slots after the last complete window,
        for each (table, plan, rule) backed up in that window, at the size of its newest backup.
        """
        after = self.request.start_after
        last = (self.report.tables_done or [""])[-1] if self.report.handed_over else None

        def in_share(table: str) -> bool:
            return (after is None or table > after) and (last is None or table <= last)

        removed = {d.backup_arn for d in self.report.deletions if d.outcome in REMOVED}
        kept = [b for table, backups in expired.items() if in_share(table) for b in backups if b.arn not in removed]
        storage = {plan: PlanStorage() for plan in self.plans}
        for groups in tally(kept, self.prefix).values():
            self._add(storage, groups)
        recent = self.recent
        if recent is not None:
            tail = (
                TailEstimate(self.plans, recent.listed_until, self.now, recent.window) if not recent.complete else None
            )
            for table in set(recent.recent) | set(recent.own_listing):
                if not in_share(table):
                    continue
                own = recent.own_listing.get(table)
                if own is not None:  # complete: nothing to estimate
                    self._add(storage, own)
                else:
                    self._add(storage, recent.recent[table], tail)
        self.report.storage = storage

    @staticmethod
    def _add(storage: dict[str, PlanStorage], groups: TableTally, tail: TailEstimate | None = None) -> None:
        for (plan_name, rule_name), group in groups.items():
            plan = storage.setdefault(plan_name, PlanStorage())  # a plan no longer configured still costs
            plan.backups += group.backups
            plan.bytes += group.bytes
            slots = 0 if tail is None or group.newest is None else tail.slots(plan_name, rule_name, group.newest)
            plan.backups += slots
            plan.estimated_backups += slots
            plan.bytes += slots * group.newest_size
