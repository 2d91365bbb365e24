"""The backup run under its slot lease, on the stand-in: deliveries that overlap, continuations that inherit the
lease or find it taken, a delivery with no time to wait, and a lease table that does not answer."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.retries.standard import ExponentialBackoff

from tablesafe.aws.clients import backup_clients, lease_client
from tablesafe.aws.dynamodb import BackupInUse, DynamoDbGateway
from tablesafe.aws.lease_table import LeaseTable
from tablesafe.backup.cursor import RunCursor
from tablesafe.backup.run import BackupReport, BackupRequest, Outcome, run_backup
from tablesafe.config.settings import Settings
from tablesafe.constants import DEFAULT_RATE_LIMITS
from tablesafe.runtime import backup_handler
from tablesafe.runtime.cold_start import backup_leases, cold_start
from tablesafe.slots.lease import HANDOFF_GRACE_SECONDS, SKEW_MARGIN_SECONDS, LeaseKey, LeaseState
from tests.lease_support import LEASE_TABLE, create_lease_table, lease_items, slot_leases
from tools.standin.support import create_table, list_all_backups

SLOT = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
NAME = "tablesafe.daily.daily.20261127T0300Z"
KEY = str(LeaseKey("backup", "daily", "daily", SLOT))
PLANS = {"daily": [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}]}
ENV = {
    "TABLESAFE_TAG_KEY": "backup-plan",
    "TABLESAFE_PLANS": json.dumps(PLANS),
    "TABLESAFE_BACKUP_NAME_PREFIX": "tablesafe",
    "TABLESAFE_TIME_RESERVE_SECONDS": "5",
}
FAST = {operation: 2000.0 for operation in DEFAULT_RATE_LIMITS}
REQUEST = BackupRequest("daily", "daily", SLOT)


@pytest.fixture
def ddb(standin):
    client = standin.client("dynamodb")
    create_lease_table(client)
    return client


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env(ENV)


def tables(ddb, count: int) -> list[str]:
    names = [f"t{i:02d}" for i in range(count)]
    for name in names:
        create_table(ddb, name, {"backup-plan": "daily"})
    return names


def backups_by_table(ddb) -> Counter[str]:
    return Counter(s["TableName"] for s in list_all_backups(ddb, BackupType="ALL")[0] if s["BackupName"] == NAME)


class Clock:
    """The wall clock the leases read, moved by the test (time.time is never patched)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class SecondDeliveryMidway(DynamoDbGateway):
    """The holder's gateway: after `after` CreateBackups it starts the second delivery and gives it up to two
    seconds to list the slot before it goes on, so a second run that lists at once sees the slot half done."""

    def __init__(self, after: int, second: threading.Thread, listed: threading.Event) -> None:
        super().__init__(backup_clients(rate_limits=FAST))
        self.after, self.second, self.listed = after, second, listed
        self.created = 0

    def create_backup(self, table_name: str, backup_name: str) -> Any:
        backup = super().create_backup(table_name, backup_name)
        self.created += 1
        if self.created == self.after:
            self.second.start()
            self.listed.wait(timeout=2.0)
        return backup


class ListingSignals(DynamoDbGateway):
    def __init__(self, listed: threading.Event) -> None:
        super().__init__(backup_clients(rate_limits=FAST))
        self.listed = listed

    def list_backups(self, **kwargs: Any) -> Any:
        found = super().list_backups(**kwargs)
        self.listed.set()
        return found


def test_a_delivery_that_arrives_while_the_holder_is_half_way_waits_and_then_finds_every_backup(standin, ddb, settings):
    # Backups are AVAILABLE at once (CREATING 0 s), so AWS would accept a second CreateBackup of any table: only
    # the lease keeps the second delivery from backing up what the holder did after the second one's listing.
    names = tables(ddb, 20)
    listed = threading.Event()
    reports: dict[str, BackupReport] = {}

    def second_delivery() -> None:
        reports["second"] = run_backup(ListingSignals(listed), settings, REQUEST, leases=slot_leases())

    second = threading.Thread(target=second_delivery)
    holder = SecondDeliveryMidway(10, second, listed)
    reports["first"] = run_backup(holder, settings, REQUEST, workers=1, leases=slot_leases())
    second.join(timeout=60)

    assert backups_by_table(ddb) == dict.fromkeys(names, 1)
    assert sorted(reports["first"].tables(Outcome.CREATED)) == names
    assert reports["second"].tables(Outcome.CREATED) == {}
    assert sorted(reports["second"].tables(Outcome.ALREADY_PRESENT)) == names
    assert (reports["first"].duplicate_delivery, reports["second"].duplicate_delivery) == (False, True)
    assert lease_items(ddb)[0]["state"] == {"S": LeaseState.RELEASED.value}


