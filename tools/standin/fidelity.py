"""DynamoDB and tagging behaviour that moto lacks, answered from moto's own backend state.

Each handler names the AWS API reference page it follows. Where AWS leaves a behaviour open, the comment says
which way the stand-in goes and why (usually: the stricter way, so client bugs show up in tests).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.table import Backup as MotoBackup
from moto.dynamodb.models.table import Table

from tools.standin.exports import Exports
from tools.standin.protocol import (
    AwsError,
    dynamodb_error,
    table_name_of,
    tagging_error,
    validation_error,
)
from tools.standin.restore_outcomes import RestoreOutcomes, feature_details
from tools.standin.restores import (
    RESTORE_OPERATIONS,
    RestoreRecord,
    check_duplicate_keys,
    describe_restore,
    point_in_time,
)

BACKUP_TYPES = ("USER", "SYSTEM", "AWS_BACKUP")
BACKUP_TYPE_FILTERS = (*BACKUP_TYPES, "ALL")
# TableStatus values of DescribeTable (API_TableDescription); ACTIVE means "no override".
TABLE_STATUSES = (
    "CREATING",
    "UPDATING",
    "DELETING",
    "ACTIVE",
    "INACCESSIBLE_ENCRYPTION_CREDENTIALS",
    "ARCHIVING",
    "ARCHIVED",
)
_TABLE_IN_USE = ("CREATING", "DELETING")
_TABLE_DATA_UNAVAILABLE = ("INACCESSIBLE_ENCRYPTION_CREDENTIALS", "ARCHIVING", "ARCHIVED")
# API_BackupDetails: a SYSTEM backup "expires automatically 35 days after its creation".
SYSTEM_BACKUP_LIFETIME = timedelta(days=35)
LIST_BACKUPS_MAX = 100
GET_RESOURCES_MAX = 100
# API_CreateBackup: BackupName, 3-255 characters of [a-zA-Z0-9_.-].
_BACKUP_NAME = re.compile(r"^[a-zA-Z0-9_.-]{3,255}$")
_DYNAMODB_TYPE_FILTERS = ("dynamodb", "dynamodb:table")
GLOBAL_TABLE_VERSION = "2019.11.21"
# moto gives a table no TableId; the stand-in keeps one on the moto Table object itself, so a table deleted and
# created again under the same name (a new object) gets a new one, as it does in AWS.
_TABLE_ID_ATTRIBUTE = "_standin_table_id"


@dataclass
class BackupRecord:
    """What the stand-in knows about one backup beyond moto: creation time, readiness, size, type."""

    arn: str
    name: str
    table_name: str
    table_arn: str
    table_id: str  # the source table's TableId: which table of that name the backup was taken of
    backup_type: str
    created: datetime  # aware, UTC
    ready_at: float  # time.monotonic() after which the backup is AVAILABLE
    size_bytes: int
    item_count: int
    moto: MotoBackup
    deleted: bool = False

    @property
    def key(self) -> tuple[float, str]:
        """Sort key of ListBackups: creation time, then ARN."""
        return (self.created.timestamp(), self.arn)

    def status(self, now: float) -> str:
        """BackupStatus (API_BackupDetails): CREATING | DELETED | AVAILABLE."""
        if self.deleted:
            return "DELETED"
        return "CREATING" if now < self.ready_at else "AVAILABLE"


class RegionState:
    """One account+region: backup records kept in ListBackups order, table overrides."""

    def __init__(self) -> None:
        self.records: dict[str, BackupRecord] = {}  # deleted ones stay, so paging past them still works
        self.order: list[tuple[float, str]] = []  # live backups, sorted
        self.by_table: dict[str, list[tuple[float, str]]] = {}
        self.busy_until: dict[str, float] = {}  # table -> monotonic time its newest backup finishes
        self.table_status: dict[str, str] = {}
        self.replicas: dict[str, list[str]] = {}
        self.last_table_id: dict[str, str] = {}  # table name -> TableId of the last table seen under it
        self.restores: dict[str, RestoreRecord] = {}  # restored table -> what it was restored to

    def add(self, record: BackupRecord) -> None:
        self.records[record.arn] = record
        bisect.insort(self.order, record.key)
        bisect.insort(self.by_table.setdefault(record.table_name, []), record.key)

    def remove(self, record: BackupRecord) -> None:
        _discard(self.order, record.key)
        _discard(self.by_table.get(record.table_name, []), record.key)
        record.deleted = True

    def move(self, record: BackupRecord, created: datetime) -> None:
        live = not record.deleted
        if live:
            self.remove(record)
        record.created = created
        if live:
            record.deleted = False
            bisect.insort(self.order, record.key)
            bisect.insort(self.by_table.setdefault(record.table_name, []), record.key)

    def forget_table(self, table: str) -> None:
        self.busy_until.pop(table, None)
        self.table_status.pop(table, None)
        self.replicas.pop(table, None)
        self.restores.pop(table, None)

    def status(self, table: str, now: float) -> str:
        """The table's TableStatus: the override a test set, else CREATING while a restore runs, else ACTIVE."""
        if table in self.table_status:
            return self.table_status[table]
        restore = self.restores.get(table)
        return "CREATING" if restore is not None and restore.in_progress(now) else "ACTIVE"


