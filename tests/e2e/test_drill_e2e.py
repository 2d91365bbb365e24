"""The deployable drill function, end to end: its schedule's event, the template's environment and lease table, the
bundled asset, on the stand-in. A drill that passes, and one that fails and makes the invocation fail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tools.lambda_runner import CloudAssembly, LambdaRunner, synthesize
from tools.standin.support import create_table, fill

pytestmark = pytest.mark.xdist_group("e2e")
RULES = [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}]
CONTEXT = {
    "tablesafe:regions": ["us-east-1"],
    "tablesafe:plans": {"daily": {"rules": RULES, "drill": {"everyDays": 7}}},
}


@pytest.fixture(scope="module")
def drill_assembly(tmp_path_factory: pytest.TempPathFactory) -> CloudAssembly:
    return synthesize(tmp_path_factory.mktemp("cdk.out"), CONTEXT)


@pytest.fixture
def drill_runner(drill_assembly: CloudAssembly, standin) -> Iterator[LambdaRunner]:
    with LambdaRunner(drill_assembly, standin.env()) as runner:
        yield runner


def test_the_drill_schedule_drills_the_latest_backup_and_a_failed_drill_fails_the_invocation(
    drill_assembly: CloudAssembly, drill_runner: LambdaRunner, standin
) -> None:
    ddb = standin.client("dynamodb")
    for table in ("orders", "broken"):
        create_table(ddb, table, {"backup-plan": "daily"})
        fill(ddb, table, 30)
    (backup_schedule,) = drill_assembly.schedules_for("tablesafe-backup")
    (drill_schedule,) = drill_assembly.schedules_for("tablesafe-drill")
    slot = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    assert drill_runner.invoke("tablesafe-backup", backup_schedule.event(slot)).ok
    standin.complete_backups()
    (broken,) = [s["BackupArn"] for s in ddb.list_backups(TableName="broken")["BackupSummaries"]]
    standin.restore_missing_items(broken, 12)

    started = drill_runner.invoke("tablesafe-drill", drill_schedule.event(slot))
    assert started.ok, started.error
    assert len(started.result["started"]) == 2

    finished = drill_runner.invoke("tablesafe-drill", drill_schedule.event(slot))
    assert not finished.ok  # the broken table's drill failed: Lambda's Errors metric sees it
    assert finished.error is not None and finished.error["errorType"] == "DrillRunFailed"
    assert "broken: 18 items restored, the backup recorded 30" in finished.error["errorMessage"]
    assert "orders" not in finished.error["errorMessage"]
    results = {r["table"]: r for r in (line for line in finished.log_lines if line.get("message") == "drill result")}
    assert results["orders"]["verdict"] == "passed" and results["broken"]["verdict"] == "failed"
    assert finished.metrics["DrillsPassed"] == 1 and finished.metrics["DrillsFailed"] == 1
    assert "RestoreSeconds" in finished.metrics
    assert [n for n in ddb.list_tables()["TableNames"] if "-drill-" in n] == []
