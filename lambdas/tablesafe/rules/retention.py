"""Retention rules: which backups the prune run deletes, as a pure function of the backups, the plans and the time.

A backup is deleted only when every one of these holds: it is a USER backup whose name tablesafe gave it
(``{prefix}.{plan}.{rule}.{slot}``), its plan and rule are still configured, it is AVAILABLE, it is older than the
rule's retention, and it is not one of the newest ``minKeep`` AVAILABLE backups of its (table, plan, rule),
counted by slot so that two copies of one slot count once. The last rule holds whatever the age, so a table that
was deleted keeps its last ``minKeep`` backups for good.

The table is the physical table the backup was taken of, told apart by its TableId: a table deleted and created
again under the same name is a new table, whose backups never push the old one's last ``minKeep`` out. A backup
whose TableId is not known is grouped with the other backups of that name whose TableId is not known: it neither
protects nor pushes out a backup of a known table, so the rules never delete more than grouping by name would.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from tablesafe.config.plans import Plan, Rule
from tablesafe.rules.naming import is_manual, parse_scheduled

AVAILABLE = "AVAILABLE"
USER = "USER"


class BackupLike(Protocol):
    """What the rules read of a backup (the gateway's Backup has it; the rules need no boto3)."""

    @property
    def arn(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def table_name(self) -> str: ...
    @property
    def created(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def backup_type(self) -> str: ...
    @property
    def table_id(self) -> str | None: ...


B = TypeVar("B", bound=BackupLike)
Group = tuple[str, str, str, str]  # (table name, table identity, plan, rule): the backups one minKeep counts


def table_identity(backup: BackupLike) -> str:
    """Which table of its name a backup was taken of: its TableId, or "" when the answer gave none."""
    return backup.table_id or ""


class Verdict(StrEnum):
    """What the prune run does with one backup."""

    KEEP = "keep"
    DELETE = "delete"
    ORPHANED = "orphaned"  # ours, but its plan or rule is no longer configured: kept and reported
    FOREIGN = "foreign"  # not a scheduled tablesafe backup (other name, manual, SYSTEM, AWS_BACKUP): never touched


@dataclass(frozen=True)
class Decision(Generic[B]):
    """One backup's verdict, why, and the plan and rule its name names (empty for foreign backups)."""

    backup: B
    verdict: Verdict
    reason: str
    plan: str = ""
    rule: str = ""

    def age_days(self, now: datetime) -> float:
        return age(self.backup, now) / timedelta(days=1)


def age(backup: BackupLike, now: datetime) -> timedelta:
    """How old a backup is at `now` (negative for one created after `now`)."""
    return now - backup.created


def is_expired(backup: BackupLike, rule: Rule, now: datetime) -> bool:
    """Older than the rule's retention; a backup exactly retentionDays old is still kept."""
    return age(backup, now) > rule.retention


def shortest_retention(plans: Mapping[str, Plan]) -> timedelta:
    """The shortest retention of any configured rule: nothing younger than this can be expired."""
    return min(rule.retention for plan in plans.values() for rule in plan.rules)


def longest_retention(plans: Mapping[str, Plan]) -> timedelta:
    """The longest retention of any configured rule: no rule keeps a backup for its age beyond this."""
    return max(rule.retention for plan in plans.values() for rule in plan.rules)


def past_retention(backup: B, plans: Mapping[str, Plan], prefix: str, now: datetime) -> bool:
    """True for one of our AVAILABLE backups older than its configured rule's retention, minKeep not considered."""
    if backup.backup_type != USER or backup.status != AVAILABLE:
        return False
    rule = _configured_rule(backup, plans, prefix)
    return rule is not None and is_expired(backup, rule, now)


def decide(backups: Iterable[B], plans: Mapping[str, Plan], prefix: str, now: datetime) -> list[Decision[B]]:
    """One decision per distinct backup (by ARN), in the order given; see the module docstring for the rules.

    Pass every USER backup of a table (those of several tables may be mixed, and those of several tables of one
    name): a backup missing from the input can neither protect an older one through minKeep nor be deleted.
    """
    unique: dict[str, B] = {}
    for backup in backups:
        unique.setdefault(backup.arn, backup)
    decisions: dict[str, Decision[B]] = {}
    groups: dict[Group, list[tuple[B, Rule]]] = defaultdict(list)
    for arn, backup in unique.items():
        decision, rule = _classify(backup, plans, prefix)
        if decision is not None:
            decisions[arn] = decision
        else:
            assert rule is not None
            name = parse_scheduled(backup.name, prefix)
            assert name is not None
            groups[(backup.table_name, table_identity(backup), name.plan, name.rule)].append((backup, rule))
    for (_, _, plan_name, rule_name), members in groups.items():
        # Newest first; the ARN breaks ties so the same input always gives the same answer.
        members.sort(key=lambda m: (m[0].created, m[0].arn), reverse=True)
        # minKeep counts slots (names), not backups: should a slot ever hold two copies, they must not crowd an
        # older slot out of the newest minKeep.
        slots: list[str] = []
        for backup, rule in members:
            if backup.name not in slots:
                slots.append(backup.name)
            rank = slots.index(backup.name)
            decisions[backup.arn] = _by_age(backup, rule, rank, now, plan_name, rule_name)
    return [decisions[arn] for arn in unique]


def _classify(backup: B, plans: Mapping[str, Plan], prefix: str) -> tuple[Decision[B] | None, Rule | None]:
    """The decision for anything but our AVAILABLE backups of a configured rule; for those, their rule."""
    if backup.backup_type != USER:
        return Decision(backup, Verdict.FOREIGN, f"{backup.backup_type} backup, not made by tablesafe"), None
    name = parse_scheduled(backup.name, prefix)
    if name is None:
        why = "manual backup, never pruned" if is_manual(backup.name, prefix) else "name not given by tablesafe"
        return Decision(backup, Verdict.FOREIGN, why), None
    if backup.status not in (AVAILABLE, "CREATING"):
        # DELETED: AWS is already removing it; it protects nothing and needs nothing.
        return Decision(backup, Verdict.KEEP, f"status {backup.status}", name.plan, name.rule), None
    plan = plans.get(name.plan)
    if plan is None:
        reason = f"plan {name.plan!r} is no longer configured"
        return Decision(backup, Verdict.ORPHANED, reason, name.plan, name.rule), None
    rule = plan.rule(name.rule)
    if rule is None:
        reason = f"rule {name.rule!r} is no longer configured in plan {name.plan!r}"
        return Decision(backup, Verdict.ORPHANED, reason, name.plan, name.rule), None
    if backup.status != AVAILABLE:
        reason = f"status {backup.status}: not deleted and not counted towards minKeep"
        return Decision(backup, Verdict.KEEP, reason, name.plan, name.rule), None
    return None, rule


def _by_age(backup: B, rule: Rule, rank: int, now: datetime, plan: str, rule_name: str) -> Decision[B]:
    days = age(backup, now) / timedelta(days=1)
    if rank < rule.min_keep:
        reason = f"one of the newest {rule.min_keep} available backups (minKeep)"
        return Decision(backup, Verdict.KEEP, reason, plan, rule_name)
    if not is_expired(backup, rule, now):
        reason = f"within retention ({days:.2f} of {_days(rule.retention_days)})"
        return Decision(backup, Verdict.KEEP, reason, plan, rule_name)
    reason = f"expired: {days:.2f} days old, retention {_days(rule.retention_days)}, {rank} newer available"
    return Decision(backup, Verdict.DELETE, reason, plan, rule_name)


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def _configured_rule(backup: BackupLike, plans: Mapping[str, Plan], prefix: str) -> Rule | None:
    name = parse_scheduled(backup.name, prefix)
    if name is None:
        return None
    plan = plans.get(name.plan)
    return None if plan is None else plan.rule(name.rule)
