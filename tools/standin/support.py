"""Small helpers for the stand-in's own tests."""

from __future__ import annotations

from typing import Any

from botocore.config import Config

# One attempt, so a test sees exactly what the stand-in answered.
NO_RETRIES = Config(retries={"total_max_attempts": 1}, max_pool_connections=32)


def create_table(ddb: Any, name: str, tags: dict[str, str] | None = None) -> str:
    """An on-demand table with a string hash key `pk`; returns its ARN."""
    answer = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    )
    return str(answer["TableDescription"]["TableArn"])


def fill(ddb: Any, table: str, count: int, payload: str = "x" * 100) -> None:
    """`count` items with keys "0".."count-1" and a `data` attribute, written 25 at a time."""
    for start in range(0, count, 25):
        requests = [
            {"PutRequest": {"Item": {"pk": {"S": str(i)}, "data": {"S": payload}}}}
            for i in range(start, min(start + 25, count))
        ]
        ddb.batch_write_item(RequestItems={table: requests})


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore ClientError."""
    return str(error.response["Error"]["Code"])  # type: ignore[attr-defined]


def list_all_backups(ddb: Any, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every BackupSummary by following LastEvaluatedBackupArn; also the number of calls it took."""
    summaries: list[dict[str, Any]] = []
    calls = 0
    while True:
        page = ddb.list_backups(**params)
        calls += 1
        summaries.extend(page["BackupSummaries"])
        if "LastEvaluatedBackupArn" not in page:
            return summaries, calls
        params["ExclusiveStartBackupArn"] = page["LastEvaluatedBackupArn"]
