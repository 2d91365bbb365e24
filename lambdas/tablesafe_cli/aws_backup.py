"""What `tablesafe status` reads of AWS Backup: each table's recovery points, summed up, and what could not be read.

The reader lists AWS Backup's protected resources once for the account and region (ListProtectedResources), then
the recovery points of only the tables that listing names (ListRecoveryPointsByResource, one table at a time from
status's workers): a region where AWS Backup protects nothing costs one call. A failure (a missing
`backup:List...` permission, above all) is kept and reported as one line naming the account, the region and the
action; the tables it concerns show no AWS Backup figures (`awsBackup` null in --json), never "no recovery points".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from tablesafe.aws.clients import recovery_point_client
from tablesafe.aws.dynamodb import Backup
from tablesafe.aws.errors import GatewayError
from tablesafe.aws.recovery_points import ProtectedTable, RecoveryPoint, RecoveryPointGateway
from tablesafe_cli.formatting import format_age

HOLDING = frozenset({"COMPLETED", "AVAILABLE"})  # a point one can restore from (PARTIAL is not a whole backup)
GONE = frozenset({"DELETING", "EXPIRED"})  # listed, but holding nothing any more
# An untagged table counts as protected by AWS Backup while its newest completed recovery point is at most this old:
# 1.5 x a daily schedule (the factor of our own rules, and AWS Backup's most common frequency); docs/restore.md.
AWS_BACKUP_WITHIN = timedelta(hours=36)


class RecoveryPointSource(Protocol):
    """What the reader needs of aws/recovery_points.py's gateway."""

    region: str

    def protected_tables(self) -> list[ProtectedTable]: ...

    def recovery_points(self, table_arn: str) -> list[RecoveryPoint]: ...


@dataclass(frozen=True)
class AwsBackupCoverage:
    """A table's AWS Backup recovery points, each backup counted once."""

    recovery_points: int  # every point but parents and those DELETING or EXPIRED
    last: datetime | None = None  # the newest COMPLETED (or AVAILABLE) point's CreationDate
    vault: str | None = None  # the vault of that point
    vaults: tuple[str, ...] = ()
    size_bytes: int = 0
    also_dynamodb_backups: int = 0  # of the points, DynamoDB backups (type AWS_BACKUP) that ListBackups lists too
    arns: frozenset[str] = field(default=frozenset(), repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "recoveryPoints": self.recovery_points,
            "lastRecoveryPoint": self.last.isoformat() if self.last else None,
            "vault": self.vault,
            "vaults": list(self.vaults),
            "bytes": self.size_bytes,
            "alsoDynamoDbBackups": self.also_dynamodb_backups,
        }

    def note(self) -> str | None:
        """`AWS Backup: 12 recovery points, last 2026-12-01 03:00 (vault Default)`, or None without any."""
        if not self.recovery_points:
            return None
        plural = "" if self.recovery_points == 1 else "s"
        last = f", last {self.last:%Y-%m-%d %H:%M} (vault {self.vault})" if self.last else ", none completed"
        return f"AWS Backup: {self.recovery_points} recovery point{plural}{last}"


def summarize(
    points: Iterable[RecoveryPoint], dynamodb_arns: Iterable[str], earlier_arns: Iterable[str] = ()
) -> AwsBackupCoverage:
    """The table's points, without parents, those gone, and DynamoDB backups of an earlier table of the same name
    (counted among that table's backups instead); `dynamodb_arns`: the current table's backups ListBackups listed."""
    earlier = set(earlier_arns)
    kept = [p for p in points if not p.is_parent and p.status not in GONE and p.arn not in earlier]
    newest: RecoveryPoint | None = None
    for p in kept:
        later = newest is None or newest.created is None or (p.created is not None and p.created > newest.created)
        if p.status in HOLDING and p.created is not None and later:
            newest = p
    arns = frozenset(p.arn for p in kept)
    return AwsBackupCoverage(
        recovery_points=len(kept),
        last=newest.created if newest else None,
        vault=newest.vault if newest else None,
        vaults=tuple(sorted({p.vault for p in kept if p.vault})),
        size_bytes=sum(p.size_bytes or 0 for p in kept),
        also_dynamodb_backups=len(arns & set(dynamodb_arns)),
        arns=arns,
    )