def test_a_continuation_inherits_the_lease_and_releases_it_when_the_slot_is_done(standin, ddb, settings):
    names = tables(ddb, 30)
    budget = iter([100.0] * 12 + [0.0] * 1000)  # time for ten tables to start, then the reserve is reached
    continuations: list[dict] = []
    leases = slot_leases()

    first = run_backup(
        DynamoDbGateway(backup_clients(rate_limits=FAST)),
        settings,
        REQUEST,
        time_left=lambda: next(budget),
        continue_run=continuations.append,
        workers=1,
        leases=leases,
    )
    (event,) = continuations
    handed = lease_items(ddb)[0]
    follow_up = BackupRequest.from_event(event, datetime.now(UTC))
    second = run_backup(DynamoDbGateway(backup_clients(rate_limits=FAST)), settings, follow_up, leases=leases)

    assert first.handed_over and handed["state"] == {"S": LeaseState.HANDED_OVER.value}
    assert event["leaseHolder"] == handed["holder"]["S"]
    assert (second.lease, second.duplicate_delivery) == ("held", False)
    assert backups_by_table(ddb) == dict.fromkeys(names, 1)
    assert set(second.tables(Outcome.CREATED)) == set(names) - set(first.tables(Outcome.CREATED))
    assert lease_items(ddb)[0]["state"] == {"S": LeaseState.RELEASED.value}


def test_a_continuation_that_starts_after_its_lease_lapsed_and_was_taken_waits_and_verifies(standin, ddb, settings):
    names = tables(ddb, 12)
    clock = Clock()
    budget = iter([100.0] * 6 + [0.0] * 1000)
    continuations: list[dict] = []
    first = run_backup(
        DynamoDbGateway(backup_clients(rate_limits=FAST)),
        settings,
        REQUEST,
        time_left=lambda: next(budget),
        continue_run=continuations.append,
        workers=1,
        leases=slot_leases(clock=clock),
    )
    # The continuation sits in Lambda's queue past the grace, and a duplicate delivery takes the lapsed lease.
    clock.now += SKEW_MARGIN_SECONDS + HANDOFF_GRACE_SECONDS + 1.0
    duplicate = slot_leases(clock=clock, new_holder=lambda: "duplicate")
    key = LeaseKey("backup", "daily", "daily", SLOT)
    assert duplicate.claim(key, predecessor=None, time_left=lambda: 900.0, reserve=5.0).holder == "duplicate"
    done: dict[str, BackupReport] = {}

    def the_duplicate_works_while_the_continuation_waits(pause: float) -> None:
        if "duplicate" not in done:  # it lists the slot again, backs up what is missing, releases the lease
            done["duplicate"] = run_backup(
                DynamoDbGateway(backup_clients(rate_limits=FAST)), settings, REQUEST, leases=duplicate
            )
        clock.now += pause

    follow_up = BackupRequest.from_event(continuations[0], datetime.now(UTC))
    late = slot_leases(clock=clock, sleep=the_duplicate_works_while_the_continuation_waits)
    second = run_backup(DynamoDbGateway(backup_clients(rate_limits=FAST)), settings, follow_up, leases=late)

    assert first.handed_over and follow_up.lease_holder is not None
    assert backups_by_table(ddb) == dict.fromkeys(names, 1)
    assert set(done["duplicate"].tables(Outcome.CREATED)) == set(names) - set(first.tables(Outcome.CREATED))
    assert second.duplicate_delivery and second.tables(Outcome.CREATED) == {}
    # It took the lease from the duplicate, not from its predecessor: it lists the slot again, and finds every
    # table it was handed (its cursor) backed up by the duplicate.
    assert sorted(second.tables(Outcome.ALREADY_PRESENT)) == sorted(set(names) - set(first.tables(Outcome.CREATED)))


def test_a_continuation_with_no_time_to_wait_hands_its_wait_on_with_its_cursor(standin, ddb, settings):
    tables(ddb, 3)
    LeaseTable(LEASE_TABLE, lease_client()).take(KEY, "other-run", 4_000_000_000.0, 1_800_000_000.0, None)
    cursor = RunCursor(tables=("t01", "t02"), done=1)
    continuation = BackupRequest("daily", "daily", SLOT, continuation=2, lease_holder="gone", cursor=cursor)
    continuations: list[dict] = []

    run_backup(
        DynamoDbGateway(backup_clients(rate_limits=FAST)),
        settings,
        continuation,
        time_left=lambda: 30.0,
        continue_run=continuations.append,
        leases=slot_leases(),
    )

    (event,) = continuations
    following = BackupRequest.from_event(event, datetime.now(UTC))
    assert (following.continuation, following.lease_holder, following.cursor) == (3, None, cursor)


