"""The slot leases' DynamoDB table: the only module that calls boto3 for it.

One item per lease key (`pk`), written with conditions, so two invocations can never both believe they hold it.
botocore's standard retries resend a write whose answer was lost; the conditions let our own write through again
(the holder is ours), so a resend never turns a taken lease into a refused one. The items carry `ttl` (epoch
seconds), the table's TTL attribute, so DynamoDB removes them a week after they lapse; expiry itself is decided by
`expires_at`, never by TTL, whose deletions AWS makes "within a few days".
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from tablesafe.aws.clients import client_config
from tablesafe.slots.lease import RECORD_KEPT_SECONDS, LeaseRecord, LeaseState, LeaseStoreError

CONDITION_FAILED = "ConditionalCheckFailedException"


class LeaseTable:
    """Slot leases in one DynamoDB table (partition key `pk`, string)."""

    def __init__(self, table_name: str, *, client: Any = None, session: boto3.Session | None = None) -> None:
        self.table_name = table_name
        # A few connections: an invocation writes its lease a handful of times. Standard retries, as for every
        # idempotent call (the conditions make these writes idempotent).
        config = client_config(max_attempts=8, max_connections=4, read_timeout=10, agent="tablesafe-lease")
        self._client = client or (session or boto3.Session()).client("dynamodb", config=config)

    def take(self, key: str, holder: str, expires_at: float, now: float, predecessor: str | None) -> LeaseRecord:
        """PutItem if free, lapsed, ours or the predecessor's; else the current record (ReturnValuesOnConditionCheck
        Failure, or a consistent read when the answer did not carry it)."""
        condition = "attribute_not_exists(pk) OR expires_at < :now OR holder = :me"
        values: dict[str, Any] = {":now": _number(now), ":me": {"S": holder}}
        if predecessor:
            condition += " OR holder = :predecessor"
            values[":predecessor"] = {"S": predecessor}
        item = {
            "pk": {"S": key},
            "holder": {"S": holder},
            "expires_at": _number(expires_at),
            "state": {"S": LeaseState.HELD.value},
            "taken_at": _number(now),
            "ttl": {"N": str(int(expires_at + RECORD_KEPT_SECONDS))},
        }
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if _code(error) != CONDITION_FAILED:
                raise _store_error("PutItem", error) from error
            returned: dict[str, Any] | None = error.response.get("Item")  # type: ignore[assignment]
            current = returned or self._read(key)
            if current is None:  # deleted between the write and the read: free again, the caller tries again
                return LeaseRecord(holder="", expires_at=0.0, state=LeaseState.RELEASED)
            return _record(current)
        except BotoCoreError as error:
            raise LeaseStoreError(f"PutItem on {self.table_name}: {type(error).__name__}: {error}") from error
        return LeaseRecord(holder=holder, expires_at=expires_at)

    def update(self, key: str, holder: str, expires_at: float, state: LeaseState, now: float) -> bool:
        """UpdateItem of expiry and state, if `holder` still holds it."""
        ttl = int(max(expires_at, now) + RECORD_KEPT_SECONDS)
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": key}},
                UpdateExpression="SET expires_at = :until, #state = :state, updated_at = :now, #ttl = :ttl",
                ConditionExpression="holder = :me",
                ExpressionAttributeNames={"#state": "state", "#ttl": "ttl"},  # both are DynamoDB reserved words
                ExpressionAttributeValues={
                    ":until": _number(expires_at),
                    ":state": {"S": state.value},
                    ":now": _number(now),
                    ":ttl": {"N": str(ttl)},
                    ":me": {"S": holder},
                },
            )
        except ClientError as error:
            if _code(error) == CONDITION_FAILED:
                return False
            raise _store_error("UpdateItem", error) from error
        except BotoCoreError as error:
            raise LeaseStoreError(f"UpdateItem on {self.table_name}: {type(error).__name__}: {error}") from error
        return True

    def _read(self, key: str) -> dict[str, Any] | None:
        try:
            answer = self._client.get_item(TableName=self.table_name, Key={"pk": {"S": key}}, ConsistentRead=True)
        except ClientError as error:
            raise _store_error("GetItem", error) from error
        except BotoCoreError as error:
            raise LeaseStoreError(f"GetItem on {self.table_name}: {type(error).__name__}: {error}") from error
        item: dict[str, Any] | None = answer.get("Item")
        return item


def _record(item: dict[str, Any]) -> LeaseRecord:
    state = item.get("state", {}).get("S", LeaseState.HELD.value)
    return LeaseRecord(
        holder=item.get("holder", {}).get("S", ""),
        expires_at=float(item.get("expires_at", {}).get("N", "0")),
        state=LeaseState(state) if state in LeaseState._value2member_map_ else LeaseState.HELD,
    )


def _number(value: float) -> dict[str, str]:
    return {"N": str(Decimal(value).quantize(Decimal("0.001")))}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _store_error(operation: str, error: ClientError) -> LeaseStoreError:
    details = error.response.get("Error", {})
    return LeaseStoreError(f"{operation} on the lease table: {details.get('Code')}: {details.get('Message', '')}")
