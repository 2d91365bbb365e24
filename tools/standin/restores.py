"""Restores as AWS describes them, where moto differs, and BatchGetItem's check for duplicate keys.

moto's restored tables are ACTIVE at once, say RestoreInProgress false, and give the time of the restore as
RestoreDateTime, whatever was restored. AWS's API_RestoreSummary: RestoreDateTime is the "point in time or source
backup time", and RestoreInProgress "indicates if a restore is in progress or not"; API_TableDescription: the table
is CREATING while it is being created (a restore creates it). The stand-in keeps, per restored table, what it was
restored to and when the restore ends (`restoring_seconds` after the call, default 0), and DescribeTable shows it.
The RestoreTable* answers themselves are moto's.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from moto.dynamodb.models.table import Table

from tools.standin.protocol import validation_error

RESTORE_OPERATIONS = ("RestoreTableFromBackup", "RestoreTableToPointInTime")


@dataclass(frozen=True)
class RestoreRecord:
    """What a restored table was restored to, and when its restore is over."""

    restore_time: datetime  # aware, UTC: the backup's creation time, or the point in time restored to
    ready_at: float  # time.monotonic() after which the restore is over

    def in_progress(self, now: float) -> bool:
        return now < self.ready_at


def point_in_time(body: dict[str, Any], source: Table | None) -> datetime:
    """The time a RestoreTableToPointInTime restores to (API_RestoreTableToPointInTime): RestoreDateTime, or
    with UseLatestRestorableTime the source's LatestRestorableDateTime as DescribeContinuousBackups shows it."""
    given = body.get("RestoreDateTime")
    if given is not None and not body.get("UseLatestRestorableTime"):
        return _as_time(given)
    pitr = (source.continuous_backups if source is not None else {}).get("PointInTimeRecoveryDescription", {})
    latest = pitr.get("LatestRestorableDateTime")
    return _as_time(latest) if latest is not None else datetime.now(UTC)


def describe_restore(table: dict[str, Any], record: RestoreRecord, status_override: str | None) -> None:
    """Put AWS's RestoreSummary (and, while restoring, CREATING) into moto's DescribeTable answer."""
    summary = table.get("RestoreSummary")
    if summary is None:  # moto restored it, but describes it as a plain table: nothing to correct
        return
    restoring = record.in_progress(time.monotonic())
    summary["RestoreDateTime"] = record.restore_time
    summary["RestoreInProgress"] = restoring
    if restoring and status_override is None:
        table["TableStatus"] = "CREATING"


def check_duplicate_keys(body: dict[str, Any]) -> None:
    """BatchGetItem refuses a table's key list that names one item twice, comparing keys as DynamoDB does.

    AWS answers ValidationException "Provided list of item keys contains duplicates" (the API reference does not list
    it; boto/boto3#4131 quotes it). Keys are compared by value: numbers are numbers ("Leading and trailing zeroes are
    trimmed", Developer Guide, HowItWorks.NamingRulesDataTypes, so 7 and 7.0 are one key), binary by its bytes.
    moto compares the JSON text, so it lets 7 and 7.0 through.
    """
    for request in (body.get("RequestItems") or {}).values():
        seen: set[tuple[Any, ...]] = set()
        for key in request.get("Keys") or []:
            identity = key_identity(key)
            if identity in seen:
                raise validation_error("Provided list of item keys contains duplicates")
            seen.add(identity)


def key_identity(key: dict[str, Any]) -> tuple[Any, ...]:
    """A key in wire JSON as DynamoDB compares it: S by text, N by value, B by bytes."""
    parts: list[tuple[str, str, Any]] = []
    for name, typed in sorted(key.items()):
        if not isinstance(typed, dict) or len(typed) != 1:
            parts.append((name, "?", json.dumps(typed, sort_keys=True)))
            continue
        ((tag, value),) = typed.items()
        parts.append((name, tag, _comparable(tag, value)))
    return tuple(parts)


def _comparable(tag: str, value: Any) -> Any:
    try:
        if tag == "N":
            return Decimal(str(value))
        if tag == "B":
            return base64.b64decode(value)
    except (InvalidOperation, binascii.Error, TypeError, ValueError):
        pass  # malformed: moto's own validation answers it
    return json.dumps(value, sort_keys=True)


def _as_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.fromtimestamp(float(value), UTC)
