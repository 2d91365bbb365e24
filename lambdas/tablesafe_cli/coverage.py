"""A table's protection as `tablesafe status` reports it: its plan's rules, their last backups, and what is wrong."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tablesafe.aws.dynamodb import Backup
from tablesafe.aws.recovery_points import RecoveryPoint
from tablesafe.aws.tables import PitrState, RestoredFrom
from tablesafe.config.plans import Plan
from tablesafe.drill.names import drill_prefix, is_ours
from tablesafe.rules.home_region import EVERY_REGION, backup_region
from tablesafe.rules.incarnations import incarnations
from tablesafe.rules.naming import parse_scheduled
from tablesafe.rules.opt_in import OPT_OUT_VALUE, assigned_plan
from tablesafe.rules.storage import STORED_STATUSES
from tablesafe_cli.aws_backup import AwsBackupCoverage, counted_once, untagged_verdict
from tablesafe_cli.config import CliConfig
from tablesafe_cli.formatting import format_age

STALE_FACTOR = 1.5  # a rule is stale when its last backup is older than 1.5x its interval (as the alarm)


class Kind(StrEnum):
    """What made a table: someone (a table), a restore (a copy of another table), or a tablesafe restore drill."""

    TABLE = "table"
    RESTORED = "restored"
    DRILL = "drill"


class FlagKind(StrEnum):
    """What a flag is about; `status --fail-on` chooses the kinds that make it exit 1."""

    UNPROTECTED = "unprotected"  # no plan tag
    UNKNOWN_PLAN = "unknown-plan"  # a plan tag naming no configured plan
    STALE = "stale"  # a rule with no AVAILABLE backup younger than 1.5 intervals
    PITR = "pitr"  # PITR off although the plan asks for it
    UNTAGGED_COPY = "untagged-copy"  # a restored or drill table without a plan tag: no backups, as expected
    OPTED_OUT = "opted-out"  # tagged `none` under tablesafe:defaultPlan: left out on purpose
    DRILL = "drill"  # a drilled plan's table with no passing restore drill within 1.5 x everyDays
    AWS_BACKUP_ONLY = "aws-backup-only"  # no plan tag, but a recent AWS Backup recovery point (aws_backup.py)


# By default every kind fails the run but an untagged copy (`restore` leaves the plan tag off on purpose), an
# opted-out table (left out on purpose too) and a table AWS Backup protects in time (a team migrating from it).
DEFAULT_FAIL_ON = frozenset(FlagKind) - {FlagKind.UNTAGGED_COPY, FlagKind.OPTED_OUT, FlagKind.AWS_BACKUP_ONLY}


@dataclass(frozen=True)
class Flag:
    """One thing wrong with a table's protection."""

    kind: FlagKind
    message: str


@dataclass(frozen=True)
class TableOrigin:
    """What made a table, and for a restored one what it was restored from (its RestoreSummary)."""

    kind: Kind = Kind.TABLE
    restored_from: RestoredFrom | None = None


def may_be_drill(name: str, prefix: str) -> bool:
    """Whether the name is a drill table's, so its tags are worth reading."""
    return name.startswith(drill_prefix(prefix))


def table_kind(name: str, prefix: str, tags: dict[str, str] | None, restored_from: RestoredFrom | None) -> Kind:
    """A drill table by its name and tag, as the drills' deletion fence tells one (drill.names.is_ours: a name or a
    tag alone proves nothing), a restored one by its RestoreSummary."""
    if tags is not None and is_ours(name, tags, prefix):
        return Kind.DRILL
    return Kind.RESTORED if restored_from is not None else Kind.TABLE


def table_origin(
    name: str, prefix: str, tags: dict[str, str] | None, restored_from: RestoredFrom | None
) -> TableOrigin:
    """The table's TableOrigin, as `table_kind` decides it."""
    return TableOrigin(table_kind(name, prefix, tags, restored_from), restored_from)


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
    issues: tuple[Flag, ...] = ()
    table_id: str | None = None
    earlier_tables: int = 0  # earlier tables of this name (deleted, then the name re-used) that have backups
    earlier_backups: int = 0  # their backups: not counted in `backups`, never a last backup of a rule here
    kind: Kind = Kind.TABLE
    restored_from: RestoredFrom | None = None
    by_default: bool = False  # the plan is tablesafe:defaultPlan's, the table carrying no plan tag
    aws_backup: AwsBackupCoverage | None = None  # its AWS Backup recovery points; None: not read

    @property
    def flags(self) -> tuple[str, ...]:
        """What is wrong, one line each."""
        return tuple(flag.message for flag in self.issues)

    def fails(self, fail_on: frozenset[FlagKind]) -> bool:
        """Whether a flag of one of these kinds is raised."""
        return any(flag.kind in fail_on for flag in self.issues)

    def as_dict(self, fail_on: frozenset[FlagKind] = DEFAULT_FAIL_ON) -> dict[str, Any]:
        return {
            "table": self.name,
            "plan": self.plan,
            "planByDefault": self.by_default,
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
            "kind": self.kind.value,
            "restoredFrom": _origin(self.restored_from),
            "flagKinds": [flag.kind.value for flag in self.issues],
            "awsBackup": self.aws_backup.as_dict() if self.aws_backup is not None else None,
            "failing": self.fails(fail_on),
        }


