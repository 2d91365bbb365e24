"""`tablesafe status`, `backups`, `backup`, `cost` and the CLI's error handling, run in-process against AWS fakes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tablesafe.aws.retry import RetryPolicy
from tablesafe_cli import main as cli
from tablesafe_cli.commands import backup as backup_command
from tests.integration.cli_support import run

REGION = "us-east-1"
VENV_BIN = Path(sys.executable).parent


def make_table(client, name: str, plan: str | None = None, items: int = 0) -> str:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    arn = client.describe_table(TableName=name)["Table"]["TableArn"]
    if plan is not None:
        client.tag_resource(ResourceArn=arn, Tags=[{"Key": "backup-plan", "Value": plan}])
    for i in range(items):
        client.put_item(TableName=name, Item={"pk": {"S": f"item-{i}"}})
    return arn


def backup_names(client, table: str) -> list[str]:
    return sorted(b["BackupName"] for b in client.list_backups(TableName=table)["BackupSummaries"])


# -- status ------------------------------------------------------------------------------------------------------


def test_status_flags_unprotected_unknown_plan_and_missing_backups_and_exits_1(aws, capsys):
    make_table(aws, "orders", "daily")
    make_table(aws, "scratch")
    make_table(aws, "users", "weekly")

    code, out, _ = run(capsys, "status", "--json")

    assert code == 1
    tables = {t["table"]: t for t in json.loads(out)["tables"]}
    assert tables["scratch"]["flags"] == ["unprotected: no plan tag"]
    assert tables["users"]["flags"] == ["unknown plan 'weekly'"]
    assert tables["orders"]["flags"] == ["rule daily: no AVAILABLE backup"]
    assert json.loads(out)["flagged"] == 3


def test_status_exits_0_when_every_table_has_a_fresh_backup_of_each_rule(aws, capsys):
    make_table(aws, "orders", "daily", items=3)
    assert run(capsys, "backup", "orders", "--plan", "daily", "--rule", "daily")[0] == 0
    aws.update_continuous_backups(
        TableName="orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )

    code, out, _ = run(capsys, "status", "--json")

    assert code == 0
    (table,) = json.loads(out)["tables"]
    assert table["plan"] == "daily" and table["flags"] == [] and table["backups"] == 1
    assert table["rules"][0]["lastBackup"].startswith("tablesafe.daily.daily.")
    assert table["pitr"]["enabled"] is True


def test_status_prints_a_readable_table_by_default(aws, capsys):
    make_table(aws, "orders", "daily")
    code, out, _ = run(capsys, "status")
    assert code == 1
    assert "orders" in out and "daily" in out and "rule daily: no AVAILABLE backup" in out
    assert "1 tables, 1 flagged" in out


# -- backup and backups ------------------------------------------------------------------------------------------


def test_backup_with_plan_and_rule_is_named_for_the_rule_and_slot(aws, capsys):
    make_table(aws, "orders", "daily", items=2)

    code, out, _ = run(capsys, "backup", "orders", "--plan", "daily", "--rule", "daily", "--json")

    assert code == 0
    result = json.loads(out)
    assert re.fullmatch(r"tablesafe\.daily\.daily\.\d{8}T\d{4}Z", result["name"])
    assert result["status"] == "AVAILABLE" and result["pruned"].startswith("by rule daily/daily")
    assert backup_names(aws, "orders") == [result["name"]]


def test_backup_twice_in_the_same_minute_for_a_rule_creates_one_backup(aws, capsys):
    make_table(aws, "orders", "daily")
    # Both runs at 03:00:10 and 03:00:50 of the same minute (a past one, so the stand-in's real creation time of
    # the first backup falls within the slot's listing): the second finds the first instead of making another.
    argv = ("backup", "orders", "--plan", "daily", "--rule", "daily", "--json")
    first = json.loads(run(capsys, *argv, clock=lambda: datetime(2024, 6, 2, 3, 0, 10, tzinfo=UTC))[1])
    second = json.loads(run(capsys, *argv, clock=lambda: datetime(2024, 6, 2, 3, 0, 50, tzinfo=UTC))[1])
    assert first["name"] == second["name"] == "tablesafe.daily.daily.20240602T0300Z"
    assert second["alreadyPresent"] is True and second["arn"] == first["arn"]
    assert len(backup_names(aws, "orders")) == 1


def test_backup_without_plan_is_manual_and_never_pruned(aws, capsys):
    make_table(aws, "orders")
    code, out, _ = run(capsys, "backup", "orders", "--json")
    assert code == 0
    result = json.loads(out)
    assert re.fullmatch(r"tablesafe\.manual\.\d{8}T\d{6}Z", result["name"])
    assert result["pruned"] == "never (manual backup)"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--plan", "daily"], "--plan and --rule go together: give both (pruned by that rule) or neither (manual)"),
        (["--plan", "weekly", "--rule", "daily"], "--plan weekly: no such plan; configured: daily"),
        (["--plan", "daily", "--rule", "hourly"], "--rule hourly: plan daily has no such rule; its rules: daily"),
    ],
)
def test_backup_with_a_bad_plan_or_rule_is_a_usage_error_and_creates_nothing(aws, capsys, argv, message):
    make_table(aws, "orders", "daily")
    code, out, err = run(capsys, "backup", "orders", *argv)
    assert code == 2
    assert err.strip() == f"tablesafe: error: {message}"
    assert out == "" and backup_names(aws, "orders") == []


def test_backup_of_a_missing_table_fails_with_one_line(aws, capsys):
    code, _, err = run(capsys, "backup", "nope")
    assert code == 1
    assert err == f"tablesafe: error: table nope not found in {REGION}\n"


def test_backups_lists_newest_first_and_marks_those_not_made_by_tablesafe(aws, capsys):
    make_table(aws, "orders", "daily")
    aws.create_backup(TableName="orders", BackupName="before-migration")
    run(capsys, "backup", "orders")

    code, out, _ = run(capsys, "backups", "orders", "--json")

    assert code == 0
    rows = json.loads(out)["backups"]
    assert [(r["owner"], r["tablesafe"]) for r in rows] == [("manual", True), ("other", False)]
    assert rows[0]["created"] >= rows[1]["created"]
    code, out, _ = run(capsys, "backups", "orders")
    assert "* not tablesafe" in out and "before-migration" in out


def test_backups_of_a_deleted_table_are_still_listed(aws, capsys):
    make_table(aws, "orders")
    aws.create_backup(TableName="orders", BackupName="last")
    aws.delete_table(TableName="orders")
    code, out, err = run(capsys, "backups", "orders", "--json")
    assert code == 0
    assert [r["name"] for r in json.loads(out)["backups"]] == ["last"]
    assert "no longer exists" in err


def test_backups_of_a_table_that_never_existed_fails(aws, capsys):
    code, out, err = run(capsys, "backups", "nope")
    assert code == 1 and out == ""
    assert err == f"tablesafe: error: table nope not found in {REGION}, and it has no backups\n"


# -- cost --------------------------------------------------------------------------------------------------------


def test_cost_groups_storage_by_plan_and_by_table(aws, capsys):
    make_table(aws, "orders", "daily", items=20)
    make_table(aws, "users", items=5)
    run(capsys, "backup", "orders", "--plan", "daily", "--rule", "daily")
    run(capsys, "backup", "users")
    aws.create_backup(TableName="users", BackupName="by-hand")

    code, out, _ = run(capsys, "cost", "--json")

    assert code == 0
    report = json.loads(out)
    by_plan = {r["name"]: r for r in report["byPlan"]}
    by_table = {r["name"]: r for r in report["byTable"]}
    assert {k: v["backups"] for k, v in by_plan.items()} == {"daily": 1, "manual": 1, "not tablesafe": 1}
    assert {k: v["backups"] for k, v in by_table.items()} == {"orders": 1, "users": 2}
    total = report["total"]
    assert total["backups"] == 3 and total["bytes"] == sum(r["bytes"] for r in report["byTable"])
    assert total["monthlyCost"] == pytest.approx(total["bytes"] / 1e9 * 0.10, abs=1e-4)


def test_cost_uses_the_price_from_the_config_file(aws, capsys, tmp_path):
    config = tmp_path / "other.json"
    config.write_text(json.dumps({"context": {"tablesafe:storagePricePerGbMonth": 0.2}}))
    code, out, _ = run(capsys, "cost", "--json", "--config", str(config))
    assert code == 0 and json.loads(out)["pricePerGbMonth"] == 0.2


# -- errors: one line, no traceback, 2 for usage and 1 for failures ----------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["backups"],
        ["copy-items", "--from", "a", "--to", "b", "--mode", "sometimes"],
        ["restore", "orders"],
        ["status", "--config", "/nonexistent/cdk.json"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(aws, capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("tablesafe") and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_a_bad_plan_in_the_config_file_exits_2_naming_the_key(aws, capsys, tmp_path):
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {"tablesafe:plans": {"daily": []}}}))
    code, _, err = run(capsys, "status")
    assert code == 2
    assert "tablesafe:plans.daily" in err and err.count("\n") == 1


def test_help_exits_0(capsys):
    assert cli.main(["--help"]) == 0
    assert "copy-items" in capsys.readouterr().out


def test_no_credentials_is_one_line_and_exit_1(monkeypatch, capsys, tmp_path):
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "backups", "orders", "--region", REGION)
    assert code == 1 and out == ""
    assert err.startswith("tablesafe: error: no AWS credentials found") and err.count("\n") == 1


def test_an_unknown_profile_is_a_usage_error(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "status", "--profile", "ghost", "--region", REGION)
    assert code == 2
    assert err == "tablesafe: error: --profile ghost: no such profile in the AWS config files\n"


def test_no_region_is_a_usage_error(monkeypatch, capsys, tmp_path):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "status")
    assert code == 2
    assert err == "tablesafe: error: no region: pass --region or set AWS_REGION\n"


def test_the_installed_command_and_python_m_run(tmp_path):
    for command in ([str(VENV_BIN / "tablesafe"), "--help"], [sys.executable, "-m", "tablesafe", "--help"]):
        done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        assert "restore" in done.stdout and "copy-items" in done.stdout
    done = subprocess.run(
        [str(VENV_BIN / "tablesafe"), "backup", "x", "--plan", "p"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("tablesafe: error: ") and done.stderr.count("\n") == 1


def test_a_throttled_backup_is_sent_again_and_a_lost_answer_is_looked_up_not_repeated(aws, capsys, monkeypatch):
    from tablesafe.aws.dynamodb import AmbiguousResult, DynamoDbGateway, Throttled

    make_table(aws, "orders")
    real = DynamoDbGateway.create_backup
    answers = iter(["throttle", "lose"])

    def flaky(self, table, name):
        answer = next(answers, None)
        if answer == "throttle":
            raise Throttled("CreateBackup", "ThrottlingException", "slow down")
        backup = real(self, table, name)
        if answer == "lose":  # the backup is made, the answer does not arrive
            raise AmbiguousResult("CreateBackup", "ReadTimeoutError", "read timed out")
        return backup

    monkeypatch.setattr(DynamoDbGateway, "create_backup", flaky)
    monkeypatch.setattr(backup_command, "create_retry", lambda: RetryPolicy(6, 1.0, 10.0, sleep=lambda _: None))

    code, out, _ = run(capsys, "backup", "orders", "--json")

    assert code == 0
    assert backup_names(aws, "orders") == [json.loads(out)["name"]]


def test_a_tag_value_that_looks_like_markup_is_printed_as_it_is(aws, capsys):
    make_table(aws, "orders", "[bold]odd[/]")
    code, out, _ = run(capsys, "status")
    assert code == 1
    assert "unknown plan '[bold]odd[/]'" in out
