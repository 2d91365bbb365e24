"""Whether a table that appeared after a lost restore answer is that restore: its RestoreSummary must name ours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tablesafe.aws.tables import RestoredFrom
from tablesafe_cli.restore import RestoreOrigin

ORDERS = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
USERS = "arn:aws:dynamodb:us-east-1:123456789012:table/users"
BACKUP = f"{ORDERS}/backup/01700000000000-aaaaaaaa"
OTHER_BACKUP = f"{ORDERS}/backup/01700000000001-bbbbbbbb"
AT = datetime(2026, 11, 27, 9, 55, 0, 700000, tzinfo=UTC)
TAKEN = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def from_backup(arn: str, table: str = ORDERS) -> RestoredFrom:
    return RestoredFrom(backup_arn=arn, table_arn=table, time=TAKEN, in_progress=True)


def from_time(table: str, when: datetime | None) -> RestoredFrom:
    return RestoredFrom(backup_arn=None, table_arn=table, time=when, in_progress=True)


@pytest.mark.parametrize(
    ("found", "ours"),
    [
        (from_backup(BACKUP), True),
        (from_backup(OTHER_BACKUP), False),  # another backup of the same table
        (from_time(ORDERS, TAKEN), False),  # a point-in-time restore of the backup's table
        (None, False),  # a table not made by a restore
    ],
)
def test_a_restore_from_a_backup_is_ours_only_when_it_names_our_backup(found, ours) -> None:
    assert RestoreOrigin(backup_arn=BACKUP).matches(found) is ours


@pytest.mark.parametrize(
    ("found", "ours"),
    [
        (from_time(ORDERS, AT), True),
        (from_time(ORDERS, AT.replace(microsecond=0)), True),  # botocore sent whole seconds
        (from_time(ORDERS, AT - timedelta(seconds=1)), False),
        (from_time(ORDERS, AT + timedelta(seconds=1)), False),
        (from_time(USERS, AT), False),  # another table at the same time
        (from_time(ORDERS, None), False),
        (from_backup(BACKUP), False),  # a backup of the table, not a point in time
        (None, False),
    ],
)
def test_a_point_in_time_restore_is_ours_only_for_our_table_and_time(found, ours) -> None:
    assert RestoreOrigin(table_arn=ORDERS, at=AT).matches(found) is ours


@pytest.mark.parametrize(
    ("found", "ours"),
    [
        (from_time(ORDERS, AT), True),  # the latest restorable time as seen before the call
        (from_time(ORDERS, AT + timedelta(minutes=5)), True),  # it moved on before the call arrived
        (from_time(ORDERS, AT - timedelta(minutes=5)), False),  # a restore to a time before ours could be
        (from_time(USERS, AT + timedelta(minutes=5)), False),
    ],
)
def test_a_restore_to_the_latest_time_is_ours_when_not_before_the_latest_time_seen_first(found, ours) -> None:
    assert RestoreOrigin(table_arn=ORDERS, not_before=AT).matches(found) is ours


def test_the_origin_describes_itself_for_messages() -> None:
    assert RestoreOrigin(backup_arn=BACKUP).describe() == f"backup {BACKUP}"
    assert RestoreOrigin(table_arn=ORDERS, at=AT).describe() == f"table {ORDERS} at {AT.isoformat()}"
    assert RestoreOrigin(table_arn=ORDERS).describe() == f"table {ORDERS} at its latest restorable time"
