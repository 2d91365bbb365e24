"""What restore drills meet in AWS and moto does not give: refused restores, restores with items missing, the
account's limit of concurrent restores, the encryption and indexes a backup records and a restore keeps.

- A refused restore (`refuse_restore`): the backup's KMS key is disabled, say. AWS documents no error code for
  that on RestoreTableFromBackup; the stand-in answers ValidationException naming the key, at the call (the
  stricter way: nothing is created, the drill must report the refusal).
- Items missing (`restore_missing_items`): the restored table lacks N of the backup's items, as a restore that went
  wrong would; what a drill's count must catch.
- Concurrent restores: DynamoDB's service quotas allow 50 restores in progress per account ("Concurrent restore
  operations"); RestoreTableFromBackup beyond them answers LimitExceededException (API_RestoreTableFromBackup,
  Errors). `max_concurrent_restores` lowers the 50 for tests.
- DescribeBackup's SourceTableFeatureDetails (API_SourceTableFeatureDetails): the backup's local and global
  secondary indexes (IndexName, KeySchema, Projection) and SSEDescription; moto gives {}.
- BillingModeOverride (API_RestoreTableFromBackup): the restored table's billing mode; moto leaves it unset.
- Encryption: "the table that is restored from a backup also has encryption enabled" with the backup's key unless
  the restore overrides it (Developer Guide, encryption.usagenotes); moto's restored table has none.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from moto.dynamodb.models.table import Table

from tools.standin.protocol import dynamodb_error, validation_error

DEFAULT_MAX_CONCURRENT_RESTORES = 50


@dataclass
class RestoreOutcomes:
    """Per-backup outcomes of a restore, and the account's concurrent-restore limit."""

    refused: dict[str, str] = field(default_factory=dict)  # backup ARN -> the refusal's message
    missing_items: dict[str, int] = field(default_factory=dict)  # backup ARN -> items the restore leaves out
    max_concurrent: int = DEFAULT_MAX_CONCURRENT_RESTORES

    def reset(self) -> None:
        self.refused.clear()
        self.missing_items.clear()
        self.max_concurrent = DEFAULT_MAX_CONCURRENT_RESTORES

    def check(self, backup_arn: str, in_progress: int) -> None:
        """Refuse before moto restores: a refused backup, or the account's restores at their limit."""
        if in_progress >= self.max_concurrent:
            raise dynamodb_error(
                "LimitExceededException",
                f"Too many concurrent restore operations: {in_progress} in progress, limit {self.max_concurrent}",
            )
        message = self.refused.get(backup_arn)
        if message is not None:
            raise validation_error(message)

    def after_restore(self, body: dict[str, Any], source: Table | None, restored: Table | None) -> None:
        """Give the restored table the billing mode asked for and the backup's encryption, and leave out the items a
        test asked to be missing."""
        if restored is None:
            return
        backup_arn = str(body.get("BackupArn", ""))
        if body.get("BillingModeOverride") in ("PAY_PER_REQUEST", "PROVISIONED"):
            restored.billing_mode = body["BillingModeOverride"]
        if source is not None and source.sse_specification:
            restored.sse_specification = copy.deepcopy(source.sse_specification)
        missing = self.missing_items.get(backup_arn, 0)
        for _ in range(missing):
            if not _drop_one(restored):
                break


def _drop_one(table: Table) -> bool:
    for hash_key, value in list(table.items.items()):
        if table.range_key_attr:
            if value:
                value.pop(next(iter(value)))
                if not value:
                    del table.items[hash_key]
                return True
            continue
        del table.items[hash_key]
        return True
    return False


def feature_details(table: Table) -> dict[str, Any]:
    """SourceTableFeatureDetails of a backup of `table` (API_SourceTableFeatureDetails)."""
    details: dict[str, Any] = {}
    local = [_index_info(i.describe()) for i in table.indexes]
    global_ = [_index_info(i.describe(), with_throughput=True) for i in table.global_indexes]
    if local:
        details["LocalSecondaryIndexes"] = local
    if global_:
        details["GlobalSecondaryIndexes"] = global_
    sse = table.sse_specification
    if sse and sse.get("Enabled") is True:
        details["SSEDescription"] = {
            "Status": "ENABLED",
            "SSEType": "KMS",
            "KMSMasterKeyArn": sse.get("KMSMasterKeyId"),
        }
    return details


def _index_info(described: dict[str, Any], *, with_throughput: bool = False) -> dict[str, Any]:
    info = {k: described[k] for k in ("IndexName", "KeySchema", "Projection") if k in described}
    if with_throughput and "ProvisionedThroughput" in described:
        info["ProvisionedThroughput"] = described["ProvisionedThroughput"]
    return info
