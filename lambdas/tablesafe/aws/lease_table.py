"""The slot leases' DynamoDB table: the only module that calls boto3 for it.

One item per lease key (`pk`), written with conditions, so two invocations can never both believe they hold it.
botocore's standard retries resend a write whose answer was lost; the conditions let our own write through again
(the holder is ours), so a resend never turns a taken lease into a refused one. The items carry `ttl` (epoch
seconds), the table's TTL attribute, so DynamoDB removes them a week after they lapse; expiry itself is decided by
`expires_at`, never by TTL, whose deletions AWS makes "within a few days".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from tablesafe.aws.errors import ConditionFailed, GatewayError, call
from tablesafe.slots.lease import RECORD_KEPT_SECONDS, LeaseRecord, LeaseState, LeaseStoreError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

R = TypeVar("R")
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


class LeaseTable:
    """Slot leases in one DynamoDB table (partition key `pk`, string)."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self.table_name = table_name
        self._client = client  # aws/clients.py's lease_client: standard retries, a few connections

    def take(self, key: str, holder: str, expires_at: float, now: float, predecessor: str | None) -> LeaseRecord:
        """PutItem if free, lapsed, ours or the predecessor's; else the current record (ReturnValuesOnConditionCheck
        Failure, or a consistent read when the answer did not carry it)."""
        condition = "attribute_not_exists(pk) OR expires_at < :now OR holder = :me"
        values: dict[str, Any] = {":now": _seconds(now), ":me": holder}
        if predecessor:
            condition += " OR holder = :predecessor"
            values[":predecessor"] = predecessor
        item = {
            "pk": key,
            "holder": holder,
            "expires_at": _seconds(expires_at),
            "state": LeaseState.HELD.value,
            "taken_at": _seconds(now),
            "ttl": int(expires_at + RECORD_KEPT_SECONDS),
        }
        try:
            answer = self._send(
                "PutItem",
                lambda: self._client.put_item(
                    TableName=self.table_name,
                    Item=_typed(item),
                    ConditionExpression=condition,
                    ExpressionAttributeValues=_typed(values),
                    ReturnValues="ALL_OLD",  # whom it was taken from: a continuation may trust its cursor (lease.py)
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                ),
            )
        except ConditionFailed as refusal:
            current = _returned_item(refusal) or self._read(key)
            if current is None:  # deleted between the write and the read: free again, the caller tries again
                return LeaseRecord(holder="", expires_at=0.0, state=LeaseState.RELEASED)
            return _record(current)
        previous = answer.get("Attributes", {}).get("holder", {}).get("S", "")
        return LeaseRecord(holder=holder, expires_at=expires_at, taken_from=previous)

    def update(self, key: str, holder: str, expires_at: float, state: LeaseState, now: float) -> bool:
        """UpdateItem of expiry and state, if `holder` still holds it."""
        ttl = int(max(expires_at, now) + RECORD_KEPT_SECONDS)
        values = {
            ":until": _seconds(expires_at),
            ":state": state.value,
            ":now": _seconds(now),
            ":ttl": ttl,
            ":me": holder,
        }
        try:
            self._send(
                "UpdateItem",
                lambda: self._client.update_item(
                    TableName=self.table_name,
                    Key=_typed({"pk": key}),
                    UpdateExpression="SET expires_at = :until, #state = :state, updated_at = :now, #ttl = :ttl",
                    ConditionExpression="holder = :me",
                    ExpressionAttributeNames={"#state": "state", "#ttl": "ttl"},  # both are DynamoDB reserved words
                    ExpressionAttributeValues=_typed(values),
                ),
            )
        except ConditionFailed:
            return False
        return True

    def _read(self, key: str) -> Mapping[str, Any] | None:
        answer = self._send(
            "GetItem",
            lambda: self._client.get_item(TableName=self.table_name, Key=_typed({"pk": key}), ConsistentRead=True),
        )
        item: Mapping[str, Any] | None = answer.get("Item")
        return item

    def _send(self, operation: str, send: Callable[[], R]) -> R:
        """One call; a refused condition as ConditionFailed, any other failure as LeaseStoreError."""
        try:
            return call(operation, self._client, send)
        except ConditionFailed:
            raise
        except GatewayError as error:
            raise LeaseStoreError(
                f"{operation} on the lease table {self.table_name}: {error.code}: {error.message}"
            ) from error


def _record(item: Mapping[str, Any]) -> LeaseRecord:
    plain = {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}
    state = str(plain.get("state", LeaseState.HELD.value))
    return LeaseRecord(
        holder=str(plain.get("holder", "")),
        expires_at=float(plain.get("expires_at", 0)),
        state=LeaseState(state) if state in LeaseState._value2member_map_ else LeaseState.HELD,
    )


def _typed(values: Mapping[str, Any]) -> Any:
    """Plain values as DynamoDB's typed JSON (boto3's TypeSerializer: str -> S, int and Decimal -> N)."""
    return {name: _SERIALIZER.serialize(value) for name, value in values.items()}


def _seconds(value: float) -> Decimal:
    """Epoch seconds to the millisecond, as a Decimal (DynamoDB numbers are exact; floats are refused)."""
    return Decimal(value).quantize(Decimal("0.001"))


def _returned_item(refusal: ConditionFailed) -> Mapping[str, Any] | None:
    """The item a refused write's answer carries (ReturnValuesOnConditionCheckFailure), if it does."""
    cause = refusal.__cause__
    item: Mapping[str, Any] | None = cause.response.get("Item") if isinstance(cause, ClientError) else None  # type: ignore[assignment]
    return item
