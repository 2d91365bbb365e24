"""A retention cut: far more expired backups than one invocation can list and delete. The prune clears them over
invocations and days, in windows, with every backup within retention and every table's newest minKeep still there,
and reports the backlog as it goes; a listing that breaks off decides nothing of its window, and a continuation
delivered twice deletes nothing it should not.

The issue's example: 150 tables with 110 days of daily backups, retention 35, ListBackups at 5/s, the other limits
x20, invocations of 75 s. Here all of it runs ten times as fast (rates x10, invocations of 7.5 s; in the default
suite 30 tables, invocations of 3 s, two a day), on a real clock against the stand-in's token buckets."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tablesafe.aws.clients import backup_clients
from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.config.settings import Settings
from tablesafe.prune.report import Outcome, PruneReport, PruneRequest
from tablesafe.prune.run import run_prune
from tablesafe.rules.naming import scheduled_name
from tools.standin import StandIn

PREFIX = "tablesafe"
NOW = datetime(2026, 6, 30, 4, 30, tzinfo=UTC)
RETENTION, MIN_KEEP = 35, 3
PLANS = {"daily": [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": RETENTION, "minKeep": 3}]}
SPEED = 10  # everything ten times as fast as the example
RATES = {"ListBackups": 5.0 * SPEED, "DeleteBackup": 10.0 * 20 * SPEED}


@dataclass(frozen=True)
class Cut:
    tables: int
    days: int
    invocation_seconds: float
    invocations_a_day: int  # then the day's run stops: the continuation limit, made small
    deletes_per_second: float = RATES["DeleteBackup"]


# DeleteBackup at the example's own 200/s here, so that the backlog spans days on a quiet machine too
SMALL = Cut(tables=30, days=110, invocation_seconds=3.0, invocations_a_day=2, deletes_per_second=200.0)
EXAMPLE = Cut(tables=150, days=110, invocation_seconds=75 / SPEED, invocations_a_day=50)


def seed(standin: StandIn, cut: Cut) -> dict[str, tuple[str, int]]:
    """Daily backups at 03:00 of each of the `days` days before NOW's day; ARN -> (table, days old)."""
    made = {}
    for t in range(cut.tables):
        table = f"t{t:04d}"
        for day in range(cut.days):
            when = NOW - timedelta(days=day, hours=1, minutes=30)
            made[standin.add_foreign_backup(table, scheduled_name(PREFIX, "daily", "daily", when), created=when)] = (
                table,
                day,
            )
    return made


def live(standin: StandIn) -> set[str]:
    with standin.fidelity.lock:
        state = standin.fidelity.state(standin.account_id, standin.region)
        return {r.arn for r in state.records.values() if not r.deleted}


def cut_settings(reserve: float) -> Settings:
    return Settings.from_env(
        {
            "TABLESAFE_TAG_KEY": "backup-plan",
            "TABLESAFE_PLANS": json.dumps(PLANS),
            "TABLESAFE_BACKUP_NAME_PREFIX": PREFIX,
            "TABLESAFE_TIME_RESERVE_SECONDS": str(reserve),
        }
    )


def run_day(gateway: DynamoDbGateway, settings: Settings, cut: Cut) -> list[PruneReport]:
    """One day's run: the scheduled invocation and its continuations, the day's last one with none to hand to (as
    past MAX_CONTINUATIONS): what is left waits for tomorrow."""
    queue: list[dict[str, Any]] = [PruneRequest(NOW).as_event()]
    reports: list[PruneReport] = []
    while queue:
        last = len(reports) + 1 == cut.invocations_a_day
        request = PruneRequest.from_event(queue.pop(), NOW, longest_retention=timedelta(days=RETENTION))
        deadline = time.monotonic() + cut.invocation_seconds
        reports.append(
            run_prune(
                gateway,
                settings,
                request,
                time_left=lambda d=deadline: d - time.monotonic(),  # type: ignore[misc]
                continue_run=None if last else queue.append,
            )
        )
    return reports


