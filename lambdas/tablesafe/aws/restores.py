"""The restore gateway: DescribeBackup and the two restore calls.

The restores go out once, on a client without botocore's retries (aws/clients.py's TableClients.restore), as
CreateBackup does in dynamodb.py: a resend after a lost answer meets the table the first attempt created
(TableAlreadyExistsException), so the CLI's restore decides what an ambiguous answer means.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tablesafe.aws.descriptions import as_datetime
from tablesafe.aws.errors import botocore_resends, call

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class BackupDetails:
    """DescribeBackup, reduced to what a restore checks."""

    arn: str
    name: str
    status: str
    table_name: str
    created: datetime


class RestoreGateway:
    """Restores of backups and points in time into new tables."""

    def __init__(self, dynamodb: DynamoDBClient, restore: DynamoDBClient) -> None:
        if botocore_resends(restore):
            raise ValueError("the restores' client must not retry (max_attempts=0): restore.py decides on a resend")
        self._dynamodb = dynamodb
        self._restore = restore

    def describe_backup(self, arn: str) -> BackupDetails:
        """DescribeBackup; BackupNotFound when there is no such backup."""
        answer = call("DescribeBackup", self._dynamodb, lambda: self._dynamodb.describe_backup(BackupArn=arn))
        description = answer.get("BackupDescription", {})
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
        call(
            "RestoreTableFromBackup",
            self._restore,
            lambda: self._restore.restore_table_from_backup(TargetTableName=target, BackupArn=backup_arn),
        )

    def restore_to_time(self, source: str, target: str, at: datetime | None) -> None:
        """RestoreTableToPointInTime into a new table, sent once (as restore_from_backup); `at=None` means the
        latest restorable time."""
        params: dict[str, Any] = {"SourceTableName": source, "TargetTableName": target}
        if at is None:
            params["UseLatestRestorableTime"] = True
        else:
            params["RestoreDateTime"] = at
        call("RestoreTableToPointInTime", self._restore, lambda: self._restore.restore_table_to_point_in_time(**params))
