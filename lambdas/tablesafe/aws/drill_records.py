"""Each table's last drill, and a count in progress, kept in the stack's lease table.

- `drill#<table>`: the table's last drill, written when a drill ends (passed, failed); `tablesafe status` and the
  selection of due drills read them, and the DrillsOverdue metric is computed from them. A few hundred bytes, no
  TTL: a table's last drill is worth knowing however long ago it was.
- `drill-count#<drill table>`: how far the count scan of a drill table got (per segment: items, read units, the
  key to go on from), saved when an invocation's time runs out, so the next invocation goes on where it stopped.
  The table's TTL removes it a week later.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tablesafe.aws.errors import call

KEY_PREFIX = "drill#"
COUNT_KEY_PREFIX = "drill-count#"
BATCH_GET_LIMIT = 100
COUNT_KEPT_SECONDS = 7 * 86400


@dataclass(frozen=True)
class SegmentProgress:
    """One count segment: items and read units so far, and the key to go on from (None: from the start, or done)."""

    items: int = 0
    units: float = 0.0
    start_key: dict[str, Any] | None = None
    done: bool = False


@dataclass(frozen=True)
class CountProgress:
    """A count scan cut short: each segment's progress, and when it was saved."""

    segments: tuple[SegmentProgress, ...]
    saved_at: datetime
    drill: str = ""  # which drill of the table it counted (its start): a later restore of the same name starts anew


@dataclass(frozen=True)
class DrillRecord:
    """A table's last drill, and when a drill of it last passed."""

    table: str
    plan: str
    verdict: str  # "passed" | "failed"
    finished_at: datetime
    reason: str = ""
    restore_seconds: float | None = None
    backup_arn: str = ""
    last_passed_at: datetime | None = None


class DrillRecords:
    """The records in one DynamoDB table (the lease table: partition key `pk`, string)."""

    def __init__(self, table_name: str, *, client: Any) -> None:
        self.table_name = table_name
        self._client = client

    def get(self, tables: Iterable[str]) -> dict[str, DrillRecord]:
        """The records of `tables` that exist (BatchGetItem, 100 keys a call, unprocessed keys asked again)."""
        names = sorted(set(tables))
        found: dict[str, DrillRecord] = {}
        for start in range(0, len(names), BATCH_GET_LIMIT):
            keys: list[dict[str, Any]] = [{"pk": {"S": KEY_PREFIX + n}} for n in names[start : start + BATCH_GET_LIMIT]]
            while keys:
                answer = self._call(
                    "BatchGetItem",
                    RequestItems={self.table_name: {"Keys": keys, "ConsistentRead": True}},
                )
                for item in answer.get("Responses", {}).get(self.table_name, []):
                    record = _record(item)
                    found[record.table] = record
                keys = answer.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
        return found

    def put(self, record: DrillRecord) -> None:
        """Write a drill's end; `last_passed_at` moves only when it passed (UpdateItem keeps the earlier one)."""
        values: dict[str, Any] = {
            ":table": {"S": record.table},
            ":plan": {"S": record.plan},
            ":verdict": {"S": record.verdict},
            ":at": {"S": _iso(record.finished_at)},
            ":reason": {"S": record.reason[:1000]},
            ":backup": {"S": record.backup_arn},
            ":seconds": {"N": str(round(record.restore_seconds or 0.0, 3))},
        }
        expression = (
            "SET source_table = :table, plan_name = :plan, verdict = :verdict, finished_at = :at, reason = :reason,"
            " backup_arn = :backup, restore_seconds = :seconds"
        )
        if record.restore_seconds is None:
            expression = expression.replace(", restore_seconds = :seconds", " REMOVE restore_seconds")
            del values[":seconds"]
        if record.verdict == "passed":
            expression = expression.replace(
                "restore_seconds = :seconds", "restore_seconds = :seconds, last_passed_at = :at"
            )
        self._call(
            "UpdateItem",
            TableName=self.table_name,
            Key={"pk": {"S": KEY_PREFIX + record.table}},
            UpdateExpression=expression,
            ExpressionAttributeValues=values,
        )

    def load_count(self, drill_table: str) -> CountProgress | None:
        """The saved progress of a drill table's count, or None (never cut short, or removed)."""
        item = self._call(
            "GetItem", TableName=self.table_name, Key={"pk": {"S": COUNT_KEY_PREFIX + drill_table}}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        try:
            raw = json.loads(item["segments"]["S"])
            segments = tuple(
                SegmentProgress(int(s["items"]), float(s["units"]), _decode(s.get("key")), bool(s["done"])) for s in raw
            )
        except (KeyError, TypeError, ValueError):
            return None  # unreadable: the count starts again, which is always correct
        saved = _parse(item.get("saved_at", {}).get("S", "")) or datetime.fromtimestamp(0, UTC)
        return CountProgress(segments, saved, item.get("drill", {}).get("S", ""))

    def save_count(self, drill_table: str, progress: CountProgress) -> None:
        """PutItem of a count's progress (the last save wins: one invocation counts a drill table at a time)."""
        segments = [
            {"items": s.items, "units": s.units, "key": _encode(s.start_key), "done": s.done} for s in progress.segments
        ]
        self._call(
            "PutItem",
            TableName=self.table_name,
            Item={
                "pk": {"S": COUNT_KEY_PREFIX + drill_table},
                "segments": {"S": json.dumps(segments)},
                "saved_at": {"S": _iso(progress.saved_at)},
                "drill": {"S": progress.drill},
                "ttl": {"N": str(int(progress.saved_at.timestamp()) + COUNT_KEPT_SECONDS)},
            },
        )

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        names = {"BatchGetItem": "batch_get_item", "UpdateItem": "update_item", "GetItem": "get_item"}
        method = getattr(self._client, names.get(operation, "put_item"))
        result: dict[str, Any] = call(operation, self._client, lambda: method(**params))
        return result


def _record(item: dict[str, Any]) -> DrillRecord:
    def text(name: str) -> str:
        return str(item.get(name, {}).get("S", ""))

    seconds = item.get("restore_seconds", {}).get("N")
    passed = text("last_passed_at")
    return DrillRecord(
        table=text("source_table") or text("pk").removeprefix(KEY_PREFIX),
        plan=text("plan_name"),
        verdict=text("verdict"),
        finished_at=_parse(text("finished_at")) or datetime.fromtimestamp(0, UTC),
        reason=text("reason"),
        restore_seconds=float(seconds) if seconds is not None else None,
        backup_arn=text("backup_arn"),
        last_passed_at=_parse(passed),
    )


def _encode(value: Any) -> Any:
    """A typed key as JSON: binary values (bytes from boto3) as base64 text, marked."""
    if isinstance(value, bytes | bytearray):
        return {"__b64__": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__b64__"}:
            return base64.b64decode(value["__b64__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse(text: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
