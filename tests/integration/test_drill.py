"""Restore drills on the stand-in: a drill that passes end to end, and the state it keeps in AWS between runs."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tablesafe.drill import names
from tablesafe.drill.report import Verdict
from tablesafe.runtime.cold_start import cold_start
from tablesafe.runtime.drill_wiring import drill_wiring
from tests.drill_support import World, plans
from tests.lease_support import LEASE_TABLE
from tools.standin.support import create_table, fill


@pytest.fixture
def world(standin) -> World:
    return World(standin)


def test_a_drill_restores_verifies_and_deletes_its_table_across_invocations(world: World) -> None:
    world.table("orders", items=37)
    arn = world.backup("orders")

    first = world.run()
    assert first.started == [names.drill_table_name("tablesafe", "orders", arn)]
    (drill_table,) = world.drill_tables()
    tags = world.tags(drill_table)
    assert tags[names.TAG_DRILL] == "orders"
    assert tags[names.TAG_PLAN] == "daily"
    assert tags[names.TAG_PHASE] == "restoring"
    described = world.ddb.describe_table(TableName=drill_table)["Table"]
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert described["DeletionProtectionEnabled"] is False

    world.clock.advance(minutes=15)
    second = world.run()
    (result,) = second.results
    assert result.verdict is Verdict.PASSED, result.reason
    assert (result.expected_items, result.counted_items) == (37, 37)
    assert result.restore_seconds == 15 * 60
    assert second.deleted == [drill_table]
    assert world.drill_tables() == []
    record = world.records().get(["orders"])["orders"]
    assert record.verdict == "passed" and record.last_passed_at == world.clock.now


def test_a_table_drilled_recently_is_not_drilled_again_until_every_days_pass(world: World) -> None:
    world.table("orders")
    world.backup("orders")
    world.run()
    world.clock.advance(minutes=15)
    world.run()

    world.clock.advance(days=6)
    assert world.run().started == []
    world.clock.advance(days=1, minutes=1)
    assert len(world.run().started) == 1


def _overlapping(world: World, *, leases: bool) -> list:
    """Two invocations at once; the restore call is slow, so both have chosen their drills before either restored."""
    world.standin.faults.set("RestoreTableFromBackup", latency_ms=400)
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [pool.submit(world.run, leases=leases) for _ in range(2)]
        return [run.result() for run in runs]


def test_two_overlapping_invocations_without_the_lease_start_a_drill_once(world: World) -> None:
    world.table("orders")
    world.backup("orders")
    reports = _overlapping(world, leases=False)
    assert sorted(len(r.started) for r in reports) == [0, 1]
    assert len(world.drill_tables()) == 1
    assert world.standin.calls.count("RestoreTableFromBackup", "rejected") == 1  # TableAlreadyExistsException


def test_an_invocation_that_finds_the_drill_lease_held_leaves_the_work_to_the_holder(world: World) -> None:
    world.table("orders")
    world.backup("orders")
    reports = _overlapping(world, leases=True)
    assert sorted(r.lease_busy for r in reports) == [False, True]
    assert sum(len(r.started) for r in reports) == 1


def test_a_table_with_indexes_and_its_own_kms_key_passes_its_drill(world: World, standin) -> None:
    from tests.standin.test_drill_restores import indexed_table

    indexed_table(world.ddb, "ledger")
    world.ddb.tag_resource(
        ResourceArn=world.ddb.describe_table(TableName="ledger")["Table"]["TableArn"],
        Tags=[{"Key": "backup-plan", "Value": "daily"}],
    )
    for i in range(12):
        world.ddb.put_item(TableName="ledger", Item={"pk": {"S": str(i)}, "sk": {"S": "a"}, "owner": {"S": "x"}})
    world.backup("ledger")
    world.run()
    world.clock.advance(minutes=15)
    (result,) = world.run().results
    assert result.verdict is Verdict.PASSED, result.reason
    assert result.counted_items == 12


def test_a_long_source_table_name_gets_a_valid_drill_table_name(world: World) -> None:
    long_name = "o" * 255
    world.table(long_name, items=3)
    arn = world.backup(long_name)
    (started,) = world.run().started
    assert started == names.drill_table_name("tablesafe", long_name, arn) and len(started) == 255
    world.clock.advance(minutes=15)
    (result,) = world.run().results
    assert result.verdict is Verdict.PASSED, result.reason


def test_a_count_that_outlasts_an_invocation_goes_on_in_the_next_one(world: World) -> None:
    world.table("orders", items=120)
    world.backup("orders")
    world.page_limit = 10  # 12 pages over 4 segments
    world.run()
    world.clock.advance(minutes=15)
    pages = iter(range(6))
    report = world.run(time_left=lambda: 100.0 if next(pages, None) is not None else 0.0)
    assert report.results == [] and report.in_flight == 1  # cut short: its progress is saved
    (drill_table,) = world.drill_tables()
    saved = world.records().load_count(drill_table)
    assert saved is not None and 0 < sum(s.items for s in saved.segments) < 120
    world.clock.advance(minutes=15)
    (result,) = world.run().results
    assert result.verdict is Verdict.PASSED and result.counted_items == 120


def test_under_a_default_plan_an_untagged_table_is_drilled_but_not_an_opted_out_one_nor_the_drill_table(
    standin,
) -> None:
    world = World(standin, default_plan="daily")
    create_table(world.ddb, "orders")  # no plan tag: the default plan's, and the plan is drilled
    fill(world.ddb, "orders", 12)
    create_table(world.ddb, "sandbox", {"backup-plan": "none"})  # opted out
    arn = world.backup("orders")
    world.backup("sandbox")

    first = world.run()
    drill = names.drill_table_name("tablesafe", "orders", arn)
    assert first.started == [drill]
    assert "sandbox" not in first.waiting  # (the lease table, untagged and without backups, waits for one)

    world.clock.advance(minutes=15)
    second = world.run()  # the drill table (tagged tablesafe:drill, no plan tag) is no table of the default plan
    (result,) = second.results
    assert result.verdict is Verdict.PASSED, result.reason
    assert second.started == [] and drill not in second.waiting and second.waiting == first.waiting
    assert world.drill_tables() == []


def test_the_drill_function_reads_the_default_plan_from_the_environment_the_stack_sets(standin, monkeypatch) -> None:
    environment = {
        "TABLESAFE_TAG_KEY": "backup-plan",
        "TABLESAFE_PLANS": json.dumps(plans()),
        "TABLESAFE_BACKUP_NAME_PREFIX": "tablesafe",
        "TABLESAFE_LEASE_TABLE": LEASE_TABLE,
        "TABLESAFE_DEFAULT_PLAN": "daily",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    cold_start.cache_clear()
    drill_wiring.cache_clear()
    try:
        _, settings = drill_wiring()
    finally:
        cold_start.cache_clear()
        drill_wiring.cache_clear()

    assert settings.default_plan == "daily"
