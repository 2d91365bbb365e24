"""The backup run under faults on every call: one backup per table and slot, whatever is retried, repeated, raced,
cut short or killed, and a report that names exactly the tables that got none.

Every run takes the slot's lease as the handler does (lease.py, in the account's lease table, whose calls face the
same faults); the stand-in's CREATING time is a parameter, from 0 s (AWS accepts a second CreateBackup at once) to
10 s.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from tablesafe.aws.clients import backup_clients
from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.backup.run import BackupReport, BackupRequest, Outcome, run_backup
from tests.reliability.client_faults import before_every_call
from tests.reliability.support import (
    CREATING_TIMES,
    FAST,
    SIZES,
    TAG_KEY,
    Account,
    Budget,
    LambdaTimedOut,
    Size,
    Tally,
    build_account,
    faults_on,
    gateway,
    leases,
    no_sleep,
    settings,
    slot_backups_by_table,
    slot_name,
)
from tools.standin import StandIn
from tools.standin.support import create_table, list_all_backups

SLOT = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
NAME = slot_name("daily", "daily", SLOT)
REQUEST = BackupRequest("daily", "daily", SLOT)
# Deliveries of one slot, as start offsets in seconds: together, seconds apart, and the three (two
# together, one 3 s later).
DELIVERIES = [
    pytest.param((0.0, 0.0), id="2-together"),
    pytest.param((0.0, 3.0), id="2-3s-apart"),
    pytest.param((0.0, 0.0, 0.0), id="3-together"),
    pytest.param((0.0, 0.0, 3.0), id="3-one-3s-later"),
]
# The 200 tables run with the slow suite (`pytest tests/reliability -m slow -n 2`).
DELIVERY_SIZES = [
    pytest.param(Size(tables=60, days=1), id="60-tables"),
    pytest.param(Size(tables=200, days=1), id="200-tables", marks=[pytest.mark.slow, pytest.mark.timeout(1800)]),
]


class Clock:
    """The wall clock the leases read, moved by the test: Lambda's retry delay without waiting a minute."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def assert_one_backup_per_healthy_table(standin: StandIn, account: Account) -> Counter[str]:
    """Every healthy table has exactly one backup for the slot, and no other table has one."""
    counts = slot_backups_by_table(standin, NAME)
    assert {table: n for table, n in counts.items() if n > 1} == {}, "duplicates"
    assert sorted(counts) == account.healthy
    return counts


def assert_report_matches(report: BackupReport, account: Account, backed_up: Counter[str]) -> None:
    """The run names as failed exactly the tables without a backup, and as done exactly those with one."""
    done = set(report.tables(Outcome.CREATED)) | set(report.tables(Outcome.ALREADY_PRESENT))
    assert set(report.failed) == account.targets - set(backed_up)
    assert done == set(backed_up)
    assert report.tables(Outcome.SKIPPED) == {}
    assert report.unknown_plan == account.malformed
    assert report.handed_over == []


def figures(report: BackupReport, counts: Counter[str], tally: Tally, seconds: float) -> dict[str, Any]:
    return {
        "tables": len(counts),
        "created": len(report.tables(Outcome.CREATED)),
        "alreadyPresent": len(report.tables(Outcome.ALREADY_PRESENT)),
        "failed": len(report.failed),
        "duplicates": sum(n - 1 for n in counts.values()),
        "callsByOutcome": tally.by_outcome(),
        "calls": tally.as_dict(),
        "seconds": round(seconds, 1),
    }


@pytest.mark.parametrize("size", SIZES)
def test_every_table_gets_one_backup_and_the_report_names_exactly_those_that_got_none(
    standin: StandIn, size: Size, fast_retries: None, record_property: Any
) -> None:
    account = build_account(standin, size)
    faults_on(standin)
    tally = Tally()

    started = time.monotonic()
    with tally.measure(standin):
        report = run_backup(gateway(), settings(), REQUEST, sleep=no_sleep, leases=leases())
    seconds = time.monotonic() - started

    counts = assert_one_backup_per_healthy_table(standin, account)
    assert_report_matches(report, account, counts)
    assert set(report.failed) == set(account.broken)
    for table, status in account.broken.items():
        assert status in report.failed[table], report.failed[table]
    outcomes = tally.by_outcome()
    assert outcomes["throttled"] and outcomes["error"] and outcomes["lost"]  # every kind of fault was met
    record_property("figures", figures(report, counts, tally, seconds))


