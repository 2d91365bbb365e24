"""Two deliveries of one schedule event to the deployable backup function at once: the template's lease table (the
runner creates it as CloudFormation would) keeps them to one backup per table."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime

import pytest

from tools.lambda_runner import Invocation
from tools.standin.support import create_table, list_all_backups

pytestmark = pytest.mark.xdist_group("e2e")
SLOT = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def test_a_schedule_event_delivered_twice_at_once_makes_one_backup_per_table(assembly, runner, standin):
    ddb = standin.client("dynamodb")
    names = [f"t{i:02d}" for i in range(30)]
    for name in names:
        create_table(ddb, name, {"backup-plan": "daily"})
    # Backups are AVAILABLE at once, so AWS would take a second CreateBackup of any table; each call takes 0.5 s,
    # so the holder is still at work when the other delivery starts.
    standin.faults.set("CreateBackup", latency_ms=500)
    (schedule,) = [s for s in assembly.schedules_for("tablesafe-backup") if s.event(SLOT)["plan"] == "daily"]
    event = schedule.event(SLOT)
    runs: list[Invocation] = []

    def deliver() -> None:
        runs.append(runner.invoke("tablesafe-backup", event))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(run.ok for run in runs), [run.error for run in runs]
    backups = Counter(s["TableName"] for s in list_all_backups(ddb)[0])
    assert backups == dict.fromkeys(names, 1)
    results = sorted((run.result for run in runs), key=lambda r: r["duplicateDelivery"])
    assert [(r["created"], r["alreadyPresent"], r["duplicateDelivery"]) for r in results] == [
        (30, 0, False),
        (0, 30, True),
    ]
    assert {r["lease"] for r in results} == {"held"}
    waited = next(run for run in runs if run.result["duplicateDelivery"])
    assert waited.metrics["DuplicateDeliveries"] == 1 and waited.metrics["BackupRunsSucceeded"] == 1
