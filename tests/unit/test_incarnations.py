"""Which table of a name a backup was taken of, where the name has had several (TableIds); what status makes of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tablesafe.aws.dynamodb import Backup
from tablesafe.config.plans import parse_plans
from tablesafe.rules.incarnations import UNKNOWN, incarnations
from tablesafe.rules.naming import scheduled_name
from tablesafe_cli.config import CliConfig
from tablesafe_cli.coverage import assess_table

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
FIRST = "11111111-1111-4111-8111-111111111111"
SECOND = "22222222-2222-4222-8222-222222222222"
CONFIG = CliConfig(
    plans=parse_plans(
        {"daily": [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}]}
    )
)


def daily(days_ago: int, table_id: str | None) -> Backup:
    created = (NOW - timedelta(days=days_ago)).replace(hour=3, minute=0)
    return Backup(
        arn=f"arn:aws:dynamodb:us-east-1:123456789012:table/orders/backup/{table_id}-{days_ago}",
        name=scheduled_name("tablesafe", "daily", "daily", created),
        table_name="orders",
        created=created,
        status="AVAILABLE",
        backup_type="USER",
        size_bytes=100,
        table_id=table_id,
    )


def test_backups_of_one_table_get_no_label() -> None:
    tables = incarnations([daily(1, FIRST), daily(2, FIRST)], FIRST, exists=True)

    assert not tables.several
    assert tables.label(daily(1, FIRST)) is None


def test_the_tables_of_a_name_are_numbered_oldest_first_and_the_current_one_is_marked() -> None:
    backups = [daily(1, SECOND), daily(60, FIRST), daily(2, SECOND), daily(61, FIRST)]

    tables = incarnations(backups, SECOND, exists=True)

    assert tables.labels == {FIRST: "table 1 (deleted)", SECOND: "table 2 (current)"}
    assert [tables.is_current(b) for b in backups] == [True, False, True, False]


def test_a_re_created_table_without_backups_yet_makes_the_earlier_tables_backups_not_its_own() -> None:
    tables = incarnations([daily(3, FIRST)], SECOND, exists=True)

    assert tables.labels == {FIRST: "table 1 (deleted)", SECOND: "table 2 (current)"}
    assert not tables.is_current(daily(3, FIRST))


def test_a_name_no_table_holds_now_has_only_deleted_tables_and_unknown_ids_are_named_so() -> None:
    tables = incarnations([daily(60, FIRST), daily(2, SECOND), daily(90, None)], None, exists=False)

    assert tables.labels == {"": UNKNOWN, FIRST: "table 1 (deleted)", SECOND: "table 2 (deleted)"}


def test_status_judges_a_re_created_table_by_its_own_backups_and_counts_the_earlier_ones_apart() -> None:
    # the earlier orders was backed up an hour ago, then deleted; the new orders has no backup yet
    backups = [daily(0, FIRST), daily(1, FIRST), daily(2, FIRST)]

    status = assess_table("orders", "daily", CONFIG, backups, None, NOW, region="us-east-1", table_id=SECOND)

    assert status.flags == ("rule daily: no AVAILABLE backup",)
    assert (status.backups, status.earlier_tables, status.earlier_backups) == (0, 1, 3)
    assert status.as_dict()["tableId"] == SECOND


def test_status_of_a_table_whose_name_was_never_re_used_is_unchanged() -> None:
    backups = [daily(0, FIRST), daily(1, FIRST)]

    status = assess_table("orders", "daily", CONFIG, backups, None, NOW, region="us-east-1", table_id=FIRST)

    assert status.flags == ()
    assert (status.backups, status.earlier_tables, status.earlier_backups) == (2, 0, 0)
    assert status.rules[0].last == backups[0]
