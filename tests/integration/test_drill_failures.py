"""Each way a drill can go wrong, on the stand-in, as a deliberate outcome: failed, waiting, abandoned, or left
alone, never a table deleted that the drill did not make."""

from __future__ import annotations

import pytest

from tablesafe.drill import names
from tablesafe.drill.report import Verdict
from tests.drill_support import VALIDATOR_ARN, World, fake_validator, plans


@pytest.fixture
def world(standin) -> World:
    return World(standin)


def _drill_to_the_end(world: World) -> None:
    world.run()
    world.clock.advance(minutes=15)


def test_a_refused_restore_fails_the_drill_naming_the_table_and_the_reason(world: World, standin) -> None:
    world.table("orders")
    arn = world.backup("orders")
    standin.refuse_restore(arn, "The KMS key arn:aws:kms:us-east-1:123456789012:key/k1 is disabled")
    report = world.run()
    (result,) = report.results
    assert result.verdict is Verdict.FAILED
    assert "restore refused: ValidationException" in result.reason and "is disabled" in result.reason
    assert "orders" in (report.failure() or "")
    assert world.drill_tables() == []
    assert world.records().get(["orders"])["orders"].verdict == "failed"


def test_too_many_concurrent_restores_make_the_drill_wait_not_fail(world: World, standin) -> None:
    world.table("orders")
    world.backup("orders")
    standin.max_concurrent_restores = 0
    report = world.run()
    assert (report.started, report.results, report.waiting) == ([], [], ["orders"])
    assert report.failure() is None
    standin.max_concurrent_restores = 50
    assert len(world.run().started) == 1


def test_a_backup_deleted_before_the_restore_is_not_a_failure_and_the_next_backup_is_drilled(world: World) -> None:
    world.table("orders")
    old = world.backup("orders")
    world.ddb.delete_backup(BackupArn=old)
    assert world.run().started == []  # no backup left to drill: waiting, not failed
    newer = world.backup("orders")
    assert world.run().started == [names.drill_table_name("tablesafe", "orders", newer)]


def test_a_backup_deleted_during_the_drill_abandons_it_and_cleans_up(world: World) -> None:
    world.table("orders")
    arn = world.backup("orders")
    world.run()
    world.ddb.delete_backup(BackupArn=arn)
    world.clock.advance(minutes=15)
    report = world.run()
    (result,) = report.results
    assert result.verdict is Verdict.ABANDONED
    assert report.failure() is None
    assert world.drill_tables() == []
    assert world.records().get(["orders"]) == {}  # still due: the next backup is drilled next time


def test_a_restore_with_items_missing_fails_with_both_counts(world: World, standin) -> None:
    world.table("orders", items=40)
    arn = world.backup("orders")
    standin.restore_missing_items(arn, 10)
    _drill_to_the_end(world)
    report = world.run()
    (result,) = report.results
    assert result.verdict is Verdict.FAILED
    assert (result.expected_items, result.counted_items) == (40, 30)
    assert "30 items restored, the backup recorded 40" in result.reason
    assert world.drill_tables() == []


def test_items_missing_within_the_tolerance_pass(world: World, standin) -> None:
    world.plans_json = plans(countTolerancePercent=10)
    world.table("orders", items=40)
    standin.restore_missing_items(world.backup("orders"), 4)
    _drill_to_the_end(world)
    (result,) = world.run().results
    assert result.verdict is Verdict.PASSED, result.reason


def test_a_restore_slower_than_max_restore_minutes_fails_and_its_table_goes_once_active(world: World, standin) -> None:
    world.plans_json = plans(maxRestoreMinutes=60)
    standin.restoring_seconds = 3600
    world.table("orders")
    world.backup("orders")
    world.run()
    (drill_table,) = world.drill_tables()
    world.clock.advance(minutes=45)
    assert world.run().results == []  # still within the limit: restoring
    world.clock.advance(minutes=16)
    report = world.run()
    (result,) = report.results
    assert result.verdict is Verdict.FAILED and "restore slower than 60 minutes" in result.reason
    assert world.drill_tables() == [drill_table]  # DeleteTable refuses a CREATING table; kept until ACTIVE
    standin.complete_restores()
    world.clock.advance(minutes=15)
    later = world.run()
    assert later.results == []  # the result is not reported twice
    assert later.deleted == [drill_table]


def test_a_users_table_named_like_a_drill_table_is_never_deleted(world: World) -> None:
    from tools.standin.support import create_table

    create_table(world.ddb, "tablesafe-drill-orders-0123456789ab", {"owner": "me"})
    create_table(world.ddb, "tablesafe-drill-mine")
    for _ in range(3):
        world.run()
        world.clock.advance(days=2)
    assert world.drill_tables() == ["tablesafe-drill-mine", "tablesafe-drill-orders-0123456789ab"]


def test_an_untagged_restore_of_a_drill_is_tagged_then_finished(world: World) -> None:
    world.table("orders")
    arn = world.backup("orders")
    target = names.drill_table_name("tablesafe", "orders", arn)
    world.ddb.restore_table_from_backup(TargetTableName=target, BackupArn=arn)  # a run that died before tagging
    first = world.run()
    assert first.started == []  # the drill of this backup is in flight: not started again
    assert world.tags(target)[names.TAG_DRILL] == "orders"
    world.clock.advance(minutes=15)
    (result,) = world.run().results
    assert result.verdict is Verdict.PASSED
    assert world.drill_tables() == []


@pytest.mark.parametrize(
    ("answer", "error", "expected"),
    [
        ({"passed": True}, None, None),
        ({"passed": False, "reason": "order totals do not add up"}, None, "order totals do not add up"),
        (None, "KeyError: 'total'", "raised (Unhandled): KeyError: 'total'"),
        ("yes", None, 'expected {"passed": true|false'),
    ],
)
def test_the_validator_decides_the_drill(world: World, answer, error, expected) -> None:
    with fake_validator() as validator:
        validator.answer, validator.error = answer, error
        world.validator = validator
        world.plans_json = plans(validator=VALIDATOR_ARN)
        world.table("orders")
        world.backup("orders")
        _drill_to_the_end(world)
        (result,) = world.run().results
    (call,) = validator.calls
    assert call["event"]["sourceTable"] == "orders" and call["event"]["drillTable"].startswith("tablesafe-drill-")
    if expected is None:
        assert result.verdict is Verdict.PASSED
    else:
        assert result.verdict is Verdict.FAILED and expected in result.reason


def test_a_validator_that_does_not_answer_in_time_fails_the_drill(world: World) -> None:
    with fake_validator() as validator:
        validator.delay = 3
        world.validator, world.validator_timeout = validator, 1
        world.plans_json = plans(validator=VALIDATOR_ARN)
        world.table("orders")
        world.backup("orders")
        _drill_to_the_end(world)
        (result,) = world.run().results
    assert result.verdict is Verdict.FAILED
    assert "did not answer within" in result.reason
    assert world.drill_tables() == []
