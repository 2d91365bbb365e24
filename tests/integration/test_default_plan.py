"""tablesafe:defaultPlan on the stand-in: every table of the region is backed up unless tagged `none`."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tablesafe.aws.clients import backup_clients
from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.backup.run import Outcome, run_backup
from tablesafe.config.settings import Settings
from tablesafe.drill.names import TAG_DRILL, drill_table_name
from tests.integration.cli_support import run
from tests.integration.test_backup import ENV, FAST, NAME, request
from tools.standin.support import create_table, list_all_backups


@pytest.fixture
def ddb(standin):
    return standin.client("dynamodb")


def backed_up(ddb) -> Counter[str]:
    summaries, _ = list_all_backups(ddb, BackupType="ALL")
    return Counter(s["TableName"] for s in summaries if s["BackupName"] == NAME)


def test_every_untagged_table_is_backed_up_under_the_default_plan_and_none_opts_out(standin, ddb):
    create_table(ddb, "orders", {"backup-plan": "daily"})
    create_table(ddb, "scratch")  # never tagged: only ListTables knows it
    create_table(ddb, "labelled", {"team": "shop"})  # tagged, but not with the plan tag
    create_table(ddb, "reports", {"backup-plan": "weekly"})  # its own plan, not this one
    create_table(ddb, "sandbox", {"backup-plan": "none"})  # opted out
    create_table(ddb, "typo", {"backup-plan": "dialy"})
    settings = Settings.from_env({**ENV, "TABLESAFE_DEFAULT_PLAN": "daily"})

    report = run_backup(DynamoDbGateway(backup_clients(rate_limits=FAST)), settings, request())

    assert sorted(report.tables(Outcome.CREATED)) == ["labelled", "orders", "scratch"]
    assert backed_up(ddb) == {"labelled": 1, "orders": 1, "scratch": 1}
    assert report.unknown_plan == {"typo": "dialy"}  # still reported, never backed up under the default


def drill_table_of(ddb, source: str) -> str:
    """A restore drill's table of `source`, made and tagged as the drill function makes it; its name."""
    backup = ddb.create_backup(TableName=source, BackupName="by-hand")["BackupDetails"]["BackupArn"]
    name = drill_table_name("tablesafe", source, backup)
    arn = ddb.restore_table_from_backup(TargetTableName=name, BackupArn=backup)["TableDescription"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": TAG_DRILL, "Value": source}])
    return name


def test_the_default_plan_leaves_tablesafe_s_drill_tables_out_and_names_them_in_the_log(standin, ddb, log_lines):
    create_table(ddb, "orders")
    drill = drill_table_of(ddb, "orders")
    create_table(ddb, "tablesafe-drill-notes")  # named like a drill table, without our tag: a user's table
    settings = Settings.from_env({**ENV, "TABLESAFE_DEFAULT_PLAN": "daily"})

    report = run_backup(DynamoDbGateway(backup_clients(rate_limits=FAST)), settings, request())

    assert sorted(report.tables(Outcome.CREATED)) == ["orders", "tablesafe-drill-notes"]
    assert backed_up(ddb) == {"orders": 1, "tablesafe-drill-notes": 1}
    assert report.failed == {} and report.unknown_plan == {} and report.finished
    lines = log_lines()
    (left_out,) = [line for line in lines if line["message"].startswith("restore-drill table left out")]
    assert (left_out["level"], left_out["table"], left_out["default_plan"]) == ("INFO", drill, "daily")
    (discovered,) = [line for line in lines if line["message"] == "tables discovered"]
    assert (discovered["drill_tables"], discovered["opted_out"], discovered["targets"]) == (1, 0, 2)


def test_without_a_default_plan_an_untagged_table_is_left_alone_and_none_is_an_unknown_plan(standin, ddb):
    create_table(ddb, "scratch")
    create_table(ddb, "sandbox", {"backup-plan": "none"})

    report = run_backup(DynamoDbGateway(backup_clients(rate_limits=FAST)), Settings.from_env(ENV), request())

    assert list(report.tables(Outcome.CREATED)) == []
    assert report.unknown_plan == {"sandbox": "none"}


def test_status_lists_opted_out_tables_as_opted_out_and_the_default_plans_tables_as_protected(aws, capsys, tmp_path):
    config = tmp_path / "cdk.json"
    plans = json.loads(ENV["TABLESAFE_PLANS"])
    config.write_text(json.dumps({"context": {"tablesafe:plans": plans, "tablesafe:defaultPlan": "daily"}}))
    for name, tags in (("scratch", None), ("sandbox", {"backup-plan": "none"}), ("orders", {"backup-plan": "daily"})):
        create_table(aws, name, tags)
    assert run(capsys, "backup", "scratch", "--plan", "daily", "--rule", "daily", "--config", str(config))[0] == 0
    assert run(capsys, "backup", "orders", "--plan", "daily", "--rule", "daily", "--config", str(config))[0] == 0

    code, out, _ = run(capsys, "status", "--json", "--config", str(config))

    tables = {t["table"]: t for t in json.loads(out)["tables"]}
    assert tables["sandbox"]["flags"] == ["opted out of the default plan (tag value 'none')"]
    assert tables["sandbox"]["plan"] is None
    assert (tables["scratch"]["plan"], tables["scratch"]["planByDefault"]) == ("daily", True)
    assert (tables["orders"]["plan"], tables["orders"]["planByDefault"]) == ("daily", False)
    assert tables["scratch"]["flags"] == [] and tables["orders"]["flags"] == []
    assert code == 0  # opting out is a choice, not a failure (unless --fail-on opted-out)
    assert run(capsys, "status", "--fail-on", "opted-out", "--config", str(config))[0] == 1


def test_status_under_a_default_plan_marks_a_drill_table_as_a_drill_copy_and_a_lookalike_as_protected(
    aws, capsys, tmp_path
):
    config = tmp_path / "cdk.json"
    plans = json.loads(ENV["TABLESAFE_PLANS"])
    config.write_text(json.dumps({"context": {"tablesafe:plans": plans, "tablesafe:defaultPlan": "daily"}}))
    create_table(aws, "orders")
    drill = drill_table_of(aws, "orders")
    create_table(aws, "tablesafe-drill-notes")

    code, out, _ = run(capsys, "status", "--json", "--config", str(config))

    tables = {t["table"]: t for t in json.loads(out)["tables"]}
    assert (tables[drill]["kind"], tables[drill]["plan"], tables[drill]["planByDefault"]) == ("drill", None, False)
    assert tables[drill]["flagKinds"] == ["untagged-copy"]
    lookalike = tables["tablesafe-drill-notes"]
    assert (lookalike["kind"], lookalike["plan"], lookalike["planByDefault"]) == ("table", "daily", True)
    assert lookalike["flagKinds"] == ["stale"]  # covered by the default plan, and no backup yet
    assert code == 1
