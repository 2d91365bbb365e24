"""Which tables are due, in what order, how many start, and which are overdue: pure, time as a parameter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tablesafe.aws.drill_records import DrillRecord
from tablesafe.config.plans import parse_plans
from tablesafe.drill import selection

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RULES = [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}]
PLANS = parse_plans(
    {
        "weekly": {"rules": RULES, "drill": {"everyDays": 7, "maxConcurrent": 2}},
        "often": {"rules": RULES, "drill": {"everyDays": 1, "maxConcurrent": 1}},
        "plain": RULES,
    }
)


def record(table: str, days_ago: float, *, passed: bool = True, plan: str = "weekly") -> DrillRecord:
    at = NOW - timedelta(days=days_ago)
    return DrillRecord(table, plan, "passed" if passed else "failed", at, last_passed_at=at if passed else None)


def test_never_drilled_tables_come_first_then_the_oldest_drilled() -> None:
    tables = {"a": "weekly", "b": "weekly", "c": "weekly", "d": "weekly"}
    records = {"a": record("a", 8), "b": record("b", 30), "c": record("c", 2)}
    due = selection.due(tables, PLANS, records, in_flight=[], now=NOW)
    assert [c.table for c in due] == ["d", "b", "a"]  # c was drilled 2 days ago: not due


def test_tables_of_plans_without_a_drill_and_tables_in_flight_are_not_due() -> None:
    tables = {"a": "plain", "b": "weekly", "c": "unknown"}
    assert selection.due(tables, PLANS, {}, in_flight=["b"], now=NOW) == []


def test_each_plan_starts_at_most_max_concurrent_counting_what_is_in_flight() -> None:
    tables = {f"w{i}": "weekly" for i in range(5)} | {f"o{i}": "often" for i in range(3)}
    due = selection.due(tables, PLANS, {}, in_flight=[], now=NOW)
    chosen = selection.to_start(due, PLANS, {"weekly": 1})
    assert [c.table for c in chosen] == ["o0", "w0"]


def test_the_region_never_has_more_than_fifty_drills_in_flight() -> None:
    plans = parse_plans({"big": {"rules": RULES, "drill": {"everyDays": 1, "maxConcurrent": 50}}})
    due = selection.due({f"t{i:03d}": "big" for i in range(80)}, plans, {}, in_flight=[], now=NOW)
    assert len(selection.to_start(due, plans, {"big": 10})) == 40
    assert selection.to_start(due, plans, {"other": 50}) == []


def test_overdue_means_no_pass_within_one_and_a_half_times_every_days() -> None:
    weekly = PLANS["weekly"]
    assert not selection.is_overdue(None, weekly, NOW)  # never drilled: due, not overdue
    assert not selection.is_overdue(record("a", 10), weekly, NOW)
    assert selection.is_overdue(record("a", 10.6), weekly, NOW)
    assert selection.is_overdue(record("a", 1, passed=False), weekly, NOW)
    counts = selection.overdue_by_plan(
        {"a": "weekly", "b": "weekly", "c": "often"},
        PLANS,
        {"a": record("a", 11), "c": record("c", 1, plan="often")},
        NOW,
    )
    assert counts == {"weekly": 1, "often": 0}
