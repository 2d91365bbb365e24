"""What the archive keeps beside each export (`tablesafe-table.json`): the settings a restore needs and an export
does not hold (keys, indexes, billing, TTL and a few more), from DescribeTable's and DescribeTimeToLive's answers.
Pure: the answers are parameters (the export gateway asks for them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def settings_document(described: Mapping[str, Any], ttl_description: Mapping[str, Any]) -> dict[str, Any]:
    """DescribeTable's `Table` and DescribeTimeToLive's `TimeToLiveDescription` as the settings document."""
    billing = described.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    settings: dict[str, Any] = {
        "version": 1,
        "tableName": described["TableName"],
        "tableArn": described["TableArn"],
        "tableId": described.get("TableId"),
        "keySchema": described["KeySchema"],
        "attributeDefinitions": described["AttributeDefinitions"],
        "billingMode": billing,
        "globalSecondaryIndexes": [_index(i, billing) for i in described.get("GlobalSecondaryIndexes", [])],
        "localSecondaryIndexes": [_index(i, None) for i in described.get("LocalSecondaryIndexes", [])],
        "ttlAttribute": ttl_description.get("AttributeName")
        if ttl_description.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
        else None,
        "tableClass": described.get("TableClassSummary", {}).get("TableClass", "STANDARD"),
        "deletionProtection": bool(described.get("DeletionProtectionEnabled", False)),
    }
    if billing == "PROVISIONED":
        settings["provisionedThroughput"] = _throughput(described.get("ProvisionedThroughput", {}))
    stream = described.get("StreamSpecification")
    if stream and stream.get("StreamEnabled"):
        settings["streamViewType"] = stream.get("StreamViewType")
    return settings


def _throughput(raw: Mapping[str, Any]) -> dict[str, int]:
    return {
        "ReadCapacityUnits": int(raw.get("ReadCapacityUnits", 0) or 1),
        "WriteCapacityUnits": int(raw.get("WriteCapacityUnits", 0) or 1),
    }


def _index(raw: Mapping[str, Any], billing: str | None) -> dict[str, Any]:
    index: dict[str, Any] = {
        "IndexName": raw["IndexName"],
        "KeySchema": raw["KeySchema"],
        "Projection": raw["Projection"],
    }
    if billing == "PROVISIONED":
        index["ProvisionedThroughput"] = _throughput(raw.get("ProvisionedThroughput", {}))
    return index
