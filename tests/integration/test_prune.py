"""The prune run against the AWS stand-in: what it deletes and keeps, how it lists, faults, dry run, cost, time."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tablesafe.aws.clients import backup_clients
from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.config.events import HANDOVER_DELAY, EventError
from tablesafe.config.settings import Settings
from tablesafe.constants import DEFAULT_RATE_LIMITS
from tablesafe.observability import logger, metrics
from tablesafe.prune.report import Outcome, PruneReport, PruneRequest, PruneRunFailed
from tablesafe.prune.run import run_prune
from tablesafe.rules.naming import manual_name, parse_scheduled, scheduled_name
from tablesafe.runtime import prune_handler
from tablesafe.runtime.cold_start import cold_start
from tools.standin.support import create_table, fill, list_all_backups

PREFIX = "tablesafe"
NOW = datetime(2026, 6, 30, 4, 30, tzinfo=UTC)  # the prune's scheduled time; backups are taken at 03:00
PLANS = {
    "daily": [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}],
    "weekly": [{"name": "weekly", "schedule": "cron(0 3 ? * SUN *)", "retentionDays": 90, "minKeep": 2}],
}
ENV = {
    "TABLESAFE_TAG_KEY": "backup-plan",
    "TABLESAFE_PLANS": json.dumps(PLANS),
    "TABLESAFE_BACKUP_NAME_PREFIX": PREFIX,
    "TABLESAFE_TIME_RESERVE_SECONDS": "5",
    "TABLESAFE_STORAGE_PRICE_PER_GB_MONTH": "0.25",
}
FAST = {operation: 2000.0 for operation in DEFAULT_RATE_LIMITS}
LONGEST = timedelta(days=90)  # the longest retention of PLANS


@pytest.fixture
def ddb(standin):
    return standin.client("dynamodb")


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env(ENV)


@pytest.fixture
def gateway(standin) -> DynamoDbGateway:
    return DynamoDbGateway(backup_clients(rate_limits=FAST))


@pytest.fixture
def log_lines(monkeypatch) -> Callable[[], list[dict[str, Any]]]:
    """The prune's JSON log lines, parsed."""
    stream = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", stream)
    return lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


def taken(days_ago: int) -> datetime:
    """03:00 UTC `days_ago` days before NOW's day: such a daily backup is `days_ago` days and 1.5 h old."""
    return NOW - timedelta(days=days_ago, hours=1, minutes=30)


def make_backups(standin, ddb, table: str, days: Iterable[int], plan: str = "daily", rule: str = "daily") -> dict:
    """Backups of `table` through CreateBackup, named as the rule names them, aged to `days` ago; day -> ARN."""
    arns = {}
    for day in days:
        name = scheduled_name(PREFIX, plan, rule, taken(day))
        arn = ddb.create_backup(TableName=table, BackupName=name)["BackupDetails"]["BackupArn"]
        standin.set_backup_created(arn, taken(day))
        arns[day] = arn
    return arns


def remaining(ddb, **params: Any) -> dict[str, dict[str, Any]]:
    """Every backup the stand-in still lists (all types), by ARN."""
    summaries, _ = list_all_backups(ddb, BackupType="ALL", **params)
    return {s["BackupArn"]: s for s in summaries}


def deleted(report: PruneReport, *outcomes: Outcome) -> set[str]:
    wanted = outcomes or (Outcome.DELETED,)
    return {d.backup_arn for d in report.deletions if d.outcome in wanted}


class World:
    """An account with a bit of everything; `expected` holds the ARNs a prune must delete."""

    def __init__(self, standin, ddb) -> None:
        for table in ("orders", "reports", "legacy", "fresh", "gone"):
            create_table(ddb, table)
        fill(ddb, "orders", 20)
        fill(ddb, "reports", 5)
        # orders: daily for 40 days; 35..39 days old are past 35 days
        self.orders = make_backups(standin, ddb, "orders", range(40))
        # ... and backups the prune must never touch
        manual = ddb.create_backup(TableName="orders", BackupName=manual_name(PREFIX, taken(300)))
        standin.set_backup_created(manual["BackupDetails"]["BackupArn"], taken(300))
        self.foreign = {
            manual["BackupDetails"]["BackupArn"],
            standin.add_foreign_backup("orders", "nightly-export-2025", created=taken(400)),
            standin.add_foreign_backup("orders", scheduled_name("other", "daily", "daily", NOW), created=taken(400)),
            standin.add_foreign_backup("orders", "orders-replica", backup_type="SYSTEM", created=taken(30)),
            standin.add_foreign_backup(
                "orders", scheduled_name(PREFIX, "daily", "daily", taken(200)), backup_type="AWS_BACKUP",
                created=taken(200),
            ),
        }  # fmt: skip
        # a rule removed from the daily plan, and a plan removed altogether: orphaned, kept
        self.orphaned = set(make_backups(standin, ddb, "orders", (60, 61), rule="hourly").values())
        self.orphaned |= set(
            make_backups(standin, ddb, "legacy", range(40, 46), plan="legacy", rule="nightly").values()
        )
        # reports: weekly plan (90 days); 91 and 98 days old are past it
        self.reports = make_backups(standin, ddb, "reports", range(0, 99, 7), plan="weekly", rule="weekly")
        # fresh: a table that joined the plan a week ago has nothing to prune
        self.fresh = make_backups(standin, ddb, "fresh", range(7))
        # gone: a table deleted 50 days ago keeps its newest 3 (minKeep) for good
        self.gone = make_backups(standin, ddb, "gone", range(50, 57))
        ddb.delete_table(TableName="gone")
        self.expected = {self.orders[d] for d in range(35, 40)}
        self.expected |= {self.reports[91], self.reports[98]}
        self.expected |= {self.gone[d] for d in range(53, 57)}
        standin.calls.reset()


