"""One invocation's work on a slot: discovery and the slot's listing side by side, then a pass over the tables
(replica policy, the exactly-once create, PITR), then rounds for the deferred tables. run.py runs it under the
slot's lease; each step lives in a module of its own (discovery, slot_listing, passes, create, replicas, pitr,
records)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor

from tablesafe.aws.dynamodb import Backup, DynamoDbGateway, GatewayError, ListingIncomplete
from tablesafe.aws.retry import RetryPolicy
from tablesafe.backup.create import SlotCreate
from tablesafe.backup.cursor import RunCursor
from tablesafe.backup.discovery import Discovery, select_tables
from tablesafe.backup.passes import TimeBudget, run_pass
from tablesafe.backup.pitr import PitrEnforcer
from tablesafe.backup.read_ahead import read_ahead
from tablesafe.backup.records import final_verdict, record
from tablesafe.backup.replicas import ReplicaPolicy
from tablesafe.backup.report import BackupReport, BackupRequest, Outcome, TableResult
from tablesafe.backup.slot_listing import SlotListing
from tablesafe.config.settings import Settings
from tablesafe.observability import logger
from tablesafe.rules.home_region import HOME_REGION_TAG
from tablesafe.rules.naming import scheduled_name

__all__ = ["BackupRun", "select_tables"]


class BackupRun:
    """The work of one invocation; `execute` returns its report."""

    def __init__(
        self,
        gateway: DynamoDbGateway,
        settings: Settings,
        request: BackupRequest,
        time_left: Callable[[], float],
        sleep: Callable[[float], None],
        workers: int,
        inherited: bool = False,
    ) -> None:
        self.gateway = gateway
        self.settings = settings
        self.request = request
        self.sleep = sleep
        self.workers = workers
        # Rounds for the deferred tables (BackupInUseException, a busy table: no botocore mode retries those).
        self.deferral = RetryPolicy(attempts=9, base=2.0, cap=30.0, sleep=sleep)
        self.name = scheduled_name(settings.backup_name_prefix, request.plan, request.rule, request.slot)
        self.report = BackupReport(request.plan, request.rule, request.slot, self.name)
        self.budget = TimeBudget(time_left, settings.time_reserve_seconds)
        self.inherited = inherited  # the slot's lease came straight from the predecessor the event names
        self.known_done = 0 if request.cursor is None else request.cursor.done
        self.deferred_left: set[str] = set()  # deferred tables handed over: the continuation looks for them first
        self.discovery_error: GatewayError | None = None
        self.listing = SlotListing(gateway, request.slot, self.name, self._done)
        self.creator = SlotCreate(gateway, self.listing, sleep)
        self.replicas = ReplicaPolicy(gateway, settings)
        self.pitr = PitrEnforcer(gateway, settings.plans[request.plan].pitr)

    def execute(self) -> BackupReport:
        started = time.monotonic()
        cursor = self.request.cursor
        deferred = self._discover_and_back_up() if cursor is None else self._go_on(cursor)
        self._settle_deferred(deferred)
        if self.discovery_error is not None:
            self._fail_undiscovered(self.discovery_error)
        self.report.duration_seconds = time.monotonic() - started
        return self.report

    def next_cursor(self) -> RunCursor:
        """What the continuation needs to take the tables this invocation hands over."""
        left = self.report.handed_over
        tags = self.replicas.tags
        home = {t: tag for t in left if (tag := tags.get(t, {}).get(HOME_REGION_TAG)) is not None}
        candidates = self.replicas.candidates
        return RunCursor(
            tables=tuple(left),
            deferred=frozenset(self.deferred_left.intersection(left)),
            done=self._done(),
            home_tags=home,
            candidates=None if candidates is None else candidates.intersection(left),
        )

    def _discover_and_back_up(self) -> list[TableResult]:
        """The first invocation: discovery page by page, backing up each page's tables as it comes, once the
        slot's listing (side by side with the first page: separate rate limits) says what is there already."""
        discovery = Discovery(self.gateway, self.settings, self.request, self.report)
        pages = read_ahead(discovery.pages())  # at GetResources' own rate, not the backups' (read_ahead.py)
        self.replicas.tags = discovery.tags  # grows page by page, always before a table of the page is started
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="slot-listing") as pool:
            # An error of discovery wins (the listing is waited for and dropped): no backup is started either way.
            listing = pool.submit(self.listing.find, None)
            first = next(pages, [])
            present = listing.result()

        def targets() -> Iterator[str]:
            page: list[str] | None = first
            while page is not None:
                yield from self._not_present(page, present)
                try:
                    page = next(pages, None)
                except GatewayError as error:  # the tables found so far are backed up; the run then fails
                    self.discovery_error = error
                    logger.error("discovery failed part-way", error=str(error), found=len(discovery.tags))
                    return

        return self._run_pass(targets())

    def _go_on(self, cursor: RunCursor) -> list[TableResult]:
        """A continuation with its cursor: its predecessor's tables, without discovery. Inherited straight from
        the predecessor, the lease says no other run touched the slot since: only the deferred tables are looked
        up. Otherwise (a retry, a late start, no lease) the whole slot is listed, as a run without a cursor does."""
        self.replicas.tags = {t: {HOME_REGION_TAG: tag} for t, tag in cursor.home_tags.items()}
        self.replicas.candidates = cursor.candidates
        if self.inherited:
            present = self.listing.find(cursor.deferred) if cursor.deferred else {}
        else:
            present = self.listing.find(None)
        return self._run_pass(list(self._not_present(cursor.tables, present)))

    def _not_present(self, tables: Iterable[str], present: Mapping[str, Backup]) -> Iterator[str]:
        for table in tables:
            if table in present:
                detail = "backup for this slot exists"
                self._record(TableResult(table, Outcome.ALREADY_PRESENT, detail, present[table].arn))
            else:
                yield table

    def _fail_undiscovered(self, error: GatewayError) -> None:
        """Discovery broke off: what it found and did not start is named failed (Lambda's retry of the event
        discovers again and verifies the slot); no continuation, which could not know the tables not found."""
        for table in self.report.handed_over:
            record(self.report, TableResult(table, Outcome.FAILED, f"not started: discovery failed part-way: {error}"))
        self.report.handed_over = []
        self.report.problem = (
            f"discovery failed part-way ({error.code}: {error.message}); the tables it did not reach got no backup "
            "in this invocation"
        )

    def _run_pass(self, tables: Iterable[str]) -> list[TableResult]:
        """Try each table once (with in-place retries); returns those deferred; stops starting when time is short."""
        left = run_pass(tables, self._backup_table, self._record, workers=self.workers, budget=self.budget)
        self.report.handed_over.extend(left.not_started)
        return left.deferred

    def _settle_deferred(self, deferred: list[TableResult]) -> None:
        """Tables blocked by another backup in progress or a busy table: wait, look for ours, try again."""
        for attempt in range(1, self.deferral.attempts):
            if not deferred:
                return
            if not self.budget.allows(extra=self.deferral.ceiling(attempt)):
                self.report.handed_over.extend(r.table for r in deferred)
                self.deferred_left.update(r.table for r in deferred)
                return
            self.deferral.pause(attempt)
            try:
                present = self.listing.find(r.table for r in deferred)
            except ListingIncomplete as error:
                logger.warning("could not check deferred tables; trying again", error=str(error))
                continue
            retry = []
            for result in deferred:
                if result.table in present:
                    detail = "another run's backup for this slot completed"
                    self._record(TableResult(result.table, Outcome.ALREADY_PRESENT, detail, present[result.table].arn))
                else:
                    retry.append(result.table)
            deferred = self._run_pass(retry)
        for result in deferred:
            self._record(final_verdict(result))

    def _backup_table(self, table: str) -> TableResult:
        elsewhere = self.replicas.backed_up_elsewhere(table)
        return self.pitr.ensure(elsewhere if elsewhere is not None else self.creator.create(table))

    def _done(self) -> int:
        return (
            self.known_done
            + len(self.report.tables(Outcome.CREATED))
            + len(self.report.tables(Outcome.ALREADY_PRESENT))
        )

    def _record(self, result: TableResult) -> None:
        record(self.report, result)
