"""DynamoDB exports to S3 as AWS makes them: what moto 5.2.5 lacks, answered from moto's own tables and buckets.

moto's ExportTableToPointInTime writes one data file and no manifest, gives a malformed ARN, ignores ClientToken,
finishes at once, and its ListExports neither pages nor works without TableArn. This module follows:

- API_ExportTableToPointInTime: PITR required (PointInTimeRecoveryUnavailableException), ExportTime within the
  PITR window and not in the future (InvalidExportTimeException), ClientToken "valid for 8 hours after the first
  request that uses it is completed": the same token with the same parameters answers the first export; with other
  parameters ExportConflictException (the operation's documented error; the page's prose names
  ImportConflictException, a shape ExportTableToPointInTime does not declare).
- API_DescribeExport (ExportNotFoundException), API_ListExports (MaxResults 1..25, NextToken, TableArn optional).
- "DynamoDB table export output format": the objects, written by export_files.py.

The export is IN_PROGRESS for `exporting_seconds` (default 0); its files appear when it completes. The items are
those of the table when the export was requested (moto keeps no history, so an ExportTime in the past exports the
table as it is now). A failure set with `fail_exports` turns the next exports of a table FAILED, with no manifest.
"""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.utilities import dynamo_json_dump

from tools.standin.export_files import ITEMS_PER_FILE, ExportRecord, bucket_of, finish, put
from tools.standin.protocol import dynamodb_error, validation_error

# API_ExportTableToPointInTime, ClientToken: "valid for 8 hours after the first request that uses it".
CLIENT_TOKEN_SECONDS = 8 * 3600
LIST_EXPORTS_MAX = 25  # API_ListExports: MaxResults 1..25
Handler = Callable[[str, str, dict[str, Any]], dict[str, Any]]


