"""The naive approach, for comparison: what a first script would do, paced at the same documented rates.

Backup: ListTables pages, one ListTagsOfResource per table, then CreateBackup table after table.
Prune: list every backup of the account, decide with the same retention rules, delete one after another.
Both are correct (the prune sees every backup, so minKeep holds); they are slow, not wrong.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tablesafe.aws.clients import RateLimiter
from tablesafe.aws.dynamodb import Backup
from tablesafe.config.plans import Plan
from tablesafe.rules.retention import Verdict, decide


@dataclass
class Phases:
    """Seconds spent in each phase, and the items each phase handled (for extrapolating to larger sizes)."""

    seconds: dict[str, float] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)

    def timed(self, phase: str, started: float, items: int) -> None:
        self.seconds[phase] = time.monotonic() - started
        self.items[phase] = items


class _Paced:
    """A boto3 client whose calls wait their turn at the documented rates (so the naive code is never throttled)."""

    def __init__(self, client: Any, limits: Mapping[str, float]) -> None:
        self.client = client
        self._limiters = {operation: RateLimiter(rate) for operation, rate in limits.items()}

    def call(self, operation: str, method: str, **params: Any) -> dict[str, Any]:
        limiter = self._limiters.get(operation)
        if limiter is not None:
            limiter.acquire()
        answer: dict[str, Any] = getattr(self.client, method)(**params)
        return answer


def naive_backup(
    ddb: Any, limits: Mapping[str, float], *, account: str, tag_key: str, plan: str, backup_name: str
) -> tuple[list[str], Phases]:
    """Back up every table whose `tag_key` is `plan`, the naive way; returns the tables backed up and the phases."""
    client = _Paced(ddb, limits)
    region = ddb.meta.region_name
    phases = Phases()
    started = time.monotonic()
    names: list[str] = []
    params: dict[str, Any] = {"Limit": 100}
    while True:
        page = client.call("ListTables", "list_tables", **params)
        names.extend(page.get("TableNames", []))
        if not page.get("LastEvaluatedTableName"):
            break
        params["ExclusiveStartTableName"] = page["LastEvaluatedTableName"]
    phases.timed("ListTables", started, len(names))
    started = time.monotonic()
    tagged = []
    for name in names:
        arn = f"arn:aws:dynamodb:{region}:{account}:table/{name}"
        tags = client.call("ListTagsOfResource", "list_tags_of_resource", ResourceArn=arn).get("Tags", [])
        if any(tag["Key"] == tag_key and tag["Value"] == plan for tag in tags):
            tagged.append(name)
    phases.timed("ListTagsOfResource", started, len(names))
    started = time.monotonic()
    for name in tagged:
        client.call("CreateBackup", "create_backup", TableName=name, BackupName=backup_name)
    phases.timed("CreateBackup", started, len(tagged))
    return tagged, phases


def naive_prune(
    ddb: Any, limits: Mapping[str, float], *, plans: Mapping[str, Plan], prefix: str, now: datetime
) -> tuple[list[str], Phases]:
    """List every USER backup, decide with the retention rules, delete one by one; returns the ARNs deleted."""
    client = _Paced(ddb, limits)
    phases = Phases()
    started = time.monotonic()
    backups: list[Backup] = []
    params: dict[str, Any] = {"BackupType": "USER", "Limit": 100}
    while True:
        page = client.call("ListBackups", "list_backups", **params)
        for s in page.get("BackupSummaries", []):
            backups.append(
                Backup(
                    arn=s["BackupArn"],
                    name=s["BackupName"],
                    table_name=s["TableName"],
                    created=s["BackupCreationDateTime"],
                    status=s["BackupStatus"],
                    backup_type=s["BackupType"],
                    size_bytes=s.get("BackupSizeBytes"),
                )
            )
        if not page.get("LastEvaluatedBackupArn"):
            break
        params["ExclusiveStartBackupArn"] = page["LastEvaluatedBackupArn"]
    phases.timed("ListBackups", started, len(backups))
    started = time.monotonic()
    doomed = [d.backup.arn for d in decide(backups, plans, prefix, now) if d.verdict is Verdict.DELETE]
    for arn in doomed:
        client.call("DeleteBackup", "delete_backup", BackupArn=arn)
    phases.timed("DeleteBackup", started, len(doomed))
    return doomed, phases
