"""One invocation's work on a slot: discovery and the slot's listing side by side, then a pass over the tables
(replica policy, the exactly-once create, PITR), then rounds for the deferred tables. run.py runs it under the
slot's lease; each step lives in a module of its own (discovery, slot_listing, passes, create, replicas, pitr,
records)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from tablesafe.aws.dynamodb import DynamoDbGateway, ListingIncomplete
from tablesafe.aws.retry import RetryPolicy
from tablesafe.backup.create import SlotCreate
from tablesafe.backup.discovery import discover, select_tables
from tablesafe.backup.passes import TimeBudget, run_pass
from tablesafe.backup.pitr import PitrEnforcer
from tablesafe.backup.records import final_verdict, record
from tablesafe.backup.replicas import ReplicaPolicy
from tablesafe.backup.report import BackupReport, BackupRequest, Outcome, TableResult
from tablesafe.backup.slot_listing import SlotListing
from tablesafe.config.settings import Settings
from tablesafe.observability import logger
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
        self.listing = SlotListing(gateway, request.slot, self.name, self._done)
        self.creator = SlotCreate(gateway, self.listing, sleep)
        self.replicas = ReplicaPolicy(gateway, settings)
        self.pitr = PitrEnforcer(gateway, settings.plans[request.plan].pitr)

    def execute(self) -> BackupReport:
        started = time.monotonic()
        # Discovery (GetResources) and the slot's listing (ListBackups) have separate rate limits: run them side by
        # side, both done before the first CreateBackup. An error of discovery wins (the listing is then waited
        # for and its result dropped), as it did when the listing came second and never started.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="slot-listing") as pool:
            listing = pool.submit(self.listing.find, None)
            self.replicas.tags = discover(self.gateway, self.settings, self.request, self.report)
            present = listing.result()
        todo = []
        for table in self.replicas.tags:
            if table in present:
                self._record(
                    TableResult(table, Outcome.ALREADY_PRESENT, "backup for this slot exists", present[table].arn)
                )
            else:
                todo.append(table)
        deferred = self._run_pass(todo)
        self._settle_deferred(deferred)
        self.report.duration_seconds = time.monotonic() - started
        return self.report

    def _run_pass(self, tables: list[str]) -> list[TableResult]:
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
        return len(self.report.tables(Outcome.CREATED)) + len(self.report.tables(Outcome.ALREADY_PRESENT))

    def _record(self, result: TableResult) -> None:
        record(self.report, result)
