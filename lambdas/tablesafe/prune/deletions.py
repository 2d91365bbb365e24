"""The prune's deletions: sent on the run's thread pool, recorded into the report and the log as they finish.

Each DeleteBackup's outcome is a decision (aws/dynamodb.py's DeleteOutcome): already gone and in use are not
failures; anything else the gateway raised is one, named with the backup. What the rules said to delete and is still
there afterwards (failed, in use) is kept in `still_stored`, for the cost report.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime
from typing import Any

from tablesafe.aws.dynamodb import Backup, DeleteOutcome, DynamoDbGateway, GatewayError
from tablesafe.observability import logger
from tablesafe.prune.report import REMOVED, Deletion, Outcome, PruneReport
from tablesafe.rules.retention import Decision


class Deletions:
    """The deletions in flight and the record of those done."""

    def __init__(
        self, gateway: DynamoDbGateway, report: PruneReport, now: datetime, cutoff: datetime, workers: int
    ) -> None:
        self.gateway = gateway
        self.report = report
        self.now = now
        self.cutoff = cutoff
        self.workers = workers
        self.in_flight: dict[Future[Deletion], Decision[Backup]] = {}
        self.still_stored: list[Backup] = []  # what the rules said to delete and is still there (in use, failed)

    @property
    def full(self) -> bool:
        """Enough deletions queued to keep every worker busy; settle some before starting more."""
        return len(self.in_flight) >= self.workers * 2

    def start(self, pool: ThreadPoolExecutor, decision: Decision[Backup]) -> None:
        self.in_flight[pool.submit(self._delete, decision)] = decision

    def settle(self, *, wait_all: bool, block: bool = True) -> None:
        """Record finished deletions: all of them, at least one, or (block=False) those already done."""
        if not self.in_flight:
            return
        if wait_all:
            done, _ = wait(self.in_flight)
        elif block:
            done, _ = wait(self.in_flight, return_when=FIRST_COMPLETED)
        else:
            done = {f for f in self.in_flight if f.done()}
        for future in done:
            decision = self.in_flight.pop(future)
            deletion = future.result()
            if deletion.outcome not in REMOVED and decision.backup.created < self.cutoff:
                self.still_stored.append(decision.backup)
            self.record(deletion)

    def _delete(self, decision: Decision[Backup]) -> Deletion:
        try:
            outcome = self.gateway.delete_backup(decision.backup.arn)
        except GatewayError as error:
            return self.deletion(decision, Outcome.FAILED, f"{error.code}: {error.message}")
        if outcome is DeleteOutcome.ALREADY_GONE:
            return self.deletion(decision, Outcome.ALREADY_GONE, "BackupNotFoundException: already deleted")
        if outcome is DeleteOutcome.IN_USE:
            return self.deletion(decision, Outcome.IN_USE, "BackupInUseException: the next run tries again")
        return self.deletion(decision, Outcome.DELETED)

    def deletion(self, decision: Decision[Backup], outcome: Outcome, detail: str = "") -> Deletion:
        b = decision.backup
        return Deletion(
            table=b.table_name,
            backup_name=b.name,
            backup_arn=b.arn,
            plan=decision.plan,
            rule=decision.rule,
            age_days=round(decision.age_days(self.now), 2),
            reason=decision.reason,
            outcome=outcome,
            detail=detail,
            table_id=b.table_id,
        )

    def record(self, deletion: Deletion) -> None:
        self.report.deletions.append(deletion)
        fields: dict[str, Any] = {
            "table": deletion.table,
            "table_id": deletion.table_id,
            "backup_name": deletion.backup_name,
            "backup_arn": deletion.backup_arn,
            "age_days": deletion.age_days,
            "plan": deletion.plan,
            "rule": deletion.rule,
            "reason": deletion.reason,
            "outcome": deletion.outcome.value,
        }
        if deletion.detail:
            fields["detail"] = deletion.detail
        if deletion.outcome is Outcome.FAILED:
            logger.error("backup deletion failed", **fields)
        elif deletion.outcome is Outcome.IN_USE:
            logger.warning("backup in use; skipped this run", **fields)
        elif deletion.outcome is Outcome.WOULD_DELETE:
            logger.info("backup would be deleted (dry run)", **fields)
        else:
            logger.info("backup deleted", **fields)


def decision_fields(decision: Decision[Backup], now: datetime) -> dict[str, Any]:
    """A decision's log fields."""
    b = decision.backup
    return {
        "table": b.table_name,
        "table_id": b.table_id,
        "backup_name": b.name,
        "backup_arn": b.arn,
        "age_days": round(decision.age_days(now), 2),
        "plan": decision.plan,
        "rule": decision.rule,
        "reason": decision.reason,
    }
