"""AWS Backup's recovery points of DynamoDB tables: which tables AWS Backup protects, and each one's recovery points.

Two read calls of AWS Backup (the AWS Backup API reference):

- ListProtectedResources: every resource of the account and region that AWS Backup has backed up, with its last
  backup time, vault and recovery point; one paged listing (up to 1,000 resources a page) for the whole region.
- ListRecoveryPointsByResource: one resource's recovery points (CreationDate, Status, BackupVaultName,
  BackupSizeBytes, IsParent, ...), paged likewise. It is asked with ManagedByAWSBackupOnly, so that it lists the
  recovery points AWS Backup manages and not the DynamoDB backups made without it (tablesafe's among them).

So the coverage view lists the protected resources once and asks for recovery points only of the tables that listing
names: a region where AWS Backup protects nothing costs one call. Errors are mapped by aws/errors.py; a listing that
stops part-way raises ListingIncomplete (with the code of the error that stopped it), never a shorter list.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tablesafe.aws.errors import GatewayError, ListingIncomplete, TableNotFound, pages

PAGE_SIZE = 1000  # MaxResults of both calls: 1..1000 (API_ListProtectedResources, API_ListRecoveryPointsByResource)
DYNAMODB_RESOURCE_TYPE = "DynamoDB"  # ProtectedResource.ResourceType of a DynamoDB table


@dataclass(frozen=True)
class ProtectedTable:
    """A DynamoDB table AWS Backup has backed up, as ListProtectedResources describes it."""

    arn: str
    name: str
    last_backup: datetime | None
    vault_arn: str | None = None
    last_recovery_point_arn: str | None = None


@dataclass(frozen=True)
class RecoveryPoint:
    """One recovery point of a table, as ListRecoveryPointsByResource describes it."""

    arn: str
    created: datetime | None  # None when the answer has none: such a point is never taken for a recent one
    status: str  # COMPLETED | PARTIAL | DELETING | EXPIRED | AVAILABLE | STOPPED | CREATING
    vault: str
    size_bytes: int | None = None
    is_parent: bool = False  # a composite point grouping child ones (not DynamoDB's, but listed the same way)


class RecoveryPointGateway:
    """AWS Backup's view of one region's DynamoDB tables; receives its `backup` client (aws/clients.py).

    >>> gateway = RecoveryPointGateway(recovery_point_client(session))
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self.region: str = client.meta.region_name

    def protected_tables(self) -> list[ProtectedTable]:
        """Every DynamoDB table AWS Backup has backed up in the region (ListProtectedResources, every page)."""
        listing = self._client.get_paginator("list_protected_resources").paginate(
            PaginationConfig={"PageSize": PAGE_SIZE}
        )
        found = []
        for resource in _items("ListProtectedResources", self._client, listing, "Results"):
            if resource.get("ResourceType") != DYNAMODB_RESOURCE_TYPE:
                continue
            arn = str(resource.get("ResourceArn", ""))
            name = arn.partition(":table/")[2]
            if not name or "/" in name:  # not a table's ARN
                continue
            found.append(
                ProtectedTable(
                    arn=arn,
                    name=name,
                    last_backup=_time(resource.get("LastBackupTime")),
                    vault_arn=resource.get("LastBackupVaultArn"),
                    last_recovery_point_arn=resource.get("LastRecoveryPointArn"),
                )
            )
        return sorted(found, key=lambda t: t.name)

    def recovery_points(self, table_arn: str) -> list[RecoveryPoint]:
        """The table's recovery points that AWS Backup manages (every page); none if AWS Backup knows no such table
        (ResourceNotFoundException)."""
        listing = self._client.get_paginator("list_recovery_points_by_resource").paginate(
            ResourceArn=table_arn, ManagedByAWSBackupOnly=True, PaginationConfig={"PageSize": PAGE_SIZE}
        )
        try:
            return [_point(p) for p in _items("ListRecoveryPointsByResource", self._client, listing, "RecoveryPoints")]
        except TableNotFound:  # the mapping of ResourceNotFoundException: no recovery point of that ARN
            return []


def _items(operation: str, client: Any, listing: Iterable[Any], key: str) -> Iterator[Mapping[str, Any]]:
    """The items of every page; the first page's error as it is, a later page's as ListingIncomplete."""
    fetched = 0
    iterator = pages(operation, client, listing)
    while True:
        try:
            page = next(iterator, None)
        except GatewayError as error:
            if not fetched:
                raise  # nothing listed yet: the error itself (AccessDeniedException, ResourceNotFoundException, ...)
            raise ListingIncomplete(operation, error.code, f"stopped after {fetched} pages: {error.message}") from error
        if page is None:
            return
        fetched += 1
        yield from page.get(key, [])


def _point(item: Mapping[str, Any]) -> RecoveryPoint:
    size = item.get("BackupSizeBytes")
    return RecoveryPoint(
        arn=str(item.get("RecoveryPointArn", "")),
        created=_time(item.get("CreationDate")),
        status=str(item.get("Status", "UNKNOWN")),
        vault=str(item.get("BackupVaultName", "")),
        size_bytes=int(size) if isinstance(size, int | float) else None,
        is_parent=bool(item.get("IsParent", False)),
    )


def _time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return None
