"""The item gateway: the reads and writes of a partial restore (batch reads and writes, conditional puts, scans).

Data-plane calls are paced by DynamoDB's own throttling, which botocore's standard retry mode absorbs; what it does
not retry (UnprocessedKeys, UnprocessedItems) is returned to the caller, whose retry policy sends it again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tablesafe.aws.errors import ConditionFailed, call, pages

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, Any]  # one item in DynamoDB's typed JSON: {"pk": {"S": "a"}, "n": {"N": "1"}}
BATCH_GET_LIMIT = 100  # BatchGetItem takes at most 100 keys a call
BATCH_WRITE_LIMIT = 25  # BatchWriteItem takes at most 25 requests a call


@dataclass(frozen=True)
class Page:
    """One page of a Scan or Query."""

    items: list[Item]
    scanned: int


class ItemGateway:
    """The items of a region's tables, in DynamoDB's typed JSON."""

    def __init__(self, dynamodb: DynamoDBClient) -> None:
        self._dynamodb = dynamodb

    def batch_get(
        self, table: str, keys: Sequence[Item], *, consistent: bool = True, only: Sequence[str] = ()
    ) -> tuple[list[Item], list[Item]]:
        """One BatchGetItem of at most 100 keys (`only`: just these attributes): (items found, keys unprocessed)."""
        request: Any = {"Keys": list(keys), "ConsistentRead": consistent}
        if only:
            names = {f"#a{i}": name for i, name in enumerate(only)}
            request.update(ProjectionExpression=", ".join(names), ExpressionAttributeNames=names)
        response = call(
            "BatchGetItem", self._dynamodb, lambda: self._dynamodb.batch_get_item(RequestItems={table: request})
        )
        found: Mapping[str, Any] = response.get("Responses", {})
        left: Mapping[str, Any] = response.get("UnprocessedKeys", {})
        items: list[Item] = list(found.get(table, []))
        unprocessed: list[Item] = list(left.get(table, {}).get("Keys", []))
        return items, unprocessed

    def batch_put(self, table: str, items: Sequence[Item]) -> list[Item]:
        """One BatchWriteItem of at most 25 puts; returns the items left unprocessed."""
        requests: Any = {table: [{"PutRequest": {"Item": item}} for item in items]}
        response = call(
            "BatchWriteItem", self._dynamodb, lambda: self._dynamodb.batch_write_item(RequestItems=requests)
        )
        return [dict(r["PutRequest"]["Item"]) for r in response.get("UnprocessedItems", {}).get(table, [])]

    def put_if_absent(self, table: str, item: Item, hash_key: str) -> bool:
        """PutItem unless an item with the same key exists (one atomic check-and-write); False when it existed."""
        try:
            call(
                "PutItem",
                self._dynamodb,
                lambda: self._dynamodb.put_item(
                    TableName=table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(#k)",
                    ExpressionAttributeNames={"#k": hash_key},
                ),
            )
        except ConditionFailed:
            return False
        return True

    def scan(
        self,
        table: str,
        *,
        segment: int = 0,
        total_segments: int = 1,
        filter_expression: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Iterator[Page]:
        """Scan one segment, strongly consistent, page by page."""
        params: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
        if total_segments > 1:
            params.update(Segment=segment, TotalSegments=total_segments)
        _add_expression(params, "FilterExpression", filter_expression, names, values)
        listing = self._dynamodb.get_paginator("scan").paginate(**params)
        for page in pages("Scan", self._dynamodb, listing):
            yield Page(items=list(page.get("Items", [])), scanned=int(page.get("ScannedCount", 0)))

    def query(
        self,
        table: str,
        *,
        key_condition: str,
        filter_expression: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Iterator[Page]:
        """Query the table, strongly consistent, page by page."""
        params: dict[str, Any] = {"TableName": table, "ConsistentRead": True, "KeyConditionExpression": key_condition}
        _add_expression(params, "FilterExpression", filter_expression, names, values)
        listing = self._dynamodb.get_paginator("query").paginate(**params)
        for page in pages("Query", self._dynamodb, listing):
            yield Page(items=list(page.get("Items", [])), scanned=int(page.get("ScannedCount", 0)))


def _add_expression(
    params: dict[str, Any],
    key: str,
    expression: str | None,
    names: Mapping[str, str] | None,
    values: Mapping[str, Any] | None,
) -> None:
    if expression:
        params[key] = expression
    if names:
        params["ExpressionAttributeNames"] = dict(names)
    if values:
        params["ExpressionAttributeValues"] = dict(values)