@pytest.fixture
def world(standin, ddb) -> World:
    return World(standin, ddb)


# -- what is deleted, what is kept ---------------------------------------------------------------------------------


def test_expired_backups_of_every_table_are_deleted_and_everything_else_is_kept(standin, ddb, gateway, settings, world):
    before = remaining(ddb)

    report = run_prune(gateway, settings, PruneRequest(NOW))

    after = remaining(ddb)
    assert deleted(report) == world.expected
    assert set(before) - set(after) == world.expected
    assert world.foreign <= set(after)  # manual, other prefixes, other names, SYSTEM, AWS_BACKUP
    assert world.orphaned <= set(after)
    assert {world.gone[d] for d in (50, 51, 52)} <= set(after)  # the deleted table's newest three
    assert set(world.fresh.values()) <= set(after)
    assert report.orphaned == len(world.orphaned) == 8
    assert not report.failed
    assert report.tables_done == {"gone", "legacy", "orders", "reports"}  # fresh has nothing old enough to list


def test_a_small_account_lists_its_expired_backups_in_one_call_and_the_recent_days_its_rules_need(
    standin, gateway, settings, world
):
    run_prune(gateway, settings, PruneRequest(NOW))

    # under a page of expired backups: the first look ahead holds them all, one window. orders' daily candidates
    # need three one-day windows of recent backups (minKeep 3); gone was deleted 50 days ago and has none, so it is
    # listed on its own; reports' weekly candidates need two week-long windows more (minKeep 2)
    assert standin.calls.snapshot()["ListBackups"] == {"ok": 1 + 3 + 1 + 2}
    assert standin.calls.snapshot()["DeleteBackup"] == {"ok": len(world.expected)}


def test_more_than_a_page_of_expired_backups_is_listed_page_by_page(standin, ddb, gateway, settings):
    for table in ("aaa", "bbb", "ccc"):
        create_table(ddb, table)
        make_backups(standin, ddb, table, range(36, 80))  # 44 past retention each: 132, two pages
    standin.calls.reset()

    report = run_prune(gateway, settings, PruneRequest(NOW))

    assert report.deleted == 3 * (44 - 3)  # each table keeps its newest three: nothing of theirs is younger
    # two expired pages, three one-day windows of recent backups that prove nothing (there are none), then each
    # table's own listing
    assert standin.calls.snapshot()["ListBackups"] == {"ok": 2 + 3 + 3}


def daily_tables(standin, count: int, days: Iterable[int]) -> dict[str, dict[int, str]]:
    """`count` tables with a daily backup on each of `days` (straight into the stand-in); table -> day -> ARN."""
    tables: dict[str, dict[int, str]] = {}
    for i in range(count):
        table = f"t{i:02d}"
        tables[table] = {
            day: standin.add_foreign_backup(
                table, scheduled_name(PREFIX, "daily", "daily", taken(day)), created=taken(day)
            )
            for day in days
        }
    return tables


def recording_listings(calls: list[dict[str, Any]], on_call: Callable[[dict[str, Any]], None] | None = None):
    """A session that records the parameters of every ListBackups call (and lets `on_call` react to it)."""
    session = boto3.Session()

    def before(params: dict[str, Any], **_: Any) -> None:
        calls.append(dict(params))
        if on_call is not None:
            on_call(params)

    session.events.register("provide-client-params.dynamodb.ListBackups", before)
    return session


