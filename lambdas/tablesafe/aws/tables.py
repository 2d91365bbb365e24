"""The CLI's second gateway: what restores and copies need beyond backups.

Full table descriptions, tags, TTL, point-in-time recovery, application auto scaling, streams, deletion protection,
the two restore calls, and the item reads and writes of a partial restore. Like dynamodb.py it returns plain
dataclasses and raises the gateway's error classes, so the CLI answers both modules' errors the same way. Control-plane
calls wait on the same per-operation rate limiters; data-plane calls are paced by DynamoDB's own throttling, which
botocore's standard retry mode absorbs. The two restore calls are the exception, as CreateBackup is in dynamodb.py:
they go out once, on a client without botocore's retries, because a resend after a lost answer meets the table the
first attempt created (TableAlreadyExistsException); restore.py decides what an ambiguous answer means.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3

from tablesafe.aws.clients import Pacer, client_config
from tablesafe.aws.dynamodb import as_datetime
from tablesafe.aws.errors import BackupNotFound, ConditionFailed, PitrUnavailable, TableExists, TableNotFound, call
from tablesafe.constants import DEFAULT_RATE_LIMITS

__all__ = [  # the error classes are aws/errors.py's, importable from here as before
    "BATCH_GET_LIMIT",
    "BATCH_WRITE_LIMIT",
    "BackupDetails",
    "BackupNotFound",
    "ConditionFailed",
    "Item",
    "KeyAttribute",
    "Page",
    "PitrState",
    "PitrUnavailable",
    "RestoredFrom",
    "ScalingSetup",
    "TableDetails",
    "TableExists",
    "TableGateway",
]

Item = dict[str, Any]  # one item in DynamoDB's typed JSON: {"pk": {"S": "a"}, "n": {"N": "1"}}
BATCH_GET_LIMIT = 100  # BatchGetItem takes at most 100 keys a call
BATCH_WRITE_LIMIT = 25  # BatchWriteItem takes at most 25 requests a call
SCALABLE_DIMENSIONS = (
    "dynamodb:table:ReadCapacityUnits",
    "dynamodb:table:WriteCapacityUnits",
    "dynamodb:index:ReadCapacityUnits",
    "dynamodb:index:WriteCapacityUnits",
)


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
    """What DescribeTable says, in the shape a restore and a copy need."""

    name: str
    arn: str
    status: str
    key: tuple[KeyAttribute, ...]
    billing_mode: str
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
    """Point-in-time recovery of a table."""

    enabled: bool
    recovery_period_days: int | None = None
    earliest: datetime | None = None
    latest: datetime | None = None


@dataclass(frozen=True)
class BackupDetails:
    """DescribeBackup, reduced to what a restore checks."""

    arn: str
    name: str
    status: str
    table_name: str
    created: datetime


@dataclass(frozen=True)
class ScalingSetup:
    """One scalable dimension of a table or index and its target-tracking policies (resource ids relative)."""

    suffix: str  # "" for the table, "/index/NAME" for a global secondary index
    dimension: str
    min_capacity: int
    max_capacity: int
    policies: tuple[dict[str, Any], ...] = field(default=())  # PolicyName, PolicyType, configuration


@dataclass(frozen=True)
class Page:
    """One page of a Scan or Query."""

    items: list[Item]
    scanned: int


class TableGateway:
    """Tables, their settings and their items, in one region."""

    def __init__(
        self,
        session: boto3.Session | None = None,
        *,
        rate_limits: Mapping[str, float] = DEFAULT_RATE_LIMITS,
        max_attempts: int = 8,
        max_connections: int = 64,
        region_name: str | None = None,
    ) -> None:
        session = session or boto3.Session()
        config = client_config(
            max_attempts=max_attempts, max_connections=max_connections, read_timeout=60, agent="tablesafe-cli"
        )
        once = client_config(max_attempts=0, max_connections=4, read_timeout=60, agent="tablesafe-cli")
        self._dynamodb = session.client("dynamodb", config=config, region_name=region_name)
        self._restore_client = session.client("dynamodb", config=once, region_name=region_name)
        self._scaling = session.client("application-autoscaling", config=config, region_name=region_name)
        self.region: str = self._dynamodb.meta.region_name
        Pacer(rate_limits).attach(self._dynamodb, self._restore_client, self._scaling)

    # -- tables ----------------------------------------------------------------------------------------------------

    def list_tables(self) -> list[str]:
        """Every table name of the region (all pages)."""
        names: list[str] = []
        params: dict[str, Any] = {"Limit": 100}
        while True:
            page = self._call(self._dynamodb.list_tables, "ListTables", **params)
            names.extend(page.get("TableNames", []))
            last = page.get("LastEvaluatedTableName")
            if not last:
                return sorted(names)
            params["ExclusiveStartTableName"] = last

    def describe(self, name: str) -> TableDetails:
        """DescribeTable as TableDetails; TableNotFound when there is no such table."""
        table = self._call(self._dynamodb.describe_table, "DescribeTable", TableName=name).get("Table", {})
        types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
        key = tuple(
            KeyAttribute(name=k["AttributeName"], role=k["KeyType"], type=types.get(k["AttributeName"], "?"))
            for k in sorted(table.get("KeySchema", []), key=lambda k: 0 if k["KeyType"] == "HASH" else 1)
        )
        stream = table.get("StreamSpecification") or {}
        billing = (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
        restore = table.get("RestoreSummary")
        return TableDetails(
            name=table.get("TableName", name),
            arn=table.get("TableArn", ""),
            status=table.get("TableStatus", "UNKNOWN"),
            key=key,
            billing_mode=billing,
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

    def exists(self, name: str) -> bool:
        """Whether the table exists (in any status)."""
        try:
            self.describe(name)
        except TableNotFound:
            return False
        return True

    def wait_active(
        self,
        name: str,
        *,
        timeout: float,
        poll: float = 5.0,
        on_poll: Callable[[TableDetails], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> TableDetails:
        """Poll DescribeTable until the table is ACTIVE and no restore is in progress; TimeoutError after timeout."""
        deadline = clock() + timeout
        while True:
            details = self.describe(name)
            if on_poll is not None:
                on_poll(details)
            if details.status == "ACTIVE" and not details.restore_in_progress:
                return details
            if clock() >= deadline:
                raise TimeoutError(f"table {name} is still {details.status} after {timeout:.0f} s")
            sleep(poll)

    def tags(self, arn: str) -> dict[str, str]:
        """Every tag of a resource (all pages)."""
        tags: dict[str, str] = {}
        params: dict[str, Any] = {"ResourceArn": arn}
        while True:
            page = self._call(self._dynamodb.list_tags_of_resource, "ListTagsOfResource", **params)
            tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
            token = page.get("NextToken")
            if not token:
                return tags
            params["NextToken"] = token

    def tag(self, arn: str, tags: Mapping[str, str]) -> None:
        """Add tags to a resource (TagResource takes at most 50 a call)."""
        pairs = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
        for start in range(0, len(pairs), 50):
            self._call(self._dynamodb.tag_resource, "TagResource", ResourceArn=arn, Tags=pairs[start : start + 50])

    def ttl_attribute(self, name: str) -> str | None:
        """The TTL attribute when TTL is enabled (or being enabled), else None."""
        description = self._call(self._dynamodb.describe_time_to_live, "DescribeTimeToLive", TableName=name).get(
            "TimeToLiveDescription", {}
        )
        if description.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            attribute = description.get("AttributeName")
            return str(attribute) if attribute else None
        return None

    def enable_ttl(self, name: str, attribute: str) -> None:
        """Turn TTL on with this attribute."""
        self._call(
            self._dynamodb.update_time_to_live,
            "UpdateTimeToLive",
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute},
        )

    def pitr(self, name: str) -> PitrState:
        """Point-in-time recovery status and window."""
        description = self._call(
            self._dynamodb.describe_continuous_backups, "DescribeContinuousBackups", TableName=name
        ).get("ContinuousBackupsDescription", {})
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

    def enable_pitr(self, name: str, recovery_period_days: int | None) -> None:
        """Turn point-in-time recovery on, with the recovery period when one is given."""
        spec: dict[str, Any] = {"PointInTimeRecoveryEnabled": True}
        if recovery_period_days is not None:
            spec["RecoveryPeriodInDays"] = recovery_period_days
        self._call(
            self._dynamodb.update_continuous_backups,
            "UpdateContinuousBackups",
            TableName=name,
            PointInTimeRecoverySpecification=spec,
        )

    def enable_stream(self, name: str, view_type: str) -> None:
        """Turn the table's stream on with this view type (a new stream, with a new ARN)."""
        self._call(
            self._dynamodb.update_table,
            "UpdateTable",
            TableName=name,
            StreamSpecification={"StreamEnabled": True, "StreamViewType": view_type},
        )

    def enable_deletion_protection(self, name: str) -> None:
        """Turn deletion protection on."""
        self._call(self._dynamodb.update_table, "UpdateTable", TableName=name, DeletionProtectionEnabled=True)

    # -- auto scaling ----------------------------------------------------------------------------------------------

    def scaling(self, name: str) -> list[ScalingSetup]:
        """The application auto scaling targets of a table and its indexes, with their policies."""
        prefix = f"table/{name}"
        targets: list[dict[str, Any]] = []
        params: dict[str, Any] = {"ServiceNamespace": "dynamodb"}
        while True:
            page = self._call(self._scaling.describe_scalable_targets, "DescribeScalableTargets", **params)
            targets.extend(
                t
                for t in page.get("ScalableTargets", [])
                if t["ResourceId"] == prefix or t["ResourceId"].startswith(prefix + "/index/")
            )
            token = page.get("NextToken")
            if not token:
                break
            params["NextToken"] = token
        setups: list[ScalingSetup] = []
        for target in sorted(targets, key=lambda t: (t["ResourceId"], t["ScalableDimension"])):
            policies = self._policies(target["ResourceId"], target["ScalableDimension"])
            setups.append(
                ScalingSetup(
                    suffix=target["ResourceId"][len(prefix) :],
                    dimension=target["ScalableDimension"],
                    min_capacity=int(target["MinCapacity"]),
                    max_capacity=int(target["MaxCapacity"]),
                    policies=tuple(policies),
                )
            )
        return setups

    def _policies(self, resource_id: str, dimension: str) -> list[dict[str, Any]]:
        policies: list[dict[str, Any]] = []
        params: dict[str, Any] = {
            "ServiceNamespace": "dynamodb",
            "ResourceId": resource_id,
            "ScalableDimension": dimension,
        }
        while True:
            page = self._call(self._scaling.describe_scaling_policies, "DescribeScalingPolicies", **params)
            for policy in page.get("ScalingPolicies", []):
                # The service filters by resource id prefix in some implementations: keep exact matches only.
                if policy.get("ResourceId") != resource_id or policy.get("ScalableDimension") != dimension:
                    continue
                kept = {"PolicyName": policy["PolicyName"], "PolicyType": policy["PolicyType"]}
                for key in ("TargetTrackingScalingPolicyConfiguration", "StepScalingPolicyConfiguration"):
                    if key in policy:
                        kept[key] = policy[key]
                policies.append(kept)
            token = page.get("NextToken")
            if not token:
                return policies
            params["NextToken"] = token

    def apply_scaling(self, name: str, setup: ScalingSetup) -> None:
        """Register the scalable target for `name` and put its policies."""
        resource_id = f"table/{name}{setup.suffix}"
        self._call(
            self._scaling.register_scalable_target,
            "RegisterScalableTarget",
            ServiceNamespace="dynamodb",
            ResourceId=resource_id,
            ScalableDimension=setup.dimension,
            MinCapacity=setup.min_capacity,
            MaxCapacity=setup.max_capacity,
        )
        for policy in setup.policies:
            self._call(
                self._scaling.put_scaling_policy,
                "PutScalingPolicy",
                ServiceNamespace="dynamodb",
                ResourceId=resource_id,
                ScalableDimension=setup.dimension,
                **policy,
            )

    # -- backups and restores --------------------------------------------------------------------------------------

    def describe_backup(self, arn: str) -> BackupDetails:
        """DescribeBackup; BackupNotFound when there is no such backup."""
        description = self._call(self._dynamodb.describe_backup, "DescribeBackup", BackupArn=arn).get(
            "BackupDescription", {}
        )
        details = description.get("BackupDetails", {})
        source = description.get("SourceTableDetails", {})
        return BackupDetails(
            arn=details.get("BackupArn", arn),
            name=details.get("BackupName", ""),
            status=details.get("BackupStatus", "UNKNOWN"),
            table_name=source.get("TableName", ""),
            created=as_datetime(details.get("BackupCreationDateTime")),
        )

    def restore_from_backup(self, target: str, backup_arn: str) -> None:
        """RestoreTableFromBackup into a new table, sent once; TableExists if the target exists, AmbiguousResult
        when the answer was lost (the restore may have started)."""
        self._call(
            self._restore_client.restore_table_from_backup,
            "RestoreTableFromBackup",
            TargetTableName=target,
            BackupArn=backup_arn,
        )

    def restore_to_time(self, source: str, target: str, at: datetime | None) -> None:
        """RestoreTableToPointInTime into a new table, sent once (as restore_from_backup); `at=None` means the
        latest restorable time."""
        params: dict[str, Any] = {"SourceTableName": source, "TargetTableName": target}
        if at is None:
            params["UseLatestRestorableTime"] = True
        else:
            params["RestoreDateTime"] = at
        self._call(self._restore_client.restore_table_to_point_in_time, "RestoreTableToPointInTime", **params)

    # -- items -----------------------------------------------------------------------------------------------------

    def batch_get(
        self, table: str, keys: Sequence[Item], *, consistent: bool = True, only: Sequence[str] = ()
    ) -> tuple[list[Item], list[Item]]:
        """One BatchGetItem of at most 100 keys (`only`: just these attributes): (items found, keys unprocessed)."""
        request: dict[str, Any] = {"Keys": list(keys), "ConsistentRead": consistent}
        if only:
            names = {f"#a{i}": name for i, name in enumerate(only)}
            request.update(ProjectionExpression=", ".join(names), ExpressionAttributeNames=names)
        response = self._call(self._dynamodb.batch_get_item, "BatchGetItem", RequestItems={table: request})
        items = response.get("Responses", {}).get(table, [])
        unprocessed = response.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
        return items, unprocessed

    def batch_put(self, table: str, items: Sequence[Item]) -> list[Item]:
        """One BatchWriteItem of at most 25 puts; returns the items left unprocessed."""
        response = self._call(
            self._dynamodb.batch_write_item,
            "BatchWriteItem",
            RequestItems={table: [{"PutRequest": {"Item": item}} for item in items]},
        )
        return [r["PutRequest"]["Item"] for r in response.get("UnprocessedItems", {}).get(table, [])]

    def put_if_absent(self, table: str, item: Item, hash_key: str) -> bool:
        """PutItem unless an item with the same key exists (one atomic check-and-write); False when it existed."""
        try:
            self._call(
                self._dynamodb.put_item,
                "PutItem",
                TableName=table,
                Item=item,
                ConditionExpression="attribute_not_exists(#k)",
                ExpressionAttributeNames={"#k": hash_key},
            )
        except ConditionFailed:
            return False
        return True

    def scan(
        self,
        table: str,
        *,
        segment: int = 0,
        total_segments: int = 1,
        filter_expression: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Iterator[Page]:
        """Scan one segment, strongly consistent, page by page."""
        params: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
        if total_segments > 1:
            params.update(Segment=segment, TotalSegments=total_segments)
        _add_expression(params, "FilterExpression", filter_expression, names, values)
        yield from self._pages(self._dynamodb.scan, "Scan", params)

    def query(
        self,
        table: str,
        *,
        key_condition: str,
        filter_expression: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Iterator[Page]:
        """Query the table, strongly consistent, page by page."""
        params: dict[str, Any] = {"TableName": table, "ConsistentRead": True, "KeyConditionExpression": key_condition}
        _add_expression(params, "FilterExpression", filter_expression, names, values)
        yield from self._pages(self._dynamodb.query, "Query", params)

    def _pages(self, method: Callable[..., dict[str, Any]], operation: str, params: dict[str, Any]) -> Iterator[Page]:
        while True:
            page = self._call(method, operation, **params)
            yield Page(items=page.get("Items", []), scanned=int(page.get("ScannedCount", 0)))
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            params["ExclusiveStartKey"] = last

    # -- plumbing --------------------------------------------------------------------------------------------------

    def _call(self, method: Callable[..., dict[str, Any]], operation: str, **params: Any) -> dict[str, Any]:
        return call(operation, getattr(method, "__self__", None), lambda: method(**params))


def _restored_from(summary: Mapping[str, Any]) -> RestoredFrom:
    when = summary.get("RestoreDateTime")
    return RestoredFrom(
        backup_arn=summary.get("SourceBackupArn") or None,
        table_arn=summary.get("SourceTableArn") or None,
        time=as_datetime(when) if when is not None else None,
        in_progress=bool(summary.get("RestoreInProgress", False)),
    )


def _add_expression(
    params: dict[str, Any],
    key: str,
    expression: str | None,
    names: Mapping[str, str] | None,
    values: Mapping[str, Any] | None,
) -> None:
    if expression:
        params[key] = expression
    if names:
        params["ExpressionAttributeNames"] = dict(names)
    if values:
        params["ExpressionAttributeValues"] = dict(values)
