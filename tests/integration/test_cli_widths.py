"""Every command read at 80 and 120 columns: table names, backup names and ARNs whole on one line, nothing cut."""

from __future__ import annotations

import json

import pytest

from tests.integration.cli_support import cut_identifiers, run, run_at

# Three restored tables whose names differ only at the end (cut to `orders…`, they could not be told apart), and a
# name longer than any terminal line.
RESTORED = ("orders-restored-2026-11-27-a", "orders-restored-2026-11-27-b", "orders-restored-2026-11-27-c")
LONG = "orders-" + "archive-" * 14 + "x"


def make_table(client, name: str, plan: str | None = None, items: int = 3) -> None:
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
        client.put_item(TableName=name, Item={"pk": {"S": f"item-{i}"}})


@pytest.fixture
def shop(aws, capsys):
    """orders (tagged, two backups), three restored copies of it, and a table with a very long name."""
    make_table(aws, "orders", "daily")
    make_table(aws, LONG, "daily")
    assert run(capsys, "backup", "orders", "--plan", "daily", "--rule", "daily")[0] == 0
    assert run(capsys, "backup", "orders")[0] == 0
    assert run(capsys, "backup", LONG)[0] == 0
    for name in RESTORED:
        assert run(capsys, "restore", "orders", "--to", name, "--poll", "0.05")[0] == 0
    return aws


def backup_arns(client, table: str) -> list[str]:
    return [b["BackupArn"] for b in client.list_backups(TableName=table)["BackupSummaries"]]


def assert_whole(out: str, identifiers: list[str]) -> None:
    assert not cut_identifiers(out, identifiers), out
    assert "…" not in out, out


@pytest.mark.parametrize("width", [80, 120])
def test_status_shows_every_table_name_whole(shop, capsys, width):
    _, out, _ = run_at(width, capsys, "status")
    assert_whole(out, ["orders", *RESTORED, LONG])


@pytest.mark.parametrize("width", [80, 120])
def test_backups_shows_every_backup_name_and_arn_whole(shop, capsys, width):
    names = [b["BackupName"] for b in shop.list_backups(TableName="orders")["BackupSummaries"]]
    code, out, _ = run_at(width, capsys, "backups", "orders")
    assert code == 0
    assert_whole(out, [*names, *backup_arns(shop, "orders")])
    code, out, _ = run_at(width, capsys, "backups", LONG)
    assert code == 0
    assert_whole(out, [LONG, *backup_arns(shop, LONG)])


@pytest.mark.parametrize("width", [80, 120])
def test_cost_shows_every_table_name_whole(shop, capsys, width):
    _, out, _ = run_at(width, capsys, "cost")
    assert_whole(out, ["orders", LONG])


@pytest.mark.parametrize("width", [80, 120])
def test_the_backup_summary_shows_the_table_name_and_arn_whole(shop, capsys, width):
    code, out, _ = run_at(width, capsys, "backup", LONG, "--plan", "daily", "--rule", "daily")
    assert code == 0
    (arn,) = [a for a in backup_arns(shop, LONG) if a.split("/")[-1] in out]
    assert_whole(out, [LONG, arn])


@pytest.mark.parametrize("width", [80, 120])
def test_the_restore_summary_shows_both_tables_and_the_backup_arn_whole(shop, capsys, width):
    target = f"orders-restored-at-{width}-columns"
    code, out, _ = run_at(width, capsys, "restore", "orders", "--to", target, "--poll", "0.05")
    assert code == 0
    arn = json.loads(run(capsys, "backups", "orders", "--json")[1])["backups"][0]["arn"]
    assert_whole(out, ["orders", target, arn])


@pytest.mark.parametrize("width", [80, 120])
def test_the_copy_items_summary_shows_both_tables_whole(shop, capsys, width):
    for mode in ("--dry-run", None):
        argv = ["copy-items", "--from", RESTORED[0], "--to", LONG, "--key", '{"pk": "item-1"}']
        code, out, _ = run_at(width, capsys, *argv, *((mode,) if mode else ()))
        assert code == 0
        assert_whole(out, [RESTORED[0], LONG])


def test_off_a_terminal_and_with_wide_a_row_is_one_line(shop, capsys):
    arns = backup_arns(shop, "orders")
    _, piped, _ = run(capsys, "backups", "orders")
    _, wide, _ = run_at(80, capsys, "backups", "orders", "--wide")
    for out in (piped, wide):
        rows = [line for line in out.splitlines() if any(arn in line for arn in arns)]
        assert len(rows) == len(arns) and all("tablesafe" in row and "AVAILABLE" in row for row in rows), out