@pytest.mark.parametrize("cut", [SMALL, pytest.param(EXAMPLE, marks=pytest.mark.slow)], ids=["small", "example"])
def test_a_retention_cut_is_cleared_over_invocations_and_days_and_nothing_else_is_deleted(
    standin: StandIn, cut: Cut
) -> None:
    made = seed(standin, cut)
    doomed = {arn for arn, (_, day) in made.items() if day >= RETENTION}  # 35 days and 1.5 h old: past 35 days
    rates = {**RATES, "DeleteBackup": cut.deletes_per_second}
    standin.faults.rate_limits(aws_documented=False, limits=rates)
    gateway = DynamoDbGateway(backup_clients(rate_limits=rates))
    settings = cut_settings(reserve=cut.invocation_seconds / 6)
    backlogs: list[int] = []
    days = 0

    while doomed & live(standin) and days < 10:
        reports = run_day(gateway, settings, cut)
        days += 1
        assert not any(r.failed for r in reports), [r.failure_summary() for r in reports]
        final = reports[-1]
        assert final.expired_backlog is not None  # reported by the run's last invocation, not a failure
        backlogs.append(final.expired_backlog)
        still = live(standin)
        assert set(made) - doomed <= still, "a backup within retention or among the newest minKeep was deleted"
        # the backlog the run reports is about what is left (an estimate beyond its cursor)
        left = len(doomed & still)
        assert (final.expired_backlog == 0) == (left == 0)

    assert not doomed & live(standin), f"expired backups left after {days} days"
    assert set(made) - doomed <= live(standin)
    assert backlogs[-1] == 0
    if cut is SMALL:
        assert days > 1 and backlogs[0] > 0, "the small cut is meant to take more than a day"
        assert backlogs == sorted(backlogs, reverse=True), "the backlog shrinks day by day"


def test_a_window_whose_listing_breaks_off_is_not_decided_and_its_retry_finishes_the_cut(standin: StandIn) -> None:
    made = seed(standin, Cut(tables=20, days=60, invocation_seconds=60, invocations_a_day=1))
    doomed = {arn for arn, (_, day) in made.items() if day >= RETENTION}
    settings = cut_settings(reserve=1)
    # ListBackups fails for good from its ninth call on: the look-ahead (three pages), a window, the three days
    # minKeep needs and one more window went through
    calls = []

    def count(**_: Any) -> None:
        calls.append(1)
        if len(calls) == 9:
            standin.faults.set("ListBackups", server_error=1.0)

    session = boto3.Session()
    session.events.register("provide-client-params.dynamodb.ListBackups", count)

    gateway = DynamoDbGateway(backup_clients(session, rate_limits={}, max_attempts=1))
    first = run_prune(gateway, settings, PruneRequest(NOW))

    standin.faults.clear()
    assert first.failed and "InternalServerError" in first.listing_error
    assert not first.handed_over  # no continuation: the failed invocation is retried with its own event
    gone = set(made) - live(standin)
    assert gone <= doomed
    decided_until = first.cursor
    assert decided_until is not None  # the windows before the failure were decided and deleted
    assert {arn for arn in gone if standin_created(made, arn) >= decided_until} == set()

    retry = run_prune(
        DynamoDbGateway(backup_clients(rate_limits={})), settings, PruneRequest(NOW)
    )  # Lambda's retry: same event

    assert not retry.failed
    assert not doomed & live(standin) and set(made) - doomed <= live(standin)


def standin_created(made: dict[str, tuple[str, int]], arn: str) -> datetime:
    return NOW - timedelta(days=made[arn][1], hours=1, minutes=30)


def test_a_continuation_delivered_twice_deletes_nothing_it_should_not_and_nothing_is_missed(standin: StandIn) -> None:
    made = seed(standin, Cut(tables=20, days=60, invocation_seconds=60, invocations_a_day=1))
    doomed = {arn for arn, (_, day) in made.items() if day >= RETENTION}
    settings = cut_settings(reserve=1)
    gateway = DynamoDbGateway(backup_clients(rate_limits={}))
    checks = iter([100.0] * 200 + [0.0] * 10_000)  # time for a few windows, then the reserve
    queue: list[dict[str, Any]] = []
    run_prune(gateway, settings, PruneRequest(NOW), time_left=checks.__next__, continue_run=queue.append)
    (continuation,) = queue

    reports = [
        run_prune(gateway, settings, PruneRequest.from_event(continuation, NOW, longest_retention=timedelta(days=90)))
        for _ in range(2)  # Lambda delivered the asynchronous event twice
    ]

    assert not any(r.failed for r in reports)
    assert not doomed & live(standin) and set(made) - doomed <= live(standin)
    second = {d.backup_arn for d in reports[1].deletions if d.outcome is Outcome.DELETED}
    assert second == set(), "the second delivery found everything it decided already gone"
