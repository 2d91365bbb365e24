"""Backup names: built from prefix, plan, rule and slot, read back exactly, and never confused with foreign names."""

from __future__ import annotations

import inspect
import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tablesafe.rules.naming import (
    MAX_NAME_LENGTH,
    MIN_NAME_LENGTH,
    ScheduledName,
    is_manual,
    manual_name,
    parse_scheduled,
    scheduled_name,
    to_slot,
)

# DynamoDB's CreateBackup BackupName: 3-255 characters of [a-zA-Z0-9_.-].
DYNAMODB_BACKUP_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
PREFIX = "tablesafe"

prefixes = st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True)
parts = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
zones = st.one_of(
    st.timezones(),
    st.builds(timezone, st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23))),
)
# Years 2..9998 keep the conversion to UTC inside what datetime can represent.
moments = st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=zones)
fast = settings(max_examples=150, deadline=None)


@fast
@given(prefix=prefixes, plan=parts, rule=parts, moment=moments)
def test_a_scheduled_name_reads_back_as_its_prefix_plan_rule_and_slot(
    prefix: str, plan: str, rule: str, moment: datetime
) -> None:
    name = scheduled_name(prefix, plan, rule, moment)

    parsed = parse_scheduled(name, prefix)

    assert parsed == ScheduledName(prefix=prefix, plan=plan, rule=rule, slot=to_slot(moment))
    # The slot is the start of the minute the moment falls in, in UTC.
    assert parsed.slot.tzinfo is UTC
    assert parsed.slot.second == parsed.slot.microsecond == 0
    assert parsed.slot <= moment < parsed.slot + timedelta(minutes=1)
    assert not is_manual(name, prefix)


@fast
@given(prefix=prefixes, plan=parts, rule=parts, moment=moments)
def test_every_name_is_a_valid_dynamodb_backup_name(prefix: str, plan: str, rule: str, moment: datetime) -> None:
    for name in (scheduled_name(prefix, plan, rule, moment), manual_name(prefix, moment)):
        assert DYNAMODB_BACKUP_NAME.fullmatch(name), name
        assert MIN_NAME_LENGTH <= len(name) <= MAX_NAME_LENGTH


def test_the_longest_parts_still_fit_dynamodbs_limit_because_the_table_is_not_in_the_name() -> None:
    # Names never carry the table, so a 255-character table name cannot push a backup name over the limit.
    assert list(inspect.signature(scheduled_name).parameters) == ["prefix", "plan", "rule", "slot"]
    assert list(inspect.signature(manual_name).parameters) == ["prefix", "moment"]
    moment = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)

    longest = scheduled_name("p" * 32, "a" * 64, "b" * 64, moment)

    assert len(longest) == 32 + 64 + 64 + len("20261127T0300Z") + 3
    assert len(longest) <= MAX_NAME_LENGTH
    assert len(manual_name("p" * 32, moment)) <= MAX_NAME_LENGTH


def test_the_shortest_parts_make_a_name_of_at_least_three_characters() -> None:
    name = scheduled_name("p", "a", "b", datetime(2026, 1, 1, tzinfo=UTC))

    assert name == "p.a.b.20260101T0000Z"
    assert len(name) >= MIN_NAME_LENGTH


@pytest.mark.parametrize(
    ("moment", "slot"),
    [
        (datetime(2026, 11, 27, 3, 0, tzinfo=UTC), "20261127T0300Z"),
        (datetime(2026, 11, 27, 3, 0, 59, 999_999, tzinfo=UTC), "20261127T0300Z"),
        (datetime(2026, 11, 27, 4, 17, 42, tzinfo=ZoneInfo("Europe/Paris")), "20261127T0317Z"),
        (datetime(2026, 7, 1, 1, 30, 5, tzinfo=ZoneInfo("Europe/Paris")), "20260630T2330Z"),
        (datetime(2026, 12, 31, 20, 45, tzinfo=timezone(timedelta(hours=-5, minutes=-30))), "20270101T0215Z"),
        (datetime(2026, 3, 1, 8, 59, 59, tzinfo=ZoneInfo("Asia/Kolkata")), "20260301T0329Z"),
        (datetime(999, 5, 6, 7, 8, tzinfo=UTC), "09990506T0708Z"),
    ],
)
def test_the_slot_is_the_scheduled_minute_in_utc_whatever_the_time_zone(moment: datetime, slot: str) -> None:
    name = scheduled_name(PREFIX, "daily", "daily", moment)

    assert name == f"{PREFIX}.daily.daily.{slot}"
    parsed = parse_scheduled(name, PREFIX)
    assert parsed is not None
    assert parsed.slot == moment.astimezone(UTC).replace(second=0, microsecond=0)


def test_two_runs_in_the_same_minute_get_the_same_name_so_a_retry_finds_the_first_backup() -> None:
    first = datetime(2026, 11, 27, 3, 0, 1, tzinfo=UTC)
    retry = datetime(2026, 11, 27, 4, 0, 58, tzinfo=ZoneInfo("Europe/Paris"))

    assert scheduled_name(PREFIX, "daily", "daily", first) == scheduled_name(PREFIX, "daily", "daily", retry)


