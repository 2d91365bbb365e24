"""An export rule's run: one full export of every table of the plan to the archive bucket, exactly once per slot.

Exactly once rests on three things, each covering what the others do not:

1. The slot lease (slots/lease.py), taken by the backup run before it gets here, keyed by job, plan, rule and slot:
   two deliveries of one slot never work at the same time.
2. The ClientToken (rules/export_naming.py): the same for every delivery of a slot, so for 8 hours after the first
   request AWS answers a retry, a re-run or a lost answer's resend with the first export, whatever S3 shows yet.
3. Beyond those 8 hours (a re-run of an old slot), the bucket: every export writes `_started` in its own
   `<slot prefix>/AWSDynamoDB/<ExportId>/` folder when it begins, so a run lists the slot's folders before it starts
   and makes no export where one exists (IN_PROGRESS, COMPLETED, or one DynamoDB cannot describe: counted as present,
   never duplicated). Only FAILED ones do not count: a new try then gets a ClientToken of its own.

Beside each export the run writes `tablesafe-table.json` (keys, indexes, billing, TTL, the export's ARN), and it
registers the export as in flight, so a later run's check (check.py) reports how it ended.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import Any

from tablesafe.aws.dynamodb import DynamoDbGateway, GatewayError, TableNotFound, TaggedTable
from tablesafe.aws.exports import ExportGateway, ExportInfo, InFlight
from tablesafe.config.settings import Settings
from tablesafe.export.report import ExportOutcome, ExportReport, ExportRequest, TableExport
from tablesafe.observability import logger
from tablesafe.rules.export_naming import ExportSlot, account_of_arn
from tablesafe.rules.naming import SLOT_FORMAT
from tablesafe.rules.opt_in import table_assignment

LIVE = frozenset({"IN_PROGRESS", "COMPLETED"})


def run_exports(
    tables: DynamoDbGateway,
    exports: ExportGateway,
    settings: Settings,
    request: ExportRequest,
    *,
    time_left: Callable[[], float] = lambda: float("inf"),
    clock: Callable[[], float] = time.time,
    workers: int = 4,
) -> ExportReport:
    """Export every table of the request's plan for its slot (see the module docstring)."""
    started = time.monotonic()
    plan, rule, slot = request.plan, request.rule, request.slot
    report = ExportReport(plan, rule, slot)
    mine = plan_tables(tables, settings, plan)
    logger.info("tables discovered for export", plan=plan, rule=rule, targets=len(mine), slot=slot.isoformat())
    pitr = settings.plans[plan].pitr
    recovery_days = pitr.recovery_period_days if pitr is not None else 35
    run = _TableExports(tables, exports, plan, rule, slot, recovery_days, clock)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="export") as pool:
        futures = []
        for table in mine:
            if time_left() <= settings.time_reserve_seconds:
                detail = "ran out of time before this table; the retry of the run exports it"
                report.results.append(TableExport(table.name, ExportOutcome.FAILED, detail))
                continue
            futures.append(pool.submit(run.export, table))
        report.results.extend(future.result() for future in futures)
    for result in report.results:
        _log(result, plan, rule, slot)
    report.duration_seconds = time.monotonic() - started
    return report


def plan_tables(tables: DynamoDbGateway, settings: Settings, plan: str) -> list[TaggedTable]:
    """The plan's tables, as the backup run finds them: tagged with the plan, or with `tablesafe:defaultPlan` every
    table of the region without the tag but those opted out and tablesafe's own drill tables (rules/opt_in.py)."""
    default_plan, prefix = settings.default_plan, settings.backup_name_prefix
    if default_plan is None:
        return [t for t in tables.find_tagged_tables(settings.tag_key) if t.tag_value == plan]
    return [
        t
        for t in tables.find_tables(settings.tag_key)
        if table_assignment(t.name, t.tag_value if t.tagged else None, t.tags, default_plan, prefix).plan == plan
    ]


