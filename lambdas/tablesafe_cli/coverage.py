"""A table's protection as `tablesafe status` reports it: its plan's rules, their last backups, and what is wrong."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tablesafe.aws.dynamodb import Backup
from tablesafe.aws.tables import PitrState
from tablesafe.config.plans import Plan
from tablesafe.prune.recent import STORED_STATUSES
from tablesafe.rules.home_region import EVERY_REGION, backup_region
from tablesafe.rules.incarnations import incarnations
from tablesafe.rules.naming import parse_scheduled
from tablesafe_cli.config import CliConfig
from tablesafe_cli.formatting import format_age

STALE_FACTOR = 1.5  # a rule is stale when its last backup is older than 1.5x its interval (as the alarm)


@dataclass(frozen=True)
class RuleStatus:
    """A plan rule's last AVAILABLE backup of one table, and whether it is too old."""

    rule: str
    limit: timedelta
    last: Backup | None
    age: timedelta | None
    stale: bool


@dataclass(frozen=True)
class TableStatus:
    """One table's protection, and what is wrong with it."""

    name: str
    plan: str | None
    rules: tuple[RuleStatus, ...]
    backups: int
    backup_bytes: int
    pitr: PitrState | None
    replicas: tuple[str, ...] = ()
    backups_region: str | None = None  # for a global table: the region that keeps its backups
    flags: tuple[str, ...] = ()
    table_id: str | None = None
    earlier_tables: int = 0  # earlier tables of this name (deleted, then the name re-used) that have backups
    earlier_backups: int = 0  # their backups: not counted in `backups`, never a last backup of a rule here

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.name,
            "plan": self.plan,
            "rules": [
                {
                    "rule": r.rule,
                    "lastBackup": r.last.name if r.last else None,
                    "lastBackupArn": r.last.arn if r.last else None,
                    "lastBackupTime": r.last.created.isoformat() if r.last else None,
                    "ageSeconds": int(r.age.total_seconds()) if r.age is not None else None,
                    "limitSeconds": int(r.limit.total_seconds()),
                    "stale": r.stale,
                }
                for r in self.rules
            ],
            "backups": self.backups,
            "backupBytes": self.backup_bytes,
            "pitr": None
            if self.pitr is None
            else {"enabled": self.pitr.enabled, "recoveryPeriodDays": self.pitr.recovery_period_days},
            "replicas": list(self.replicas),
            "backupsRegion": self.backups_region,
            "flags": list(self.flags),
            "tableId": self.table_id,
            "earlierTables": self.earlier_tables,
            "earlierBackups": self.earlier_backups,
        }


def backups_region(
    region: str,
    replicas: Sequence[str],
    home_tag: str | None,
    mode: str,
    deployed_regions: Sequence[str] | None = None,
) -> str:
    """The region whose deployment backs a global table up, decided as the backup function decides it."""
    if not replicas or mode == EVERY_REGION:
        return region
    return backup_region(region, replicas, home_tag, deployed_regions)


def assess_table(
    name: str,
    tag_value: str | None,
    config: CliConfig,
    backups: Sequence[Backup],
    pitr: PitrState | None,
    now: datetime,
    *,
    region: str,
    replicas: Sequence[str] = (),
    home_tag: str | None = None,
    table_id: str | None = None,
) -> TableStatus:
    """One table's status and flags: unprotected, unknown plan, stale rule, PITR off although the plan asks for it.

    Backups of an earlier table of the same name (another TableId) are counted apart: they protect nothing now.
    """
    tables = incarnations(backups, table_id, exists=True)
    earlier = [b for b in backups if not tables.is_current(b) and b.status in STORED_STATUSES]
    stored = [b for b in backups if tables.is_current(b) and b.status in STORED_STATUSES]
    flags: list[str] = []
    rules: list[RuleStatus] = []
    kept_in = backups_region(region, replicas, home_tag, config.global_tables, config.regions) if replicas else None
    plan = config.plans.get(tag_value) if tag_value is not None else None
    if tag_value is None:
        flags.append("unprotected: no plan tag")
    elif plan is None:
        flags.append(f"unknown plan {tag_value!r}")
    else:
        # A replica backed up in another region has no backups here, and that is by design.
        rules = rule_statuses(plan, stored, config.prefix, now, checked=kept_in in (None, region))
        flags += [_stale_flag(r) for r in rules if r.stale]
        if plan.pitr is not None and plan.pitr.enabled and pitr is not None and not pitr.enabled:
            flags.append("PITR off, the plan asks for it")
    return TableStatus(
        name=name,
        plan=tag_value,
        rules=tuple(rules),
        backups=len(stored),
        backup_bytes=sum(b.size_bytes or 0 for b in stored),
        pitr=pitr,
        replicas=tuple(replicas),
        backups_region=kept_in,
        flags=tuple(flags),
        table_id=table_id,
        earlier_tables=len({b.table_id for b in earlier}),
        earlier_backups=len(earlier),
    )


def rule_statuses(
    plan: Plan, stored: Sequence[Backup], prefix: str, now: datetime, *, checked: bool
) -> list[RuleStatus]:
    """Each rule's last AVAILABLE backup among `stored`; stale only where this region is the one that backs up."""
    statuses = []
    for rule in plan.rules:
        limit = rule.schedule.interval * STALE_FACTOR
        ours = [
            b
            for b in stored
            if b.status == "AVAILABLE"
            and (parsed := parse_scheduled(b.name, prefix)) is not None
            and (parsed.plan, parsed.rule) == (plan.name, rule.name)
        ]
        last = max(ours, key=lambda b: b.created, default=None)
        age = now - last.created if last else None
        stale = checked and (age is None or age > limit)
        statuses.append(RuleStatus(rule=rule.name, limit=limit, last=last, age=age, stale=stale))
    return statuses


def _stale_flag(rule: RuleStatus) -> str:
    if rule.age is None:
        return f"rule {rule.rule}: no AVAILABLE backup"
    return f"rule {rule.rule}: last backup {format_age(rule.age)} old (limit {format_age(rule.limit)})"
