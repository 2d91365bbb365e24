"""The cursor a backup continuation carries in its event: what round-trips, what is too large, what is refused."""

from __future__ import annotations

import json
import random
import string
from datetime import UTC, datetime

import pytest

from tablesafe.backup.cursor import EVENT_PAYLOAD_LIMIT, MAX_CURSOR_CHARS, RunCursor
from tablesafe.backup.report import BackupRequest
from tablesafe.config.events import EventError

SLOT = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 27, 3, 5, tzinfo=UTC)


def request_with(cursor: RunCursor) -> BackupRequest:
    return BackupRequest("daily", "daily", SLOT, continuation=1, lease_holder="abc", cursor=cursor)


def test_the_cursor_comes_back_from_the_event_as_it_went():
    cursor = RunCursor(
        tables=("orders", "carts", "users"),
        deferred=frozenset({"carts"}),
        done=12_345,
        home_tags={"users": "eu-west-1"},
        candidates=frozenset({"users"}),
    )
    event = json.loads(json.dumps(request_with(cursor).as_event()))  # through JSON, as Lambda carries it

    assert BackupRequest.from_event(event, NOW).cursor == cursor


def test_100000_tables_of_realistic_names_fit_in_an_asynchronous_invocation():
    rng = random.Random(7)  # the same names every run
    words = ["orders", "payments", "users", "sessions", "inventory", "audit", "events", "carts", "prod", "staging"]
    names = sorted(
        {
            f"{rng.choice(words)}-{rng.choice(words)}-{''.join(rng.choices(string.ascii_lowercase, k=8))}"
            for _ in range(100_000)
        }
    )
    event = request_with(RunCursor(tables=tuple(names), done=0)).as_event()

    assert "cursor" in event
    assert len(json.dumps(event).encode()) < EVENT_PAYLOAD_LIMIT  # Lambda's limit for an asynchronous payload


def test_a_cursor_too_large_for_the_event_is_not_carried_and_the_continuation_discovers_again():
    rng = random.Random(11)
    names = tuple("".join(rng.choices(string.ascii_letters + string.digits, k=200)) for _ in range(6_000))
    cursor = RunCursor(tables=names)

    assert cursor.encoded is None
    event = request_with(cursor).as_event()
    assert "cursor" not in event and BackupRequest.from_event(event, NOW).cursor is None
    assert MAX_CURSOR_CHARS < EVENT_PAYLOAD_LIMIT - 10_000  # room for the rest of the event


@pytest.mark.parametrize(
    "value",
    ["", "not base85 at all \u00e9", 12, "VPRomVPRom"],
)
def test_a_cursor_no_continuation_wrote_is_refused_naming_the_key(value):
    event = {**request_with(RunCursor(tables=("orders",))).as_event(), "cursor": value}
    with pytest.raises(EventError, match="cursor"):
        BackupRequest.from_event(event, NOW)


def test_a_cursor_naming_something_that_is_no_table_name_is_refused():
    forged = RunCursor(tables=("orders", "a/b")).encoded  # a name DynamoDB cannot have
    event = {**request_with(RunCursor(tables=("orders",))).as_event(), "cursor": forged}
    with pytest.raises(EventError, match="malformed"):
        BackupRequest.from_event(event, NOW)
