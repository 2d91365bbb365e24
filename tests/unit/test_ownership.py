"""Which backups tablesafe treats as its own: USER backups named by the scheme, whoever took them; nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tablesafe.aws.dynamodb import Backup
from tablesafe.config.plans import parse_plans
from tablesafe.rules.naming import is_manual, manual_name, parse_scheduled, scheduled_name
from tablesafe.rules.retention import Verdict, decide
from tablesafe_cli.commands.backups import owner_of

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "tablesafe"
NOW = datetime(2026, 11, 27, 4, 30, tzinfo=UTC)
PLANS = parse_plans({"daily": [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 1}]})


def made(name: str, days_old: int, backup_type: str = "USER") -> Backup:
    return Backup(
        arn=f"arn:aws:dynamodb:us-east-1:123456789012:table/orders/backup/{name}-{backup_type}",
        name=name,
        table_name="orders",
        created=NOW - timedelta(days=days_old),
        status="AVAILABLE",
        backup_type=backup_type,
    )


def test_a_backup_taken_by_hand_under_a_scheduled_name_is_the_rules_and_pruned_like_its_own() -> None:
    by_hand = made(scheduled_name(PREFIX, "daily", "daily", NOW - timedelta(days=40)), 40)
    newest = made(scheduled_name(PREFIX, "daily", "daily", NOW - timedelta(days=1)), 1)

    (decision, _) = decide([by_hand, newest], PLANS, PREFIX, NOW)

    assert owner_of(by_hand, PREFIX) == "daily/daily"
    assert decision.verdict is Verdict.DELETE


def test_the_cli_s_manual_backups_and_other_names_and_types_are_never_tablesafe_s() -> None:
    manual = made(manual_name(PREFIX, NOW - timedelta(days=400)), 400)
    other = made("before-migration", 400)
    aws_backup = made(scheduled_name(PREFIX, "daily", "daily", NOW - timedelta(days=400)), 400, "AWS_BACKUP")

    decisions = decide([manual, other, aws_backup], PLANS, PREFIX, NOW)

    assert parse_scheduled(manual.name, PREFIX) is None and is_manual(manual.name, PREFIX)
    assert [d.verdict for d in decisions] == [Verdict.FOREIGN] * 3
    assert [owner_of(b, PREFIX) for b in (manual, other, aws_backup)] == ["manual", "other", "other"]


def test_the_docs_say_in_one_place_what_makes_a_backup_tablesafe_s_and_what_it_means_for_hand_made_ones() -> None:
    restore = " ".join((ROOT / "docs" / "restore.md").read_text().split())
    architecture = " ".join((ROOT / "docs" / "architecture.md").read_text().split())

    assert "What makes a backup tablesafe's is its name alone" in restore
    assert "is pruned by it, even one taken by hand" in restore
    assert "tablesafe treats a backup as its own exactly when it is a USER backup whose name follows the scheme" in (
        architecture
    )
