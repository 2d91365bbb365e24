"""`tablesafe drill` in the foreground and the last drill in `tablesafe status`, in-process on the stand-in."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tablesafe.aws.drill_records import DrillRecord, DrillRecords
from tests.integration.cli_support import run
from tests.lease_support import LEASE_TABLE, create_lease_table
from tools.standin.support import create_table, fill

PLANS = {
    "daily": {
        "rules": [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}],
        "drill": {"everyDays": 7},
    }
}


@pytest.fixture
def ddb(aws, tmp_path: Path):
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {"tablesafe:plans": PLANS}}))
    create_lease_table(aws)
    return aws


def backed_up(standin, ddb, table: str, items: int = 25) -> str:
    create_table(ddb, table, {"backup-plan": "daily"})
    fill(ddb, table, items)
    when = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    arn = ddb.create_backup(TableName=table, BackupName=f"tablesafe.daily.daily.{when:%Y%m%dT%H%MZ}")["BackupDetails"]
    standin.complete_backups()
    return str(arn["BackupArn"])


def test_drill_restores_verifies_deletes_and_records_the_result(standin, ddb, capsys) -> None:
    backed_up(standin, ddb, "orders")
    code, out, err = run(capsys, "drill", "orders", "--lease-table", LEASE_TABLE)
    assert code == 0, err
    assert "passed" in out and "25 counted, 25 recorded" in out and "(deleted)" in out
    assert [n for n in ddb.list_tables()["TableNames"] if "-drill-" in n] == []
    record = DrillRecords(LEASE_TABLE, client=ddb).get(["orders"])["orders"]
    assert record.verdict == "passed" and record.restore_seconds is not None


def test_a_drill_with_items_missing_exits_1_and_says_why(standin, ddb, capsys) -> None:
    arn = backed_up(standin, ddb, "orders", items=40)
    standin.restore_missing_items(arn, 20)
    code, out, _ = run(capsys, "drill", "orders", "--backup", arn, "--lease-table", LEASE_TABLE, "--json")
    assert code == 1
    result = json.loads(out)
    assert result["verdict"] == "failed" and result["counted_items"] == 20 and result["deleted"] is True


def test_drill_refuses_a_backup_of_another_table_and_a_table_without_backups(standin, ddb, capsys) -> None:
    other = backed_up(standin, ddb, "orders")
    create_table(ddb, "empty", {"backup-plan": "daily"})
    code, _, err = run(capsys, "drill", "empty", "--backup", other, "--lease-table", LEASE_TABLE)
    assert code == 2 and "not a backup of empty" in err
    code, _, err = run(capsys, "drill", "empty", "--lease-table", LEASE_TABLE)
    assert code == 1 and "no AVAILABLE tablesafe backup" in err


def test_status_shows_the_last_drill_and_flags_a_table_whose_last_pass_is_too_old(standin, ddb, capsys) -> None:
    backed_up(standin, ddb, "orders")
    backed_up(standin, ddb, "ledger")
    now = datetime.now(UTC)
    records = DrillRecords(LEASE_TABLE, client=ddb)
    records.put(DrillRecord("orders", "daily", "passed", now - timedelta(days=2), "ok", 754.0, "arn:b"))
    records.put(DrillRecord("ledger", "daily", "passed", now - timedelta(days=12), "ok", 60.0, "arn:b"))
    records.put(DrillRecord("ledger", "daily", "failed", now - timedelta(days=1), "20 items restored", None, "arn:c"))

    code, out, _ = run(capsys, "status", "--lease-table", LEASE_TABLE, "--json")
    tables = {t["table"]: t for t in json.loads(out)["tables"]}
    assert code == 1
    assert tables["orders"]["lastDrill"]["verdict"] == "passed" and "drill" not in tables["orders"]["flagKinds"]
    assert tables["ledger"]["flagKinds"] == ["drill"]
    assert tables["ledger"]["lastDrill"]["lastPassed"] is not None
    (flag,) = tables["ledger"]["flags"]
    assert (
        "drill overdue: last passed 12d 0h ago (limit 10d 12h)" in flag
        and "last drill failed: 20 items restored" in flag
    )

    code, out, _ = run(capsys, "status", "--lease-table", LEASE_TABLE, "--wide")
    assert "drill passed 2d 0h ago, restore 13 min" in out


def test_status_without_drills_deployed_shows_no_drills(standin, aws, capsys) -> None:
    create_table(aws, "orders", {"backup-plan": "daily"})
    _, out, _ = run(capsys, "status", "--json")
    assert json.loads(out)["tables"][0]["lastDrill"] is None
