"""The backup event: what a schedule, a manual invoke or a continuation sends, and what is refused."""

from datetime import UTC, datetime

import pytest

from tablesafe.aws.dynamodb import TaggedTable
from tablesafe.backup.run import BackupRequest, select_tables
from tablesafe.config.events import EventError

NOW = datetime(2026, 11, 27, 9, 41, 27, tzinfo=UTC)


def test_a_scheduled_event_names_its_slot_to_the_minute():
    request = BackupRequest.from_event(
        {"job": "backup", "plan": "daily", "rule": "daily", "scheduledTime": "2026-11-27T03:00:59Z"}, NOW
    )
    assert request.slot == datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    assert (request.plan, request.rule, request.continuation) == ("daily", "daily", 0)


def test_a_manual_invoke_without_time_takes_the_current_minute():
    request = BackupRequest.from_event({"job": "backup", "plan": "daily", "rule": "daily"}, NOW)
    assert request.slot == datetime(2026, 11, 27, 9, 41, tzinfo=UTC)


def test_a_time_with_an_offset_is_read_in_utc():
    request = BackupRequest.from_event(
        {"job": "backup", "plan": "p", "rule": "r", "scheduledTime": "2026-11-27T04:00:00+01:00"}, NOW
    )
    assert request.slot == datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def test_a_continuation_event_round_trips():
    request = BackupRequest("daily", "hourly", datetime(2026, 11, 27, 3, 0, tzinfo=UTC), continuation=3)
    assert BackupRequest.from_event(request.as_event(), NOW) == request


def test_a_continuation_event_names_the_invocation_that_handed_the_lease_on():
    request = BackupRequest("daily", "hourly", datetime(2026, 11, 27, 3, 0, tzinfo=UTC), 1, lease_holder="9f2c")
    assert request.as_event()["leaseHolder"] == "9f2c"
    assert BackupRequest.from_event(request.as_event(), NOW) == request
    assert "leaseHolder" not in BackupRequest("daily", "hourly", NOW).as_event()  # a schedule's event has none


def test_a_garbled_lease_holder_is_refused_by_name():
    event = {"job": "backup", "plan": "daily", "rule": "daily", "leaseHolder": "x; drop"}
    with pytest.raises(EventError, match="leaseHolder"):
        BackupRequest.from_event(event, NOW)


@pytest.mark.parametrize(
    ("event", "named"),
    [
        ("backup", "JSON object"),
        ({}, "job"),
        ({"job": "prune", "plan": "daily", "rule": "daily"}, "job"),
        ({"job": "backup", "rule": "daily"}, "plan"),
        ({"job": "backup", "plan": "", "rule": "daily"}, "plan"),
        ({"job": "backup", "plan": "daily", "rule": 7}, "rule"),
        ({"job": "backup", "plan": "daily", "rule": "daily", "scheduledTime": "yesterday"}, "scheduledTime"),
        ({"job": "backup", "plan": "daily", "rule": "daily", "scheduledTime": 1700000000}, "scheduledTime"),
        ({"job": "backup", "plan": "daily", "rule": "daily", "continuation": -1}, "continuation"),
    ],
)
def test_a_garbled_event_fails_fast_naming_the_key(event, named):
    with pytest.raises(EventError, match=named):
        BackupRequest.from_event(event, NOW)


def tagged(name: str, value: str) -> TaggedTable:
    return TaggedTable(name=name, arn=f"arn:aws:dynamodb:us-east-1:123456789012:table/{name}", tag_value=value)


def test_discovery_keeps_the_plans_tables_and_reports_tag_values_naming_no_plan():
    tables = [
        tagged("orders", "daily"),
        tagged("reports", "weekly"),
        tagged("typo", "dialy"),
        tagged("case", "Daily"),
        tagged("space", "daily "),
        tagged("empty", ""),
    ]

    mine, unknown = select_tables(tables, "daily", {"daily": object(), "weekly": object()}, prefix="tablesafe")

    assert [t.name for t in mine] == ["orders"]
    assert [t.name for t in unknown] == ["typo", "case", "space", "empty"]  # "reports" is another plan's: silent
