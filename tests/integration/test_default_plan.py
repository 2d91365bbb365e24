"""tablesafe:defaultPlan on the stand-in: every table of the region is backed up unless tagged `none`."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tablesafe.aws.clients import backup_clients
from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.backup.run import Outcome, run_backup
from tablesafe.config.settings import Settings
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
