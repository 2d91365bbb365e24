"""`tablesafe status` counting every kind of protection: AWS Backup's recovery points (advanced or not) and PITR, each
shown for what it is, readable and as JSON; and AWS Backup that cannot be read reported, not taken for "none"."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.accounts_support import Organization
from tests.integration.cli_support import run
from tests.integration.test_cli_status_exit import make_table


@pytest.fixture
def three_kinds(aws, standin, capsys):
    """legacy: AWS Backup only (advanced features, vault prod); orders: tablesafe's plan and AWS Backup (without
    advanced features, so its point is also a DynamoDB backup); events: PITR only."""
    now = datetime.now(UTC)
    make_table(aws, "legacy")
    standin.add_recovery_point("legacy", created=now - timedelta(days=3), vault="prod")
    standin.add_recovery_point("legacy", created=now - timedelta(hours=2), vault="prod")
    make_table(aws, "orders", {"backup-plan": "daily"})
    assert run(capsys, "backup", "orders", "--plan", "daily", "--rule", "daily")[0] == 0
    standin.add_recovery_point("orders", created=now - timedelta(hours=5), advanced=False)
    make_table(aws, "events")
    aws.update_continuous_backups(
        TableName="events", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    return now


def tables(out: str) -> dict[str, dict]:
    return {t["table"]: t for t in json.loads(out)["tables"]}


def test_status_json_shows_aws_backup_and_pitr_for_what_they_are(three_kinds, capsys) -> None:
    code, out, err = run(capsys, "status", "--json")

    assert code == 1, out  # events: PITR alone is no plan
    found = tables(out)
    legacy, orders, events = found["legacy"], found["orders"], found["events"]
    assert legacy["flagKinds"] == ["aws-backup-only"] and legacy["failing"] is False
    assert legacy["awsBackup"]["recoveryPoints"] == 2 and legacy["awsBackup"]["vault"] == "prod"
    assert datetime.fromisoformat(legacy["awsBackup"]["lastRecoveryPoint"]) > three_kinds - timedelta(hours=3)
    assert orders["flagKinds"] == [] and orders["backups"] == 1  # tablesafe's; AWS Backup's is counted once, there
    assert orders["awsBackup"]["recoveryPoints"] == 1 and orders["awsBackup"]["alsoDynamoDbBackups"] == 1
    assert orders["rules"][0]["lastBackup"].startswith("tablesafe.")
    assert events["flagKinds"] == ["unprotected"] and events["pitr"]["enabled"] is True
    assert events["awsBackup"]["recoveryPoints"] == 0  # read, and none: not null
    assert json.loads(out)["awsBackup"] == {"read": True, "problems": []} and json.loads(out)["flagged"] == 1
    assert "AWS Backup not read" not in err


def test_status_readable_names_aws_backup_beside_the_plan_and_pitr(three_kinds, capsys) -> None:
    code, out, _ = run(capsys, "status")

    assert code == 1
    lines = {line.split()[0]: line for line in out.splitlines() if line.split() and line.split()[0] in
             ("legacy", "orders", "events")}  # fmt: skip
    assert "protected by AWS Backup only (no plan tag)" in lines["legacy"]
    assert "AWS Backup: 2 recovery points, last " in lines["legacy"] and "(vault prod)" in lines["legacy"]
    assert "AWS Backup: 1 recovery point, last " in lines["orders"] and "(vault Default)" in lines["orders"]
    assert "unprotected: no plan tag" in lines["events"] and "on (35 d)" in lines["events"]
    assert "AWS Backup" not in lines["events"]
    assert "3 tables, 1 flagged" in out


def test_aws_backup_that_cannot_be_read_is_reported_and_never_taken_for_no_recovery_points(
    three_kinds, standin, capsys
) -> None:
    standin.aws_backup.refuse("ListProtectedResources")

    code, out, err = run(capsys, "status", "--json")

    assert code == 1
    found = tables(out)
    assert {name: t["awsBackup"] for name, t in found.items()} == {"legacy": None, "orders": None, "events": None}
    assert found["legacy"]["flagKinds"] == ["unprotected"]  # not known to be protected: not counted as such
    assert found["orders"]["backups"] == 2  # nothing to tell AWS Backup's apart by: both counted as DynamoDB's
    assert json.loads(out)["awsBackup"]["read"] is False
    (line,) = [line for line in err.splitlines() if "AWS Backup not read" in line]
    assert line.startswith("AWS Backup not read in account 123456789012, us-east-1: backup:ListProtectedResources")
    assert "AccessDeniedException" in line


def test_a_denied_listing_of_one_tables_points_names_the_action_and_the_table(three_kinds, standin, capsys) -> None:
    standin.aws_backup.refuse("ListRecoveryPointsByResource")

    code, out, err = run(capsys, "status")

    assert code == 1 and "legacy" in out
    (line,) = [line for line in err.splitlines() if "AWS Backup not read" in line]
    assert "backup:ListRecoveryPointsByResource failed for 2 table(s) (legacy, orders): AccessDeniedException" in line


# -- every account: the member's AWS Backup through the read-only role ------------------------------------------


@pytest.fixture
def member_with_aws_backup(standin, aws):
    """`shop`, a member account: `legacy` protected by AWS Backup only, `scratch` by nothing."""
    org = Organization(standin)
    shop = org.member("shop")
    shop.table("legacy")
    shop.table("scratch")
    standin.aws_backup.add_recovery_point(shop.account, "us-east-1", "legacy", created=datetime.now(UTC))
    return shop


def test_every_accounts_view_counts_a_members_aws_backup_as_protection(member_with_aws_backup, capsys) -> None:
    shop = member_with_aws_backup

    code, out, _ = run(capsys, "status", "--accounts", shop.account, "--json")

    data = json.loads(out)
    found = {t["table"]: t for t in data["tables"]}
    assert code == 1 and data["incomplete"] == []  # scratch is unprotected
    assert found["legacy"]["flagKinds"] == ["aws-backup-only"] and found["legacy"]["awsBackup"]["recoveryPoints"] == 1
    (summary,) = data["summary"]
    assert (summary["protected"], summary["unprotected"]) == (1, 1)


def test_a_members_aws_backup_that_cannot_be_read_makes_the_target_incomplete(member_with_aws_backup, standin, capsys):
    shop = member_with_aws_backup
    standin.aws_backup.refuse("ListProtectedResources")

    code, out, _ = run(capsys, "status", "--accounts", shop.account, "--json")

    data = json.loads(out)
    (incomplete,) = data["incomplete"]
    assert (incomplete["account"], incomplete["what"]) == (shop.account, "AWS Backup recovery points")
    assert incomplete["error"].startswith("backup:ListProtectedResources failed: AccessDeniedException")
    assert code == 1 and {t["table"]: t["awsBackup"] for t in data["tables"]} == {"legacy": None, "scratch": None}
