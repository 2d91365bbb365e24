"""Which tables are due for a drill, in what order, how many may start; which are overdue. Pure: time is a parameter.

A table is due when its plan has a `drill` object, no drill of it is in flight, and its last drill ended at least
`everyDays` ago (or it was never drilled). Due tables start oldest-drilled first (never drilled before all), each
plan at most `maxConcurrent` drills in flight, the region at most 50 (AWS's concurrent-restore quota).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from tablesafe.aws.drill_records import DrillRecord
from tablesafe.config.drill import MAX_CONCURRENT_LIMIT
from tablesafe.config.plans import Plan

OVERDUE_FACTOR = 1.5  # a table is overdue when no drill of it passed within 1.5 x everyDays


@dataclass(frozen=True)
class Candidate:
    """A table due for a drill."""

    table: str
    plan: str
    last_drilled: datetime | None


def due(
    tables: Mapping[str, str],
    plans: Mapping[str, Plan],
    records: Mapping[str, DrillRecord],
    in_flight: Iterable[str],
    now: datetime,
) -> list[Candidate]:
    """The due tables (`tables`: table -> plan), oldest-drilled first, then by name."""
    busy = set(in_flight)
    found = []
    for table, plan_name in tables.items():
        plan = plans.get(plan_name)
        if plan is None or plan.drill is None or table in busy:
            continue
        record = records.get(table)
        if record is not None and now - record.finished_at < plan.drill.interval:
            continue
        found.append(Candidate(table, plan_name, record.finished_at if record is not None else None))
    return sorted(found, key=lambda c: (c.last_drilled is not None, c.last_drilled or now, c.table))


def to_start(
    candidates: list[Candidate], plans: Mapping[str, Plan], in_flight_by_plan: Mapping[str, int]
) -> list[Candidate]:
    """The candidates that fit under each plan's maxConcurrent and the region's 50, in order."""
    running = dict(in_flight_by_plan)
    total = sum(running.values())
    chosen = []
    for candidate in candidates:
        drill = plans[candidate.plan].drill
        assert drill is not None  # due() keeps only drilled plans
        if total >= MAX_CONCURRENT_LIMIT:
            break
        if running.get(candidate.plan, 0) >= drill.max_concurrent:
            continue
        running[candidate.plan] = running.get(candidate.plan, 0) + 1
        total += 1
        chosen.append(candidate)
    return chosen


def is_overdue(record: DrillRecord | None, plan: Plan, now: datetime) -> bool:
    """No drill of the table passed within 1.5 x everyDays: it was drilled, and its last pass is older or never was.

    A table never drilled yet is due, not overdue: it has not had its chance (the drill function starts it).
    """
    if plan.drill is None or record is None:
        return False
    limit = plan.drill.interval * OVERDUE_FACTOR
    return record.last_passed_at is None or now - record.last_passed_at > limit


def overdue_by_plan(
    tables: Mapping[str, str], plans: Mapping[str, Plan], records: Mapping[str, DrillRecord], now: datetime
) -> dict[str, int]:
    """Per drilled plan, how many of its tables are overdue (0 included: the alarm's datapoint)."""
    counts = {name: 0 for name, plan in plans.items() if plan.drill is not None}
    for table, plan_name in tables.items():
        plan = plans.get(plan_name)
        if plan is not None and is_overdue(records.get(table), plan, now):
            counts[plan_name] += 1
    return counts
