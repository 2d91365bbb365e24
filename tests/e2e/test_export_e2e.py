"""Export rules end to end: the synthesized template's monthly schedule event, its environment (the archive bucket it
made) and the bundled asset, on the stand-in; a later run's check reports how each export ended."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tools.lambda_runner import CloudAssembly, LambdaRunner, synthesize
from tools.standin import StandIn
from tools.standin.support import create_table, fill

pytestmark = pytest.mark.xdist_group("e2e")
SLOT = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
CONTEXT = {
    "tablesafe:regions": ["us-east-1"],
    "tablesafe:plans": {
        "gfs": {
            "rules": [
                {"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3},
                {
                    "name": "monthly",
                    "schedule": "cron(0 4 1 * ? *)",
                    "retentionDays": 2555,
                    "minKeep": 3,
                    "target": "export",
                },
            ],
            "pitr": {"enabled": True},
        }
    },
}


@pytest.fixture(scope="module")
def exporting(tmp_path_factory: pytest.TempPathFactory) -> CloudAssembly:
    return synthesize(Path(tmp_path_factory.mktemp("cdk.out")), CONTEXT)


@pytest.fixture
def runner(exporting: CloudAssembly, standin: StandIn) -> Iterator[LambdaRunner]:
    with LambdaRunner(exporting, standin.env()) as lambda_runner:
        yield lambda_runner


def schedule(assembly: CloudAssembly, rule: str):
    (found,) = [s for s in assembly.schedules_for("tablesafe-backup") if s.event(SLOT)["rule"] == rule]
    return found


def test_the_monthly_schedule_exports_each_table_once_and_a_later_run_reports_it(exporting, runner, standin) -> None:
    ddb = standin.client("dynamodb")
    for name in ("orders", "users"):
        create_table(ddb, name, {"backup-plan": "gfs"})
        fill(ddb, name, 20)
    standin.exporting_seconds = 3600
    monthly = schedule(exporting, "monthly").event(SLOT)

    first = runner.invoke("tablesafe-backup", monthly)
    again = runner.invoke("tablesafe-backup", monthly)
    standin.complete_exports()
    daily = runner.invoke("tablesafe-backup", schedule(exporting, "daily").event(SLOT))

    assert first.ok and again.ok and daily.ok, (first.error, again.error, daily.error)
    assert first.result["exportsStarted"] == 2 and again.result["exportsAlreadyPresent"] == 2
    assert daily.result["created"] == 2  # the daily rule still takes on-demand backups
    for table in ("orders", "users"):
        arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]
        assert len(ddb.list_exports(TableArn=arn)["ExportSummaries"]) == 1
    assert daily.metrics["ExportsCompleted"] == 2 and daily.metrics["ExportedBytes"] > 0
    (bucket,) = exporting.buckets.values()
    keys = [o["Key"] for o in standin.client("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    assert sum(k.endswith("/tablesafe-table.json") for k in keys) == 2
    assert all(k.startswith("tablesafe/123456789012/us-east-1/") for k in keys)


def test_a_failed_export_fails_the_run_that_finds_it_naming_the_table(exporting, runner, standin) -> None:
    ddb = standin.client("dynamodb")
    create_table(ddb, "orders", {"backup-plan": "gfs"})
    standin.exporting_seconds = 3600
    standin.fail_exports("orders", "S3AccessDenied", "Access denied")

    started = runner.invoke("tablesafe-backup", schedule(exporting, "monthly").event(SLOT))
    standin.complete_exports()
    found = runner.invoke("tablesafe-backup", schedule(exporting, "daily").event(SLOT))
    later = runner.invoke("tablesafe-backup", schedule(exporting, "daily").event(SLOT))

    assert started.ok, started.error
    assert found.error is not None and found.error["errorType"] == "BackupRunFailed"
    assert "orders" in found.error["errorMessage"] and "S3AccessDenied" in found.error["errorMessage"]
    assert found.metrics["ExportsFailed"] == 1
    assert any(line.get("message") == "export failed" and line.get("table") == "orders" for line in found.log_lines)
    assert later.ok  # reported once
