"""What a drill checks: the restored shape against the backup's record, the count and its tolerance and read budget,
the validator's answer; and which untagged tables the sweep takes up."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tablesafe.aws.drills import (
    CountPage,
    DrillTable,
    IndexShape,
    RecordedBackup,
    Shape,
    ValidatorAnswer,
    ValidatorTimedOut,
)
from tablesafe.drill import names, sweep
from tablesafe.drill.verification import UnitBudget, count_items, run_validator, shape_problems, within_tolerance

KEYS = (("pk", "HASH"), ("sk", "RANGE"))
GSI = IndexShape("by-owner", (("owner", "HASH"),), ("ALL", ()))
SHAPE = Shape(key_schema=KEYS, global_indexes=(GSI,), sse=("KMS", "arn:aws:kms:us-east-1:123456789012:key/k"))
WHEN = datetime(2026, 12, 1, tzinfo=UTC)
RECORDED = RecordedBackup("arn:b", "tablesafe.daily.daily.20261130T0300Z", "AVAILABLE", "orders", WHEN, 10, SHAPE)
TABLE = DrillTable("d", "arn:d", "ACTIVE", WHEN, SHAPE, frozenset({"pk", "sk", "owner"}))


def test_a_restored_table_like_its_backup_has_no_problems() -> None:
    assert shape_problems(TABLE, RECORDED) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"shape": replace(SHAPE, key_schema=(("pk", "HASH"),))}, "key schema"),
        ({"shape": replace(SHAPE, global_indexes=())}, "global secondary indexes"),
        ({"shape": replace(SHAPE, global_indexes=(replace(GSI, projection=("KEYS_ONLY", ())),))}, "global secondary"),
        ({"shape": replace(SHAPE, local_indexes=(GSI,))}, "local secondary indexes"),
        ({"shape": replace(SHAPE, sse=("AWS_OWNED", None))}, "encryption"),
        ({"attribute_names": frozenset({"pk", "sk"})}, "attribute definitions"),
    ],
)
def test_each_difference_from_the_backup_is_named(change: dict[str, Any], problem: str) -> None:
    (found,) = shape_problems(replace(TABLE, **change), RECORDED)
    assert problem in found


def test_the_count_tolerance_is_a_share_of_the_recorded_count() -> None:
    assert within_tolerance(100, 90, 10) and within_tolerance(100, 110, 10)
    assert not within_tolerance(100, 89, 10)
    assert within_tolerance(100, 100, 0) and not within_tolerance(100, 99, 0)
    assert within_tolerance(0, 12, 10)  # nothing recorded yet (ItemCount lags): nothing to compare


class Pages:
    """A table of `pages` pages per segment, each of `units` read units and 10 items."""

    def __init__(self, pages: int, units: float = 100.0) -> None:
        self.pages, self.units, self.calls = pages, units, 0

    def count_page(self, table: str, segment: int, segments: int, start_key: Any, limit: int) -> CountPage:
        self.calls += 1
        done = (start_key or {}).get("n", 0) + 1
        return CountPage(10, self.units, None if done >= self.pages else {"n": done})


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_count_is_exact_across_segments_and_paced_to_the_read_budget() -> None:
    clock = FakeTime()
    budget = UnitBudget(200.0, clock=clock, sleep=clock.sleep)
    count = count_items(Pages(5), "d", budget=budget, time_left=lambda: 1.0, clock=clock, segments=2)
    assert (count.items, count.complete, count.read_units) == (100, True, 1000.0)
    # 8 pages were followed by another (the last page of each segment needs no pause): 800 units at 200/s.
    assert count.seconds == pytest.approx(4.0)


def test_a_count_that_runs_out_of_time_says_it_is_incomplete() -> None:
    clock = FakeTime()
    budget = UnitBudget(100.0, clock=clock, sleep=clock.sleep)
    count = count_items(Pages(1000), "d", budget=budget, time_left=lambda: 10 - clock.now, clock=clock, segments=1)
    assert not count.complete
    assert 0 < count.items < 10_000


class Validator:
    def __init__(self, answer: ValidatorAnswer | Exception) -> None:
        self.answer = answer

    def invoke_validator(self, function: str, payload: Any) -> ValidatorAnswer:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (ValidatorAnswer(None, {"passed": True}), None),
        (ValidatorAnswer(None, {"passed": False}), "failed the drill: no reason given"),
        (ValidatorAnswer("Unhandled", {"errorMessage": "boom"}), "raised (Unhandled): boom"),
        (ValidatorAnswer(None, {"passed": "yes"}), "expected"),
        (ValidatorTimedOut("Invoke", "ReadTimeout", "slow"), "did not answer within 30 s"),
    ],
)
def test_the_validator_passes_only_on_passed_true(answer: Any, expected: str | None) -> None:
    problem = run_validator(Validator(answer), "arn:f", {}, 30)
    assert problem is None if expected is None else expected in (problem or "")


def test_the_sweep_takes_up_only_a_restore_whose_name_is_the_drill_name_of_its_own_backup() -> None:
    backup = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/backup/0179-abc"
    ours = names.drill_table_name("tablesafe", "orders", backup)
    restored = replace(
        TABLE,
        name=ours,
        source_backup_arn=backup,
        source_table_arn="arn:aws:dynamodb:us-east-1:123456789012:table/orders",
    )
    tags = sweep.adoption_tags(restored, "tablesafe", {"orders": "daily"})
    assert tags is not None and tags[names.TAG_DRILL] == "orders" and tags[names.TAG_PLAN] == "daily"
    assert sweep.adoption_tags(replace(restored, name="tablesafe-drill-orders-0000"), "tablesafe", {}) is None
    assert sweep.adoption_tags(replace(TABLE, name=ours), "tablesafe", {}) is None  # no restore made it


def test_a_drill_is_left_behind_only_past_its_restore_limit_plus_the_margin() -> None:
    limit = timedelta(minutes=240)
    assert not sweep.left_behind(WHEN, WHEN + limit + sweep.SWEEP_MARGIN, limit)
    assert sweep.left_behind(WHEN, WHEN + limit + sweep.SWEEP_MARGIN + timedelta(seconds=1), limit)


def test_a_count_cut_short_goes_on_from_where_it_stopped_and_ends_exact() -> None:
    clock = FakeTime()
    budget = UnitBudget(1000.0, clock=clock, sleep=clock.sleep)
    pages = Pages(10, units=100.0)  # 10 pages of 10 items per segment, 0.1 s of budget each
    first = count_items(pages, "d", budget=budget, time_left=lambda: 0.35 - clock.now, clock=clock, segments=2)
    assert not first.complete and 0 < first.items < 200
    later = count_items(
        pages, "d", budget=budget, time_left=lambda: 100.0, clock=clock, segments=2, resume=first.segments
    )
    assert later.complete and later.items == 200
    assert pages.calls == 20  # no page read twice


def test_a_drill_whose_count_saved_progress_lately_is_not_left_behind() -> None:
    from tablesafe.aws.drill_records import CountProgress

    now = WHEN + timedelta(hours=9)
    assert sweep.counting(CountProgress((), saved_at=now - timedelta(minutes=15)), now)
    assert not sweep.counting(CountProgress((), saved_at=now - sweep.SWEEP_MARGIN - timedelta(seconds=1)), now)
    assert not sweep.counting(None, now)
