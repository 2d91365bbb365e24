"""The gateway: the only module that calls boto3 for DynamoDB backups and the tagging API.

It returns plain dataclasses and turns AWS error codes into decisions the use cases act on. Every call waits its
turn on a per-operation rate limiter set to AWS's documented per-account limits, and idempotent calls are retried by
botocore's standard retry mode. CreateBackup is the exception: it is sent once per call, because a retry after a
lost response could create a second backup; the use case decides what to do with each outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import boto3

from tablesafe.aws.clients import Pacer, client_config, rate_limits_from_env
from tablesafe.aws.errors import (
    AmbiguousResult,
    BackupInUse,
    GatewayError,
    ListingIncomplete,
    TableInUse,
    TableNotFound,
    Throttled,
    call,
    classify_error,
)
from tablesafe.constants import DEFAULT_RATE_LIMITS

__all__ = [  # the error classes are aws/errors.py's, importable from here as before
    "PAGE_SIZE",
    "AmbiguousResult",
    "Backup",
    "BackupInUse",
    "DeleteOutcome",
    "DynamoDbGateway",
    "GatewayError",
    "ListingIncomplete",
    "PitrState",
    "TableInUse",
    "TableNotFound",
    "TableState",
    "TaggedTable",
    "Throttled",
    "as_datetime",
    "classify_error",
]

PAGE_SIZE = 100  # ListBackups and GetResources return at most 100 items a page


@dataclass(frozen=True)
class TaggedTable:
    """A table found through the tagging API, with the value of the opt-in tag and all its tags."""

    name: str
    arn: str
    tag_value: str
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Backup:
    """One backup as ListBackups or CreateBackup describes it."""

    arn: str
    name: str
    table_name: str
    created: datetime
    status: str  # CREATING | AVAILABLE | DELETED
    backup_type: str  # USER | SYSTEM | AWS_BACKUP
    size_bytes: int | None = None
    # The TableId of the table it was taken of: a table deleted and created again under the same name is another
    # table with another id. None when the answer has none (CreateBackup's never does; API_BackupSummary: optional).
    table_id: str | None = None


@dataclass(frozen=True)
class TableState:
    """What DescribeTable says about a table that matters for backups."""

    name: str
    status: str
    replica_regions: tuple[str, ...] = ()


@dataclass(frozen=True)
class PitrState:
    """Point-in-time recovery of a table (DescribeContinuousBackups)."""

    enabled: bool
    recovery_period_days: int | None = None


class DeleteOutcome(Enum):
    """What happened to a DeleteBackup."""

    DELETED = "deleted"
    ALREADY_GONE = "already_gone"  # BackupNotFoundException: deleted before (or by our own lost-response retry)
    IN_USE = "in_use"  # BackupInUseException: still being created or deleted; try again next run


class DynamoDbGateway:
    """Backups, tables and tags of one region, as plain dataclasses."""

    def __init__(
        self,
        session: boto3.Session | None = None,
        *,
        rate_limits: Mapping[str, float] = DEFAULT_RATE_LIMITS,
        max_attempts: int = 8,
        max_connections: int = 32,
        region_name: str | None = None,
    ) -> None:
        self.session = session = session or boto3.Session()  # shared with other clients of the function
        retrying = client_config(max_attempts=max_attempts, max_connections=max_connections)
        once = client_config(max_attempts=0, max_connections=max_connections)
        self._dynamodb = session.client("dynamodb", config=retrying, region_name=region_name)
        self._create_client = session.client("dynamodb", config=once, region_name=region_name)
        self._tagging = session.client("resourcegroupstaggingapi", config=retrying, region_name=region_name)
        self.region = self._dynamodb.meta.region_name
        Pacer(rate_limits).attach(self._dynamodb, self._create_client, self._tagging)

    @classmethod
    def from_env(cls) -> DynamoDbGateway:
        """The gateway for the Lambda's region, rate limits from the environment."""
        return cls(rate_limits=rate_limits_from_env())

    # -- discovery -------------------------------------------------------------------------------------------------

    def find_tagged_tables(self, tag_key: str) -> list[TaggedTable]:
        """Every table of the region carrying `tag_key`, whatever its value (GetResources, all pages)."""
        tables: list[TaggedTable] = []
        token = ""
        while True:
            page = self._call(
                self._tagging.get_resources,
                "GetResources",
                ResourceTypeFilters=["dynamodb:table"],
                TagFilters=[{"Key": tag_key}],
                ResourcesPerPage=PAGE_SIZE,
                PaginationToken=token,
            )
            for mapping in page.get("ResourceTagMappingList", []):
                arn = mapping.get("ResourceARN", "")
                name = arn.partition(":table/")[2]
                if not name or "/" in name:  # not a table (an index or stream ARN would hold a further '/')
                    continue
                tags = {t.get("Key"): t.get("Value", "") for t in mapping.get("Tags", [])}
                tables.append(TaggedTable(name=name, arn=arn, tag_value=tags.get(tag_key, ""), tags=tags))
            token = page.get("PaginationToken") or ""
            if not token:
                return sorted(tables, key=lambda t: t.name)

    # -- backups ---------------------------------------------------------------------------------------------------

    def create_backup(self, table_name: str, backup_name: str) -> Backup:
        """Send CreateBackup exactly once; raises Throttled, AmbiguousResult, BackupInUse, TableNotFound, ..."""
        response = self._call(
            self._create_client.create_backup, "CreateBackup", TableName=table_name, BackupName=backup_name
        )
        details = response.get("BackupDetails", {})
        return Backup(
            arn=details.get("BackupArn", ""),
            name=details.get("BackupName", backup_name),
            table_name=table_name,
            created=as_datetime(details.get("BackupCreationDateTime")),
            status=details.get("BackupStatus", "CREATING"),
            backup_type=details.get("BackupType", "USER"),
            size_bytes=details.get("BackupSizeBytes"),
        )

    def list_backups(
        self,
        *,
        table_name: str | None = None,
        created_from: datetime | None = None,
        created_before: datetime | None = None,
        backup_type: str = "USER",
    ) -> list[Backup]:
        """All backups in [created_from, created_before), every page; ListingIncomplete if any page failed."""
        return list(
            self.iter_backups(
                table_name=table_name, created_from=created_from, created_before=created_before, backup_type=backup_type
            )
        )

    def iter_backups(
        self,
        *,
        table_name: str | None = None,
        created_from: datetime | None = None,
        created_before: datetime | None = None,
        backup_type: str = "USER",
    ) -> Iterator[Backup]:
        """Like list_backups, page by page."""
        params: dict[str, Any] = {"BackupType": backup_type, "Limit": PAGE_SIZE}
        if table_name is not None:
            params["TableName"] = table_name
        if created_from is not None:
            params["TimeRangeLowerBound"] = created_from
        if created_before is not None:
            params["TimeRangeUpperBound"] = created_before
        seen = 0
        while True:
            try:
                page = self._call(self._dynamodb.list_backups, "ListBackups", **params)
            except GatewayError as error:
                raise ListingIncomplete(
                    "ListBackups", error.code, f"stopped after {seen} backups: {error.message}"
                ) from error
            for summary in page.get("BackupSummaries", []):
                seen += 1
                yield _backup_from_summary(summary)
            last = page.get("LastEvaluatedBackupArn")
            if not last:
                return
            params["ExclusiveStartBackupArn"] = last

    def delete_backup(self, backup_arn: str) -> DeleteOutcome:
        """DeleteBackup; already gone and in use are outcomes, anything else raises."""
        try:
            self._call(self._dynamodb.delete_backup, "DeleteBackup", BackupArn=backup_arn)
        except GatewayError as error:
            if error.code == "BackupNotFoundException":
                return DeleteOutcome.ALREADY_GONE
            if isinstance(error, BackupInUse):
                return DeleteOutcome.IN_USE
            raise
        return DeleteOutcome.DELETED

    # -- tables ----------------------------------------------------------------------------------------------------

    def describe_table(self, table_name: str) -> TableState:
        """Status and global-table replica regions of a table."""
        table = self._call(self._dynamodb.describe_table, "DescribeTable", TableName=table_name).get("Table", {})
        replicas = tuple(sorted(r["RegionName"] for r in table.get("Replicas", []) if r.get("RegionName")))
        return TableState(name=table_name, status=table.get("TableStatus", "UNKNOWN"), replica_regions=replicas)

    def pitr_state(self, table_name: str) -> PitrState:
        """Whether PITR is on, and its recovery period."""
        answer = self._call(
            self._dynamodb.describe_continuous_backups, "DescribeContinuousBackups", TableName=table_name
        )
        pitr = answer.get("ContinuousBackupsDescription", {}).get("PointInTimeRecoveryDescription", {})
        return PitrState(
            enabled=pitr.get("PointInTimeRecoveryStatus") == "ENABLED",
            recovery_period_days=pitr.get("RecoveryPeriodInDays"),
        )

    def enable_pitr(self, table_name: str, recovery_period_days: int) -> None:
        """Turn PITR on with the given recovery period (1-35 days)."""
        self._call(
            self._dynamodb.update_continuous_backups,
            "UpdateContinuousBackups",
            TableName=table_name,
            PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": True,
                "RecoveryPeriodInDays": recovery_period_days,
            },
        )

    # -- plumbing --------------------------------------------------------------------------------------------------

    def _call(self, method: Callable[..., dict[str, Any]], operation: str, **params: Any) -> dict[str, Any]:
        return call(operation, getattr(method, "__self__", None), lambda: method(**params))


def _backup_from_summary(summary: Mapping[str, Any]) -> Backup:
    return Backup(
        arn=summary.get("BackupArn", ""),
        name=summary.get("BackupName", ""),
        table_name=summary.get("TableName", ""),
        created=as_datetime(summary.get("BackupCreationDateTime")),
        status=summary.get("BackupStatus", "UNKNOWN"),
        backup_type=summary.get("BackupType", "USER"),
        size_bytes=summary.get("BackupSizeBytes"),
        table_id=summary.get("TableId") or None,
    )


def as_datetime(value: object) -> datetime:
    """A timestamp from a response as an aware datetime."""
    # A missing creation time reads as "now": the backup then looks new, so pruning keeps it (the safe side).
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return datetime.now(UTC)
