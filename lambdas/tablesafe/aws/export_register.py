"""The in-flight register: one item per export tablesafe started, in the stack's lease table, until a check reports
how the export ended (export/check.py), so that each end is reported once.

The items share the lease table with the slot leases (their keys start with `export#`), and expire by TTL long
after any export can have ended.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from tablesafe.aws.errors import ConditionFailed, call

IN_FLIGHT = "in-flight"
REGISTER_PREFIX = "export#"
REGISTER_KEPT_SECONDS = 90 * 86400  # TTL of a register item: long after any export ends (AWS: minutes to hours)


@dataclass(frozen=True)
class InFlight:
    """A register item: an export tablesafe started whose end no check has reported yet."""

    export_arn: str
    table: str
    plan: str
    rule: str
    slot: str
    started_at: float  # epoch seconds


class ExportRegister:
    """The register's items in `table`, through a DynamoDB client with botocore's retries (its writes' conditions
    make them idempotent)."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def track(self, item: InFlight) -> None:
        """Remember an export until a check reports its end; idempotent, and a no-op once it was reported."""
        with suppress(ConditionFailed):  # already reported: nothing to track
            self._call(
                self._client.put_item,
                "PutItem",
                TableName=self._table,
                Item={
                    "pk": {"S": f"{REGISTER_PREFIX}{item.export_arn}"},
                    "state": {"S": IN_FLIGHT},
                    "table": {"S": item.table},
                    "plan": {"S": item.plan},
                    "rule": {"S": item.rule},
                    "slot": {"S": item.slot},
                    "started_at": {"N": str(int(item.started_at))},
                    "ttl": {"N": str(int(item.started_at) + REGISTER_KEPT_SECONDS)},
                },
                ConditionExpression="attribute_not_exists(pk) OR #state = :in_flight",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":in_flight": {"S": IN_FLIGHT}},
            )

    def in_flight(self) -> list[InFlight]:
        """Every export the register holds as in flight (a consistent Scan: the table holds only leases and these)."""
        found: list[InFlight] = []
        params: dict[str, Any] = {
            "TableName": self._table,
            "ConsistentRead": True,
            "FilterExpression": "begins_with(pk, :prefix) AND #state = :in_flight",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {":prefix": {"S": REGISTER_PREFIX}, ":in_flight": {"S": IN_FLIGHT}},
        }
        while True:
            page = self._call(self._client.scan, "Scan", **params)
            for raw in page.get("Items", []):
                found.append(
                    InFlight(
                        export_arn=raw["pk"]["S"].removeprefix(REGISTER_PREFIX),
                        table=raw["table"]["S"],
                        plan=raw["plan"]["S"],
                        rule=raw["rule"]["S"],
                        slot=raw["slot"]["S"],
                        started_at=float(raw["started_at"]["N"]),
                    )
                )
            if "LastEvaluatedKey" not in page:
                return found
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def close(self, export_arn: str, status: str) -> bool:
        """Mark an in-flight export reported; False when another check did it first (so only one reports it)."""
        try:
            self._call(
                self._client.update_item,
                "UpdateItem",
                TableName=self._table,
                Key={"pk": {"S": f"{REGISTER_PREFIX}{export_arn}"}},
                UpdateExpression="SET #state = :status",
                ConditionExpression="#state = :in_flight",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":status": {"S": status}, ":in_flight": {"S": IN_FLIGHT}},
            )
        except ConditionFailed:
            return False  # another check closed it
        return True

    def _call(self, method: Callable[..., dict[str, Any]], operation: str, **params: Any) -> dict[str, Any]:
        return call(operation, self._client, lambda: method(**params))
