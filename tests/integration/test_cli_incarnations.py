"""`tablesafe backups` and `status` where a table was deleted and created again under its name, on the stand-in."""

from __future__ import annotations

import json

from tests.integration.cli_support import run
from tools.standin.support import create_table


def recreate_orders(aws) -> tuple[str, str]:
    """orders with a manual backup, deleted, created again (tagged daily) with one of its own; both TableIds."""
    create_table(aws, "orders")
    aws.create_backup(TableName="orders", BackupName="before-migration")
    first = aws.describe_table(TableName="orders")["Table"]["TableId"]
    aws.delete_table(TableName="orders")
    create_table(aws, "orders", {"backup-plan": "daily"})
    return first, aws.describe_table(TableName="orders")["Table"]["TableId"]


def test_backups_says_which_table_of_the_name_each_backup_was_taken_of(aws, standin, capsys):
    first, second = recreate_orders(aws)
    assert run(capsys, "backup", "orders", "--plan", "daily", "--rule", "daily")[0] == 0

    code, out, err = run(capsys, "backups", "orders", "--json")

    assert code == 0
    rows = json.loads(out)["backups"]
    assert [(r["table"], r["tableId"]) for r in rows] == [("table 2 (current)", second), ("table 1 (deleted)", first)]
    assert "has belonged to 2 tables" in err
    code, out, _ = run(capsys, "backups", "orders")
    assert "table 1 (deleted)" in out and "table 2 (current)" in out


def test_backups_of_a_name_with_one_table_have_no_table_column(aws, standin, capsys):
    create_table(aws, "orders")
    aws.create_backup(TableName="orders", BackupName="before-migration")

    _, out, err = run(capsys, "backups", "orders", "--json")

    assert [r["table"] for r in json.loads(out)["backups"]] == [None]
    assert "has belonged" not in err
    assert "table 1" not in run(capsys, "backups", "orders")[1]


def test_status_counts_an_earlier_tables_backups_apart_and_flags_the_new_table_without_backups(aws, standin, capsys):
    _, second = recreate_orders(aws)

    code, out, _ = run(capsys, "status", "--json")

    assert code == 1
    (orders,) = json.loads(out)["tables"]
    assert orders["tableId"] == second
    assert (orders["backups"], orders["earlierTables"], orders["earlierBackups"]) == (0, 1, 1)
    assert orders["flags"] == ["rule daily: no AVAILABLE backup"]
    code, out, _ = run(capsys, "status")
    assert "+1 backup(s) of 1 earlier table(s)" in out