def test_a_delivery_with_no_time_to_wait_hands_its_wait_on_holding_nothing(standin, ddb, settings):
    names = tables(ddb, 3)
    LeaseTable(LEASE_TABLE, lease_client()).take(KEY, "other-run", 4_000_000_000.0, 1_800_000_000.0, None)
    continuations: list[dict] = []

    report = run_backup(
        DynamoDbGateway(backup_clients(rate_limits=FAST)),
        settings,
        REQUEST,
        time_left=lambda: 30.0,
        continue_run=continuations.append,
        leases=slot_leases(),
    )

    assert report.waiting_for == "other-run" and report.duplicate_delivery and not report.finished
    assert report.failure() is None and report.results == []
    assert continuations == [{**REQUEST.as_event(), "continuation": 1}]  # no leaseHolder: it holds nothing
    assert backups_by_table(ddb) == {}
    assert lease_items(ddb)[0]["holder"] == {"S": "other-run"}
    assert names


def test_a_wait_that_cannot_go_on_fails_the_invocation_loudly(standin, ddb, settings):
    tables(ddb, 2)
    LeaseTable(LEASE_TABLE, lease_client()).take(KEY, "other-run", 4_000_000_000.0, 1_800_000_000.0, None)

    report = run_backup(
        DynamoDbGateway(backup_clients(rate_limits=FAST)),
        settings,
        REQUEST,
        time_left=lambda: 30.0,
        leases=slot_leases(),
    )

    failure = report.failure()
    assert failure is not None and "held by run other-run" in failure and "no continuation available" in failure
    assert not report.finished and report.waiting_for == ""


def test_a_throttled_lease_table_skips_no_backup_and_is_counted(standin, ddb, settings, monkeypatch):
    original = ExponentialBackoff.delay_amount
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: original(self, context) / 100)
    names = tables(ddb, 5)
    standin.faults.set("PutItem", throttle=1.0)

    report = run_backup(DynamoDbGateway(backup_clients(rate_limits=FAST)), settings, REQUEST, leases=slot_leases())

    assert standin.calls.count("PutItem", "throttled") == 9  # the first try and botocore's eight retries
    assert (report.lease, report.lease_unavailable, report.failure()) == ("unavailable", 1, None)
    assert sorted(report.tables(Outcome.CREATED)) == names and report.finished
    assert backups_by_table(ddb) == dict.fromkeys(names, 1)


