"""Each table's last drill, kept in the stack's lease table (one item per source table, `pk` drill#<table>).

The drill function writes a record when a drill ends (passed, failed); `tablesafe status` and the selection of due
drills read them, and the DrillsOverdue metric is computed from them. A record is small (a few hundred bytes) and
written once per drill; it has no TTL: a table's last drill is worth knowing however long ago it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tablesafe.aws.errors import call

KEY_PREFIX = "drill#"
BATCH_GET_LIMIT = 100


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

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        method = getattr(self._client, "batch_get_item" if operation == "BatchGetItem" else "update_item")
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
