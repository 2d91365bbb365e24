"""The backup run under faults on every call: one backup per table and slot, whatever is retried, repeated, raced,
cut short or killed, and a report that names exactly the tables that got none."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from tablesafe.backup import BackupReport, BackupRequest, Outcome, run_backup
from tablesafe.dynamodb import DynamoDbGateway
from tests.reliability.support import (
    CREATING_SECONDS,
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
    no_sleep,
    settings,
    slot_backups_by_table,
    slot_name,
)
from tests.standin import StandIn
from tests.standin.support import create_table, list_all_backups

SLOT = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
NAME = slot_name("daily", "daily", SLOT)
REQUEST = BackupRequest("daily", "daily", SLOT)


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
        report = run_backup(gateway(), settings(), REQUEST, sleep=no_sleep)
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
    run_backup(gateway(), settings(), REQUEST, sleep=no_sleep)
    tally = Tally()

    with tally.measure(standin):
        second = run_backup(gateway(), settings(), REQUEST, sleep=no_sleep)

    counts = assert_one_backup_per_healthy_table(standin, account)
    assert_report_matches(second, account, counts)
    assert second.tables(Outcome.CREATED) == {}
    assert sorted(second.tables(Outcome.ALREADY_PRESENT)) == account.healthy
    assert tally.calls["CreateBackup"] == Counter(
        {outcome: n for outcome, n in tally.calls["CreateBackup"].items() if outcome != "ok"}
    ), "the second run sent a CreateBackup that succeeded"
    record_property("figures", {"secondRunCalls": tally.as_dict()})


class Racing(DynamoDbGateway):
    """Holds the run's first CreateBackup until the other run is about to send its own: both have listed the slot
    and found nothing, and they race for every table from there."""

    def __init__(self, start_line: threading.Barrier) -> None:
        super().__init__(rate_limits=FAST)
        self.start_line = start_line
        self.started = False
        self._lock = threading.Lock()

    def create_backup(self, table_name: str, backup_name: str) -> Any:
        with self._lock:  # the run's other workers wait here meanwhile
            if not self.started:
                self.start_line.wait()
                self.started = True
        return super().create_backup(table_name, backup_name)


@pytest.mark.parametrize("size", SIZES)
def test_two_concurrent_runs_of_the_same_slot_make_no_extra_backup(
    standin: StandIn, size: Size, record_property: Any
) -> None:
    # Real waits on both sides (botocore's backoff and the run's own): how far the runs drift apart is the point.
    account = build_account(standin, size)
    standin.creating_seconds = CREATING_SECONDS  # AWS answers BackupInUseException while a backup is CREATING
    faults_on(standin)
    reports: list[BackupReport] = []
    errors: list[BaseException] = []

    start_line = threading.Barrier(2, timeout=120)

    def run() -> None:
        try:
            reports.append(run_backup(Racing(start_line), settings(), REQUEST))
        except BaseException as error:  # a thread's exception would otherwise only be printed
            errors.append(error)

    tally = Tally()
    started = time.monotonic()
    with tally.measure(standin):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    seconds = time.monotonic() - started

    assert errors == []
    counts = assert_one_backup_per_healthy_table(standin, account)
    for report in reports:
        assert_report_matches(report, account, counts)
    created = [set(r.tables(Outcome.CREATED)) for r in reports]
    assert created[0] | created[1] == set(account.healthy)
    record_property(
        "figures",
        {
            "tables": len(counts),
            "createdByEachRun": [len(c) for c in created],
            "duplicates": sum(n - 1 for n in counts.values()),
            "backupInUseAnswers": standin.calls.codes("CreateBackup").get("BackupInUseException", 0),
            "callsByOutcome": tally.by_outcome(),
            "seconds": round(seconds, 1),
        },
    )


@pytest.mark.parametrize("size", SIZES)
def test_a_run_out_of_time_is_finished_by_its_continuations_each_table_once(
    standin: StandIn, size: Size, fast_retries: None, record_property: Any
) -> None:
    account = build_account(standin, size)
    faults_on(standin)
    queued: list[dict[str, Any]] = []
    reports: list[BackupReport] = []
    event: dict[str, Any] | None = REQUEST.as_event()

    while event is not None:
        request = BackupRequest.from_event(event, now=datetime.now(UTC))
        # Time to start about a sixth of the tables, then only the reserve is left: the run hands over.
        budget = Budget(size.tables // 6)
        reports.append(run_backup(gateway(), settings(), request, time_left=budget, continue_run=queued.append))
        event = queued.pop() if queued else None
        assert queued == []

    counts = assert_one_backup_per_healthy_table(standin, account)
    assert len(reports) >= 4
    assert [r.handed_over != [] for r in reports] == [True] * (len(reports) - 1) + [False]
    created = Counter(t for r in reports for t in r.tables(Outcome.CREATED))
    assert created == Counter(account.healthy), "each table created by exactly one invocation"
    assert set().union(*(r.failed for r in reports)) == set(account.broken)
    assert set(reports[-1].tables(Outcome.ALREADY_PRESENT)) | set(reports[-1].tables(Outcome.CREATED)) == set(counts)
    record_property("figures", {"invocations": len(reports), "tables": len(counts)})


class DyingGateway(DynamoDbGateway):
    """Lambda's timeout as the run sees it: once `after` backups exist, every call dies, and the answer of the
    CreateBackup that crossed the line never arrives."""

    def __init__(self, after: int) -> None:
        super().__init__(rate_limits=FAST)
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

    def _call(self, method: Any, operation: str, **params: Any) -> dict[str, Any]:
        if self.dead:
            raise LambdaTimedOut(f"killed before {operation}")
        return super()._call(method, operation, **params)


@pytest.mark.parametrize("size", SIZES)
def test_a_killed_run_is_finished_by_the_next_run_of_the_slot_without_duplicates(
    standin: StandIn, size: Size, fast_retries: None
) -> None:
    account = build_account(standin, size)
    faults_on(standin)

    with pytest.raises(LambdaTimedOut):
        run_backup(DyingGateway(after=size.tables // 3), settings(), REQUEST, sleep=no_sleep)
    left_behind = set(slot_backups_by_table(standin, NAME))
    assert size.tables // 3 <= len(left_behind) < size.tables
    report = run_backup(gateway(), settings(), REQUEST, sleep=no_sleep)

    counts = assert_one_backup_per_healthy_table(standin, account)
    assert_report_matches(report, account, counts)
    assert set(report.tables(Outcome.CREATED)) == set(account.healthy) - left_behind
    assert set(report.tables(Outcome.ALREADY_PRESENT)) == left_behind


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
