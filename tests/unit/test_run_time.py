"""The bound on a deleting run's time: never ahead of the clock, never older than the longest retention allows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infra import functions, schedules
from tablesafe.config.events import (
    FUTURE_TOLERANCE,
    HANDOVER_DELAY,
    LATE_DELIVERY,
    MAX_CONTINUATIONS,
    EventError,
    check_run_time,
)
from tablesafe.config.plans import parse_plans
from tablesafe.prune.report import PruneRequest
from tablesafe.rules.retention import longest_retention

CLOCK = datetime(2026, 6, 30, 4, 30, 12, tzinfo=UTC)
LONGEST = timedelta(days=90)


def check(moment: datetime, continuation: int = 0) -> None:
    check_run_time("scheduledTime", moment, CLOCK, longest_retention=LONGEST, continuation=continuation)


def test_a_time_a_few_minutes_ahead_of_the_clock_is_accepted_and_one_beyond_is_refused() -> None:
    check(CLOCK)
    check(CLOCK + FUTURE_TOLERANCE)

    with pytest.raises(EventError) as raised:
        check(CLOCK + FUTURE_TOLERANCE + timedelta(seconds=1))

    message = str(raised.value)
    assert "scheduledTime=2026-06-30T04:35:13Z is later than the function's clock (2026-06-30T04:30:12Z)" in message
    assert "plus 5 minutes" in message and "nothing was listed or deleted" in message


def test_the_tolerance_is_a_few_minutes() -> None:
    # Enough for two services' clocks and an operator typing the coming minute; a backup is deleted at most this
    # much before its retention ends.
    assert timedelta(minutes=1) <= FUTURE_TOLERANCE <= timedelta(minutes=10)


def test_a_mistyped_year_ahead_is_refused_even_for_a_continuation() -> None:
    with pytest.raises(EventError, match="later than the function's clock"):
        check(CLOCK.replace(year=2027), continuation=MAX_CONTINUATIONS)


def test_a_late_delivery_of_a_genuine_event_is_accepted_and_a_time_older_than_the_retention_is_refused() -> None:
    oldest = CLOCK - LONGEST - LATE_DELIVERY
    check(oldest)

    with pytest.raises(EventError) as raised:
        check(oldest - timedelta(seconds=1))

    message = str(raised.value)
    assert "scheduledTime=2026-03-30T22:30:11Z is older than the longest retention (90 days) allows" in message
    assert "earliest accepted: 2026-03-30T22:30:12Z" in message


def test_each_continuation_may_be_a_hand_over_older_than_its_predecessor() -> None:
    oldest = CLOCK - LONGEST - LATE_DELIVERY - 3 * HANDOVER_DELAY
    check(oldest, continuation=3)

    with pytest.raises(EventError, match="older than the longest retention"):
        check(oldest, continuation=2)


def test_the_allowances_cover_how_long_the_deployed_retries_and_queues_keep_an_event() -> None:
    scheduler = timedelta(seconds=schedules.MAX_EVENT_AGE.to_seconds())
    lambda_queue = timedelta(seconds=functions.ASYNC_MAX_EVENT_AGE.to_seconds())
    assert scheduler + lambda_queue <= LATE_DELIVERY
    assert timedelta(seconds=900) + lambda_queue <= HANDOVER_DELAY  # Lambda's longest invocation, then the queue


def test_the_prune_event_of_the_issue_dated_400_days_ahead_is_refused_naming_the_key() -> None:
    plans = parse_plans(
        {"daily": [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}]}
    )
    ahead = (CLOCK + timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%SZ")

    with pytest.raises(EventError, match=f"scheduledTime={ahead} is later"):
        PruneRequest.from_event(
            {"job": "prune", "scheduledTime": ahead}, now=CLOCK, longest_retention=longest_retention(plans)
        )


def test_a_prune_event_without_a_time_runs_as_of_the_clock() -> None:
    request = PruneRequest.from_event({"job": "prune"}, now=CLOCK, longest_retention=LONGEST)

    assert request.now == CLOCK


def test_the_longest_retention_is_that_of_the_longest_kept_rule() -> None:
    plans = parse_plans(
        {
            "daily": [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}],
            "gfs": [
                {"name": "hourly", "schedule": "rate(1 hour)", "retentionDays": 2, "minKeep": 24},
                {"name": "monthly", "schedule": "cron(0 5 1 * ? *)", "retentionDays": 365, "minKeep": 12},
            ],
        }
    )

    assert longest_retention(plans) == timedelta(days=365)