def test_the_recent_listing_takes_min_keep_days_account_wide_not_a_call_per_table(standin, settings):
    tables = daily_tables(standin, 40, range(36))  # day 35 is past 35 days' retention
    calls: list[dict[str, Any]] = []
    gateway = DynamoDbGateway(backup_clients(recording_listings(calls), rate_limits=FAST))

    report = run_prune(gateway, settings, PruneRequest(NOW))

    assert deleted(report) == {arns[35] for arns in tables.values()}
    assert not report.failed
    # one page of expired backups, then three one-day windows (40 backups each) show every table minKeep=3 newer
    # slots; no table needs a listing of its own
    assert len(calls) == 1 + 3
    assert not [c for c in calls if "TableName" in c]
    windows = [(c["TimeRangeLowerBound"], c["TimeRangeUpperBound"]) for c in calls[1:]]
    cutoff = NOW - timedelta(days=35)
    assert windows == [(cutoff + timedelta(days=d), cutoff + timedelta(days=d + 1)) for d in range(3)]
    # the cost report: the 35 backups left of each table, 3 of them listed, the 32 younger ones counted from the
    # rule's schedule (at the size of the newest listed one)
    assert report.storage["daily"].backups == 40 * 35
    assert report.storage["daily"].estimated_backups == 40 * 32
    assert report.storage["daily"].bytes == sum(
        s["BackupSizeBytes"] for s in remaining(standin.client("dynamodb")).values()
    )


def test_a_table_with_fewer_than_min_keep_recent_backups_is_listed_on_its_own_and_keeps_its_newest(standin, settings):
    tables = daily_tables(standin, 40, range(36))
    sparse = {
        day: standin.add_foreign_backup(
            "sparse", scheduled_name(PREFIX, "daily", "daily", taken(day)), created=taken(day)
        )
        for day in (1, 2, 36, 37)
    }
    calls: list[dict[str, Any]] = []
    gateway = DynamoDbGateway(backup_clients(recording_listings(calls), rate_limits=FAST))

    report = run_prune(gateway, settings, PruneRequest(NOW))

    # sparse's two recent backups never make three slots: after the windows it is listed on its own, and its
    # newest three (days 1, 2 and 36) stay
    assert deleted(report) == {arns[35] for arns in tables.values()} | {sparse[37]}
    assert [c["TableName"] for c in calls if "TableName" in c] == ["sparse"]
    assert set(sparse.values()) - {sparse[37]} <= set(remaining(standin.client("dynamodb")))


def test_a_recent_listing_that_breaks_off_decides_nothing_of_the_window_waiting_for_it(standin, settings):
    tables = daily_tables(standin, 12, range(36))
    cutoff = NOW - timedelta(days=35)

    def on_call(params: dict[str, Any]) -> None:
        if params.get("TimeRangeLowerBound") == cutoff + timedelta(days=1):
            standin.faults.set("ListBackups", server_error=1.0, limit=3)  # the second window fails, every attempt

    calls: list[dict[str, Any]] = []
    gateway = DynamoDbGateway(backup_clients(recording_listings(calls, on_call), rate_limits=FAST, max_attempts=2))

    report = run_prune(gateway, settings, PruneRequest(NOW))
    standin.faults.clear()

    # without minKeep's proof the expired window is not decided: nothing deleted, the run fails, and its retry
    # (the same event) starts again where this one stopped
    assert report.deletions == []
    assert all(set(arns.values()) <= set(remaining(standin.client("dynamodb"))) for arns in tables.values())
    assert "InternalServerError" in report.listing_error
    assert not [c for c in calls if "TableName" in c]
    assert report.failed and not report.handed_over
    assert report.cursor is None


def recreate(standin, ddb, table: str, old_days: Iterable[int], new_days: Iterable[int]) -> tuple[dict, dict]:
    """`table` backed up on `old_days`, deleted, created again and backed up on `new_days`: each one's day -> ARN."""
    create_table(ddb, table)
    old = make_backups(standin, ddb, table, old_days)
    ddb.delete_table(TableName=table)
    create_table(ddb, table)
    return old, make_backups(standin, ddb, table, new_days)


def test_a_re_created_table_does_not_push_the_deleted_tables_last_backups_out(standin, ddb, gateway, settings):
    # the case: orders deleted with its last three backups, 50-52 days old; a new orders backed up daily
    old, new = recreate(standin, ddb, "orders", range(50, 56), range(40))

    report = run_prune(gateway, settings, PruneRequest(NOW))

    # each table keeps its own newest three; the old one's older three and the new one's five past 35 days go
    assert deleted(report) == {old[d] for d in range(53, 56)} | {new[d] for d in range(35, 40)}
    assert {old[50], old[51], old[52]} <= set(remaining(ddb))
    assert not report.failed


