"""Bad input refused at once, errors as the user typed them, an unreachable endpoint named, and Ctrl-C explained."""

from __future__ import annotations

import json
import socket
import time

import pytest

from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.aws.tables import TableGateway
from tests.integration.cli_support import run


def make_table(client, name: str, plan: str | None = None, items: int = 0) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    if plan is not None:
        arn = client.describe_table(TableName=name)["Table"]["TableArn"]
        client.tag_resource(ResourceArn=arn, Tags=[{"Key": "backup-plan", "Value": plan}])
    for i in range(items):
        client.put_item(TableName=name, Item={"pk": {"S": f"item-{i}"}, "n": {"N": str(i)}})


COPY = ["copy-items", "--from", "a", "--to", "b", "--filter", "attribute_exists(pk)"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([*COPY, "--segments", "1000000"], "argument --segments: must be from 1 to 64, got 1000000"),
        ([*COPY, "--segments", "0"], "argument --segments: must be from 1 to 64, got 0"),
        ([*COPY, "--segments", "many"], "argument --segments: expected a whole number from 1 to 64, got 'many'"),
        ([*COPY, "--workers", "65"], "argument --workers: must be from 1 to 64, got 65"),
        ([*COPY, "--workers", "-1"], "argument --workers: must be from 1 to 64, got -1"),
        (["backup", "orders", "--timeout", "-5"], "argument --timeout: must be more than 0 and at most 86400 seconds"),
        (["backup", "orders", "--timeout", "0"], "argument --timeout: must be more than 0 and at most 86400 seconds"),
        (["backup", "orders", "--timeout", "nan"], "argument --timeout: must be more than 0 and at most 86400 seconds"),
        (["backup", "orders", "--timeout", "1e9"], "argument --timeout: must be more than 0 and at most 86400 seconds"),
        (["restore", "orders", "--to", "x", "--timeout", "inf"], "argument --timeout: must be more than 0 and at most"),
        (["restore", "orders", "--to", "x", "--poll", "0"], "argument --poll: must be more than 0 and at most 300"),
        (["status", "--fail-on", "everything"], "argument --fail-on: expected a comma-separated list of"),
    ],
)
def test_an_out_of_bounds_option_is_one_line_and_exit_2_at_once(aws, capsys, argv, message):
    started = time.monotonic()
    code, out, err = run(capsys, *argv)
    assert time.monotonic() - started < 1.0
    assert code == 2 and out == ""
    assert err.startswith(f"tablesafe: error: {message}") and err.count("\n") == 1, err


def test_the_extremes_of_each_bound_are_accepted(aws, capsys):
    make_table(aws, "orders", items=3)
    make_table(aws, "copy")
    for segments, workers in (("1", "1"), ("64", "64")):
        code, out, _ = run(capsys, "copy-items", "--from", "orders", "--to", "copy", "--filter", "attribute_exists(pk)",
                           "--segments", segments, "--workers", workers, "--json")  # fmt: skip
        assert code == 0 and json.loads(out)["read"] == 3
    assert run(capsys, "backup", "orders", "--timeout", "86400")[0] == 0


@pytest.fixture
def two_tables(aws):
    make_table(aws, "restored", items=3)
    make_table(aws, "live")
    return aws


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ('{"pk": "item-0"}\n{"pk": "item-1"}\nnot json\n', "line 3: not valid JSON: Expecting value (column 1)"),
        ('{"pk": "item-0"}\n{"pk": "item-1",}\n', "line 2: not valid JSON: Expecting property name enclosed in"),
        ('[{"pk": "item-0"},\n {"pk": "item-1"}\n {"pk": "item-2"}]', "line 3 column 2: not valid JSON: Expecting ','"),
    ],
)
def test_a_keys_file_that_is_not_json_names_the_line(two_tables, capsys, tmp_path, lines, message):
    keys = tmp_path / "keys.txt"
    keys.write_text(lines)
    code, out, err = run(capsys, "copy-items", "--from", "restored", "--to", "live", "--keys-file", str(keys))
    assert code == 2 and out == ""
    assert err.startswith(f"tablesafe: error: --keys-file {keys} {message}") and err.count("\n") == 1, err
    assert "not json: not JSON" not in err


