"""The backup run against the AWS stand-in: discovery, exactly once per slot, faults, table states, metrics."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from tablesafe.aws.clients import backup_clients
from tablesafe.aws.dynamodb import DynamoDbGateway, GatewayError, ListingIncomplete
from tablesafe.backup.run import BackupRequest, BackupRunFailed, Outcome, run_backup
from tablesafe.config.settings import Settings
from tablesafe.constants import DEFAULT_RATE_LIMITS
from tablesafe.runtime import backup_handler
from tablesafe.runtime.cold_start import backup_leases, cold_start
from tests.lease_support import LEASE_TABLE, create_lease_table
from tools.standin.support import create_table, list_all_backups

SLOT = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
NAME = "tablesafe.daily.daily.20261127T0300Z"
PLANS = {
    "daily": [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}],
    "weekly": [{"name": "weekly", "schedule": "cron(0 4 ? * SUN *)", "retentionDays": 90, "minKeep": 2}],
}
ENV = {
    "TABLESAFE_TAG_KEY": "backup-plan",
    "TABLESAFE_PLANS": json.dumps(PLANS),
    "TABLESAFE_BACKUP_NAME_PREFIX": "tablesafe",
    "TABLESAFE_TIME_RESERVE_SECONDS": "5",
}
FAST = {operation: 2000.0 for operation in DEFAULT_RATE_LIMITS}


@pytest.fixture
def ddb(standin):
    return standin.client("dynamodb")


@pytest.fixture
def settings():
    return Settings.from_env(ENV)


@pytest.fixture
def gateway(standin):
    return DynamoDbGateway(backup_clients(rate_limits=FAST))


def request(**kwargs: Any) -> BackupRequest:
    return BackupRequest(plan=kwargs.get("plan", "daily"), rule=kwargs.get("rule", "daily"), slot=SLOT)


def backups_by_table(ddb) -> Counter[str]:
    summaries, _ = list_all_backups(ddb, BackupType="ALL")
    return Counter(s["TableName"] for s in summaries if s["BackupName"] == NAME)


def no_sleep(_: float) -> None:
    pass


def test_only_tables_tagged_with_the_plan_are_backed_up(standin, ddb, gateway, settings):
    create_table(ddb, "orders", {"backup-plan": "daily"})
    create_table(ddb, "carts", {"backup-plan": "daily", "team": "shop"})
    create_table(ddb, "reports", {"backup-plan": "weekly"})
    create_table(ddb, "scratch")
    create_table(ddb, "labelled", {"team": "shop"})

    report = run_backup(gateway, settings, request())

    assert sorted(report.tables(Outcome.CREATED)) == ["carts", "orders"]
    assert backups_by_table(ddb) == {"carts": 1, "orders": 1}
    summaries, _ = list_all_backups(ddb, BackupType="ALL")
    assert {s["TableName"] for s in summaries} == {"carts", "orders"}
    assert report.unknown_plan == {}


def test_more_than_a_page_of_tagged_tables_are_all_found(standin, ddb, gateway, settings):
    names = [f"table-{i:03d}" for i in range(130)]
    for name in names:
        create_table(ddb, name, {"backup-plan": "daily"})

    report = run_backup(gateway, settings, request())
    calls = standin.calls.snapshot()

    assert sorted(report.tables(Outcome.CREATED)) == names
    assert backups_by_table(ddb) == dict.fromkeys(names, 1)
    assert calls["GetResources"] == {"ok": 2}  # 100 a page
    assert calls["CreateBackup"] == {"ok": 130}
    assert calls["ListBackups"] == {"ok": 1}  # one account-wide look at the slot


class OverlapProbe(DynamoDbGateway):
    """A gateway whose discovery finishes only once the slot listing has started (or gives up after 10 s)."""

    def __init__(self) -> None:
        super().__init__(backup_clients(rate_limits=FAST))
        self.listing_started = threading.Event()
        self.overlapped = False

    def tagged_table_pages(self, tag_key: str):  # type: ignore[no-untyped-def]
        self.overlapped = self.listing_started.wait(timeout=10)
        return super().tagged_table_pages(tag_key)

    def list_backups(self, **kwargs: Any):  # type: ignore[no-untyped-def]
        self.listing_started.set()
        return super().list_backups(**kwargs)


def test_discovery_and_the_slot_listing_run_side_by_side(standin, ddb, settings):
    # They are paced by different limits (GetResources 15/s, ListBackups 5/s): one need not wait for the other.
    create_table(ddb, "orders", {"backup-plan": "daily"})
    ddb.create_backup(TableName="orders", BackupName=NAME)  # a retried run: this slot's backup exists
    gateway = OverlapProbe()

    report = run_backup(gateway, settings, request())

    assert gateway.overlapped
    assert report.tables(Outcome.ALREADY_PRESENT) == {"orders": "backup for this slot exists"}
    assert standin.calls.count("CreateBackup") == 1  # the seeded one only


def test_a_failed_slot_listing_fails_the_run_before_any_backup(standin, ddb, gateway, settings):
    # Without knowing what the slot already has, a backup could be made twice: nothing is started.
    create_table(ddb, "orders", {"backup-plan": "daily"})
    standin.faults.set("ListBackups", throttle=1.0, throttle_as="AccessDeniedException")

    with pytest.raises(ListingIncomplete, match="AccessDeniedException"):
        run_backup(gateway, settings, request())

    assert standin.calls.count("CreateBackup") == 0


def test_a_failed_discovery_is_what_the_run_raises_even_when_the_listing_fails_too(standin, ddb, gateway, settings):
    create_table(ddb, "orders", {"backup-plan": "daily"})
    standin.faults.set("GetResources", throttle=1.0, throttle_as="AccessDeniedException")
    standin.faults.set("ListBackups", throttle=1.0, throttle_as="AccessDeniedException")

    with pytest.raises(GatewayError) as raised:
        run_backup(gateway, settings, request())

    assert raised.value.operation == "GetResources" and not isinstance(raised.value, ListingIncomplete)
    assert standin.calls.count("CreateBackup") == 0


def test_discovery_that_breaks_off_part_way_backs_up_what_it_found_and_fails_the_run_naming_the_rest(
    standin, ddb, settings
):
    # Tables are backed up page by page as discovery goes; if a later page fails, what was found is backed up,
    # and the run fails (no continuation could know the tables not found): Lambda's retry discovers again.
    for i in range(3):
        create_table(ddb, f"tab{i}", {"backup-plan": "daily"})

    class BrokenSecondPage(DynamoDbGateway):
        def tagged_table_pages(self, tag_key):  # type: ignore[no-untyped-def]
            pages = super().tagged_table_pages(tag_key)
            yield [table for table in next(pages) if table.name != "tab2"]
            raise GatewayError("GetResources", "AccessDeniedException", "not authorized")

    report = run_backup(BrokenSecondPage(backup_clients(rate_limits=FAST)), settings, request())

    assert set(report.tables(Outcome.CREATED)) == {"tab0", "tab1"}
    assert report.handed_over == [] and "discovery failed part-way (AccessDeniedException" in report.problem
    assert report.failure() is not None and not report.finished
    assert backups_by_table(ddb) == {"tab0": 1, "tab1": 1}


def test_an_unknown_plan_is_reported_and_the_other_tables_proceed(standin, ddb, gateway, settings):
    create_table(ddb, "orders", {"backup-plan": "daily"})
    create_table(ddb, "typo", {"backup-plan": "dialy"})
    create_table(ddb, "spaces", {"backup-plan": " daily"})

    report = run_backup(gateway, settings, request())

    assert report.unknown_plan == {"typo": "dialy", "spaces": " daily"}
    assert list(report.tables(Outcome.CREATED)) == ["orders"]
    assert backups_by_table(ddb) == {"orders": 1}


def test_a_table_deleted_after_discovery_is_skipped_not_failed(standin, ddb, settings):
    for name in ("orders", "gone"):
        create_table(ddb, name, {"backup-plan": "daily"})

    class StaleTagging(DynamoDbGateway):
        def tagged_table_pages(self, tag_key):  # the tagging API still lists a table deleted a moment ago
            pages = list(super().tagged_table_pages(tag_key))
            ddb.delete_table(TableName="gone")
            return iter(pages)

    report = run_backup(StaleTagging(backup_clients(rate_limits=FAST)), settings, request())

    assert report.tables(Outcome.SKIPPED) == {"gone": "table no longer exists (deleted after discovery)"}
    assert report.failed == {}
    assert backups_by_table(ddb) == {"orders": 1}


def test_the_same_slot_run_twice_creates_no_second_backup(standin, ddb, gateway, settings):
    for i in range(5):
        create_table(ddb, f"tab{i}", {"backup-plan": "daily"})

    first = run_backup(gateway, settings, request())
    second = run_backup(gateway, settings, request())

    assert len(first.tables(Outcome.CREATED)) == 5
    assert second.tables(Outcome.CREATED) == {}
    assert len(second.tables(Outcome.ALREADY_PRESENT)) == 5
    assert backups_by_table(ddb) == {f"tab{i}": 1 for i in range(5)}


def test_two_concurrent_runs_of_a_slot_leave_one_backup_per_table(standin, ddb, settings):
    standin.creating_seconds = 1.0  # AWS keeps a new backup CREATING; a second CreateBackup then gets BackupInUse
    names = [f"t{i:02d}" for i in range(20)]
    for name in names:
        create_table(ddb, name, {"backup-plan": "daily"})
    reports = []

    def run() -> None:
        reports.append(run_backup(DynamoDbGateway(backup_clients(rate_limits=FAST)), settings, request()))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert backups_by_table(ddb) == dict.fromkeys(names, 1)
    assert all(report.failed == {} for report in reports)
    created = sum(len(r.tables(Outcome.CREATED)) for r in reports)
    present = sum(len(r.tables(Outcome.ALREADY_PRESENT)) for r in reports)
    assert (created, present) == (20, 20)


def test_a_lost_create_backup_answer_does_not_leave_two_backups(standin, ddb, gateway, settings):
    names = [f"t{i:02d}" for i in range(12)]
    for name in names:
        create_table(ddb, name, {"backup-plan": "daily"})
    standin.faults.set("CreateBackup", lost=0.5)

    report = run_backup(gateway, settings, request(), sleep=no_sleep)

    assert standin.calls.count("CreateBackup", "lost") > 0
    assert sorted(report.tables(Outcome.CREATED)) == names
    assert backups_by_table(ddb) == dict.fromkeys(names, 1)


def test_a_lost_answer_while_the_backup_is_still_creating_is_found_not_repeated(standin, ddb, gateway, settings):
    standin.creating_seconds = 30.0
    create_table(ddb, "orders", {"backup-plan": "daily"})
    standin.faults.set("CreateBackup", lost=1.0, limit=1)

    report = run_backup(gateway, settings, request(), sleep=no_sleep)

    assert report.tables(Outcome.CREATED) == {"orders": "created (answer lost; found by name)"}
    assert backups_by_table(ddb) == {"orders": 1}
    assert standin.calls.count("CreateBackup") == 1


def test_throttling_is_retried_until_every_table_has_its_backup(standin, ddb, gateway, settings):
    names = [f"t{i:02d}" for i in range(10)]
    for name in names:
        create_table(ddb, name, {"backup-plan": "daily"})
    standin.faults.set("CreateBackup", throttle=0.6, throttle_as="LimitExceededException", limit=15)

    report = run_backup(gateway, settings, request(), sleep=no_sleep)

    assert standin.calls.count("CreateBackup", "throttled") > 0
    assert report.failed == {}
    assert backups_by_table(ddb) == dict.fromkeys(names, 1)


def test_another_backup_in_progress_defers_the_table_until_it_completes(standin, ddb, gateway, settings):
    create_table(ddb, "orders", {"backup-plan": "daily"})
    standin.creating_seconds = 0.5
    ddb.create_backup(TableName="orders", BackupName="someone-elses")  # CREATING for 0.5 s

    report = run_backup(gateway, settings, request())

    assert report.tables(Outcome.CREATED) == {"orders": "created"}
    assert backups_by_table(ddb) == {"orders": 1}
    assert standin.calls.codes("CreateBackup").get("BackupInUseException", 0) >= 1


def test_one_failing_table_is_named_while_the_others_succeed(standin, ddb, gateway, settings):
    for name in ("tab-a", "tab-b", "locked", "tab-c"):
        create_table(ddb, name, {"backup-plan": "daily"})
    standin.set_table_status("locked", "INACCESSIBLE_ENCRYPTION_CREDENTIALS")

    report = run_backup(gateway, settings, request())

    assert sorted(report.tables(Outcome.CREATED)) == ["tab-a", "tab-b", "tab-c"]
    assert list(report.failed) == ["locked"]
    assert "INACCESSIBLE_ENCRYPTION_CREDENTIALS" in report.failed["locked"]


def test_tables_being_created_or_deleted_are_skipped_with_the_reason(standin, ddb, gateway, settings):
    for name in ("new", "dying", "fine"):
        create_table(ddb, name, {"backup-plan": "daily"})
    standin.set_table_status("new", "CREATING")
    standin.set_table_status("dying", "DELETING")

    report = run_backup(gateway, settings, request(), sleep=no_sleep)

    assert report.tables(Outcome.CREATED) == {"fine": "created"}
    assert report.tables(Outcome.SKIPPED)["dying"] == "table is being deleted"
    assert report.tables(Outcome.SKIPPED)["new"] == "table is still being created; the next slot backs it up"
    assert report.failed == {}


def test_a_run_out_of_time_hands_the_rest_to_a_continuation_that_finishes_it(standin, ddb, gateway, settings):
    names = [f"t{i:02d}" for i in range(30)]
    for name in names:
        create_table(ddb, name, {"backup-plan": "daily"})
    budget = iter([100.0] * 10 + [0.0] * 1000)  # time for ten tables to start, then the reserve is reached
    continuations: list[dict] = []

    first = run_backup(
        gateway, settings, request(), time_left=lambda: next(budget), continue_run=continuations.append, workers=1
    )
    assert len(continuations) == 1 and first.handed_over
    follow_up = BackupRequest.from_event(continuations[0], datetime.now(UTC))
    second = run_backup(gateway, settings, follow_up)

    assert follow_up.slot == SLOT and follow_up.continuation == 1
    assert backups_by_table(ddb) == dict.fromkeys(names, 1)
    done_first = set(first.tables(Outcome.CREATED))
    assert set(second.tables(Outcome.CREATED)) == set(names) - done_first
    # The continuation carries the tables left (its cursor) and reports on those alone; it did not discover again.
    assert second.tables(Outcome.ALREADY_PRESENT) == {}
    assert standin.calls.count("GetResources") == 1


def test_the_handler_emits_metrics_and_raises_naming_the_failed_table(standin, ddb, monkeypatch, capsys):
    # The handler takes the slot's lease: its table exists, as the stack makes it.
    create_lease_table(ddb)
    handler_env = {**ENV, "POWERTOOLS_SERVICE_NAME": "tablesafe-backup", "TABLESAFE_LEASE_TABLE": LEASE_TABLE}
    for name, value in handler_env.items():
        monkeypatch.setenv(name, value)
    cold_start.cache_clear()
    backup_leases.cache_clear()
    for name in ("orders", "carts", "locked"):
        create_table(ddb, name, {"backup-plan": "daily"})
    create_table(ddb, "odd", {"backup-plan": "nightly"})
    standin.set_table_status("locked", "ARCHIVED")

    class Context:
        function_name = "tablesafe-backup"
        memory_limit_in_mb = 256
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:tablesafe-backup"
        aws_request_id = "req-1"

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 900_000

    event = {"job": "backup", "plan": "daily", "rule": "daily", "scheduledTime": "2026-11-27T03:00:00Z"}
    with pytest.raises(BackupRunFailed, match="locked"):
        backup_handler.lambda_handler(event, Context())
    cold_start.cache_clear()
    backup_leases.cache_clear()

    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    (document,) = [d for d in emf if "Plan" in d]
    (unknown,) = [d for d in emf if "Plan" not in d]  # the same count without Plan/Rule, for the one alarm
    assert unknown["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert unknown["UnknownPlanTables"] in (1.0, [1.0])
    assert (document["Plan"], document["Rule"]) == ("daily", "daily")  # "service" is checked end to end
    values = {k: sum(v) if isinstance(v, list) else v for k, v in document.items()}
    assert values["BackupsCreated"] == 2.0
    assert values["TablesFailed"] == 1.0
    assert values["UnknownPlanTables"] == 1.0
    assert values["BackupRunsSucceeded"] == 0.0


def test_an_invocation_with_no_time_for_any_table_fails_instead_of_handing_over_forever(
    standin, ddb, gateway, settings
):
    create_table(ddb, "orders", {"backup-plan": "daily"})
    continuations: list[dict] = []

    report = run_backup(gateway, settings, request(), time_left=lambda: 1.0, continue_run=continuations.append)

    assert continuations == []
    assert report.failed == {
        "orders": "ran out of time (the invocation had no time to start any table (timeout below the reserve?))"
    }
