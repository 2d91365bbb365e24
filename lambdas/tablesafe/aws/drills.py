"""The drill's gateway: restores into drill tables, their descriptions and tags, the count scan, the validator.

It receives its clients (`DrillGateway(dynamodb=..., restore=..., lambda_=...)`), returns plain dataclasses and
raises the gateway's error classes (dynamodb.py). RestoreTableFromBackup goes out once, on a client without
botocore's retries, as CreateBackup does: a resend after a lost answer meets the table the first attempt created,
and the drill's deterministic target name turns that into "already started". The validator is invoked on a client
without retries too, with the drill's timeout as its read timeout: a retry would run the user's check twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

import boto3
from botocore.exceptions import ReadTimeoutError

from tablesafe.aws.clients import client_config
from tablesafe.aws.dynamodb import as_datetime
from tablesafe.aws.errors import GatewayError, call, pages

Item = dict[str, Any]
NOT_FOUND_CODES = frozenset({"ResourceNotFoundException", "TableNotFoundException"})


class RestoreStarted(GatewayError):
    """The target table exists already: this drill's restore was started before (by this or another run)."""


class BackupGone(GatewayError):
    """BackupNotFoundException: the backup was deleted (the prune, an operator) before the restore began."""


class ValidatorTimedOut(GatewayError):
    """The validator did not answer within the drill's timeout."""


@dataclass(frozen=True)
class IndexShape:
    """A secondary index as far as a restore must reproduce it: name, keys and projection."""

    name: str
    key_schema: tuple[tuple[str, str], ...]
    projection: tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class Shape:
    """What a restore must reproduce of a table: keys, indexes and encryption."""

    key_schema: tuple[tuple[str, str], ...]
    local_indexes: tuple[IndexShape, ...] = ()
    global_indexes: tuple[IndexShape, ...] = ()
    sse: tuple[str, str | None] = ("AWS_OWNED", None)  # (SSEType, KMS key ARN)

    def key_attributes(self) -> frozenset[str]:
        """Every attribute a key of the table or of an index names: what AttributeDefinitions must define."""
        names = {name for name, _ in self.key_schema}
        for index in (*self.local_indexes, *self.global_indexes):
            names.update(name for name, _ in index.key_schema)
        return frozenset(names)


@dataclass(frozen=True)
class RecordedBackup:
    """What DescribeBackup says a backup holds (SourceTableDetails, SourceTableFeatureDetails)."""

    arn: str
    name: str
    status: str
    table_name: str
    created: datetime
    item_count: int | None
    shape: Shape


@dataclass(frozen=True)
class DrillTable:
    """A drill table as DescribeTable shows it."""

    name: str
    arn: str
    status: str
    created: datetime
    shape: Shape
    attribute_names: frozenset[str]
    source_backup_arn: str | None = None  # RestoreSummary: None for a table no restore made
    source_table_arn: str | None = None
    restore_in_progress: bool = False
    deletion_protection: bool = False


class DeleteResult(Enum):
    """What a DeleteTable did."""

    DELETED = "deleted"
    GONE = "gone"  # ResourceNotFoundException: deleted before
    IN_USE = "in_use"  # ResourceInUseException: still CREATING (a restore cannot be cut short); next run


@dataclass(frozen=True)
class CountPage:
    """One page of a Select=COUNT scan."""

    count: int
    consumed_units: float
    last_key: Item | None


@dataclass(frozen=True)
class ValidatorAnswer:
    """What the validator function answered: its error, or its payload."""

    function_error: str | None
    payload: Any = field(default=None)