def test_a_key_that_does_not_fit_is_echoed_as_the_json_typed(two_tables, capsys, tmp_path):
    keys = tmp_path / "keys.txt"
    keys.write_text('{"pk": "item-0"}\n{"pk": 7, "note": "é", "ok": true}\n')
    code, _, err = run(capsys, "copy-items", "--from", "restored", "--to", "live", "--keys-file", str(keys))
    assert code == 2
    echoed = 'key {"pk": 7, "note": "é", "ok": true}'
    assert err == f"tablesafe: error: {echoed} does not fit restored: not key attributes: note, ok\n"


def test_the_overwrite_dry_run_says_unchanged_not_would_unchanged(two_tables, capsys):
    aws = two_tables
    aws.put_item(TableName="live", Item={"pk": {"S": "item-0"}, "n": {"N": "0"}})  # identical
    aws.put_item(TableName="live", Item={"pk": {"S": "item-1"}, "n": {"N": "99"}})  # changed
    code, out, _ = run(capsys, "copy-items", "--from", "restored", "--to", "live", "--filter", "attribute_exists(pk)",
                       "--mode", "overwrite", "--dry-run")  # fmt: skip
    assert code == 0
    lines = set(out.splitlines())
    assert 'unchanged       {"pk": "item-0"}' in lines
    assert 'would overwrite {"pk": "item-1"}' in lines and 'would copy      {"pk": "item-2"}' in lines
    assert "would unchanged" not in out


def test_a_backup_for_a_plan_of_an_untagged_table_says_it_has_no_tag(aws, capsys):
    make_table(aws, "scratch")
    code, _, err = run(capsys, "backup", "scratch", "--plan", "daily", "--rule", "daily")
    assert code == 0
    assert "note: scratch has no backup-plan tag; the backup is named for plan daily" in err
    assert "None" not in err


def test_cost_json_keeps_a_small_monthly_cost(aws, capsys):
    make_table(aws, "orders", items=2)
    assert run(capsys, "backup", "orders")[0] == 0
    code, out, _ = run(capsys, "cost", "--json")
    total = json.loads(out)["total"]
    assert code == 0 and total["bytes"] > 0
    assert total["monthlyCost"] == pytest.approx(total["bytes"] / 1e9 * 0.10, rel=1e-9) and total["monthlyCost"] > 0


def test_ctrl_c_while_create_backup_is_sent_says_a_backup_may_exist(aws, capsys, monkeypatch):
    make_table(aws, "orders")
    real = DynamoDbGateway.create_backup

    def sent_then_interrupted(self, table, name):
        real(self, table, name)
        raise KeyboardInterrupt

    monkeypatch.setattr(DynamoDbGateway, "create_backup", sent_then_interrupted)
    code, out, err = run(capsys, "backup", "orders")
    assert code == 130 and out == "" and err.count("\n") == 1
    assert "interrupted while CreateBackup was sent: backup tablesafe.manual." in err
    assert "a manual backup is never pruned" in err and "tablesafe backups orders" in err


def test_ctrl_c_while_waiting_names_the_backup_left_and_how_to_delete_it(aws, standin, capsys, monkeypatch):
    make_table(aws, "orders")
    standin.creating_seconds = 60

    def interrupted(self, arn):
        raise KeyboardInterrupt

    monkeypatch.setattr(TableGateway, "describe_backup", interrupted)
    code, _, err = run(capsys, "backup", "orders")
    (arn,) = [b["BackupArn"] for b in aws.list_backups(TableName="orders")["BackupSummaries"]]
    assert code == 130 and err.count("\n") == 1
    assert "was created and is kept (a manual backup is never pruned)" in err
    assert f"aws dynamodb delete-backup --backup-arn {arn}" in err


def test_an_unreachable_endpoint_fails_within_seconds_naming_it(aws, capsys, monkeypatch):
    with socket.socket() as probe:  # a port nothing listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    started = time.monotonic()
    code, out, err = run(capsys, "status")
    took = time.monotonic() - started
    assert code == 1 and out == "" and err.count("\n") == 1
    assert err.startswith("tablesafe: error: cannot reach AWS") and f"127.0.0.1:{port}" in err
    assert took < 10, took