def test_the_windowed_listing_releases_a_re_created_table_only_once_its_old_table_is_known_too(standin, ddb, settings):
    tables = daily_tables(standin, 40, range(36))  # enough tables for the account-wide windows
    old, new = recreate(standin, ddb, "orders", range(50, 56), range(40))
    calls: list[dict[str, Any]] = []
    gateway = DynamoDbGateway(backup_clients(recording_listings(calls), rate_limits=FAST))

    report = run_prune(gateway, settings, PruneRequest(NOW))

    # the windows show the new table's three newer slots at once; those say nothing about the old table, so orders
    # waits for a listing of its own (the deleted table has no recent backups), then each table keeps its newest 3
    assert [c["TableName"] for c in calls if "TableName" in c] == ["orders"]
    expected = {arns[35] for arns in tables.values()} | {old[d] for d in range(53, 56)}
    assert deleted(report) == expected | {new[d] for d in range(35, 40)}
    assert {old[50], old[51], old[52]} <= set(remaining(ddb))


def test_each_deletion_log_line_names_the_table_id_of_the_table_it_was_taken_of(
    standin, ddb, gateway, settings, log_lines
):
    old, _ = recreate(standin, ddb, "orders", range(50, 54), range(40))
    old_id = remaining(ddb)[old[53]]["TableId"]

    run_prune(gateway, settings, PruneRequest(NOW))

    lines = {line["backup_arn"]: line for line in log_lines() if line["message"] == "backup deleted"}
    assert lines[old[53]]["table_id"] == old_id
    (pruned,) = [line for line in log_lines() if line["message"] == "table pruned"]
    assert pruned["table_ids"] == 2  # the old table's 50..53 and the new one's 35..39, in one window


class BrokenRecentListing(DynamoDbGateway):
    """A gateway whose listing of recent backups fails with an error that is not AWS's (a bug, say)."""

    def iter_backups(self, **params: Any) -> Any:
        if params.get("created_from") is not None and params.get("table_name") is None:
            raise RuntimeError("boom")
        return super().iter_backups(**params)


def test_an_unexpected_error_in_the_recent_listing_fails_the_run_naming_it_and_deletes_nothing(standin, settings):
    daily_tables(standin, 12, range(36))
    before = set(remaining(standin.client("dynamodb")))

    report = run_prune(BrokenRecentListing(backup_clients(rate_limits=FAST)), settings, PruneRequest(NOW))

    # a bug is not taken for a proof of nothing (which would list each table on its own): the run stops, says why
    # and deletes nothing
    assert report.listing_error == "RuntimeError: boom"
    assert set(remaining(standin.client("dynamodb"))) == before
    assert report.failed and "boom" in report.failure_summary()


def test_each_deletion_is_one_log_line_with_table_name_arn_age_plan_rule_and_reason(
    standin, ddb, gateway, settings, world, log_lines
):
    run_prune(gateway, settings, PruneRequest(NOW))

    lines = [line for line in log_lines() if line["message"] == "backup deleted"]
    assert {line["backup_arn"] for line in lines} == world.expected
    oldest = next(line for line in lines if line["backup_arn"] == world.orders[39])
    assert oldest["table"] == "orders"
    assert oldest["backup_name"] == scheduled_name(PREFIX, "daily", "daily", taken(39))
    assert (oldest["plan"], oldest["rule"], oldest["age_days"]) == ("daily", "daily", 39.06)
    assert oldest["reason"].startswith("expired: 39.06 days old, retention 35 days")
    orphans = [line for line in log_lines() if line["message"] == "orphaned backup kept"]
    assert {line["backup_arn"] for line in orphans} == world.orphaned
    assert all(line["level"] == "WARNING" for line in orphans)


def test_a_dry_run_deletes_nothing_and_reports_exactly_what_it_would_delete(
    standin, ddb, gateway, settings, world, log_lines
):
    before = remaining(ddb)
    dry = Settings.from_env({**ENV, "TABLESAFE_DRY_RUN": "true"})

    report = run_prune(gateway, dry, PruneRequest(NOW))

    assert remaining(ddb) == before
    assert "DeleteBackup" not in standin.calls.snapshot()
    assert deleted(report, Outcome.WOULD_DELETE) == world.expected
    assert report.deleted == len(world.expected)
    would = [line for line in log_lines() if line["message"] == "backup would be deleted (dry run)"]
    assert {line["backup_arn"] for line in would} == world.expected
    assert all(line["reason"].startswith("expired: ") for line in would)


def test_a_retry_of_the_same_run_decides_the_same_and_deletes_nothing_more(standin, ddb, gateway, settings, world):
    first = run_prune(gateway, settings, PruneRequest(NOW))
    second = run_prune(gateway, settings, PruneRequest(NOW))

    assert deleted(first) == world.expected
    assert second.deletions == []
    assert not second.failed


# -- faults ----------------------------------------------------------------------------------------------------------