def test_the_handler_runs_without_its_missing_lease_table_and_alarms_on_it(standin, monkeypatch, capsys):
    ddb = standin.client("dynamodb")  # no lease table: deleted, or never created
    env = {**ENV, "POWERTOOLS_SERVICE_NAME": "tablesafe-backup", "TABLESAFE_LEASE_TABLE": "gone-leases"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cold_start.cache_clear()
    backup_leases.cache_clear()
    names = tables(ddb, 2)

    class Context:
        function_name = "tablesafe-backup"
        memory_limit_in_mb = 512
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:tablesafe-backup"
        aws_request_id = "req-1"

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 900_000

    event = {"job": "backup", "plan": "daily", "rule": "daily", "scheduledTime": "2026-11-27T03:00:00Z"}
    try:
        result = backup_handler.lambda_handler(event, Context())
    finally:
        cold_start.cache_clear()
        backup_leases.cache_clear()

    assert (result["created"], result["lease"]) == (2, "unavailable")
    assert backups_by_table(ddb) == dict.fromkeys(names, 1)
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    (alone,) = [d for d in emf if "Plan" not in d and "SlotLeaseUnavailable" in d]  # for the one alarm
    assert alone["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    (document,) = [d for d in emf if "Plan" in d]
    assert document["SlotLeaseUnavailable"] in (1.0, [1.0])
    assert document["BackupRunsSucceeded"] in (1.0, [1.0])


def first_invocation(ddb, settings, clock: Clock, count: int, start: int):  # type: ignore[no-untyped-def]
    """A first invocation with time to start `start` of `count` tables; returns its report and its continuation."""
    names = tables(ddb, count)
    budget = iter([100.0] * start + [0.0] * 1000)
    continuations: list[dict] = []
    first = run_backup(
        DynamoDbGateway(backup_clients(rate_limits=FAST)),
        settings,
        REQUEST,
        time_left=lambda: next(budget),
        continue_run=continuations.append,
        workers=1,
        leases=slot_leases(clock=clock),
    )
    assert len(continuations) == 1 and "cursor" in continuations[0]
    return names, first, continuations[0]


def test_a_continuation_that_inherits_the_lease_neither_discovers_nor_lists_the_slot_again(standin, ddb, settings):
    clock = Clock()
    names, first, event = first_invocation(ddb, settings, clock, 12, 5)
    standin.calls.reset()

    follow_up = BackupRequest.from_event(event, datetime.now(UTC))
    second = run_backup(
        DynamoDbGateway(backup_clients(rate_limits=FAST)), settings, follow_up, leases=slot_leases(clock=clock)
    )
    calls = standin.calls.snapshot()  # before the test's own listing below

    assert "GetResources" not in calls and "ListBackups" not in calls
    assert calls["CreateBackup"] == {"ok": len(names) - len(first.tables(Outcome.CREATED))}
    assert backups_by_table(ddb) == dict.fromkeys(names, 1)
    assert set(second.tables(Outcome.CREATED)) == set(names) - set(first.tables(Outcome.CREATED))


def test_a_retried_continuation_lists_the_slot_and_backs_up_nothing_twice(standin, ddb, settings):
    # Lambda runs the continuation's event again (it failed, or came twice): its first attempt made backups of the
    # cursor's tables after the hand-off, so the retry, which cannot inherit the lease, lists the slot.
    clock = Clock()
    names, _, event = first_invocation(ddb, settings, clock, 12, 5)
    follow_up = BackupRequest.from_event(event, datetime.now(UTC))
    attempt = run_backup(
        DynamoDbGateway(backup_clients(rate_limits=FAST)), settings, follow_up, leases=slot_leases(clock=clock)
    )
    standin.calls.reset()

    retry = run_backup(
        DynamoDbGateway(backup_clients(rate_limits=FAST)), settings, follow_up, leases=slot_leases(clock=clock)
    )
    calls = standin.calls.snapshot()  # before the test's own listing below

    assert "ListBackups" in calls and "CreateBackup" not in calls
    assert backups_by_table(ddb) == dict.fromkeys(names, 1)
    assert retry.tables(Outcome.CREATED) == {}
    assert set(retry.tables(Outcome.ALREADY_PRESENT)) == set(attempt.tables(Outcome.CREATED))


class BusyTable(DynamoDbGateway):
    """Another backup of `busy` is in progress, as far as this gateway's CreateBackup is told."""

    def __init__(self, busy: str) -> None:
        super().__init__(backup_clients(rate_limits=FAST))
        self.busy = busy

    def create_backup(self, table_name: str, backup_name: str):  # type: ignore[no-untyped-def]
        if table_name == self.busy:
            raise BackupInUse(
                "CreateBackup", "BackupInUseException", f"Backup is being created for table: {table_name}"
            )
        return super().create_backup(table_name, backup_name)


def test_a_table_still_deferred_at_the_hand_off_is_looked_up_by_the_continuation_before_it_is_tried(
    standin, ddb, settings
):
    # Ours of t01 is deferred (another backup in progress), time runs out, t01 is handed over as deferred. The
    # continuation, though it inherits the lease, looks for the slot's backup of it before it tries again.
    names = tables(ddb, 3)
    budget = iter([100.0] * 3 + [0.0] * 1000)
    continuations: list[dict] = []
    clock = Clock()
    first = run_backup(
        BusyTable("t01"),
        settings,
        REQUEST,
        time_left=lambda: next(budget),
        continue_run=continuations.append,
        workers=1,
        leases=slot_leases(clock=clock),
    )
    follow_up = BackupRequest.from_event(continuations[0], datetime.now(UTC))
    assert follow_up.cursor is not None and follow_up.cursor.deferred == {"t01"}
    standin.calls.reset()

    second = run_backup(
        DynamoDbGateway(backup_clients(rate_limits=FAST)), settings, follow_up, leases=slot_leases(clock=clock)
    )
    calls = standin.calls.snapshot()

    assert set(first.tables(Outcome.CREATED)) | set(second.tables(Outcome.CREATED)) == set(names)
    assert "t01" in second.tables(Outcome.CREATED)
    assert "GetResources" not in calls and sum(calls["ListBackups"].values()) == 1  # the look before the retry
    assert backups_by_table(ddb) == dict.fromkeys(names, 1)
