"""The one reading of DescribeTable and DescribeContinuousBackups, shared by every gateway that asks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class KeyAttribute:
    """One attribute of a primary key: its name, role (HASH or RANGE) and type (S, N or B)."""

    name: str
    role: str
    type: str


@dataclass(frozen=True)
class RestoredFrom:
    """A restored table's RestoreSummary: the backup or the source table and time it was restored from."""

    backup_arn: str | None  # restored from this backup; None for a point-in-time restore
    table_arn: str | None  # the source table (of the backup, or of the point in time)
    time: datetime | None  # "point in time or source backup time" (API_RestoreSummary)
    in_progress: bool


@dataclass(frozen=True)
class TableDetails:
    """What DescribeTable says about a table: for backups (status, replicas), restores and copies (the rest)."""

    name: str
    arn: str = ""
    status: str = "UNKNOWN"
    key: tuple[KeyAttribute, ...] = ()
    billing_mode: str = "PROVISIONED"
    index_names: tuple[str, ...] = ()
    stream_view_type: str | None = None  # None when streams are off
    deletion_protection: bool = False
    replica_regions: tuple[str, ...] = ()
    item_count: int = 0
    size_bytes: int = 0
    restore_in_progress: bool = False
    table_id: str | None = None  # TableId: a table re-created under the same name has another
    restored_from: RestoredFrom | None = None  # None unless the table was made by a restore

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.key)


@dataclass(frozen=True)
class PitrState:
    """Point-in-time recovery of a table: on or off, its recovery period and restorable window when on."""

    enabled: bool
    recovery_period_days: int | None = None
    earliest: datetime | None = None
    latest: datetime | None = None


def table_details(table: Mapping[str, Any], name: str) -> TableDetails:
    """DescribeTable's `Table` as TableDetails; any field the answer leaves out takes its default."""
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    key = tuple(
        KeyAttribute(name=k["AttributeName"], role=k["KeyType"], type=types.get(k["AttributeName"], "?"))
        for k in sorted(table.get("KeySchema", []), key=lambda k: 0 if k["KeyType"] == "HASH" else 1)
    )
    stream = table.get("StreamSpecification") or {}
    restore = table.get("RestoreSummary")
    return TableDetails(
        name=table.get("TableName", name),
        arn=table.get("TableArn", ""),
        status=table.get("TableStatus", "UNKNOWN"),
        key=key,
        billing_mode=(table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED"),
        index_names=tuple(sorted(i["IndexName"] for i in table.get("GlobalSecondaryIndexes", []))),
        stream_view_type=stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
        deletion_protection=bool(table.get("DeletionProtectionEnabled", False)),
        replica_regions=tuple(sorted(r["RegionName"] for r in table.get("Replicas", []) if r.get("RegionName"))),
        item_count=int(table.get("ItemCount", 0)),
        size_bytes=int(table.get("TableSizeBytes", 0)),
        restore_in_progress=bool((restore or {}).get("RestoreInProgress", False)),
        table_id=table.get("TableId") or None,
        restored_from=_restored_from(restore) if restore is not None else None,
    )


def pitr_state(description: Mapping[str, Any]) -> PitrState:
    """DescribeContinuousBackups' `ContinuousBackupsDescription` as PitrState (off: nothing else is read)."""
    pitr = description.get("PointInTimeRecoveryDescription", {})
    if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
        return PitrState(enabled=False)
    earliest, latest = pitr.get("EarliestRestorableDateTime"), pitr.get("LatestRestorableDateTime")
    return PitrState(
        enabled=True,
        recovery_period_days=pitr.get("RecoveryPeriodInDays"),
        earliest=as_datetime(earliest) if earliest is not None else None,
        latest=as_datetime(latest) if latest is not None else None,
    )


def pitr_specification(recovery_period_days: int | None) -> dict[str, Any]:
    """UpdateContinuousBackups' PointInTimeRecoverySpecification turning PITR on (AWS's 35 days when None)."""
    spec: dict[str, Any] = {"PointInTimeRecoveryEnabled": True}
    if recovery_period_days is not None:
        spec["RecoveryPeriodInDays"] = recovery_period_days
    return spec


def as_datetime(value: object) -> datetime:
    """A timestamp from a response as an aware datetime."""
    # A missing creation time reads as "now": the backup then looks new, so pruning keeps it (the safe side).
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return datetime.now(UTC)


def _restored_from(summary: Mapping[str, Any]) -> RestoredFrom:
    when = summary.get("RestoreDateTime")
    return RestoredFrom(
        backup_arn=summary.get("SourceBackupArn") or None,
        table_arn=summary.get("SourceTableArn") or None,
        time=as_datetime(when) if when is not None else None,
        in_progress=bool(summary.get("RestoreInProgress", False)),
    )
