"""The backup gateway: DynamoDB backups, the tables they are of, and discovery through the tagging API.

It returns plain dataclasses and turns AWS error codes into decisions the use cases act on (aws/errors.py). It
receives its clients (aws/clients.py builds them): every call waits its turn on a per-operation rate limiter set to
AWS's documented per-account limits, and idempotent calls are retried by botocore's standard retry mode. CreateBackup
is the exception: it goes out on a client without botocore's retries, once per call, because a retry after a lost
response could create a second backup; the use case decides what to do with each outcome.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from tablesafe.aws.descriptions import (
    PitrState,
    TableDetails,
    as_datetime,
    pitr_specification,
    pitr_state,
    table_details,
)
from tablesafe.aws.errors import (
    AmbiguousResult,
    BackupInUse,
    BackupNotFound,
    GatewayError,
    ListingIncomplete,
    TableInUse,
    TableNotFound,
    Throttled,
    botocore_resends,
    call,
    classify_error,
    pages,
)

if TYPE_CHECKING:
    from tablesafe.aws.clients import BackupClients

__all__ = [  # the error classes are aws/errors.py's and the descriptions aws/descriptions.py's, importable here too
    "PAGE_SIZE",
    "AmbiguousResult",
    "Backup",
    "BackupInUse",
    "DeleteOutcome",
    "DynamoDbGateway",
    "GatewayError",
    "ListingIncomplete",
    "PitrState",
    "TableDetails",
    "TableInUse",
    "TableNotFound",
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
    # False for a table found without the opt-in tag (find_tables): its tag_value is "" and means nothing.
    tagged: bool = True


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


class DeleteOutcome(Enum):
    """What happened to a DeleteBackup."""

    DELETED = "deleted"
    ALREADY_GONE = "already_gone"  # BackupNotFoundException: deleted before (or by our own lost-response retry)
    IN_USE = "in_use"  # BackupInUseException: still being created or deleted; try again next run


class DynamoDbGateway:
    """Backups, tables and tags of one region, as plain dataclasses.

    >>> gateway = DynamoDbGateway(backup_clients(rate_limits=rate_limits_from_env()))
    """

    def __init__(self, clients: BackupClients) -> None:
        if botocore_resends(clients.create):
            raise ValueError("CreateBackup's client must not retry (max_attempts=0): a resend could make a 2nd backup")
        self._dynamodb = clients.dynamodb
        self._create = clients.create
        self._tagging = clients.tagging
        self._others = clients.others  # the other deployed regions' DynamoDB, for their table names
        self.region: str = self._dynamodb.meta.region_name

    # -- discovery -------------------------------------------------------------------------------------------------

    def find_tagged_tables(self, tag_key: str) -> list[TaggedTable]:
        """Every table of the region carrying `tag_key`, whatever its value (GetResources, all pages), by name."""
        return sorted((t for page in self.tagged_table_pages(tag_key) for t in page), key=lambda t: t.name)

    def tagged_table_pages(self, tag_key: str) -> Iterator[list[TaggedTable]]:
        """The tables carrying `tag_key`, a GetResources page at a time, so that work can start on the first."""
        paginator = self._tagging.get_paginator("get_resources")
        listing = paginator.paginate(
            ResourceTypeFilters=["dynamodb:table"],
            TagFilters=[{"Key": tag_key}],
            PaginationConfig={"PageSize": PAGE_SIZE},
        )
        for page in pages("GetResources", self._tagging, listing):
            tables: list[TaggedTable] = []
            for mapping in page.get("ResourceTagMappingList", []):
                arn = mapping.get("ResourceARN", "")
                name = arn.partition(":table/")[2]
                if not name or "/" in name:  # not a table (an index or stream ARN would hold a further '/')
                    continue
                tags = {t.get("Key", ""): t.get("Value", "") for t in mapping.get("Tags", [])}
                tables.append(TaggedTable(name=name, arn=arn, tag_value=tags.get(tag_key, ""), tags=tags))
            yield tables

    def table_names_in(self, region: str) -> frozenset[str]:
        """Every table name of another deployed region (ListTables, all pages): the only tables there that can be a
        replica of one here (a replica carries its table's name); GatewayError if it has no client for `region`."""
        client = self._others.get(region)
        if client is None:
            raise GatewayError("ListTables", "NoClient", f"no client for region {region}")
        listing = client.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": PAGE_SIZE})
        return frozenset(name for page in pages("ListTables", client, listing) for name in page.get("TableNames", []))

    def find_tables(self, tag_key: str) -> list[TaggedTable]:
        """Every table of the region, with its tags: GetResources of every table ever tagged (100 a page), and
        ListTables for the rest (a table never tagged is not in the tagging API), not ListTagsOfResource per table.
        """
        found: dict[str, TaggedTable] = {}
        paginator = self._tagging.get_paginator("get_resources")
        listing = paginator.paginate(ResourceTypeFilters=["dynamodb:table"], PaginationConfig={"PageSize": PAGE_SIZE})
        for page in pages("GetResources", self._tagging, listing):
            for mapping in page.get("ResourceTagMappingList", []):
                arn = mapping.get("ResourceARN", "")
                name = arn.partition(":table/")[2]
                if not name or "/" in name:
                    continue
                tags = {t.get("Key", ""): t.get("Value", "") for t in mapping.get("Tags", [])}
                found[name] = TaggedTable(name, arn, tags.get(tag_key, ""), tags, tagged=tag_key in tags)
        tables = self._dynamodb.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": PAGE_SIZE})
        for listed in pages("ListTables", self._dynamodb, tables):
            for name in listed.get("TableNames", []):
                # A table whose tags were all removed may still be in GetResources' answer, with no tags.
                found.setdefault(name, TaggedTable(name, "", "", {}, tagged=False))
        return sorted(found.values(), key=lambda t: t.name)

    # -- backups ---------------------------------------------------------------------------------------------------

    def create_backup(self, table_name: str, backup_name: str) -> Backup:
        """Send CreateBackup exactly once; raises Throttled, AmbiguousResult, BackupInUse, TableNotFound, ..."""
        response = call(
            "CreateBackup",
            self._create,
            lambda: self._create.create_backup(TableName=table_name, BackupName=backup_name),
        )
        details: Mapping[str, Any] = response.get("BackupDetails", {})
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
        params: dict[str, Any] = {"BackupType": backup_type, "PaginationConfig": {"PageSize": PAGE_SIZE}}
        if table_name is not None:
            params["TableName"] = table_name
        if created_from is not None:
            params["TimeRangeLowerBound"] = created_from
        if created_before is not None:
            params["TimeRangeUpperBound"] = created_before
        seen = 0
        listing = pages("ListBackups", self._dynamodb, self._dynamodb.get_paginator("list_backups").paginate(**params))
        while True:
            try:
                page = next(listing, None)
            except GatewayError as error:
                raise ListingIncomplete(
                    "ListBackups", error.code, f"stopped after {seen} backups: {error.message}"
                ) from error
            if page is None:
                return
            for summary in page.get("BackupSummaries", []):
                seen += 1
                yield _backup_from_summary(summary)

    def delete_backup(self, backup_arn: str) -> DeleteOutcome:
        """DeleteBackup; already gone and in use are outcomes, anything else raises."""
        try:
            call("DeleteBackup", self._dynamodb, lambda: self._dynamodb.delete_backup(BackupArn=backup_arn))
        except BackupNotFound:
            return DeleteOutcome.ALREADY_GONE
        except BackupInUse:
            return DeleteOutcome.IN_USE
        return DeleteOutcome.DELETED

    # -- tables ----------------------------------------------------------------------------------------------------

    def describe_table(self, table_name: str) -> TableDetails:
        """DescribeTable: status and global-table replica regions (and the rest of TableDetails)."""
        answer = call("DescribeTable", self._dynamodb, lambda: self._dynamodb.describe_table(TableName=table_name))
        return table_details(answer.get("Table", {}), table_name)

    def pitr_state(self, table_name: str) -> PitrState:
        """Whether PITR is on, and its recovery period."""
        answer = call(
            "DescribeContinuousBackups",
            self._dynamodb,
            lambda: self._dynamodb.describe_continuous_backups(TableName=table_name),
        )
        return pitr_state(answer.get("ContinuousBackupsDescription", {}))

    def enable_pitr(self, table_name: str, recovery_period_days: int) -> None:
        """Turn PITR on with the given recovery period (1-35 days)."""
        spec: Any = pitr_specification(recovery_period_days)
        call(
            "UpdateContinuousBackups",
            self._dynamodb,
            lambda: self._dynamodb.update_continuous_backups(
                TableName=table_name, PointInTimeRecoverySpecification=spec
            ),
        )


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