def _origin(restored_from: RestoredFrom | None) -> dict[str, Any] | None:
    if restored_from is None:
        return None
    return {
        "backupArn": restored_from.backup_arn,
        "tableArn": restored_from.table_arn,
        "time": restored_from.time.isoformat() if restored_from.time else None,
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


# The arguments after `*` are keyword-only with defaults (options and injected clocks): PLR0913
# counts those too, and a parameter object would only rename them.
def assess_table(  # noqa: PLR0913
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
    origin: TableOrigin = TableOrigin(),
    recovery_points: Sequence[RecoveryPoint] | None = None,
) -> TableStatus:
    """One table's status and flags: unprotected, unknown plan, stale rule, PITR off although the plan asks for it.

    Backups of an earlier table of the same name (another TableId) are counted apart: they protect nothing now. A
    restored or drill table without a plan tag is an untagged copy, not an unprotected table. `recovery_points`:
    AWS Backup's (None: not read); a DynamoDB backup among them is counted as a recovery point, not twice.
    """
    tables = incarnations(backups, table_id, exists=True)
    earlier = [b for b in backups if not tables.is_current(b) and b.status in STORED_STATUSES]
    stored = [b for b in backups if tables.is_current(b) and b.status in STORED_STATUSES]
    aws_backup, stored = counted_once(recovery_points, stored, earlier)
    kind = origin.kind
    flags: list[Flag] = []
    rules: list[RuleStatus] = []
    kept_in = backups_region(region, replicas, home_tag, config.global_tables, config.regions) if replicas else None
    # With tablesafe:defaultPlan an untagged table is the default plan's (as the backup function sees it), and one
    # tagged `none` has opted out; a restored or drill copy without the tag is still reported as the copy it is.
    assignment = assigned_plan(tag_value, config.default_plan if kind is Kind.TABLE else None)
    tag_value = assignment.plan
    plan = config.plans.get(tag_value) if tag_value is not None else None
    if assignment.opted_out:
        flags.append(Flag(FlagKind.OPTED_OUT, f"opted out of the default plan (tag value {OPT_OUT_VALUE!r})"))
    elif tag_value is None and kind is not Kind.TABLE:
        flags.append(Flag(FlagKind.UNTAGGED_COPY, f"a {kind.value} copy: no plan tag"))
    elif tag_value is None:
        by_aws_backup, message = untagged_verdict(aws_backup, now)
        flags.append(Flag(FlagKind.AWS_BACKUP_ONLY if by_aws_backup else FlagKind.UNPROTECTED, message))
    elif plan is None:
        flags.append(Flag(FlagKind.UNKNOWN_PLAN, f"unknown plan {tag_value!r}"))
    else:
        # A replica backed up in another region has no backups here, and that is by design.
        rules = rule_statuses(plan, stored, config.prefix, now, checked=kept_in in (None, region))
        flags += [Flag(FlagKind.STALE, _stale_flag(r)) for r in rules if r.stale]
        if plan.pitr is not None and plan.pitr.enabled and pitr is not None and not pitr.enabled:
            flags.append(Flag(FlagKind.PITR, "PITR off, the plan asks for it"))
    return TableStatus(
        name=name,
        plan=tag_value,
        rules=tuple(rules),
        backups=len(stored),
        backup_bytes=sum(b.size_bytes or 0 for b in stored),
        pitr=pitr,
        replicas=tuple(replicas),
        backups_region=kept_in,
        issues=tuple(flags),
        table_id=table_id,
        earlier_tables=len({b.table_id for b in earlier}),
        earlier_backups=len(earlier),
        kind=kind,
        restored_from=origin.restored_from,
        by_default=assignment.by_default,
        aws_backup=aws_backup,
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


def parse_fail_on(text: str) -> frozenset[FlagKind]:
    """`--fail-on`: a comma-separated list of flag kinds, or `all`, or `none`; ValueError naming what is unknown."""
    words = [word.strip() for word in text.split(",") if word.strip()]
    if words == ["all"]:
        return frozenset(FlagKind)
    if words == ["none"]:
        return frozenset()
    known = {kind.value: kind for kind in FlagKind}
    unknown = [word for word in words if word not in known]
    if unknown or not words:
        raise ValueError(f"expected a comma-separated list of {', '.join(known)} (or all, or none), got {text!r}")
    return frozenset(known[word] for word in words)