def test_throttled_deletes_are_retried_until_every_expired_backup_is_gone(standin, ddb, gateway, settings, world):
    standin.faults.set("DeleteBackup", throttle=1.0, throttle_as="LimitExceededException", limit=6)

    report = run_prune(gateway, settings, PruneRequest(NOW))

    assert standin.calls.count("DeleteBackup", "throttled") == 6
    assert deleted(report) == world.expected
    assert not world.expected & set(remaining(ddb))
    assert not report.failed


def test_the_service_rate_limit_is_respected_without_losing_a_deletion(standin, ddb, settings):
    create_table(ddb, "orders")
    expected = set(make_backups(standin, ddb, "orders", range(35, 60)).values())
    standin.faults.rate_limits(limits={"DeleteBackup": 10.0, "ListBackups": 5.0}, scale=4.0)  # 40 and 20 a second

    report = run_prune(DynamoDbGateway(backup_clients(rate_limits={"DeleteBackup": 40.0})), settings, PruneRequest(NOW))

    assert report.deleted == len(expected) - 3
    assert standin.calls.count("DeleteBackup", "ok") == len(expected) - 3
    assert not report.failed


def test_a_backup_in_use_is_skipped_this_run_not_failed_and_deleted_by_the_next(standin, ddb, gateway, settings, world):
    standin.faults.set("DeleteBackup", throttle=1.0, throttle_as="BackupInUseException", tables=["gone"])

    first = run_prune(gateway, settings, PruneRequest(NOW))
    standin.faults.clear()
    second = run_prune(gateway, settings, PruneRequest(NOW + timedelta(days=1)))

    in_use = {world.gone[d] for d in range(53, 57)}
    assert deleted(first, Outcome.IN_USE) == in_use
    assert deleted(first) == world.expected - in_use
    assert not first.failed
    assert in_use <= deleted(second)


def test_a_deletion_that_fails_is_named_and_the_others_proceed(standin, ddb, gateway, settings, world):
    standin.faults.set("DeleteBackup", throttle=1.0, throttle_as="AccessDeniedException", tables=["reports"])

    report = run_prune(gateway, settings, PruneRequest(NOW))

    refused = {world.reports[91], world.reports[98]}
    assert deleted(report, Outcome.FAILED) == refused
    assert deleted(report) == world.expected - refused
    assert report.failed
    summary = report.failure_summary()
    assert "2 deletion(s) failed" in summary
    assert scheduled_name(PREFIX, "weekly", "weekly", taken(98)) + " of reports (AccessDeniedException" in summary


def fail_listing_after_first_page(standin, table: str | None) -> boto3.Session:
    """A session whose ListBackups of `table` (None: the account-wide one) fails from its second page on."""
    session = boto3.Session()

    def before(params: dict[str, Any], **_: Any) -> None:
        if "ExclusiveStartBackupArn" in params and params.get("TableName") == table:
            scope = {"tables": [table]} if table else {}
            standin.faults.set("ListBackups", server_error=1.0, **scope)

    session.events.register("provide-client-params.dynamodb.ListBackups", before)
    return session


def test_a_table_whose_listing_fails_part_way_keeps_all_its_backups_and_the_others_are_pruned(
    standin, ddb, settings, world
):
    create_table(ddb, "big")
    big = make_backups(standin, ddb, "big", range(36, 40))
    for hour in range(105):  # more than a page of recent backups
        name = scheduled_name(PREFIX, "daily", "daily", NOW - timedelta(hours=hour + 2))
        arn = ddb.create_backup(TableName="big", BackupName=name)["BackupDetails"]["BackupArn"]
        standin.set_backup_created(arn, NOW - timedelta(hours=hour + 2))
    gateway = DynamoDbGateway(
        backup_clients(fail_listing_after_first_page(standin, "big"), rate_limits=FAST, max_attempts=2)
    )

    report = run_prune(gateway, settings, PruneRequest(NOW))
    standin.faults.clear()

    assert set(big.values()) <= set(remaining(ddb, TableName="big"))
    assert list(report.failed_tables) == ["big"]
    assert "listing its backups failed part-way" in report.failed_tables["big"]
    assert deleted(report) == world.expected
    assert report.failed


def test_an_account_wide_listing_that_fails_part_way_deletes_nothing_at_all(standin, ddb, settings):
    for table in ("aaa", "bbb"):
        create_table(ddb, table)
        make_backups(standin, ddb, table, range(36, 96))  # 120 past retention: two pages
    before = remaining(ddb)
    standin.calls.reset()
    gateway = DynamoDbGateway(
        backup_clients(fail_listing_after_first_page(standin, None), rate_limits=FAST, max_attempts=2)
    )

    report = run_prune(gateway, settings, PruneRequest(NOW))
    standin.faults.clear()

    assert "DeleteBackup" not in standin.calls.snapshot()
    assert standin.calls.count("ListBackups", "ok") == 1
    assert remaining(ddb) == before
    assert report.failed and report.listing_error
    assert "nothing listed in it was decided" in report.failure_summary()
    assert report.storage == {}  # no estimate from half a listing


