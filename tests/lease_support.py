"""The slot-lease table as the stack declares it (infra/leases.py), for tests that run the use case in-process."""

from __future__ import annotations

from typing import Any

from infra.leases import PARTITION_KEY, TTL_ATTRIBUTE
from tablesafe.aws.clients import lease_client
from tablesafe.aws.lease_table import LeaseTable
from tablesafe.slots.lease import SlotLeases, WaitPolicy

LEASE_TABLE = "tablesafe-slot-leases"


def create_lease_table(ddb: Any, name: str = LEASE_TABLE) -> str:
    """An on-demand table keyed by `pk` with TTL on `ttl`, as the stack makes it; returns its name."""
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": PARTITION_KEY, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True},
    )
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE})
    return name


def slot_leases(name: str = LEASE_TABLE, **kwargs: Any) -> SlotLeases:
    """SlotLeases on the table through the environment's endpoint; kwargs as SlotLeases takes them."""
    kwargs.setdefault("policy", WaitPolicy())
    return SlotLeases(LeaseTable(name, lease_client()), **kwargs)


def lease_items(ddb: Any, name: str = LEASE_TABLE) -> list[dict[str, Any]]:
    """Every lease item, read without faults by the caller's client."""
    return list(ddb.scan(TableName=name, ConsistentRead=True)["Items"])