class DrillGateway:
    """The AWS calls of restore drills in one region."""

    def __init__(self, *, dynamodb: Any, restore: Any, lambda_: Any) -> None:
        self._dynamodb = dynamodb  # standard retries: every call here but the restore is idempotent
        self._restore = restore  # no retries: RestoreTableFromBackup is sent once
        self._lambda = lambda_  # no retries, read timeout = the validator's timeout

    @classmethod
    def from_session(
        cls, session: boto3.Session, *, validator_timeout: int, region_name: str | None = None
    ) -> DrillGateway:
        """Clients of the function's session; `validator_timeout` seconds bound a validator's answer."""
        retrying = client_config(max_attempts=8, max_connections=16, agent="tablesafe-drill")
        once = client_config(max_attempts=0, max_connections=2, agent="tablesafe-drill")
        invoke = client_config(
            max_attempts=0, max_connections=2, read_timeout=validator_timeout, agent="tablesafe-drill"
        )
        return cls(
            dynamodb=session.client("dynamodb", config=retrying, region_name=region_name),
            restore=session.client("dynamodb", config=once, region_name=region_name),
            lambda_=session.client("lambda", config=invoke, region_name=region_name),
        )

    # -- drill tables ----------------------------------------------------------------------------------------------

    def table_names(self, prefix: str) -> list[str]:
        """Every table of the region whose name starts with `prefix` (ListTables, every page: AWS documents no
        order, so no page is skipped)."""
        listing = self._dynamodb.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 100})
        pages_ = pages("ListTables", self._dynamodb, listing)
        return sorted(n for page in pages_ for n in page.get("TableNames", []) if n.startswith(prefix))

    def describe(self, name: str) -> DrillTable | None:
        """DescribeTable; None when there is no such table."""
        try:
            table = self._call(self._dynamodb.describe_table, "DescribeTable", TableName=name).get("Table", {})
        except GatewayError as error:
            if error.code in NOT_FOUND_CODES:
                return None
            raise
        restore = table.get("RestoreSummary") or {}
        return DrillTable(
            name=name,
            arn=table.get("TableArn", ""),
            status=table.get("TableStatus", "UNKNOWN"),
            created=as_datetime(table.get("CreationDateTime")),
            shape=_shape(
                table.get("KeySchema"),
                table.get("LocalSecondaryIndexes"),
                table.get("GlobalSecondaryIndexes"),
                table.get("SSEDescription"),
            ),
            attribute_names=frozenset(a.get("AttributeName", "") for a in table.get("AttributeDefinitions", [])),
            source_backup_arn=restore.get("SourceBackupArn"),
            source_table_arn=restore.get("SourceTableArn"),
            restore_in_progress=bool(restore.get("RestoreInProgress", False)),
            deletion_protection=bool(table.get("DeletionProtectionEnabled", False)),
        )

    def tags(self, arn: str) -> dict[str, str]:
        """ListTagsOfResource, every page (eventually consistent: tags written seconds ago may be missing)."""
        listing = self._dynamodb.get_paginator("list_tags_of_resource").paginate(ResourceArn=arn)
        pages_ = pages("ListTagsOfResource", self._dynamodb, listing)
        return {t["Key"]: t.get("Value", "") for page in pages_ for t in page.get("Tags", [])}

    def tag(self, arn: str, tags: Mapping[str, str]) -> None:
        """TagResource (idempotent: the same tags again change nothing)."""
        self._call(
            self._dynamodb.tag_resource,
            "TagResource",
            ResourceArn=arn,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )

    def restore(self, target: str, backup_arn: str) -> str:
        """RestoreTableFromBackup into `target`, on-demand billing, sent once; returns the new table's ARN.
        Raises RestoreStarted, BackupGone, Throttled (LimitExceededException: too many restores at once),
        AmbiguousResult, or GatewayError (refused: KMS key disabled, and the like)."""
        try:
            answer = self._call(
                self._restore.restore_table_from_backup,
                "RestoreTableFromBackup",
                TargetTableName=target,
                BackupArn=backup_arn,
                BillingModeOverride="PAY_PER_REQUEST",
            )
        except GatewayError as error:
            if error.code == "TableAlreadyExistsException":
                raise RestoreStarted(error.operation, error.code, error.message) from error
            if error.code == "BackupNotFoundException":
                raise BackupGone(error.operation, error.code, error.message) from error
            raise
        return str(answer.get("TableDescription", {}).get("TableArn", ""))

    def disable_deletion_protection(self, name: str) -> None:
        """UpdateTable DeletionProtectionEnabled=false (a drill table only: the caller checked name and tag)."""
        self._call(self._dynamodb.update_table, "UpdateTable", TableName=name, DeletionProtectionEnabled=False)

    def delete(self, name: str) -> DeleteResult:
        """DeleteTable (a drill table only: the caller checked name and tag; IAM allows no other)."""
        try:
            self._call(self._dynamodb.delete_table, "DeleteTable", TableName=name)
        except GatewayError as error:
            if error.code in NOT_FOUND_CODES:
                return DeleteResult.GONE
            if error.code in ("ResourceInUseException", "TableInUseException"):
                return DeleteResult.IN_USE
            raise
        return DeleteResult.DELETED

    # -- backups ---------------------------------------------------------------------------------------------------

    def describe_backup(self, arn: str) -> RecordedBackup | None:
        """DescribeBackup; None when the backup is gone."""
        try:
            answer = self._call(self._dynamodb.describe_backup, "DescribeBackup", BackupArn=arn)
        except GatewayError as error:
            if error.code == "BackupNotFoundException":
                return None
            raise
        description = answer.get("BackupDescription", {})
        details = description.get("BackupDetails", {})
        source = description.get("SourceTableDetails", {})
        features = description.get("SourceTableFeatureDetails", {})
        count = source.get("ItemCount")
        return RecordedBackup(
            arn=details.get("BackupArn", arn),
            name=details.get("BackupName", ""),
            status=details.get("BackupStatus", "UNKNOWN"),
            table_name=source.get("TableName", ""),
            created=as_datetime(details.get("BackupCreationDateTime")),
            item_count=int(count) if isinstance(count, int) else None,
            shape=_shape(
                source.get("KeySchema"),
                features.get("LocalSecondaryIndexes"),
                features.get("GlobalSecondaryIndexes"),
                features.get("SSEDescription"),
            ),
        )

    # -- data ------------------------------------------------------------------------------------------------------

    def count_page(self, table: str, segment: int, segments: int, start_key: Item | None, limit: int) -> CountPage:
        """One page of a parallel Scan with Select=COUNT (eventually consistent: half the read units)."""
        params: dict[str, Any] = {
            "TableName": table,
            "Select": "COUNT",
            "Segment": segment,
            "TotalSegments": segments,
            "ReturnConsumedCapacity": "TOTAL",
            "Limit": limit,
        }
        if start_key:
            params["ExclusiveStartKey"] = start_key
        page = self._call(self._dynamodb.scan, "Scan", **params)
        consumed = float(page.get("ConsumedCapacity", {}).get("CapacityUnits", 0.0))
        return CountPage(
            count=int(page.get("Count", 0)), consumed_units=consumed, last_key=page.get("LastEvaluatedKey")
        )

    def invoke_validator(self, function: str, payload: Mapping[str, Any]) -> ValidatorAnswer:
        """Invoke the user's validator, RequestResponse, once; ValidatorTimedOut when it does not answer in time."""
        client = self._lambda
        try:
            answer = call(
                "Invoke",
                client,
                lambda: client.invoke(
                    FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(payload).encode()
                ),
            )
        except GatewayError as error:
            if isinstance(error.__cause__, ReadTimeoutError):
                raise ValidatorTimedOut("Invoke", "ReadTimeout", error.message) from error
            raise
        body = answer["Payload"].read() if answer.get("Payload") is not None else b""
        try:
            decoded = json.loads(body) if body else None
        except ValueError:
            decoded = body.decode(errors="replace")
        return ValidatorAnswer(function_error=answer.get("FunctionError"), payload=decoded)

    # -- plumbing --------------------------------------------------------------------------------------------------

    @staticmethod
    def _call(method: Any, operation: str, **params: Any) -> dict[str, Any]:
        result: dict[str, Any] = call(operation, getattr(method, "__self__", None), lambda: method(**params))
        return result


def _keys(raw: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, list):
        return ()
    return tuple((str(k.get("AttributeName", "")), str(k.get("KeyType", ""))) for k in raw)


def _indexes(raw: object) -> tuple[IndexShape, ...]:
    if not isinstance(raw, list):
        return ()
    shapes = []
    for index in raw:
        projection = index.get("Projection") or {}
        shapes.append(
            IndexShape(
                name=str(index.get("IndexName", "")),
                key_schema=_keys(index.get("KeySchema")),
                projection=(
                    str(projection.get("ProjectionType", "ALL")),
                    tuple(sorted(projection.get("NonKeyAttributes") or ())),
                ),
            )
        )
    return tuple(sorted(shapes, key=lambda s: s.name))


def _shape(keys: object, local: object, global_: object, sse: object) -> Shape:
    encryption: tuple[str, str | None] = ("AWS_OWNED", None)
    if isinstance(sse, Mapping) and sse.get("Status") in ("ENABLED", "ENABLING", "UPDATING"):
        encryption = (str(sse.get("SSEType") or "KMS"), sse.get("KMSMasterKeyArn"))
    return Shape(
        key_schema=_keys(keys), local_indexes=_indexes(local), global_indexes=_indexes(global_), sse=encryption
    )