# -- time budget -------------------------------------------------------------------------------------------------


def run_until_done(gateway, settings, event: dict[str, Any], budget: Callable[[], Callable[[], float]], limit=40):
    """Invoke the prune on `event`, then on each continuation it asks for, each with a fresh `budget()`."""
    events, reports = [event], []
    while events and len(reports) < limit:
        # the clock of each invocation: the run's time (the event's own, once the bound checks it against the clock)
        request = PruneRequest.from_event(events.pop(), NOW, longest_retention=LONGEST)
        reports.append(run_prune(gateway, settings, request, time_left=budget(), continue_run=events.append, workers=2))
    return reports


def test_a_run_out_of_time_continues_from_its_cursor_until_every_expired_backup_is_gone_once(
    standin, ddb, gateway, settings
):
    tables = [f"t{i:02d}" for i in range(12)]
    expected = set()
    for table in tables:
        create_table(ddb, table)
        arns = make_backups(standin, ddb, table, range(33, 41))
        expected |= {arns[d] for d in range(36, 41)}  # 33, 34 (within retention) and 35 (minKeep 3) stay

    def budget() -> Callable[[], float]:
        return iter(range(100, -10_000, -12)).__next__  # seconds left: about eight checks per invocation

    reports = run_until_done(gateway, settings, {"job": "prune", "scheduledTime": "2026-06-30T04:30:00Z"}, budget)

    assert len(reports) > 3  # it did take several invocations
    assert all(not r.failed for r in reports)
    assert [r.continued for r in reports] == [True] * (len(reports) - 1) + [False]
    # the expired backups are one window: each invocation deleted some, then the last one finished it
    assert all(r.deletions and r.cursor is None for r in reports[:-1])
    assert reports[-1].cursor == NOW - timedelta(days=35)
    all_deleted = [d.backup_arn for r in reports for d in r.deletions]
    assert sorted(all_deleted) == sorted(expected)  # nothing deleted twice, nothing missed
    assert not expected & set(remaining(ddb))
    assert sum(r.storage["daily"].backups for r in reports) == len(tables) * 3  # counted once each
    assert {r.now for r in reports} == {NOW}
    assert reports[-1].expired_backlog == 0


def test_without_a_continuation_what_is_left_is_the_backlog_for_the_next_run_not_a_failure(
    standin, ddb, gateway, settings
):
    arns = {}
    for table in ("aaa", "bbb", "ccc"):
        create_table(ddb, table)
        arns[table] = make_backups(standin, ddb, table, range(35, 40))
    standin.calls.reset()
    # time to list and decide the only window and start one of its deletions
    time_left = iter([100.0, 100.0] + [1.0] * 100).__next__

    report = run_prune(gateway, settings, PruneRequest(NOW), time_left=time_left)

    assert not report.failed
    assert report.handed_over and not report.continued
    assert len(deleted(report)) == 1
    assert report.cursor is None  # the window was not finished: the next run lists it again
    # of the six the rules delete (days 38 and 39 of each table) one is gone: a's other is counted exactly, b and c
    # were not decided yet, so each of their backups past retention counts (an upper bound: minKeep not considered)
    assert report.expired_backlog == 1 + 2 * 5
    assert report.backlog_estimated


def test_a_continuation_that_cannot_start_fails_the_run_naming_where_it_stopped(standin, ddb, gateway, settings):
    for table in ("aaa", "bbb"):
        create_table(ddb, table)
        make_backups(standin, ddb, table, range(30, 45))

    def broken(event: dict[str, Any]) -> None:
        raise RuntimeError("Lambda said no")

    def time_left() -> float:  # time runs out once the first deletion has been made: progress, then hand over
        return 100.0 if standin.calls.count("DeleteBackup") == 0 else 1.0

    report = run_prune(gateway, settings, PruneRequest(NOW), time_left=time_left, continue_run=broken)

    assert report.deletions, "the run made progress before its time ran out"
    assert report.handoff_error == "could not start a continuation: Lambda said no"
    assert report.failed and "were not handed on" in report.failure_summary()


def test_an_invocation_with_no_time_for_any_window_fails_instead_of_handing_over_forever(
    standin, ddb, gateway, settings
):
    create_table(ddb, "aaa")
    make_backups(standin, ddb, "aaa", range(35, 40))
    continuations: list[dict[str, Any]] = []

    report = run_prune(gateway, settings, PruneRequest(NOW), time_left=lambda: 1.0, continue_run=continuations.append)

    assert continuations == []
    assert report.handoff_error == "ran out of time (no window finished: is the timeout below the reserve?)"
    assert report.failed