def test_a_time_without_a_time_zone_is_rejected_rather_than_guessed() -> None:
    naive = datetime(2026, 11, 27, 3, 0)

    with pytest.raises(ValueError, match="no time zone"):
        to_slot(naive)
    with pytest.raises(ValueError, match="no time zone"):
        scheduled_name(PREFIX, "daily", "daily", naive)
    with pytest.raises(ValueError, match="no time zone"):
        manual_name(PREFIX, naive)


@pytest.mark.parametrize(
    ("prefix", "plan", "rule"),
    [
        ("", "daily", "daily"),
        ("p" * 33, "daily", "daily"),
        ("table.safe", "daily", "daily"),
        (PREFIX, "", "daily"),
        (PREFIX, "a" * 65, "daily"),
        (PREFIX, "dai.ly", "daily"),
        (PREFIX, "daily", "dai ly"),
        (PREFIX, "daily", "b" * 65),
        (PREFIX, "daily\n", "daily"),
        (PREFIX, "daily", "daily\n"),
        ("tablesafe\n", "daily", "daily"),
    ],
)
def test_parts_that_would_not_read_back_unambiguously_are_rejected(prefix: str, plan: str, rule: str) -> None:
    with pytest.raises(ValueError, match="cannot name a backup"):
        scheduled_name(prefix, plan, rule, datetime(2026, 11, 27, tzinfo=UTC))


@pytest.mark.parametrize("prefix", ["", "p" * 33, "table.safe", "tablesafe\n", "table safe"])
def test_a_manual_backup_needs_a_valid_prefix(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        manual_name(prefix, datetime(2026, 11, 27, tzinfo=UTC))


def test_a_manual_name_carries_the_time_to_the_second_in_utc() -> None:
    moment = datetime(2026, 11, 27, 4, 5, 6, 789_000, tzinfo=ZoneInfo("Europe/Paris"))

    assert manual_name(PREFIX, moment) == "tablesafe.manual.20261127T030506Z"


@fast
@given(prefix=prefixes, moment=moments)
def test_a_manual_backup_is_recognized_and_never_reads_as_scheduled(prefix: str, moment: datetime) -> None:
    name = manual_name(prefix, moment)

    assert is_manual(name, prefix)
    assert parse_scheduled(name, prefix) is None


def test_a_manual_backup_of_another_prefix_is_not_ours() -> None:
    name = manual_name("other", datetime(2026, 11, 27, tzinfo=UTC))

    assert not is_manual(name, PREFIX)
    assert not is_manual(name + "\n", "other")


def test_a_plan_called_manual_still_names_scheduled_backups_that_are_not_manual() -> None:
    name = scheduled_name(PREFIX, "manual", "daily", datetime(2026, 11, 27, 3, tzinfo=UTC))

    assert not is_manual(name, PREFIX)
    assert parse_scheduled(name, PREFIX) == ScheduledName(
        PREFIX, "manual", "daily", datetime(2026, 11, 27, 3, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    "name",
    [
        "other.daily.daily.20261127T0300Z",
        "tablesafe2.daily.daily.20261127T0300Z",
        "tablesafe.daily.daily",
        "tablesafe.daily.daily.",
        "tablesafe.daily.20261127T0300Z",
        "tablesafe.daily.daily.extra.20261127T0300Z",
        "tablesafe.daily.daily.20261127T0300Z.extra",
        "tablesafe.daily.daily.20261127T030000Z",
        "tablesafe.daily.daily.2026-11-27T03:00Z",
        "tablesafe.daily.daily.20261127T0300",
        "tablesafe.daily.daily.20261340T9999Z",
        "tablesafe.daily.daily.20260230T0300Z",
        "tablesafe.daily.daily.20261127T2400Z",
        "tablesafe.daily.daily.00001127T0300Z",
        "tablesafe.daily.daily.20261127T0300Z\n",
        "tablesafe.daily.daily.\uff12\uff10\uff12\uff16\uff11\uff11\uff12\uff17T0300Z",  # full-width digits
        "tablesafe.manual.20261127T030000Z",
        "AwsBackup_2026-11-27T03-00-00Z",
        "awsbackup:job-4b1d6e2c-31c4-4d2e-9a4c-1f5e0c9d7a11",
        "my-table-backup-2026",
        "",
    ],
)
def test_names_that_are_not_our_scheduled_backups_read_as_none(name: str) -> None:
    assert parse_scheduled(name, PREFIX) is None
    assert not is_manual(name, "other")


@pytest.mark.parametrize(
    "name",
    ["tablesafe.daily.daily.20261127T0300Z", "tablesafe.manual.2026112T030000Z", "tablesafe.manual.20261127T030000Z.x"],
)
def test_only_the_exact_manual_form_is_manual(name: str) -> None:
    assert not is_manual(name, PREFIX)
