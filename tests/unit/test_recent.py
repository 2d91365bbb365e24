"""The recent listing releases a table name only once minKeep newer slots of each of its tables (TableIds) are seen."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from tablesafe.aws.dynamodb import Backup
from tablesafe.prune.recent import Need, RecentListing, Release
from tablesafe.rules.naming import scheduled_name

PREFIX = "tablesafe"
NOW = datetime(2026, 6, 30, 4, 30, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=35)
OLD_TABLE = "11111111-1111-4111-8111-111111111111"
NEW_TABLE = "22222222-2222-4222-8222-222222222222"


class Account:
    """A gateway's listings over a fixed set of backups (time range lower bound inclusive, upper exclusive)."""

    def __init__(self, backups: list[Backup]) -> None:
        self.backups = sorted(backups, key=lambda b: b.created)
        self.own_listings: list[str] = []

    def iter_backups(
        self,
        *,
        table_name: str | None = None,
        created_from: datetime | None = None,
        created_before: datetime | None = None,
    ) -> Iterator[Backup]:
        for backup in self.backups:
            if table_name is not None and backup.table_name != table_name:
                continue
            if created_from is not None and backup.created < created_from:
                continue
            if created_before is not None and backup.created >= created_before:
                continue
            yield backup

    def list_backups(self, **params: Any) -> list[Backup]:
        self.own_listings.append(params["table_name"])
        return list(self.iter_backups(**params))


def daily(table: str, days: range, table_id: str | None) -> list[Backup]:
    """Daily backups of `table` (the one with `table_id`), `days` days before NOW's day at 03:00."""
    made = []
    for day in days:
        created = NOW - timedelta(days=day, hours=1, minutes=30)
        made.append(
            Backup(
                arn=f"arn:aws:dynamodb:eu-west-1:123456789012:table/{table}/backup/{table_id}-{day:05d}",
                name=scheduled_name(PREFIX, "daily", "daily", created),
                table_name=table,
                created=created,
                status="AVAILABLE",
                backup_type="USER",
                table_id=table_id,
            )
        )
    return made


def released(account: Account, needs: dict[str, dict[Need, int]]) -> dict[str, Release]:
    listing = RecentListing(account, PREFIX, CUTOFF, NOW, needs, lambda _: timedelta(days=1))  # type: ignore[arg-type]
    listing.run()
    found: dict[str, Release] = {}
    while (release := listing.released.get_nowait()) is not None:
        found[release.table] = release
    return found


def busy_account(*extra: list[Backup]) -> Account:
    """Enough tables with three recent slots each that the account-wide windows pay off."""
    tables = [b for i in range(40) for b in daily(f"t{i:02d}", range(0, 35), f"id-{i:02d}")]
    return Account([*tables, *(b for backups in extra for b in backups)])


def test_a_table_name_whose_old_table_has_no_recent_slots_waits_for_its_own_listing() -> None:
    # orders was deleted (its last backups are past the cutoff) and created again: the new table has recent slots
    account = busy_account(daily("orders", range(0, 35), NEW_TABLE))
    needs = {"orders": {Need(OLD_TABLE, "daily", "daily"): 3, Need(NEW_TABLE, "daily", "daily"): 3}}
    needs |= {f"t{i:02d}": {Need(f"id-{i:02d}", "daily", "daily"): 3} for i in range(40)}

    found = released(account, needs)

    # the new table's three newer slots release nothing of the old one: orders is listed on its own, complete
    assert account.own_listings == ["orders"]
    assert len(found["orders"].backups) == 35
    assert all(len(found[f"t{i:02d}"].backups) < 35 for i in range(40))  # released early by the windows


def test_a_table_name_is_released_by_the_windows_once_each_of_its_tables_shows_min_keep_slots() -> None:
    # the old orders was deleted 32 days ago: its last three slots are just after the cutoff, as are the new one's
    account = busy_account(daily("orders", range(0, 35), NEW_TABLE), daily("orders", range(32, 35), OLD_TABLE))
    needs = {"orders": {Need(OLD_TABLE, "daily", "daily"): 3, Need(NEW_TABLE, "daily", "daily"): 3}}
    needs |= {f"t{i:02d}": {Need(f"id-{i:02d}", "daily", "daily"): 3} for i in range(40)}

    found = released(account, needs)

    assert account.own_listings == []
    assert found["orders"].error is None


def test_slots_of_a_known_table_do_not_satisfy_a_need_of_backups_whose_table_id_is_unknown() -> None:
    account = busy_account(daily("orders", range(0, 35), NEW_TABLE))
    needs = {"orders": {Need("", "daily", "daily"): 3}}  # the candidate came from an answer without TableId
    needs |= {f"t{i:02d}": {Need(f"id-{i:02d}", "daily", "daily"): 3} for i in range(40)}

    released(account, needs)

    assert account.own_listings == ["orders"]
