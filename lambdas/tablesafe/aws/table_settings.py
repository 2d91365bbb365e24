"""The table settings gateway: what a restore reads from a source table and sets again on the restored one.

Table descriptions and names, tags, TTL, point-in-time recovery, streams and deletion protection. Like every
gateway it receives its client (aws/clients.py) and raises aws/errors.py's classes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tablesafe.aws.descriptions import PitrState, TableDetails, pitr_specification, pitr_state, table_details
from tablesafe.aws.errors import TableNotFound, call, pages

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TAGS_PER_CALL = 50  # TagResource takes at most 50 tags a call


class TableSettingsGateway:
    """A region's tables: their descriptions, tags, TTL, PITR, stream and deletion protection."""

    def __init__(self, dynamodb: DynamoDBClient) -> None:
        self._dynamodb = dynamodb
        self.region: str = dynamodb.meta.region_name

    def list_tables(self) -> list[str]:
        """Every table name of the region (all pages)."""
        listing = self._dynamodb.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 100})
        return sorted(
            name for page in pages("ListTables", self._dynamodb, listing) for name in page.get("TableNames", [])
        )

    def describe(self, name: str) -> TableDetails:
        """DescribeTable as TableDetails; TableNotFound when there is no such table."""
        answer = call("DescribeTable", self._dynamodb, lambda: self._dynamodb.describe_table(TableName=name))
        return table_details(answer.get("Table", {}), name)

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
        # A loop of our own, not botocore's table_exists waiter: it reports each poll and also waits out the restore.
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
        listing = self._dynamodb.get_paginator("list_tags_of_resource").paginate(ResourceArn=arn)
        return {
            t["Key"]: t["Value"]
            for page in pages("ListTagsOfResource", self._dynamodb, listing)
            for t in page.get("Tags", [])
        }

    def tag(self, arn: str, tags: Mapping[str, str]) -> None:
        """Add tags to a resource (TagResource takes at most 50 a call)."""
        pairs: list[Any] = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
        for start in range(0, len(pairs), TAGS_PER_CALL):
            self._tag(arn, pairs[start : start + TAGS_PER_CALL])

    def _tag(self, arn: str, pairs: list[Any]) -> None:
        call("TagResource", self._dynamodb, lambda: self._dynamodb.tag_resource(ResourceArn=arn, Tags=pairs))

    def ttl_attribute(self, name: str) -> str | None:
        """The TTL attribute when TTL is enabled (or being enabled), else None."""
        answer = call(
            "DescribeTimeToLive", self._dynamodb, lambda: self._dynamodb.describe_time_to_live(TableName=name)
        )
        description = answer.get("TimeToLiveDescription", {})
        if description.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            attribute = description.get("AttributeName")
            return str(attribute) if attribute else None
        return None

    def enable_ttl(self, name: str, attribute: str) -> None:
        """Turn TTL on with this attribute."""
        call(
            "UpdateTimeToLive",
            self._dynamodb,
            lambda: self._dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
            ),
        )

    def pitr(self, name: str) -> PitrState:
        """Point-in-time recovery status and window."""
        answer = call(
            "DescribeContinuousBackups",
            self._dynamodb,
            lambda: self._dynamodb.describe_continuous_backups(TableName=name),
        )
        return pitr_state(answer.get("ContinuousBackupsDescription", {}))

    def enable_pitr(self, name: str, recovery_period_days: int | None) -> None:
        """Turn point-in-time recovery on, with the recovery period when one is given."""
        spec: Any = pitr_specification(recovery_period_days)
        call(
            "UpdateContinuousBackups",
            self._dynamodb,
            lambda: self._dynamodb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification=spec),
        )

    def enable_stream(self, name: str, view_type: str) -> None:
        """Turn the table's stream on with this view type (a new stream, with a new ARN)."""
        spec: Any = {"StreamEnabled": True, "StreamViewType": view_type}
        call(
            "UpdateTable", self._dynamodb, lambda: self._dynamodb.update_table(TableName=name, StreamSpecification=spec)
        )

    def enable_deletion_protection(self, name: str) -> None:
        """Turn deletion protection on."""
        call(
            "UpdateTable",
            self._dynamodb,
            lambda: self._dynamodb.update_table(TableName=name, DeletionProtectionEnabled=True),
        )