def _discard(keys: list[tuple[float, str]], key: tuple[float, str]) -> None:
    index = bisect.bisect_left(keys, key)
    if index < len(keys) and keys[index] == key:
        del keys[index]


def _aware(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _measure(table: Table) -> tuple[int, int]:
    """(bytes, items) of a moto table: the sum of item sizes, as BackupSizeBytes counts them."""
    size = count = 0
    for value in table.items.values():
        items: Any = value.values() if table.range_key_attr else (value,)
        for item in items:
            size += item.size()
            count += 1
    return size, count


def _string(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise validation_error(f"1 validation error detected: Value null at '{key}' failed to satisfy constraint")
    return value


def _from_moto(error: JsonRESTError) -> AwsError:
    prefix, _, code = error.error_type.rpartition("#")
    return AwsError(code, error.message, error.code, type_prefix=f"{prefix}#" if prefix else "")


class Fidelity:
    """The stand-in's own DynamoDB/tagging answers. Callers hold `lock` (moto's state is not thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.creating_seconds = 0.0
        self.restoring_seconds = 0.0  # how long a restored table stays CREATING with RestoreInProgress true
        self.restore_outcomes = RestoreOutcomes()  # refused restores, missing items, the concurrent-restore limit
        self._states: dict[tuple[str, str], RegionState] = {}
        self._handlers: dict[str, Callable[[str, str, dict[str, Any]], dict[str, Any] | None]] = {
            "CreateBackup": self.create_backup,
            "DeleteBackup": self.delete_backup,
            "DescribeBackup": self.describe_backup,
            "ListBackups": self.list_backups,
            "DescribeTable": self.describe_table,
            "GetResources": self.get_resources,
        }
        self.exports = Exports(self.table_id)  # ExportTableToPointInTime, DescribeExport, ListExports
        self._handlers.update(self.exports.handlers())

    def reset(self) -> None:
        """Forget every record and override (moto's state is reset separately)."""
        with self.lock:
            self._states.clear()
            self.exports.reset()
            self.creating_seconds = 0.0
            self.restoring_seconds = 0.0
            self.restore_outcomes.reset()

    def handles(self, operation: str) -> bool:
        """Whether `operation` is answered here rather than by moto."""
        return operation in self._handlers

    def handle(self, operation: str, account: str, region: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """Answer `operation`; None hands the call to moto (e.g. GetResources for other resource types)."""
        try:
            return self._handlers[operation](account, region, body)
        except JsonRESTError as error:
            raise _from_moto(error) from error

    def state(self, account: str, region: str) -> RegionState:
        key = (account, region)
        found = self._states.get(key)
        if found is None:
            found = self._states[key] = RegionState()
        return found

    @staticmethod
    def backend(account: str, region: str) -> DynamoDBBackend:
        return dynamodb_backends[account][region]

    # -- hooks around calls moto answers ---------------------------------------------------------------------------

    def before_moto(self, operation: str, account: str, region: str, body: dict[str, Any]) -> None:
        """Refuse what AWS refuses before moto acts."""
        if operation == "RestoreTableFromBackup":
            # API_RestoreTableFromBackup: BackupInUseException while the backup is being created.
            record = self._live_record(account, region, str(body.get("BackupArn", "")), missing_ok=True)
            if record is not None and record.status(time.monotonic()) == "CREATING":
                raise dynamodb_error("BackupInUseException", f"Backup is being created: {record.arn}")
            now = time.monotonic()
            in_progress = sum(1 for r in self.state(account, region).restores.values() if r.in_progress(now))
            self.restore_outcomes.check(str(body.get("BackupArn", "")), in_progress)
        elif operation == "BatchGetItem":
            check_duplicate_keys(body)
        elif operation == "DeleteTable":
            # API_DeleteTable, ResourceInUseException: "tried to delete a table currently in the CREATING state"
            # (a restore in progress included); moto deletes it.
            name = table_name_of(str(body.get("TableName", "")))
            if self.state(account, region).status(name, time.monotonic()) == "CREATING":
                raise dynamodb_error("ResourceInUseException", f"Table is being created: {name}")

    def after_moto(self, operation: str, account: str, region: str, body: dict[str, Any], status: int) -> None:
        """Keep the overrides in step with what moto did."""
        if operation == "DeleteTable" and status == 200:
            self.state(account, region).forget_table(table_name_of(str(body.get("TableName", ""))))
        elif operation in RESTORE_OPERATIONS and status == 200:
            self._record_restore(operation, account, region, body)

    def _record_restore(self, operation: str, account: str, region: str, body: dict[str, Any]) -> None:
        """Remember what the new table was restored to (API_RestoreSummary: "point in time or source backup time")."""
        if operation == "RestoreTableFromBackup":
            record = self._live_record(account, region, str(body.get("BackupArn", "")), missing_ok=True)
            when = record.created if record is not None else datetime.now(UTC)
            restored = self._find_table(self.backend(account, region), str(body.get("TargetTableName", "")))
            self.restore_outcomes.after_restore(body, record.moto.table if record is not None else None, restored)
        else:
            source = self._find_table(self.backend(account, region), str(body.get("SourceTableName", "")))
            when = point_in_time(body, source)
        target = table_name_of(str(body.get("TargetTableName", "")))
        ready_at = time.monotonic() + self.restoring_seconds
        self.state(account, region).restores[target] = RestoreRecord(restore_time=when, ready_at=ready_at)

    # -- DynamoDB --------------------------------------------------------------------------------------------------

    def create_backup(self, account: str, region: str, body: dict[str, Any]) -> dict[str, Any]:
        """API_CreateBackup.

        - TableNotFoundException when the table does not exist (TableName may be a name or an ARN).
        - TableInUseException while the table is CREATING or DELETING ("A target table with the specified name is
          either being created or deleted").
        - ARCHIVING / ARCHIVED / INACCESSIBLE_ENCRYPTION_CREDENTIALS: AWS documents no error for these, yet the
          data cannot be read; the stand-in answers ValidationException naming the table and its status, so a
          client must treat it as a per-table failure rather than a transient one.
        - BackupInUseException while an earlier backup of the table is still CREATING ("another ongoing
          conflicting backup control plane operation on the table").
        - The answer always says CREATING, as AWS's does; the backup turns AVAILABLE `creating_seconds` later.
        """
        table_param = _string(body, "TableName")
        name = _string(body, "BackupName")
        if not _BACKUP_NAME.match(name):
            raise validation_error(
                f"1 validation error detected: Value '{name}' at 'backupName' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255"
            )
        backend = self.backend(account, region)
        table = self._find_table(backend, table_param)
        if table is None:
            raise dynamodb_error("TableNotFoundException", f"Table not found: {table_param}")
        state = self.state(account, region)
        status = state.status(table.name, time.monotonic())
        if status in _TABLE_IN_USE:
            verb = "created" if status == "CREATING" else "deleted"
            raise dynamodb_error("TableInUseException", f"Table is being {verb}: {table.name}")
        if status in _TABLE_DATA_UNAVAILABLE:
            raise validation_error(f"Table {table.name} is {status}; its data cannot be backed up")
        now = time.monotonic()
        if state.busy_until.get(table.name, 0.0) > now:
            raise dynamodb_error("BackupInUseException", f"Backup is being created for table: {table.name}")
        record = self._snapshot(account, region, table, name, "USER", created=None)
        state.busy_until[table.name] = record.ready_at
        return {"BackupDetails": self._details(record, "CREATING")}

    def delete_backup(self, account: str, region: str, body: dict[str, Any]) -> dict[str, Any]:
        """API_DeleteBackup: BackupNotFoundException for unknown/deleted backups, BackupInUseException while the
        backup is CREATING; the answer describes the backup as DELETED."""
        arn = _string(body, "BackupArn")
        record = self._live_record(account, region, arn)
        assert record is not None
        if record.status(time.monotonic()) == "CREATING":
            raise dynamodb_error("BackupInUseException", f"Backup is being created: {arn}")
        self.backend(account, region).backups.pop(arn, None)
        self.state(account, region).remove(record)
        return {"BackupDescription": self._description(record)}

    def describe_backup(self, account: str, region: str, body: dict[str, Any]) -> dict[str, Any]:
        """API_DescribeBackup: BackupNotFoundException for unknown/deleted backups."""
        record = self._live_record(account, region, _string(body, "BackupArn"))
        assert record is not None
        return {"BackupDescription": self._description(record)}

    def list_backups(self, account: str, region: str, body: dict[str, Any]) -> dict[str, Any]:
        """API_ListBackups.

        - Limit 1..100 (default and maximum 100 per page); other values are a ValidationException.
        - BackupType USER | SYSTEM | AWS_BACKUP | ALL, default USER. The reference calls ALL "USER and SYSTEM";
          the stand-in's ALL also returns AWS_BACKUP ones, the stricter choice for code that must leave foreign
          backups alone.
        - TableName (name or ARN) also lists backups of tables deleted since.
        - TimeRangeLowerBound inclusive, TimeRangeUpperBound exclusive, on the creation time.
        - Order: creation time, then ARN. ExclusiveStartBackupArn continues after that backup, even one deleted
          between pages; an ARN the stand-in never issued is a ValidationException.
        - LastEvaluatedBackupArn comes with every full page, even when nothing follows ("may or may not indicate
          that there is more data"): clients must loop until it is absent.
        """
        limit = body.get("Limit", LIST_BACKUPS_MAX)
        if not isinstance(limit, int) or not 1 <= limit <= LIST_BACKUPS_MAX:
            raise validation_error(
                f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
                f"Member must have value between 1 and {LIST_BACKUPS_MAX}"
            )
        backup_type = body.get("BackupType", "USER")
        if backup_type not in BACKUP_TYPE_FILTERS:
            raise validation_error(
                f"1 validation error detected: Value '{backup_type}' at 'backupType' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(BACKUP_TYPE_FILTERS)}]"
            )
        lower, upper = body.get("TimeRangeLowerBound"), body.get("TimeRangeUpperBound")
        state = self.state(account, region)
        table_param = body.get("TableName")
        keys = state.by_table.get(table_name_of(table_param), []) if table_param else state.order
        index = 0
        start_arn = body.get("ExclusiveStartBackupArn")
        if start_arn:
            start = state.records.get(start_arn)
            if start is None:
                raise validation_error(f"Invalid ExclusiveStartBackupArn: {start_arn}")
            index = bisect.bisect_right(keys, start.key)
        if lower is not None:
            index = max(index, bisect.bisect_left(keys, (float(lower), "")))
        now = time.monotonic()
        page: list[dict[str, Any]] = []
        for created, arn in _from(keys, index):
            if upper is not None and created >= float(upper):
                break
            record = state.records[arn]
            if backup_type != "ALL" and record.backup_type != backup_type:
                continue
            page.append(self._summary(record, now))
            if len(page) == limit:
                break
        result: dict[str, Any] = {"BackupSummaries": page}
        if len(page) == limit:
            result["LastEvaluatedBackupArn"] = page[-1]["BackupArn"]
        return result

    def describe_table(self, account: str, region: str, body: dict[str, Any]) -> dict[str, Any]:
        """API_DescribeTable with the test-set TableStatus, the table's TableId (API_TableDescription), Replicas +
        GlobalTableVersion for global tables (version 2019.11.21 lists the replicas in the other regions, see
        globaltables.DetermineVersion), and a restored table's RestoreSummary as AWS gives it (see restores.py)."""
        described: dict[str, Any] = self.backend(account, region).describe_table(_string(body, "TableName"))
        table = described["Table"]
        state = self.state(account, region)
        name = table["TableName"]
        table["TableId"] = self.table_id(account, region, self.backend(account, region).tables[name])
        if name in state.table_status:
            table["TableStatus"] = state.table_status[name]
        if name in state.restores:
            describe_restore(table, state.restores[name], state.table_status.get(name))
        if state.replicas.get(name):
            table["GlobalTableVersion"] = GLOBAL_TABLE_VERSION
            table["Replicas"] = [{"RegionName": r, "ReplicaStatus": "ACTIVE"} for r in state.replicas[name]]
        return described

    # -- Resource Groups Tagging API -------------------------------------------------------------------------------

    def get_resources(self, account: str, region: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """API_GetResources (Resource Groups Tagging API) for DynamoDB tables; other resource types go to moto.

        - ResourcesPerPage 1..100 (default 100), TagsPerPage 100..500: InvalidParameterException otherwise.
        - TagFilters: a resource matches when it has every filter's key, with one of its values if any are given.
        - Tables without tags are left out (moto keeps no "previously tagged" history).
        - Pages are in ARN order; the token names the last ARN given, so tables created or deleted between pages
          neither repeat nor shift others. The last page carries PaginationToken "" (empty), as AWS's does.
        """
        type_filters = body.get("ResourceTypeFilters") or []
        if not type_filters or any(f not in _DYNAMODB_TYPE_FILTERS for f in type_filters):
            return None
        per_page = body.get("ResourcesPerPage", GET_RESOURCES_MAX)
        if not isinstance(per_page, int) or not 1 <= per_page <= GET_RESOURCES_MAX:
            raise tagging_error("InvalidParameterException", "ResourcesPerPage must be between 1 and 100")
        tags_per_page = body.get("TagsPerPage")
        if tags_per_page is not None and not 100 <= tags_per_page <= 500:
            raise tagging_error("InvalidParameterException", "TagsPerPage must be between 100 and 500")
        tag_filters = body.get("TagFilters") or []
        if len(tag_filters) > 50 or any(len(f.get("Values") or []) > 20 for f in tag_filters):
            raise tagging_error("InvalidParameterException", "At most 50 tag keys with 20 values each")
        wanted_arns = set(body.get("ResourceARNList") or [])
        after = _decode_token(body.get("PaginationToken") or "")
        rows: list[tuple[str, dict[str, str]]] = []
        for table in list(self.backend(account, region).tables.values()):
            tags = {tag["Key"]: tag["Value"] for tag in table.tags or []}  # last wins, as tag keys are unique
            if not tags or (wanted_arns and table.table_arn not in wanted_arns):
                continue
            if _tags_match(tags, tag_filters):
                rows.append((table.table_arn, tags))
        rows.sort()
        start = bisect.bisect_right([arn for arn, _ in rows], after) if after else 0
        page = rows[start : start + per_page]
        more = start + per_page < len(rows)
        return {
            "ResourceTagMappingList": [
                {"ResourceARN": arn, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]} for arn, tags in page
            ],
            "PaginationToken": _encode_token(page[-1][0]) if more else "",
        }

    # -- control API (tests call these through StandIn) -------------------------------------------------------------

    def set_table_status(self, account: str, region: str, table: str, status: str) -> None:
        """Make DescribeTable (and CreateBackup) see `status`; ACTIVE removes the override."""
        if status not in TABLE_STATUSES:
            raise ValueError(f"table status {status!r}: expected one of {TABLE_STATUSES}")
        with self.lock:
            name = self._existing_table(account, region, table).name
            state = self.state(account, region)
            if status == "ACTIVE":
                state.table_status.pop(name, None)
            else:
                state.table_status[name] = status

    def set_replicas(self, account: str, region: str, table: str, regions: list[str]) -> None:
        """Make `table` a global table whose DescribeTable in `region` lists replicas in the other `regions`."""
        with self.lock:
            name = self._existing_table(account, region, table).name
            others = [r for r in dict.fromkeys(regions) if r != region]
            state = self.state(account, region)
            if others:
                state.replicas[name] = others
            else:
                state.replicas.pop(name, None)

    def add_foreign_backup(
        self,
        account: str,
        region: str,
        table: str,
        name: str,
        backup_type: str,
        created: datetime | None,
        table_id: str | None = None,
    ) -> str:
        """A backup tablesafe did not make (any name, any type), AVAILABLE at once; returns its ARN.
        The table need not exist any more: a placeholder stands in for a deleted one, with the TableId of the last
        table of that name. `table_id` gives the backup another source table (an earlier one of the same name)."""
        if backup_type not in BACKUP_TYPES:
            raise ValueError(f"backup type {backup_type!r}: expected one of {BACKUP_TYPES}")
        with self.lock:
            backend = self.backend(account, region)
            existing = self._find_table(backend, table)
            source = existing or Table(  # type: ignore[abstract]
                table,
                account_id=account,
                region=region,
                schema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                attr=[{"AttributeName": "pk", "AttributeType": "S"}],
                billing_mode="PAY_PER_REQUEST",
            )
            if existing is None:  # every placeholder of a name stands for the same deleted table
                known = self.state(account, region).last_table_id.setdefault(table, str(uuid.uuid4()))
                setattr(source, _TABLE_ID_ATTRIBUTE, known)
            record = self._snapshot(account, region, source, name, backup_type, created=created)
            if table_id is not None:
                record.table_id = table_id
            record.ready_at = 0.0
            return record.arn

    def table_id(self, account: str, region: str, table: Table) -> str:
        """The TableId of a moto table, given when first asked for: new for every table, also one re-created under
        the same name (API_TableDescription, API_BackupSummary: "unique identifier for the table")."""
        found = getattr(table, _TABLE_ID_ATTRIBUTE, None)
        if not isinstance(found, str):
            found = str(uuid.uuid4())
            setattr(table, _TABLE_ID_ATTRIBUTE, found)
        if self.backend(account, region).tables.get(table.name) is table:
            self.state(account, region).last_table_id[table.name] = found
        return found

    def set_backup_created(self, backup_arn: str, when: datetime) -> None:
        """Pretend the backup was requested at `when` (naive means UTC)."""
        created = _aware(when)
        with self.lock:
            for state in self._states.values():
                record = state.records.get(backup_arn)
                if record is not None:
                    state.move(record, created)
                    record.moto.creation_date_time = created.replace(tzinfo=None)
                    return
        raise ValueError(f"unknown backup ARN {backup_arn!r}")

    def complete_restores(self) -> None:
        """Every restore in progress is over now."""
        with self.lock:
            for state in self._states.values():
                state.restores = {name: replace(r, ready_at=0.0) for name, r in state.restores.items()}

    def complete_backups(self) -> None:
        """Every CREATING backup becomes AVAILABLE now."""
        with self.lock:
            for state in self._states.values():
                state.busy_until.clear()
                for record in state.records.values():
                    record.ready_at = min(record.ready_at, 0.0)

    # -- helpers ---------------------------------------------------------------------------------------------------

    @staticmethod
    def _find_table(backend: DynamoDBBackend, name_or_arn: str) -> Table | None:
        return backend.tables.get(table_name_of(name_or_arn))

    def _existing_table(self, account: str, region: str, table: str) -> Table:
        found = self._find_table(self.backend(account, region), table)
        if found is None:
            raise ValueError(f"table {table!r} does not exist in {region}")
        return found

    def _snapshot(
        self, account: str, region: str, table: Table, name: str, backup_type: str, created: datetime | None
    ) -> BackupRecord:
        table_id = self.table_id(account, region, table)
        backup = MotoBackup(account, region, name, table, type_=backup_type)  # moto deep-copies the table
        if created is not None:
            backup.creation_date_time = _aware(created).replace(tzinfo=None)
        size, count = _measure(backup.table)
        record = BackupRecord(
            arn=backup.arn,
            name=name,
            table_name=table.name,
            table_arn=table.table_arn,
            table_id=table_id,
            backup_type=backup_type,
            created=_aware(backup.creation_date_time),
            ready_at=time.monotonic() + self.creating_seconds,
            size_bytes=size,
            item_count=count,
            moto=backup,
        )
        self.backend(account, region).backups[backup.arn] = backup
        self.state(account, region).add(record)
        return record

    def _live_record(self, account: str, region: str, arn: str, missing_ok: bool = False) -> BackupRecord | None:
        state = self.state(account, region)
        record = state.records.get(arn)
        if record is None:
            adopted = self.backend(account, region).backups.get(arn)
            if adopted is not None:  # made by moto itself, not through the stand-in: adopt it
                size, count = _measure(adopted.table)
                table_id = self.table_id(account, region, adopted.table)
                record = BackupRecord(
                    arn, adopted.name, adopted.table.name, adopted.table.table_arn, table_id, adopted.type,
                    _aware(adopted.creation_date_time), 0.0, size, count, adopted,
                )  # fmt: skip
                state.add(record)
        if record is None or record.deleted:
            if missing_ok:
                return None
            raise dynamodb_error("BackupNotFoundException", f"Backup not found: {arn}")
        return record

    def _details(self, record: BackupRecord, status: str) -> dict[str, Any]:
        details: dict[str, Any] = {
            "BackupArn": record.arn,
            "BackupName": record.name,
            "BackupSizeBytes": record.size_bytes,
            "BackupStatus": status,
            "BackupType": record.backup_type,
            "BackupCreationDateTime": record.created,
        }
        if record.backup_type == "SYSTEM":
            details["BackupExpiryDateTime"] = record.created + SYSTEM_BACKUP_LIFETIME
        return details

    def _summary(self, record: BackupRecord, now: float) -> dict[str, Any]:
        summary = self._details(record, record.status(now))
        summary["TableName"] = record.table_name
        summary["TableArn"] = record.table_arn
        summary["TableId"] = record.table_id  # API_BackupSummary; moto leaves it out
        return summary

    def _description(self, record: BackupRecord) -> dict[str, Any]:
        table = record.moto.table
        source: dict[str, Any] = {
            "TableName": record.table_name,
            "TableArn": record.table_arn,
            "TableId": record.table_id,  # API_SourceTableDetails: required
            "TableSizeBytes": record.size_bytes,
            "KeySchema": table.schema,
            "TableCreationDateTime": table.created_at,
            "ProvisionedThroughput": {
                "ReadCapacityUnits": table.throughput.get("ReadCapacityUnits", 0),
                "WriteCapacityUnits": table.throughput.get("WriteCapacityUnits", 0),
            },
            "ItemCount": record.item_count,
        }
        if table.billing_mode:
            source["BillingMode"] = table.billing_mode
        return {
            "BackupDetails": self._details(record, record.status(time.monotonic())),
            "SourceTableDetails": source,
            "SourceTableFeatureDetails": feature_details(table),
        }


def _from(keys: list[tuple[float, str]], index: int) -> Iterator[tuple[float, str]]:
    for position in range(index, len(keys)):
        yield keys[position]


def _tags_match(tags: dict[str, str], tag_filters: list[dict[str, Any]]) -> bool:
    for tag_filter in tag_filters:
        key = tag_filter.get("Key")
        if key not in tags:
            return False
        values = tag_filter.get("Values") or []
        if values and tags[key] not in values:
            return False
    return True


def _encode_token(arn: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": arn}).encode()).decode()


def _decode_token(token: str) -> str:
    if not token:
        return ""
    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise tagging_error("InvalidParameterException", f"PaginationToken is not valid: {token}") from error
    if not isinstance(after, str):
        raise tagging_error("InvalidParameterException", f"PaginationToken is not valid: {token}")
    return after
