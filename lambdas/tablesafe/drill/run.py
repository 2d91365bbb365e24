"""One drill invocation: under the drill lease, advance every drill in flight, then start the due ones.

    report = run_drills(deps, settings, now=clock, time_left=lambda: seconds_left)

Order: the drill tables first (finish, verify, clean up: they free places under maxConcurrent), then selection
and starts. The lease (slots/lease.py, job "drill") keeps two overlapping invocations from counting the same free
places; a second invocation does not wait for it but leaves the work to the holder and the next schedule. Without
the lease (the store did not answer) the run goes on: the deterministic drill table names still keep a drill from
starting twice, and at worst one plan briefly has more than maxConcurrent drills in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from tablesafe.aws.drill_records import DrillRecord
from tablesafe.aws.drills import DrillTable
from tablesafe.aws.errors import GatewayError
from tablesafe.config.plans import Plan
from tablesafe.drill import names, selection, sweep
from tablesafe.drill.report import DrillReport
from tablesafe.drill.steps import Gateway, Records, Steps
from tablesafe.drill.verification import PAGE_LIMIT, UnitBudget
from tablesafe.observability import logger
from tablesafe.rules.naming import parse_scheduled
from tablesafe.rules.opt_in import table_assignment
from tablesafe.slots.lease import ClaimState, LeaseKey, SlotLeases

DRILL_LEASE = LeaseKey("drill", "all", "all", datetime(2000, 1, 1, tzinfo=UTC))  # one lease for the region's drills


class Discovery(Protocol):
    """The tagged tables and their backups (aws/dynamodb.py's gateway)."""

    def find_tagged_tables(self, tag_key: str) -> list[Any]: ...
    def find_tables(self, tag_key: str) -> list[Any]: ...
    def list_backups(self, *, table_name: str | None = None) -> list[Any]: ...


class RecordStore(Records, Protocol):
    def get(self, tables: list[str]) -> dict[str, DrillRecord]: ...


@dataclass(frozen=True)
class DrillDeps:
    """The gateways a drill run works through."""

    discovery: Discovery
    drills: Gateway
    records: RecordStore
    leases: SlotLeases | None = None


@dataclass(frozen=True)
class DrillSettings:
    """What a drill run needs of the configuration."""

    tag_key: str
    backup_name_prefix: str
    plans: Mapping[str, Plan]
    read_units: float
    time_reserve_seconds: float = 60.0
    default_plan: str | None = None  # tablesafe:defaultPlan: the plan of every table without the plan tag


def run_drills(
    deps: DrillDeps,
    settings: DrillSettings,
    *,
    now: Callable[[], datetime],
    time_left: Callable[[], float],
    page_limit: int = PAGE_LIMIT,
) -> DrillReport:
    """Advance the drills in flight and start the due ones; the report says what ended and what failed."""
    report = DrillReport()
    claim = None
    if deps.leases is not None:
        claim = deps.leases.claim(
            DRILL_LEASE, predecessor=None, time_left=time_left, reserve=settings.time_reserve_seconds
        )
        if claim.state is ClaimState.BUSY:
            logger.info("another drill invocation is working; this one leaves it to that one", lease=claim.key)
            report.lease_busy = True
            return report
    try:
        _run(deps, settings, report, now, lambda: time_left() - settings.time_reserve_seconds, page_limit)
    finally:
        if deps.leases is not None and claim is not None and (problem := deps.leases.release(claim)):
            report.errors.append(problem)
    logger.info("drill run finished", **report.as_dict())
    return report


def _run(
    deps: DrillDeps,
    settings: DrillSettings,
    report: DrillReport,
    now: Callable[[], datetime],
    left: Callable[[], float],
    page_limit: int,
) -> None:
    steps = Steps(
        gateway=deps.drills,
        records=deps.records,
        prefix=settings.backup_name_prefix,
        plans=settings.plans,
        now=now,
        budget=UnitBudget(settings.read_units),
        time_left=left,
        page_limit=page_limit,
    )
    drilled = {name for name, plan in settings.plans.items() if plan.drill is not None}
    tables = _drilled_tables(deps.discovery, settings, drilled) if drilled else {}
    # source table -> plan, of the drills still going after this pass (taken-up tables among them)
    in_flight: dict[str, str] = {}
    found = _drill_tables(deps.drills, settings.backup_name_prefix, tables, report, in_flight)
    for table, tags in found:
        before = report.in_flight
        try:
            steps.advance(table, tags, report)
        except GatewayError as error:
            report.errors.append(f"{tags.get(names.TAG_DRILL)} (drill table {table.name}): {error}")
            logger.error("drill step failed", drill_table=table.name, table=tags.get(names.TAG_DRILL), error=str(error))
            report.in_flight += 1
        if report.in_flight > before:
            in_flight[tags.get(names.TAG_DRILL, "")] = tags.get(names.TAG_PLAN, "")
    if not drilled:
        return
    records = deps.records.get(sorted(tables))
    candidates = selection.due(tables, settings.plans, records, in_flight, now())
    by_plan: dict[str, int] = {}
    for plan in in_flight.values():
        by_plan[plan] = by_plan.get(plan, 0) + 1
    for candidate in selection.to_start(candidates, settings.plans, by_plan):
        backup = _latest_backup(deps.discovery, candidate.table, settings.backup_name_prefix)
        if backup is None:
            logger.warning("drill not started: the table has no available tablesafe backup yet", table=candidate.table)
            report.waiting.append(candidate.table)
            continue
        try:
            if not steps.start(candidate.table, candidate.plan, backup, report):
                break
        except GatewayError as error:
            report.errors.append(f"{candidate.table}: starting its drill: {error}")
            logger.error("drill start failed", table=candidate.table, error=str(error))
    report.in_flight += len(report.started)
    report.overdue = selection.overdue_by_plan(tables, settings.plans, deps.records.get(sorted(tables)), now())


def _drilled_tables(discovery: Discovery, settings: DrillSettings, drilled: set[str]) -> dict[str, str]:
    """Table -> plan, of the drilled plans' tables: tagged with one, or with tablesafe:defaultPlan every table without
    the tag but those opted out and the drill tables themselves (rules/opt_in.py), as the backup run finds them."""
    if settings.default_plan is None:
        return {t.name: t.tag_value for t in discovery.find_tagged_tables(settings.tag_key) if t.tag_value in drilled}
    found: dict[str, str] = {}
    for t in discovery.find_tables(settings.tag_key):
        tag = t.tag_value if t.tagged else None
        plan = table_assignment(t.name, tag, t.tags, settings.default_plan, settings.backup_name_prefix).plan
        if plan is not None and plan in drilled:
            found[t.name] = plan
    return found


def _drill_tables(
    gateway: Gateway, prefix: str, tables: Mapping[str, str], report: DrillReport, in_flight: dict[str, str]
) -> list[tuple[DrillTable, dict[str, str]]]:
    """Every drill table with its tags; untagged restores of our own are tagged (adopted), other tables left alone."""
    found = []
    for name in gateway.table_names(names.drill_prefix(prefix)):
        try:
            table = gateway.describe(name)
            if table is None:
                continue
            tags = gateway.tags(table.arn)
            if not tags.get(names.TAG_DRILL):
                adopted = sweep.adoption_tags(table, prefix, tables)
                if adopted is None:
                    logger.warning("a table named like a drill table is not one of tablesafe's; left alone", table=name)
                    continue
                gateway.tag(table.arn, adopted)
                logger.info("untagged drill table taken up", drill_table=name, table=adopted[names.TAG_DRILL])
                # Advanced once its tags can be read back: the deletion fence reads the tags AWS holds.
                report.in_flight += 1
                in_flight[adopted[names.TAG_DRILL]] = adopted[names.TAG_PLAN]
                continue
        except GatewayError as error:
            report.errors.append(f"drill table {name}: {error}")
            logger.error("drill table could not be read", drill_table=name, error=str(error))
            continue
        found.append((table, tags))
    return found


def _latest_backup(discovery: Discovery, table: str, prefix: str) -> str | None:
    """The ARN of the table's newest AVAILABLE scheduled tablesafe backup."""
    ours = [
        b
        for b in discovery.list_backups(table_name=table)
        if b.status == "AVAILABLE" and parse_scheduled(b.name, prefix) is not None
    ]
    if not ours:
        return None
    return str(max(ours, key=lambda b: (b.created, b.arn)).arn)
