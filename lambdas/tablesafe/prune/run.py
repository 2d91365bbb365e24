"""The prune run: delete tablesafe's own expired backups, window by window, at DeleteBackup's rate.

What is deleted is decided by retention.decide (pure). This module feeds it what each decision needs without
listing every backup ever made at once (ListBackups: 5 calls/s, 100 backups a page), in steps any invocation can
finish, so that a retention cut of millions of backups makes steady progress over invocations and days:

1. The proof (tablesafe.prune.recent): the few windows since the cutoff (now minus the shortest retention) that show
   minKeep newer AVAILABLE slots of each (table, plan, rule) still backed up. A group so proven may lose every
   candidate, whatever else of it exists.
2. The expired windows (tablesafe.prune.expired): the backups created before the cutoff, oldest first, in windows of
   about a thousand, each listed completely before anything in it is decided. A table with a candidate of a group
   the proof did not prove (a deleted table, a rule that stopped) is listed on its own, completely, and decided on
   that; a table whose own listing fails has nothing deleted and is reported failed. A window whose listing breaks
   off has nothing decided: the run stops there and fails, named; its retry starts again at the same cursor.

Deletions (prune/deletions.py) run on a bounded thread pool paced by the gateway's DeleteBackup rate limiter; the
next window is listed while the last one's deletions drain. When time runs short the run finishes what it started
and hands the cursor (the first window not finished) to a continuation; past MAX_CONTINUATIONS the rest is the
*backlog*, reported (not a failure) and taken up by the next day's run, which finds the part already cleared gone.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tablesafe.aws.dynamodb import Backup, DynamoDbGateway, ListingIncomplete
from tablesafe.config.settings import Settings
from tablesafe.observability import logger
from tablesafe.prune.backlog import settle_backlog
from tablesafe.prune.deletions import Deletions, decision_fields
from tablesafe.prune.expired import ExpiredWindows, Window
from tablesafe.prune.recent import RecentProof, TableTally, group_of, tally, whole_second
from tablesafe.prune.report import Outcome, PruneReport, PruneRequest
from tablesafe.prune.storage import storage_by_plan
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
    run = _PruneRun(gateway, settings, request, time_left, workers)
    report = run.execute()
    if report.handed_over:
        _hand_over(report, request, continue_run)
    run.finish(final=not report.continued)
    return report


def _hand_over(report: PruneReport, request: PruneRequest, continue_run: ContinueRun | None) -> None:
    """Start the continuation from the cursor; past the limit (or without one) the rest waits for the next run."""
    cursor = _iso(report.cursor)
    if report.cursor == request.expired_from and not report.deletions:
        # An invocation that finished no window would hand the same work on and on: fail it instead.
        report.handoff_error = "ran out of time (no window finished: is the timeout below the reserve?)"
        logger.error("prune made no progress", cursor=cursor, error=report.handoff_error)
        return
    following = request.following(report)
    refused = hand_on(continue_run, following.as_event(), continuation=request.continuation)
    if refused is None:
        report.continued = True
        logger.info("prune continues in a new invocation", expired_from=cursor, continuation=following.continuation)
    elif refused.invoke_failed:  # the backups it should have taken over must not vanish silently
        report.handoff_error = refused.reason
        logger.error("prune continuation not started", cursor=cursor, error=refused.reason)
    else:  # the continuation limit (or none to hand to): the backlog, reported, for the next run
        logger.warning("the prune stops here for today; the next run resumes", reason=refused.reason, cursor=cursor)


def _iso(moment: Any) -> str | None:
    return None if moment is None else moment.isoformat()


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
        self.cutoff = whole_second(self.now - shortest_retention(self.plans))
        self.report = PruneReport(self.now, settings.dry_run, settings.storage_price_per_gb_month)
        self.started = time.monotonic()
        self.proof = RecentProof(gateway, self.prefix, dict(self.plans), self.cutoff, self.now)
        self.deletions = Deletions(gateway, self.report, self.now, self.cutoff, workers)
        self.own_listed: set[str] = set()  # tables decided on their own listing this invocation
        self.own_recent: dict[str, TableTally] = {}  # what their own listings hold since the cutoff: all there is
        self.kept: dict[str, TableTally] = {}  # what the finished windows still hold (for the cost report)
        self.deleting: set[str] = set()  # deletions started ahead of their window (at most this invocation's)

    def execute(self) -> PruneReport:
        windows = ExpiredWindows(self.gateway, self.cutoff, self.request.expired_from)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="prune-delete") as deleter:
            try:
                self._walk(windows, deleter)
            finally:
                self.deletions.settle(wait_all=True)  # every deletion started is recorded, whatever stopped the walk
        self.report.cursor = windows.cursor
        self.report.handed_over = not windows.finished and not self.report.listing_error
        self.report.windows = windows.listed
        self.report.covered_from = windows.started_at
        if self.report.listed_until is None:
            self.report.listed_until = windows.cursor
        logger.info(
            "expired backups listed",
            cutoff=self.cutoff.isoformat(),
            expired_from=_iso(self.request.expired_from),
            cursor=_iso(windows.cursor),
            windows=windows.listed,
            windows_dropped=windows.dropped,
            tables_listed_on_their_own=len(self.own_listed),
            recent_windows=self.proof.windows,
            dry_run=self.settings.dry_run,
        )
        return self.report

    def _walk(self, windows: ExpiredWindows, deleter: ThreadPoolExecutor) -> None:
        while self._has_time():
            try:
                window = windows.next()
                if window is None or not self._prune_window(deleter, window):
                    return
            except Exception as error:  # ListingIncomplete (of the window or the recent backups it needs), or a bug
                self.report.listing_error = f"{type(error).__name__}: {error}"
                log = logger.error if isinstance(error, ListingIncomplete) else logger.exception
                log(
                    "a listing failed part-way; nothing of the window it was needed for is decided",
                    window_start=_iso(windows.cursor),
                    error=str(error),
                )
                return
            windows.advance(window)
            self.deletions.settle(wait_all=False, block=False)

    def finish(self, *, final: bool) -> None:
        """The cost report of this invocation's share and, on the run's last invocation, the backlog."""
        needed = final and not self.proof.windows and (self.report.deletions or self.request.deleted_in_run)
        if needed and self._has_time():
            try:  # the recent backups are counted by the run's last invocation: list them if it has not
                self.proof.list_for_every_rule()
            except ListingIncomplete as error:
                logger.warning("the recent backups are not counted in the cost report", error=str(error))
        if not self.report.listing_error:  # no cost figures from half a listing
            tally(self.deletions.still_stored, self.prefix, into=self.kept)  # deletions that failed or were refused
            # What lies after the cutoff is counted once a run, by its last invocation (which lists it if need be).
            recent = (self.own_recent, self.proof) if final else ({}, None)
            self.report.storage = storage_by_plan(self.plans, self.kept, *recent)
        if final:
            settle_backlog(self.report, self.request, self.cutoff)
        self.report.duration_seconds = time.monotonic() - self.started

    # -- one window ------------------------------------------------------------------------------------------------

    def _prune_window(self, deleter: ThreadPoolExecutor, window: Window) -> bool:
        """Decide and start the window's deletions; False when time ran out before all were started."""
        by_table: dict[str, list[Backup]] = defaultdict(list)
        for backup in window.backups:
            by_table[backup.table_name].append(backup)
        reported: list[Decision[Backup]] = []
        tables = sorted(by_table)
        for index, table in enumerate(tables):
            decisions = self._decide(table, by_table[table])
            if decisions is None:
                continue  # failed, named; nothing of it is deleted
            doomed = [d for d in decisions if d.verdict is Verdict.DELETE]
            for started, decision in enumerate(doomed):
                if self.settings.dry_run:
                    self.deletions.record(self.deletions.deletion(decision, Outcome.WOULD_DELETE))
                    continue
                while self.deletions.full:
                    self.deletions.settle(wait_all=False)
                if not self._has_time():
                    rest = [b for t in tables[index + 1 :] for b in by_table[t]]
                    self._left_in_window(window, len(doomed) - started, rest)
                    return False
                self.deletions.start(deleter, decision)
                if not window.holds(decision.backup):
                    self.deleting.add(decision.backup.arn)  # decided on its table's own listing, ahead of its window
            reported.extend(d for d in decisions if window.holds(d.backup))
        # Reported only once the window is done: a window left part-way is listed and reported again.
        removed = {d.backup.arn for d in reported if d.verdict is Verdict.DELETE} | self.deleting
        tally([b for b in window.backups if b.arn not in removed], self.prefix, into=self.kept)
        self._report_window(reported)
        return True

    def _left_in_window(self, window: Window, doomed: int, undecided: list[Backup]) -> None:
        """What the window still holds for deletion when time ran out in it (the backlog counts it)."""
        past = sum(past_retention(b, self.plans, self.prefix, self.now) for b in undecided)
        self.report.pending = doomed + past
        self.report.pending_estimated = past > 0  # minKeep not considered for the tables not decided yet
        self.report.listed_until = window.end

    def _decide(self, table: str, backups: list[Backup]) -> list[Decision[Backup]] | None:
        """The decisions for a table's backups in the window (on its own listing: for all of its backups)."""
        if table in self.own_listed:
            # Decided with all its backups in an earlier window: only what needs no rank is reported again.
            decisions = decide(backups, self.plans, self.prefix, self.now)
            return [d for d in decisions if d.verdict in (Verdict.ORPHANED, Verdict.FOREIGN)]
        proofs: dict[str, Backup] = {}
        for backup in backups:
            if not past_retention(backup, self.plans, self.prefix, self.now):
                continue
            group = group_of(backup, self.prefix)
            proof = None if group is None else self.proof.proof(group)
            if proof is None:
                return self._own_listing(table, {b.arn for b in backups})
            proofs.update((b.arn, b) for b in proof)
        listed = {b.arn for b in backups}
        decisions = decide([*backups, *proofs.values()], self.plans, self.prefix, self.now)
        return [d for d in decisions if d.backup.arn in listed]

    def _own_listing(self, table: str, in_window: set[str]) -> list[Decision[Backup]] | None:
        """Every backup of the table, listed on its own and decided; None (the table failed) if it broke off."""
        self.own_listed.add(table)
        try:
            backups = self.gateway.list_backups(table_name=table)
        except ListingIncomplete as error:
            self.report.failed_tables[table] = f"listing its backups failed part-way: {error}"
            logger.error(
                "listing a table's backups failed part-way; none of its backups is deleted this run",
                table=table,
                error=str(error),
            )
            return None
        recent = [b for b in backups if b.created >= self.cutoff and b.arn not in in_window]  # (no time: "now")
        self.own_recent[table] = tally(recent, self.prefix).get(table, {})
        return decide(backups, self.plans, self.prefix, self.now)

    def _report_window(self, decisions: list[Decision[Backup]]) -> None:
        by_table: dict[str, list[Decision[Backup]]] = defaultdict(list)
        for decision in decisions:
            by_table[decision.backup.table_name].append(decision)
            if decision.verdict is Verdict.ORPHANED:
                self.report.orphaned += 1
                logger.warning("orphaned backup kept", **decision_fields(decision, self.now))
        for table, table_decisions in sorted(by_table.items()):
            verdicts = Counter(d.verdict.value for d in table_decisions)
            self.report.tables_done.add(table)
            logger.info(
                "table pruned",
                table=table,
                table_ids=len({table_identity(d.backup) for d in table_decisions}),  # more than one: re-used name
                listed=len(table_decisions),
                deleting=verdicts[Verdict.DELETE.value],
                kept=verdicts[Verdict.KEEP.value],
                kept_by_min_keep=sum(d.verdict is Verdict.KEEP and "minKeep" in d.reason for d in table_decisions),
                orphaned=verdicts[Verdict.ORPHANED.value],
                foreign=verdicts[Verdict.FOREIGN.value],
                dry_run=self.settings.dry_run,
            )

    # -- bookkeeping -----------------------------------------------------------------------------------------------

    def _has_time(self) -> bool:
        return self.time_left() > self.settings.time_reserve_seconds