@pytest.mark.parametrize("size", SIZES)
def test_the_same_slot_run_twice_in_a_row_makes_no_extra_backup(
    standin: StandIn, size: Size, fast_retries: None, record_property: Any
) -> None:
    account = build_account(standin, size)
    faults_on(standin)
    run_backup(gateway(), settings(), REQUEST, sleep=no_sleep, leases=leases())
    tally = Tally()

    with tally.measure(standin):
        second = run_backup(gateway(), settings(), REQUEST, sleep=no_sleep, leases=leases())

    counts = assert_one_backup_per_healthy_table(standin, account)
    assert_report_matches(second, account, counts)
    assert second.tables(Outcome.CREATED) == {}
    assert sorted(second.tables(Outcome.ALREADY_PRESENT)) == account.healthy
    assert tally.calls["CreateBackup"] == Counter(
        {outcome: n for outcome, n in tally.calls["CreateBackup"].items() if outcome != "ok"}
    ), "the second run sent a CreateBackup that succeeded"
    record_property("figures", {"secondRunCalls": tally.as_dict()})


@pytest.mark.parametrize("size", DELIVERY_SIZES)
@pytest.mark.parametrize("creating", CREATING_TIMES)
@pytest.mark.parametrize("starts", DELIVERIES)
def test_deliveries_of_one_slot_together_or_apart_make_exactly_one_backup_per_table(
    standin: StandIn, size: Size, creating: float, starts: tuple[float, ...], record_property: Any
) -> None:
    # Real waits everywhere (botocore's backoff, the run's own, the lease's polls): how far the runs drift apart
    # under throttling is the point.
    account = build_account(standin, size)
    standin.creating_seconds = creating
    faults_on(standin)
    reports: list[BackupReport] = []
    errors: list[BaseException] = []

    def deliver(offset: float) -> None:
        time.sleep(offset)
        try:
            reports.append(run_backup(gateway(), settings(), REQUEST, leases=leases()))
        except BaseException as error:  # a thread's exception would otherwise only be printed
            errors.append(error)

    tally = Tally()
    started = time.monotonic()
    with tally.measure(standin):
        threads = [threading.Thread(target=deliver, args=(offset,)) for offset in starts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    seconds = time.monotonic() - started

    assert errors == []
    counts = assert_one_backup_per_healthy_table(standin, account)
    for report in reports:
        assert_report_matches(report, account, counts)
    created = Counter(table for report in reports for table in report.tables(Outcome.CREATED))
    assert created == Counter(account.healthy), "each table created by exactly one delivery"
    together = starts.count(0.0)
    assert sum(report.duplicate_delivery for report in reports) >= together - 1  # they waited for the holder
    assert all(report.lease == "held" and report.lease_unavailable == 0 for report in reports)
    record_property(
        "figures",
        {
            "tables": len(counts),
            "creatingSeconds": creating,
            "starts": list(starts),
            "createdByEachDelivery": [len(r.tables(Outcome.CREATED)) for r in reports],
            "duplicateDeliveries": sum(r.duplicate_delivery for r in reports),
            "duplicates": sum(n - 1 for n in counts.values()),
            "leaseCalls": {op: dict(tally.calls.get(op, {})) for op in ("PutItem", "UpdateItem", "GetItem")},
            "backupInUseAnswers": standin.calls.codes("CreateBackup").get("BackupInUseException", 0),
            "callsByOutcome": tally.by_outcome(),
            "seconds": round(seconds, 1),
        },
    )


@pytest.mark.parametrize("creating", CREATING_TIMES)
@pytest.mark.parametrize("size", SIZES)
def test_a_run_out_of_time_is_finished_by_its_continuations_each_table_once(
    standin: StandIn, size: Size, creating: float, fast_retries: None, record_property: Any
) -> None:
    account = build_account(standin, size)
    standin.creating_seconds = creating
    faults_on(standin)
    queued: list[dict[str, Any]] = []
    reports: list[BackupReport] = []
    event: dict[str, Any] | None = REQUEST.as_event()

    while event is not None:
        request = BackupRequest.from_event(event, now=datetime.now(UTC))
        # Time to start about a sixth of the tables, then only the reserve is left: the run hands over.
        budget = Budget(size.tables // 6)
        run = run_backup(gateway(), settings(), request, time_left=budget, continue_run=queued.append, leases=leases())
        reports.append(run)
        event = queued.pop() if queued else None
        assert queued == []
        # Each continuation inherits the lease from the invocation before it: none of them waits.
        assert (run.lease, run.duplicate_delivery) == ("held", False)
        assert event is None or event["leaseHolder"]

    counts = assert_one_backup_per_healthy_table(standin, account)
    assert len(reports) >= 4
    assert [r.handed_over != [] for r in reports] == [True] * (len(reports) - 1) + [False]
    created = Counter(t for r in reports for t in r.tables(Outcome.CREATED))
    assert created == Counter(account.healthy), "each table created by exactly one invocation"
    assert set().union(*(r.failed for r in reports)) == set(account.broken)
    # Each continuation carries the tables left (its cursor) and reports on those alone: every table with its
    # backup is accounted for by exactly one invocation.
    accounted = Counter(t for r in reports for t in [*r.tables(Outcome.CREATED), *r.tables(Outcome.ALREADY_PRESENT)])
    assert accounted == Counter(set(counts))
    record_property("figures", {"invocations": len(reports), "tables": len(counts)})


class DyingGateway(DynamoDbGateway):
    """Lambda's timeout as the run sees it: once `after` backups exist, every call dies, and the answer of the
    CreateBackup that crossed the line never arrives."""

    def __init__(self, after: int) -> None:
        super().__init__(before_every_call(backup_clients(rate_limits=FAST), self.die_if_dead))
        self.after = after
        self.taken = 0
        self.dead = False
        self._lock = threading.Lock()

    def create_backup(self, table_name: str, backup_name: str) -> Any:
        backup = super().create_backup(table_name, backup_name)
        with self._lock:
            self.taken += 1
            self.dead = self.dead or self.taken >= self.after
        if self.dead:
            raise LambdaTimedOut(f"killed after CreateBackup of {table_name}")
        return backup

    def die_if_dead(self, operation: str, _: dict[str, Any]) -> None:
        if self.dead:
            raise LambdaTimedOut(f"killed before {operation}")


@pytest.mark.parametrize("retry", ["a-minute-after-the-deadline", "before-the-lease-lapses"])
@pytest.mark.parametrize("creating", CREATING_TIMES)
@pytest.mark.parametrize("size", SIZES)
def test_a_holder_killed_at_its_deadline_leaves_the_slot_to_lambdas_retry_which_finishes_it_without_duplicates(
    standin: StandIn, size: Size, creating: float, retry: str, fast_retries: None
) -> None:
    account = build_account(standin, size)
    standin.creating_seconds = creating
    faults_on(standin)
    clock = Clock()
    budget = 300.0  # the holder's invocation: its lease lasts until then plus the skew margin

    with pytest.raises(LambdaTimedOut):
        run_backup(
            DyingGateway(after=size.tables // 3),
            settings(),
            REQUEST,
            sleep=no_sleep,
            time_left=lambda: budget,
            leases=leases(clock=clock),
        )
    left_behind = set(slot_backups_by_table(standin, NAME))
    assert size.tables // 3 <= len(left_behind) < size.tables
    # Lambda runs the same event again a minute after the killed invocation ended; or (a holder that died early,
    # out of memory) the retry comes while the dead holder's lease still holds, and waits for it to lapse.
    clock.advance(budget + 60.0 if retry == "a-minute-after-the-deadline" else 10.0)
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    report = run_backup(gateway(), settings(), REQUEST, sleep=no_sleep, leases=leases(clock=clock, sleep=wait))

    counts = assert_one_backup_per_healthy_table(standin, account)
    assert_report_matches(report, account, counts)
    assert set(report.tables(Outcome.CREATED)) == set(account.healthy) - left_behind
    assert set(report.tables(Outcome.ALREADY_PRESENT)) == left_behind
    assert report.lease == "held" and report.duplicate_delivery == (retry == "before-the-lease-lapses")
    assert (sum(waits) > 0) == (retry == "before-the-lease-lapses")


def test_a_table_throttled_while_a_concurrent_run_backs_it_up_is_not_backed_up_twice(standin: StandIn) -> None:
    # The other run's backup is made while this run waits out a throttle and is AVAILABLE before the resend, so AWS
    # would accept a second CreateBackup: only a look before the resend prevents it.
    ddb = standin.client("dynamodb")
    create_table(ddb, "orders", {TAG_KEY: "daily"})
    standin.faults.set("CreateBackup", throttle=1.0, limit=1)

    def wait_while_the_other_run_backs_up(_: float) -> None:
        ddb.create_backup(TableName="orders", BackupName=NAME)

    report = run_backup(gateway(), settings(), REQUEST, sleep=wait_while_the_other_run_backs_up)

    assert [(s["TableName"], s["BackupName"]) for s in list_all_backups(ddb)[0]] == [("orders", NAME)]
    assert report.tables(Outcome.ALREADY_PRESENT) == {
        "orders": "another run's backup for this slot appeared while this one waited"
    }
