"""The CLI against the stand-in's faults and fidelity: unprocessed and throttled writes, backup ages, CREATING
backups, global-table replicas, and the installed command run as a separate process."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tablesafe_cli.copy_items import copy_retry
from tests.integration.cli_support import run

VENV_BIN = Path(sys.executable).parent


def make_table(client, name: str, plan: str | None = None) -> str:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    arn = client.describe_table(TableName=name)["Table"]["TableArn"]
    if plan is not None:
        client.tag_resource(ResourceArn=arn, Tags=[{"Key": "backup-plan", "Value": plan}])
    return arn


def fill(client, table: str, count: int) -> None:
    for start in range(0, count, 25):
        requests = [{"PutRequest": {"Item": {"pk": {"S": f"k{i:04d}"}}}} for i in range(start, min(count, start + 25))]
        client.batch_write_item(RequestItems={table: requests})


def count_items(client, table: str) -> int:
    return sum(page["Count"] for page in client.get_paginator("scan").paginate(TableName=table))


# -- copy-items under faults -------------------------------------------------------------------------------------


def test_overwrite_retries_items_the_service_leaves_unprocessed_until_all_are_written(aws, standin, capsys):
    make_table(aws, "restored")
    make_table(aws, "live")
    fill(aws, "restored", 200)
    standin.faults.set("BatchWriteItem", unprocessed=0.4, tables=["live"])

    code, out, _ = run(capsys, "copy-items", "--from", "restored", "--to", "live", "--filter", "attribute_exists(pk)",
                       "--mode", "overwrite", "--json")  # fmt: skip

    assert code == 0
    report = json.loads(out)
    assert (report["copied"], report["failed"]) == (200, [])
    assert standin.calls.unprocessed_items() > 0
    assert count_items(aws, "live") == 200


def test_skip_existing_rides_out_throttled_writes(aws, standin, capsys):
    make_table(aws, "restored")
    make_table(aws, "live")
    fill(aws, "restored", 30)
    standin.faults.set("PutItem", throttle=1.0, limit=4)

    code, out, _ = run(capsys, "copy-items", "--from", "restored", "--to", "live", "--filter", "attribute_exists(pk)",
                       "--json")  # fmt: skip

    assert code == 0
    assert json.loads(out)["copied"] == 30
    assert standin.calls.count("PutItem", "throttled") == 4
    assert count_items(aws, "live") == 30


def test_writes_that_stay_unprocessed_are_counted_failed_listed_and_exit_1(aws, standin, capsys, monkeypatch):
    make_table(aws, "restored")
    make_table(aws, "live")
    fill(aws, "restored", 30)
    standin.faults.set("BatchWriteItem", unprocessed=1.0, tables=["live"])
    # the same attempts, without the waits between them
    monkeypatch.setattr("tablesafe_cli.copy_items.copy_retry", functools.partial(copy_retry, sleep=lambda _: None))

    code, out, _ = run(capsys, "copy-items", "--from", "restored", "--to", "live", "--filter", "attribute_exists(pk)",
                       "--mode", "overwrite", "--json")  # fmt: skip

    assert code == 1
    report = json.loads(out)
    assert report["copied"] == 0 and len(report["failed"]) == 30
    assert report["failed"][0]["reason"] == "still unprocessed after 10 attempts"
    assert sorted(f["key"]["pk"] for f in report["failed"]) == [f"k{i:04d}" for i in range(30)]
    assert count_items(aws, "live") == 0


def test_a_dry_run_sends_no_write_at_all(aws, standin, capsys):
    make_table(aws, "restored")
    make_table(aws, "live")
    fill(aws, "restored", 40)
    fill(aws, "live", 10)
    standin.calls.reset()

    code, out, _ = run(capsys, "copy-items", "--from", "restored", "--to", "live", "--filter", "attribute_exists(pk)",
                       "--dry-run", "--json")  # fmt: skip

    assert code == 0
    assert json.loads(out)["wouldDo"] == {"copy": 30, "skip": 10, "overwrite": 0, "unchanged": 0}
    for write in ("PutItem", "BatchWriteItem", "UpdateItem", "DeleteItem", "TransactWriteItems"):
        assert standin.calls.count(write) == 0, write


# -- status and backup on the stand-in's fidelity ----------------------------------------------------------------


def test_status_flags_a_rule_whose_last_backup_is_older_than_one_and_a_half_intervals(aws, standin, capsys):
    make_table(aws, "orders", "daily")
    arn = json.loads(run(capsys, "backup", "orders", "--plan", "daily", "--rule", "daily", "--json")[1])["arn"]

    standin.set_backup_created(arn, datetime.now(UTC) - timedelta(hours=35))
    assert run(capsys, "status")[0] == 0  # 35 h < 1.5 x 24 h

    standin.set_backup_created(arn, datetime.now(UTC) - timedelta(hours=37))
    code, out, _ = run(capsys, "status", "--json")
    assert code == 1
    (table,) = json.loads(out)["tables"]
    assert table["flags"] == ["rule daily: last backup 1d 13h old (limit 1d 12h)"]


def test_backup_waits_until_the_backup_is_available_unless_told_not_to(aws, standin, capsys):
    make_table(aws, "orders")
    standin.creating_seconds = 1.0
    assert json.loads(run(capsys, "backup", "orders", "--json")[1])["status"] == "AVAILABLE"
    aws.create_table(
        TableName="users",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert json.loads(run(capsys, "backup", "users", "--no-wait", "--json")[1])["status"] == "CREATING"


def test_a_backup_while_another_is_being_created_fails_with_one_line(aws, standin, capsys):
    make_table(aws, "orders")
    standin.creating_seconds = 60.0
    assert run(capsys, "backup", "orders", "--no-wait")[0] == 0
    code, _, err = run(capsys, "backup", "orders", "--no-wait")
    assert code == 1
    assert err == "tablesafe: error: a backup of orders is being created right now; try again in a minute\n"


def test_a_throttled_create_backup_is_sent_again(aws, standin, capsys):
    make_table(aws, "orders")
    standin.faults.set("CreateBackup", throttle=1.0, limit=1)
    code, _, _ = run(capsys, "backup", "orders")
    assert code == 0
    assert standin.calls.count("CreateBackup", "throttled") == 1
    assert len(aws.list_backups(TableName="orders")["BackupSummaries"]) == 1


def test_status_shows_replicas_and_does_not_flag_a_replica_backed_up_elsewhere(aws, standin, capsys):
    arn = make_table(aws, "orders", "daily")
    standin.set_replicas("orders", ["eu-west-1", standin.region])

    code, out, _ = run(capsys, "status", "--json")
    (table,) = json.loads(out)["tables"]
    assert code == 0
    assert table["replicas"] == ["eu-west-1"] and table["backupsRegion"] == "eu-west-1"

    aws.tag_resource(ResourceArn=arn, Tags=[{"Key": "tablesafe:home-region", "Value": standin.region}])
    code, out, _ = run(capsys, "status", "--json")
    (table,) = json.loads(out)["tables"]
    assert code == 1
    assert table["backupsRegion"] == standin.region and table["flags"] == ["rule daily: no AVAILABLE backup"]


# -- the installed command, as a process of its own --------------------------------------------------------------


def test_the_installed_command_runs_against_the_standin(aws, standin, tmp_path):
    make_table(aws, "orders", "daily")
    make_table(aws, "scratch")
    env = {**os.environ, **standin.env()}
    done = subprocess.run(
        [str(VENV_BIN / "tablesafe"), "status", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    flags = {t["table"]: t["flags"] for t in json.loads(done.stdout)["tables"]}
    assert flags == {"orders": ["rule daily: no AVAILABLE backup"], "scratch": ["unprotected: no plan tag"]}
