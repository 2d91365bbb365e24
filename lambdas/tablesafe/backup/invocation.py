"""One invocation's work on a slot: discovery, the slot's listing, CreateBackup per table with its retries, the
deferred tables, global-table replicas and PITR. backup.py runs it under the slot's lease."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Any

from tablesafe.aws.dynamodb import (
    PAGE_SIZE,
    AmbiguousResult,
    Backup,
    BackupInUse,
    DynamoDbGateway,
    GatewayError,
    ListingIncomplete,
    TableInUse,
    TableNotFound,
    TaggedTable,
    Throttled,
)
from tablesafe.aws.retry import RetryPolicy
from tablesafe.backup.report import BackupReport, BackupRequest, Outcome, TableResult
from tablesafe.config.settings import Settings
from tablesafe.observability import logger
from tablesafe.rules.home_region import (
    HOME_REGION,
    HOME_REGION_TAG,
    backup_region,
    decided_without_replicas,
    ignored_home_tag,
)
from tablesafe.rules.naming import scheduled_name

LIVE_STATUSES = frozenset({"CREATING", "AVAILABLE"})


def select_tables(
    tables: Iterable[TaggedTable], plan: str, plans: Mapping[str, object]
) -> tuple[list[TaggedTable], list[TaggedTable]]:
    """The tables of `plan`, and those whose tag value names no configured plan (reported, never backed up).

    Tag values are compared exactly: " daily" or "Daily" is not "daily", and is reported rather than guessed at.
    """
    tables = list(tables)
    mine = [t for t in tables if t.tag_value == plan]
    unknown = [t for t in tables if t.tag_value not in plans]
    return mine, unknown


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
        self.time_left = time_left
        self.sleep = sleep
        self.workers = workers
        # CreateBackup goes out once a try (its client has botocore's retries off): at most 10 tries, pauses up to 10 s.
        self.create_retry = RetryPolicy(attempts=10, base=0.4, cap=10.0, sleep=sleep)
        # Rounds for the deferred tables (BackupInUseException, a busy table: no botocore mode retries those).
        self.deferral = RetryPolicy(attempts=9, base=2.0, cap=30.0, sleep=sleep)
        self.name = scheduled_name(settings.backup_name_prefix, request.plan, request.rule, request.slot)
        self.report = BackupReport(request.plan, request.rule, request.slot, self.name)
        self.pitr = settings.plans[request.plan].pitr
        self.tags: dict[str, Mapping[str, str]] = {}
        self._replicas: dict[str, tuple[str, ...]] = {}
        self._warned_home_tags: set[str] = set()

    def execute(self) -> BackupReport:
        started = time.monotonic()
        # Discovery (GetResources) and the slot's listing (ListBackups) have separate rate limits: run them side by
        # side, both done before the first CreateBackup. An error of discovery wins (the listing is then waited
        # for and its result dropped), as it did when the listing came second and never started.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="slot-listing") as pool:
            listing = pool.submit(self._slot_backups, None)
            targets = self._discover()
            present = listing.result()
        todo = []
        for table in targets:
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

    def _discover(self) -> list[str]:
        tables: list[TaggedTable] = self.gateway.find_tagged_tables(self.settings.tag_key)
        mine, unknown = select_tables(tables, self.request.plan, self.settings.plans)
        targets = [table.name for table in mine]
        self.tags = {table.name: table.tags for table in mine}
        for table in unknown:
            self.report.unknown_plan[table.name] = table.tag_value
            logger.error(
                "table tagged with an unknown plan; it is not backed up",
                table=table.name,
                tag_key=self.settings.tag_key,
                tag_value=table.tag_value,
                configured_plans=sorted(self.settings.plans),
            )
        logger.info(
            "tables discovered",
            plan=self.request.plan,
            rule=self.request.rule,
            tagged=len(tables),
            targets=len(targets),
            unknown_plan=len(self.report.unknown_plan),
            backup_name=self.name,
        )
        return targets

    def _slot_backups(self, tables: Iterable[str] | None) -> dict[str, Backup]:
        """This slot's live backups by table: one account-wide listing, or per table when that is fewer calls."""
        wanted = None if tables is None else sorted(set(tables))
        found: list[Backup] = []
        done = len(self.report.tables(Outcome.CREATED)) + len(self.report.tables(Outcome.ALREADY_PRESENT))
        expected_pages = 1 + done // PAGE_SIZE
        if wanted is not None and len(wanted) < expected_pages:
            for table in wanted:
                found.extend(self.gateway.list_backups(table_name=table, created_from=self.request.slot))
        else:
            found = self.gateway.list_backups(created_from=self.request.slot)
        return {b.table_name: b for b in found if b.name == self.name and b.status in LIVE_STATUSES}

    def _run_pass(self, tables: list[str]) -> list[TableResult]:
        """Try each table once (with in-place retries); returns those deferred; stops starting when time is short."""
        deferred: list[TableResult] = []
        pending = iter(tables)
        in_flight: dict[Future[TableResult], str] = {}
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="backup") as pool:
            while True:
                while len(in_flight) < self.workers * 2 and self._has_time():
                    table = next(pending, None)
                    if table is None:
                        break
                    in_flight[pool.submit(self._backup_table, table)] = table
                if not in_flight:
                    break
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    result = future.result()
                    del in_flight[future]
                    if result.outcome is Outcome.DEFERRED:
                        deferred.append(result)
                    else:
                        self._record(result)
        self.report.handed_over.extend(pending)
        return deferred

    def _settle_deferred(self, deferred: list[TableResult]) -> None:
        """Tables blocked by another backup in progress or a busy table: wait, look for ours, try again."""
        for attempt in range(1, self.deferral.attempts):
            if not deferred:
                return
            if not self._has_time(extra=self.deferral.ceiling(attempt)):
                self.report.handed_over.extend(r.table for r in deferred)
                return
            self.deferral.pause(attempt)
            try:
                present = self._slot_backups(r.table for r in deferred)
            except ListingIncomplete as error:
                logger.warning("could not check deferred tables; trying again", error=str(error))
                continue
            retry = []
            for result in deferred:
                if result.table in present:
                    self._record(
                        TableResult(
                            result.table,
                            Outcome.ALREADY_PRESENT,
                            "another run's backup for this slot completed",
                            present[result.table].arn,
                        )
                    )
                else:
                    retry.append(result.table)
            deferred = self._run_pass(retry)
        for result in deferred:
            self._record(_final_verdict(result))

    def _backup_table(self, table: str) -> TableResult:
        elsewhere = self._backed_up_elsewhere(table)
        return self._ensure_pitr(elsewhere if elsewhere is not None else self._create(table))

    def _backed_up_elsewhere(self, table: str) -> TableResult | None:
        """A global-table replica whose home region is another: skipped here (home-region mode only)."""
        if self.settings.global_tables != HOME_REGION:
            return None
        home_tag = self.tags.get(table, {}).get(HOME_REGION_TAG)
        region = self.gateway.region
        deployed = self.settings.deployed_regions
        if decided_without_replicas(region, home_tag, deployed):
            # Backed up here whatever its replicas (tagged home here, or no other deployed region could be home).
            self._warn_ignored_home_tag(table, home_tag, ignored_home_tag(region, None, home_tag, deployed))
            return None
        try:
            replicas = self._replicas.get(table)
            if replicas is None:  # asked once per run: a deferred table comes back through here on each retry
                replicas = self._replicas[table] = self.gateway.describe_table(table).replica_regions
        except TableNotFound:
            return TableResult(table, Outcome.SKIPPED, "table no longer exists (deleted after discovery)")
        except GatewayError as error:
            logger.warning("could not check for global-table replicas; backing up here", table=table, error=str(error))
            return None
        if not replicas:
            self._warn_ignored_home_tag(table, home_tag, ignored_home_tag(region, None, home_tag, deployed))
            return None
        home = backup_region(region, replicas, home_tag, deployed)
        self._warn_ignored_home_tag(table, home_tag, ignored_home_tag(region, replicas, home_tag, deployed), home)
        if home == region:
            return None
        return TableResult(
            table, Outcome.SKIPPED, f"global table replica; its home region {home} backs it up", replica_skipped=True
        )

    def _warn_ignored_home_tag(self, table: str, home_tag: str | None, reason: str | None, home: str = "") -> None:
        if reason is None or table in self._warned_home_tags:  # once per run, not again on a deferred table's retry
            return
        self._warned_home_tags.add(table)
        logger.warning(
            "home-region tag cannot be followed; the table is backed up in backup_region instead",
            table=table,
            tag=HOME_REGION_TAG,
            home_tag=home_tag,
            reason=reason,
            backup_region=home or self.gateway.region,
            deployed_regions=self.settings.deployed_regions,
        )

    def _ensure_pitr(self, result: TableResult) -> TableResult:
        """The plan asks for PITR: turn it on, or correct its recovery period, and say so."""
        if self.pitr is None or not self.pitr.enabled:
            return result
        if result.outcome is Outcome.DEFERRED or (result.outcome is Outcome.SKIPPED and not result.replica_skipped):
            return result  # tried again later in the run, or the table is gone or still being created
        wanted = self.pitr.recovery_period_days
        try:
            state = self.gateway.pitr_state(result.table)
            if state.enabled and (state.recovery_period_days or 35) == wanted:  # AWS's period defaults to 35 days
                return result
            self.gateway.enable_pitr(result.table, wanted)
        except TableNotFound:
            return result
        except GatewayError as error:
            return replace(
                result,
                outcome=Outcome.FAILED,
                detail=f"{result.detail}; but PITR could not be turned on: {error.code}: {error.message}",
            )
        logger.warning(
            "point-in-time recovery drifted; corrected",
            table=result.table,
            was_enabled=state.enabled,
            was_days=state.recovery_period_days,
            now_days=wanted,
        )
        return replace(result, pitr_changed=True)

    def _create(self, table: str) -> TableResult:
        # Every resend is preceded by a look for the slot's backup: after an ambiguous answer ours may exist, and
        # while this table waited out a throttle a concurrent run's backup may have been made and finished CREATING,
        # after which AWS no longer answers BackupInUseException and a resend would make a second backup.
        look = False
        maybe_ours = False  # an earlier attempt may have taken effect
        last_error: GatewayError | None = None
        for _ in self.create_retry.tries():
            if look:
                try:
                    found = self._slot_backups([table]).get(table)
                except ListingIncomplete as error:
                    last_error = error
                    continue
                if found is not None and maybe_ours:
                    return TableResult(table, Outcome.CREATED, "created (answer lost; found by name)", found.arn)
                if found is not None:
                    detail = "another run's backup for this slot appeared while this one waited"
                    return TableResult(table, Outcome.ALREADY_PRESENT, detail, found.arn)
            try:
                backup = self.gateway.create_backup(table, self.name)
            except Throttled as error:
                last_error, look = error, True
            except AmbiguousResult as error:
                last_error, look, maybe_ours = error, True, True
            except BackupInUse as error:
                return TableResult(table, Outcome.DEFERRED, error.message)
            except TableNotFound:
                return TableResult(table, Outcome.SKIPPED, "table no longer exists (deleted after discovery)")
            except TableInUse as error:
                return self._table_busy(table, error)
            except GatewayError as error:
                return TableResult(table, Outcome.FAILED, f"{error.code}: {error.message}{self._status_note(table)}")
            else:
                return TableResult(table, Outcome.CREATED, "created", backup.arn)
        return TableResult(table, Outcome.FAILED, f"gave up after {self.create_retry.attempts} attempts: {last_error}")

    def _table_busy(self, table: str, error: GatewayError) -> TableResult:
        try:
            status = self.gateway.describe_table(table).status
        except TableNotFound:
            return TableResult(table, Outcome.SKIPPED, "table no longer exists (deleted after discovery)")
        except GatewayError:
            status = "UNKNOWN"
        if status == "DELETING":
            return TableResult(table, Outcome.SKIPPED, "table is being deleted")
        if status in ("CREATING", "UPDATING"):
            return TableResult(table, Outcome.DEFERRED, f"table is {status}")
        return TableResult(table, Outcome.FAILED, f"{error.code}: {error.message} (table status {status})")

    def _status_note(self, table: str) -> str:
        try:
            status = self.gateway.describe_table(table).status
        except GatewayError:
            return ""
        return "" if status == "ACTIVE" else f" (table status {status})"

    def _has_time(self, extra: float = 0.0) -> bool:
        return self.time_left() > self.settings.time_reserve_seconds + extra

    def _record(self, result: TableResult) -> None:
        self.report.results.append(result)
        fields: dict[str, Any] = {
            "table": result.table,
            "outcome": result.outcome.value,
            "detail": result.detail,
            "backup_name": self.name,
            "backup_arn": result.backup_arn,
        }
        if result.outcome is Outcome.FAILED:
            logger.error("table backup failed", **fields)
        elif result.outcome is Outcome.SKIPPED:
            logger.warning("table skipped", **fields)
        else:
            logger.info("table backed up", **fields)


def _final_verdict(deferred: TableResult) -> TableResult:
    """What a table still deferred at the end of the run amounts to."""
    if deferred.detail == "table is CREATING":
        return TableResult(deferred.table, Outcome.SKIPPED, "table is still being created; the next slot backs it up")
    if deferred.detail.startswith("table is "):
        return TableResult(deferred.table, Outcome.FAILED, f"{deferred.detail} for the whole run; no backup")
    return TableResult(
        deferred.table,
        Outcome.FAILED,
        f"another backup of this table stayed in progress for the whole run ({deferred.detail}); no backup",
    )