class _TableExports:
    """One table at a time: look for the slot's export, start one if there is none, write the settings beside it."""

    def __init__(
        self,
        tables: DynamoDbGateway,
        exports: ExportGateway,
        plan: str,
        rule: str,
        slot: datetime,
        recovery_days: int,
        clock: Callable[[], float],
    ) -> None:
        self.tables, self.exports = tables, exports
        self.plan, self.rule, self.slot = plan, rule, slot
        self.recovery_days = recovery_days
        self.clock = clock

    def export(self, table: TaggedTable) -> TableExport:
        if not table.arn:  # found by ListTables alone (never tagged, under tablesafe:defaultPlan): its ARN first
            try:
                table = replace(table, arn=self.tables.describe_table(table.name).arn)
            except TableNotFound:
                return TableExport(
                    table.name, ExportOutcome.SKIPPED, "table no longer exists (deleted after discovery)"
                )
            except GatewayError as error:
                return TableExport(
                    table.name, ExportOutcome.FAILED, f"{error.operation}: {error.code}: {error.message}"
                )
        slot = ExportSlot(account_of_arn(table.arn), self.exports.region, table.name, self.plan, self.rule, self.slot)
        try:
            return self._export(table, slot)
        except TableNotFound:
            return TableExport(table.name, ExportOutcome.SKIPPED, "table no longer exists (deleted after discovery)")
        except GatewayError as error:
            detail = f"{error.operation}: {error.code}: {error.message}"
            return TableExport(table.name, ExportOutcome.FAILED, detail, prefix=slot.prefix)

    def _export(self, table: TaggedTable, slot: ExportSlot) -> TableExport:
        present, failed = self._slot_exports(table, slot)
        if present is not None:
            self._write_beside(table, slot, present)
            return TableExport(
                table.name, ExportOutcome.ALREADY_PRESENT, "the slot's export exists", present.arn, slot.prefix
            )
        self._ensure_pitr(table.name)
        info = self.exports.start_export(table.arn, slot, slot.client_token(attempt=failed))
        self._write_beside(table, slot, info)
        if info.status == "FAILED":  # a repeat of a failed export's request within its ClientToken's 8 hours
            detail = f"the slot's export failed: {info.failure_code}: {info.failure_message}"
            return TableExport(table.name, ExportOutcome.FAILED, detail, info.arn, slot.prefix)
        return TableExport(table.name, ExportOutcome.STARTED, f"export {info.status}", info.arn, slot.prefix)

    def _slot_exports(self, table: TaggedTable, slot: ExportSlot) -> tuple[ExportInfo | None, int]:
        """The slot's live export, if any, and how many of its exports failed."""
        failed = 0
        for export_id in sorted(self.exports.slot_export_ids(slot)):
            arn = f"{table.arn}/export/{export_id}"
            info = self.exports.describe_export(arn)
            if info is None:
                # A folder DynamoDB made but cannot describe: an export began here. Never start a second one.
                return ExportInfo(arn=arn, status="UNKNOWN", table_arn=table.arn, prefix=slot.prefix), failed
            if info.status in LIVE:
                return info, failed
            failed += 1
        return None, failed

    def _ensure_pitr(self, table: str) -> None:
        """ExportTableToPointInTime needs PITR; the plan asks for it (synth refuses an export rule without)."""
        state = self.tables.pitr_state(table)
        if not state.enabled:
            logger.warning("point-in-time recovery was off; turned on for the export", table=table)
            self.tables.enable_pitr(table, self.recovery_days)

    def _write_beside(self, table: TaggedTable, slot: ExportSlot, info: ExportInfo) -> None:
        """The table's settings beside the export, and the export in the in-flight register (both idempotent)."""
        if not self.exports.has_object(slot.settings_key):
            settings = self.exports.table_settings(table.name)
            settings.update(
                exportArn=info.arn,
                plan=self.plan,
                rule=self.rule,
                slot=self.slot.strftime(SLOT_FORMAT),
                tags=dict(table.tags),
            )
            self.exports.put_json(slot.settings_key, settings)
        if info.status != "UNKNOWN":  # every export that DynamoDB describes; the check reports how it ended
            item = InFlight(info.arn, table.name, self.plan, self.rule, self.slot.strftime(SLOT_FORMAT), self.clock())
            self.exports.track(item)


def _log(result: TableExport, plan: str, rule: str, slot: datetime) -> None:
    fields: dict[str, Any] = {
        "table": result.table,
        "outcome": result.outcome.value,
        "detail": result.detail,
        "plan": plan,
        "rule": rule,
        "slot": slot.isoformat(),
        "export_arn": result.export_arn,
        "prefix": result.prefix,
    }
    if result.outcome is ExportOutcome.FAILED:
        logger.error("table export failed", **fields)
    elif result.outcome is ExportOutcome.SKIPPED:
        logger.warning("table skipped", **fields)
    else:
        logger.info("table exported", **fields)