class Exports:
    """The export records of every account and region, and the control knobs tests use."""

    def __init__(self, table_id: Callable[[str, str, Table], str]) -> None:
        self._table_id = table_id
        self.exporting_seconds = 0.0
        self.client_token_seconds = float(CLIENT_TOKEN_SECONDS)
        self.items_per_file = ITEMS_PER_FILE
        self._records: list[ExportRecord] = []
        self._failures: dict[str, tuple[str, str]] = {}  # table ARN or name -> (code, message)

    def reset(self) -> None:
        self.__init__(self._table_id)  # type: ignore[misc]

    def handlers(self) -> dict[str, Handler]:
        return {
            "ExportTableToPointInTime": self.export_table,
            "DescribeExport": self.describe_export,
            "ListExports": self.list_exports,
        }

    # -- control ---------------------------------------------------------------------------------------------------

    def fail_exports(self, table: str, code: str = "UNKNOWN", message: str = "Export failed") -> None:
        """Exports of `table` (name or ARN) requested from now on end FAILED with this code and message."""
        self._failures[table] = (code, message)

    def clear_failures(self) -> None:
        self._failures.clear()

    def complete_exports(self) -> None:
        """Every export in progress ends now (COMPLETED, or FAILED if a failure was set when it began)."""
        for record in self._records:
            record.ready_at = min(record.ready_at, time.monotonic())
        self.settle()

    def expire_client_tokens(self) -> None:
        """Pretend 8 hours passed since every ClientToken was first used."""
        for record in self._records:
            record.token_until = time.monotonic()

    def records(self) -> list[ExportRecord]:
        self.settle()
        return list(self._records)

    def settle(self) -> None:
        """Finish the exports whose time has come: write their files, or fail them."""
        now = time.monotonic()
        for record in self._records:
            if record.status == "IN_PROGRESS" and now >= record.ready_at:
                finish(record, self.items_per_file)

    # -- API -------------------------------------------------------------------------------------------------------

    def export_table(self, account: str, region: str, body: dict[str, Any]) -> dict[str, Any]:
        """API_ExportTableToPointInTime."""
        self.settle()
        table_arn = _required(body, "TableArn")
        _required(body, "S3Bucket")
        request = {
            k: body.get(k)
            for k in (
                "TableArn",
                "S3Bucket",
                "S3BucketOwner",
                "S3Prefix",
                "ExportTime",
                "S3SseAlgorithm",
                "S3SseKmsKeyId",
                "ExportFormat",
                "ExportType",
            )
        }
        token = body.get("ClientToken")
        if token:
            earlier = self._by_token(account, str(token))
            if earlier is not None:
                if earlier.request != request:
                    raise dynamodb_error(
                        "ExportConflictException",
                        f"ClientToken {token} was used with other parameters for {earlier.arn}",
                    )
                return {"ExportDescription": earlier.description()}
        if body.get("ExportFormat", "DYNAMODB_JSON") != "DYNAMODB_JSON" or body.get("ExportType", "FULL_EXPORT") != (
            "FULL_EXPORT"
        ):
            raise validation_error("the stand-in exports only DYNAMODB_JSON FULL_EXPORT")
        table = self._table(account, region, table_arn)
        export_time = _export_time(table, body.get("ExportTime"))
        record = self._start(account, region, table, body, request, str(token or uuid.uuid4()), export_time)
        return {"ExportDescription": record.description()}

    def describe_export(self, account: str, region: str, body: dict[str, Any]) -> dict[str, Any]:
        """API_DescribeExport."""
        self.settle()
        arn = _required(body, "ExportArn")
        for record in self._records:
            if record.arn == arn and record.account == account:
                return {"ExportDescription": record.description()}
        raise dynamodb_error("ExportNotFoundException", f"Export not found: {arn}")

    def list_exports(self, account: str, region: str, body: dict[str, Any]) -> dict[str, Any]:
        """API_ListExports: in the order they were requested; NextToken is opaque."""
        self.settle()
        limit = body.get("MaxResults", LIST_EXPORTS_MAX)
        if not isinstance(limit, int) or not 1 <= limit <= LIST_EXPORTS_MAX:
            raise validation_error(f"MaxResults {limit!r} must be between 1 and {LIST_EXPORTS_MAX}")
        table_arn = body.get("TableArn")
        chosen = [
            r
            for r in self._records
            if r.account == account and f":{region}:" in r.arn and (not table_arn or r.table_arn == table_arn)
        ]
        start = 0
        if body.get("NextToken"):
            start = _decode(str(body["NextToken"]))
        page = chosen[start : start + limit]
        answer: dict[str, Any] = {
            "ExportSummaries": [
                {"ExportArn": r.arn, "ExportStatus": r.status, "ExportType": "FULL_EXPORT"} for r in page
            ]
        }
        if start + limit < len(chosen):
            answer["NextToken"] = _encode(start + limit)
        return answer

    # -- inside ----------------------------------------------------------------------------------------------------

    def _by_token(self, account: str, token: str) -> ExportRecord | None:
        now = time.monotonic()
        for record in self._records:
            if record.account == account and record.client_token == token and now < record.token_until:
                return record
        return None

    def _table(self, account: str, region: str, table_arn: str) -> Table:
        backend = dynamodb_backends[account][region]
        table = next((t for t in backend.tables.values() if t.table_arn == table_arn), None)
        if table is None:
            raise dynamodb_error("TableNotFoundException", f"Table not found: {table_arn}")
        pitr = table.continuous_backups["PointInTimeRecoveryDescription"]
        if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
            raise dynamodb_error(
                "PointInTimeRecoveryUnavailableException",
                f"Point in time recovery is not enabled for table '{table.name}'",
            )
        return table

    def _start(
        self,
        account: str,
        region: str,
        table: Table,
        body: dict[str, Any],
        request: dict[str, Any],
        token: str,
        export_time: datetime,
    ) -> ExportRecord:
        now = datetime.now(UTC)
        # ExportId: 14 digits of milliseconds and 8 hex characters, as in the output-format page's example.
        export_id = f"{int(now.timestamp() * 1000):014d}-{secrets.token_hex(4)}"
        lines = []
        size = 0
        for item in table.all_items():
            lines.append(dynamo_json_dump(item.to_json(root_attr_name="Item")))
            size += item.size()
        owner = str(body.get("S3BucketOwner") or account)
        monotonic = time.monotonic()
        record = ExportRecord(
            arn=f"{table.table_arn}/export/{export_id}",
            export_id=export_id,
            account=account,
            table_arn=table.table_arn,
            table_id=self._table_id(account, region, table),
            bucket=str(body["S3Bucket"]),
            bucket_owner=owner,
            prefix=str(body.get("S3Prefix") or ""),
            request=request,
            client_token=token,
            start_time=now,
            export_time=export_time,
            ready_at=monotonic + self.exporting_seconds,
            token_until=monotonic + self.client_token_seconds,
            lines=lines,
            billed_bytes=size,
            item_count=len(lines),
            failure=self._failures.get(table.table_arn) or self._failures.get(table.name),
        )
        self._records.append(record)
        if bucket_of(record) is None:
            record.failure = ("S3NoSuchBucket", "The specified bucket does not exist")
        else:
            put(record, f"{record.root}_started", b"")
        if self.exporting_seconds <= 0:
            finish(record, self.items_per_file)
        return record


def _export_time(table: Table, value: Any) -> datetime:
    """ExportTime must lie in the PITR window: not before EarliestRestorableDateTime, not in the future."""
    now = datetime.now(UTC)
    if value is None:
        return now
    when = datetime.fromtimestamp(float(value), UTC)
    pitr = table.continuous_backups["PointInTimeRecoveryDescription"]
    earliest = datetime.fromtimestamp(float(pitr.get("EarliestRestorableDateTime") or now.timestamp()), UTC)
    earliest = max(earliest, now - timedelta(days=35))
    if when > now + timedelta(seconds=1) or when < earliest - timedelta(seconds=1):
        raise dynamodb_error(
            "InvalidExportTimeException",
            f"ExportTime {when.isoformat()} is outside the point-in-time recovery window of {table.name}",
        )
    return when


def _required(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise validation_error(f"1 validation error detected: Value null at '{key}' failed to satisfy constraint")
    return value


def _encode(index: int) -> str:
    return base64.urlsafe_b64encode(f"export:{index}".encode()).decode()


def _decode(token: str) -> int:
    try:
        kind, _, index = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "export":
            return int(index)
    except ValueError:
        pass
    raise validation_error(f"Invalid NextToken: {token}")