# -- the event -------------------------------------------------------------------------------------------------------


def test_the_event_gives_the_time_the_cursor_and_the_continuation_count():
    later = NOW + timedelta(hours=2)  # the clock of a continuation: the run started two hours ago
    event = {
        "job": "prune",
        "scheduledTime": "2026-06-30T04:30:00Z",
        "expiredFrom": "2025-11-02T07:12:09Z",
        "continuation": 3,
        "backlogBehind": 4,
        "deletedInRun": 2500,
    }
    request = PruneRequest.from_event(event, now=later, longest_retention=LONGEST)

    assert request == PruneRequest(NOW, datetime(2025, 11, 2, 7, 12, 9, tzinfo=UTC), 3, 4, 2500)
    assert request.as_event() == event
    assert PruneRequest.from_event({"job": "prune"}, now=NOW, longest_retention=LONGEST) == PruneRequest(NOW)
    # a continuation from before the windowed listing carried a table name: it starts at the oldest backup again
    legacy = {"job": "prune", "scheduledTime": "2026-06-30T04:30:00Z", "startAfter": "orders", "continuation": 3}
    assert PruneRequest.from_event(legacy, now=later, longest_retention=LONGEST) == PruneRequest(NOW, None, 3)


@pytest.mark.parametrize(
    ("event", "names"),
    [
        ({}, "job=None"),
        ({"job": "backup"}, "job='backup'"),
        ("prune", "JSON object"),
        ({"job": "prune", "scheduledTime": "yesterday"}, "scheduledTime='yesterday'"),
        ({"job": "prune", "scheduledTime": 1719721800}, "scheduledTime=1719721800"),
        ({"job": "prune", "startAfter": ""}, "startAfter=''"),
        ({"job": "prune", "continuation": -1}, "continuation=-1"),
        ({"job": "prune", "continuation": True}, "continuation=True"),
        ({"job": "prune", "expiredFrom": "soon"}, "expiredFrom='soon'"),
        ({"job": "prune", "scheduledTime": "2026-06-30T04:30:00Z", "expiredFrom": "2026-07-01T00:00:00Z"}, "later"),
        ({"job": "prune", "backlogBehind": -1}, "backlogBehind=-1"),
        ({"job": "prune", "deletedInRun": "many"}, "deletedInRun='many'"),
    ],
)
def test_a_garbled_event_is_refused_naming_the_key(event, names):
    with pytest.raises(EventError, match=re.escape(names)):
        PruneRequest.from_event(event, now=NOW, longest_retention=LONGEST)


# -- the handler and its metrics -------------------------------------------------------------------------------------


class Context:
    function_name = "tablesafe-prune"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:tablesafe-prune"
    aws_request_id = "req-1"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 900_000


def invoke(
    monkeypatch, capsys, event: dict[str, Any], clock: datetime = NOW, **env: str
) -> tuple[Any, list[dict[str, Any]]]:
    """Run the handler with ENV (+ env) at `clock`; its answer or exception, and the EMF documents it printed."""
    for name, value in {**ENV, "POWERTOOLS_SERVICE_NAME": "tablesafe-prune", **env}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(metrics, "service", "tablesafe-prune")  # in Lambda it comes from the environment at import
    cold_start.cache_clear()
    try:
        outcome: Any = prune_handler.lambda_handler(event, Context(), clock=lambda: clock)
    except Exception as error:
        outcome = error
    finally:
        cold_start.cache_clear()
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    # a metric added once is a number, added more than once a list
    return outcome, [{k: sum(v) if isinstance(v, list) else v for k, v in doc.items()} for doc in emf]


