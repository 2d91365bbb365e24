"""The recent listing proves a (table, plan, rule) only with minKeep newer slots of that very table (its TableId),
and lists only as many days since the cutoff as the candidates' rules need."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from tablesafe.aws.dynamodb import Backup
from tablesafe.config.plans import parse_plans
from tablesafe.prune.recent import RecentProof
from tablesafe.rules.naming import scheduled_name

PREFIX = "tablesafe"
NOW = datetime(2026, 6, 30, 4, 30, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=35)
PLANS = parse_plans(
    {
        "daily": [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}],
        "weekly": [{"name": "weekly", "schedule": "cron(0 3 ? * SUN *)", "retentionDays": 90, "minKeep": 2}],
    }
)
OLD_TABLE = "11111111-1111-4111-8111-111111111111"
NEW_TABLE = "22222222-2222-4222-8222-222222222222"


class Account:
    """A gateway's listings over a fixed set of backups (time range lower bound inclusive, upper exclusive), in an
    order of its own; records each listing's bounds."""

    def __init__(self, backups: list[Backup], seed: int = 7) -> None:
        self.backups = list(backups)
        random.Random(seed).shuffle(self.backups)
        self.listings: list[tuple[datetime | None, datetime | None]] = []

    def iter_backups(
        self, *, table_name: str | None = None, created_from: datetime | None = None, **bounds: Any
    ) -> Iterator[Backup]:
        created_before = bounds.get("created_before")
        self.listings.append((created_from, created_before))
        for backup in self.backups:
            if table_name is not None and backup.table_name != table_name:
                continue
            if created_from is not None and backup.created < created_from:
                continue
            if created_before is not None and backup.created >= created_before:
                continue
            yield backup

    def list_backups(self, **params: Any) -> list[Backup]:
        return list(self.iter_backups(**params))


def backups(table: str, days: range, table_id: str | None, plan: str = "daily", step: int = 1) -> list[Backup]:
    """Backups of `table` (the one with `table_id`) every `step` days of `days` before NOW's day at 03:00."""
    made = []
    for day in days[::step]:
        created = NOW - timedelta(days=day, hours=1, minutes=30)
        made.append(
            Backup(
                arn=f"arn:aws:dynamodb:eu-west-1:123456789012:table/{table}/backup/{table_id}-{plan}-{day:05d}",
                name=scheduled_name(PREFIX, plan, plan, created),
                table_name=table,
                created=created,
                status="AVAILABLE",
                backup_type="USER",
                table_id=table_id,
            )
        )
    return made


def proof_of(account: Account) -> RecentProof:
    return RecentProof(account, PREFIX, dict(PLANS), CUTOFF, NOW)  # type: ignore[arg-type]


def test_a_daily_group_is_proven_by_three_slots_since_the_cutoff_from_three_one_day_windows() -> None:
    account = Account([b for i in range(40) for b in backups(f"t{i:02d}", range(0, 60), f"id-{i:02d}")])
    proof = proof_of(account)

    shown = proof.proof(("t07", "id-07", "daily", "daily"))

    assert shown is not None and len(shown) == 3
    assert all(b.created >= CUTOFF and b.table_id == "id-07" for b in shown)
    assert account.listings == [(CUTOFF + timedelta(days=d), CUTOFF + timedelta(days=d + 1)) for d in range(3)]
    assert proof.proof(("t30", "id-30", "daily", "daily")) is not None  # the same windows prove every table
    assert len(account.listings) == 3


def test_the_slots_of_a_new_table_of_the_same_name_prove_nothing_of_the_old_one() -> None:
    # orders was deleted 40 days ago and created again: the new table has recent slots, the old one has none
    account = Account([*backups("orders", range(40, 60), OLD_TABLE), *backups("orders", range(0, 40), NEW_TABLE)])
    proof = proof_of(account)

    assert proof.proof(("orders", NEW_TABLE, "daily", "daily")) is not None
    assert proof.proof(("orders", OLD_TABLE, "daily", "daily")) is None


def test_slots_of_a_known_table_do_not_prove_backups_whose_table_id_is_unknown() -> None:
    account = Account(backups("orders", range(0, 40), NEW_TABLE))

    assert proof_of(account).proof(("orders", "", "daily", "daily")) is None


def test_a_weekly_candidate_lists_on_in_week_long_windows_until_two_weeks_are_listed() -> None:
    account = Account([*backups("t", range(0, 60), "id"), *backups("r", range(0, 120), "rid", "weekly", step=7)])
    proof = proof_of(account)

    assert proof.proof(("t", "id", "daily", "daily")) is not None
    assert proof.proof(("r", "rid", "weekly", "weekly")) is not None
    days = [(CUTOFF + timedelta(days=d), CUTOFF + timedelta(days=d + 1)) for d in range(3)]
    weeks = [(CUTOFF + timedelta(days=3 + 7 * w), CUTOFF + timedelta(days=10 + 7 * w)) for w in range(2)]
    assert account.listings == days + weeks


def test_a_group_with_fewer_slots_than_min_keep_since_the_cutoff_is_not_proven_and_the_listing_stops_at_now() -> None:
    # minKeep 3 of a daily rule, but only two backups made since the cutoff: one two days ago, one yesterday
    account = Account([*backups("sparse", range(1, 3), "sid"), *backups("sparse", range(36, 40), "sid")])
    proof = RecentProof(account, PREFIX, dict(PLANS), NOW - timedelta(days=2, hours=12), NOW)  # type: ignore[arg-type]

    assert proof.proof(("sparse", "sid", "daily", "daily")) is None
    assert proof.complete and account.listings[-1][1] is None  # the last window is open-ended: up to now