def counted_once(
    points: Sequence[RecoveryPoint] | None, stored: list[Backup], earlier: Sequence[Backup]
) -> tuple[AwsBackupCoverage | None, list[Backup]]:
    """The table's AWS Backup summary (None: not read) and its DynamoDB backups that are not among the points, so
    that no backup is counted twice; `stored` and `earlier`: the current and earlier tables' backups."""
    if points is None:
        return None, stored
    coverage = summarize(points, [b.arn for b in stored], [b.arn for b in earlier])
    return coverage, [b for b in stored if b.arn not in coverage.arns]


def untagged_verdict(coverage: AwsBackupCoverage | None, now: datetime) -> tuple[bool, str]:
    """Whether AWS Backup alone protects a table without a plan tag (its newest completed point is at most
    AWS_BACKUP_WITHIN old), and the flag's message."""
    last = coverage.last if coverage is not None else None
    if last is None:
        return False, "unprotected: no plan tag"
    if now - last <= AWS_BACKUP_WITHIN:
        return True, "protected by AWS Backup only (no plan tag)"
    age, limit = format_age(now - last), format_age(AWS_BACKUP_WITHIN)
    return False, f"unprotected: no plan tag; AWS Backup's last recovery point {age} old (limit {limit})"


class AwsBackupReader:
    """AWS Backup's view of one account and region for status, and the lines saying what it could not read."""

    def __init__(self, source: RecoveryPointSource, *, account: Callable[[], str]) -> None:
        self._source = source
        self._account = account
        self._protected: dict[str, ProtectedTable] | None = None
        self._failures: dict[tuple[str, str], tuple[str, list[str]]] = {}  # (action, code) -> (message, tables)
        self._lock = threading.Lock()

    def load(self) -> None:
        """ListProtectedResources, once; a failure is kept, and every table's points are then unknown."""
        try:
            self._protected = {t.name: t for t in self._source.protected_tables()}
        except GatewayError as error:
            self._fail(error, None)

    def points(self, table: str) -> Sequence[RecoveryPoint] | None:
        """The table's recovery points: () where AWS Backup protects nothing of it, None where that is unknown."""
        if self._protected is None:
            return None
        protected = self._protected.get(table)
        if protected is None:
            return ()
        try:
            return self._source.recovery_points(protected.arn)
        except GatewayError as error:
            self._fail(error, table)
            return None

    @property
    def complete(self) -> bool:
        """Whether every table's recovery points were read."""
        return self._protected is not None and not self._failures

    def failures(self) -> list[str]:
        """One line per action and error: `backup:ListRecoveryPointsByResource failed for 2 table(s) (a, b): ...`."""
        lines = []
        for (action, code), (message, tables) in sorted(self._failures.items()):
            names = sorted(tables)
            more = ", ..." if len(names) > 3 else ""
            which = f" for {len(names)} table(s) ({', '.join(names[:3])}{more})" if names else ""
            lines.append(f"backup:{action} failed{which}: {code}: {message}")
        return lines

    def problems(self) -> list[str]:
        """The failures, naming the account and region: `AWS Backup not read in account 1234..., eu-west-1: ...`."""
        if not self._failures:
            return []
        where = f"account {self._account()}, {self._source.region}"
        return [
            f"AWS Backup not read in {where}: {line}; its recovery points are not counted" for line in self.failures()
        ]

    def as_dict(self) -> dict[str, Any]:
        """status --json's `awsBackup`: whether everything was read, and what was not."""
        return {"read": self.complete, "problems": self.problems()}

    def _fail(self, error: GatewayError, table: str | None) -> None:
        with self._lock:
            _, tables = self._failures.setdefault((error.operation, error.code), (error.message, []))
            if table is not None:
                tables.append(table)


def caller_account(session: Any, region: str) -> str:
    """The account of the session's credentials (STS GetCallerIdentity, which needs no permission), for the lines
    that name it; `unknown` if even that fails."""
    try:
        return str(session.client("sts", region_name=region).get_caller_identity()["Account"])
    except (BotoCoreError, ClientError):  # only names the account in a line already reporting a failure
        return "unknown"


def aws_backup_reader(session: Any, region: str) -> AwsBackupReader:
    """The reader of the session's account in `region`, on the clients of aws/clients.py."""
    gateway = RecoveryPointGateway(recovery_point_client(session, region_name=region))
    return AwsBackupReader(gateway, account=lambda: caller_account(session, region))