def by_plan(emf: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {doc["Plan"]: doc for doc in emf if "Plan" in doc}


def run_level(emf: list[dict[str, Any]]) -> dict[str, Any]:
    (document,) = [doc for doc in emf if "BackupsDeleted" in doc]
    return document


def test_the_handler_emits_run_metrics_and_per_plan_cost_of_what_remains(standin, ddb, monkeypatch, capsys, world):
    answer, emf = invoke(monkeypatch, capsys, {"job": "prune", "scheduledTime": "2026-06-30T04:30:00Z"})

    assert answer["deleted"] == len(world.expected)
    run = run_level(emf)
    assert (run["DryRun"], run["service"]) == ("false", "tablesafe-prune")
    assert sorted(run["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]) == ["DryRun", "service"]
    assert (run["BackupsDeleted"], run["BackupsDeleteFailed"], run["BackupsInUseSkipped"]) == (11, 0, 0)
    assert (run["OrphanedBackups"], run["PruneTablesFailed"]) == (8, 0)
    assert run["ExpiredBacklog"] == 0  # the run reached the cutoff: nothing past retention is left to delete
    # per plan: what the region holds after the prune, of the tables the run listed (fresh is not among them)
    stored: Counter[str] = Counter()
    size: Counter[str] = Counter()
    for summary in remaining(ddb).values():
        name = parse_scheduled(summary["BackupName"], PREFIX)
        if name is not None and summary["BackupType"] == "USER" and summary["TableName"] != "fresh":
            stored[name.plan] += 1
            size[name.plan] += summary["BackupSizeBytes"]
    plans = by_plan(emf)
    assert set(plans) == {"daily", "weekly", "legacy"}  # legacy: removed from the configuration, still costs
    for plan, document in plans.items():
        assert document["DryRun"] == "false"
        assert document["service"] == "tablesafe-prune"
        assert sorted(document["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]) == ["DryRun", "Plan", "service"]
        assert document["StoredBackups"] == stored[plan]
        assert document["StoredBytes"] == size[plan]
        assert document["EstimatedMonthlyCost"] == pytest.approx(size[plan] / 1e9 * 0.25)
    assert plans["daily"]["StoredBackups"] == 35 + 3 + 2  # orders' last 35 days, gone's last 3, orders' orphans
    assert plans["daily"]["StoredBytes"] > 0


def test_a_dry_run_emits_the_same_counts_marked_dry_run(standin, ddb, monkeypatch, capsys, world):
    event = {"job": "prune", "scheduledTime": "2026-06-30T04:30:00Z"}
    _, dry = invoke(monkeypatch, capsys, event, TABLESAFE_DRY_RUN="true")
    _, real = invoke(monkeypatch, capsys, event)

    assert run_level(dry)["DryRun"] == "true"
    for metric in ("BackupsDeleted", "OrphanedBackups", "BackupsDeleteFailed"):
        assert run_level(dry)[metric] == run_level(real)[metric]
    assert by_plan(dry) and set(by_plan(dry)) == set(by_plan(real))  # or the loop below checks nothing
    for plan, document in by_plan(dry).items():
        assert document["DryRun"] == "true"
        assert document["StoredBackups"] == by_plan(real)[plan]["StoredBackups"]  # what a real run leaves


def test_the_handler_raises_after_emitting_naming_failed_tables_and_deletions(standin, ddb, monkeypatch, capsys, world):
    standin.faults.set("DeleteBackup", throttle=1.0, throttle_as="AccessDeniedException", tables=["reports"])

    outcome, emf = invoke(monkeypatch, capsys, {"job": "prune", "scheduledTime": "2026-06-30T04:30:00Z"})

    assert isinstance(outcome, PruneRunFailed)
    assert "2 deletion(s) failed" in str(outcome)
    assert "of reports" in str(outcome)
    assert run_level(emf)["BackupsDeleteFailed"] == 2
    assert run_level(emf)["BackupsDeleted"] == len(world.expected) - 2


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_the_handler_refuses_a_garbled_event_before_touching_anything(standin, monkeypatch, capsys):
    outcome, _ = invoke(monkeypatch, capsys, {"job": "prune", "scheduledTime": "soon"})

    assert isinstance(outcome, EventError)
    assert "scheduledTime='soon'" in str(outcome)
    assert standin.calls.snapshot() == {}


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_the_handler_refuses_a_prune_dated_in_the_future_and_lists_and_deletes_nothing(
    standin, ddb, monkeypatch, capsys
):
    create_table(ddb, "orders")
    arns = make_backups(standin, ddb, "orders", range(1, 11))  # ten daily backups, 1 to 10 days old
    standin.calls.reset()
    mistyped = {"job": "prune", "scheduledTime": "2027-08-04T04:30:00Z"}  # 400 days ahead of the clock

    outcome, _ = invoke(monkeypatch, capsys, mistyped)

    # raised, so Lambda counts an error and the prune Errors alarm fires; not one backup taken for expired
    assert isinstance(outcome, EventError)
    assert "scheduledTime=2027-08-04T04:30:00Z is later than the function's clock (2026-06-30T04:30:00Z)" in str(
        outcome
    )
    assert standin.calls.snapshot() == {}
    assert set(arns.values()) <= set(remaining(ddb))


def test_the_handler_runs_a_continuation_hours_later_as_of_its_run_s_original_time(standin, ddb, monkeypatch, capsys):
    create_table(ddb, "orders")
    arns = make_backups(standin, ddb, "orders", range(33, 40))
    continuation = {**PruneRequest(NOW, continuation=2).as_event()}

    answer, _ = invoke(monkeypatch, capsys, continuation, clock=NOW + 2 * HANDOVER_DELAY)

    assert answer["now"] == NOW.isoformat()
    assert answer["deleted"] == 4  # 36..39 days old as of the run's time; 35 is kept by minKeep
    assert not {arns[d] for d in range(36, 40)} & set(remaining(ddb))
