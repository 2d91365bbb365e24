"""Global tables across two regions, and point-in-time recovery, against the stand-in's replicas."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tablesafe.backup import BackupRequest, Outcome, run_backup
from tablesafe.constants import DEFAULT_RATE_LIMITS
from tablesafe.dynamodb import DynamoDbGateway
from tablesafe.global_tables import backup_region
from tablesafe.settings import Settings
from tests.standin.support import create_table, list_all_backups

SLOT = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
REGIONS = ("us-east-1", "eu-west-1")
FAST = {operation: 2000.0 for operation in DEFAULT_RATE_LIMITS}
PLANS = {
    "daily": [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}],
    "pitr": {
        "rules": [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 7, "minKeep": 2}],
        "pitr": {"enabled": True, "recoveryPeriodDays": 14},
    },
}


def settings(mode: str = "home-region") -> Settings:
    return Settings.from_env(
        {
            "TABLESAFE_TAG_KEY": "backup-plan",
            "TABLESAFE_PLANS": json.dumps(PLANS),
            "TABLESAFE_BACKUP_NAME_PREFIX": "tablesafe",
            "TABLESAFE_GLOBAL_TABLES": mode,
        }
    )


def run_everywhere(mode: str = "home-region", plan: str = "daily") -> dict[str, object]:
    """Each region's deployment runs its own backup function for the same slot, independently."""
    request = BackupRequest(plan, "daily", SLOT)
    return {
        region: run_backup(DynamoDbGateway(rate_limits=FAST, region_name=region), settings(mode), request)
        for region in REGIONS
    }


def backups(standin, region: str) -> list[str]:
    summaries, _ = list_all_backups(standin.client("dynamodb", region=region))
    return sorted(s["TableName"] for s in summaries)


@pytest.fixture
def global_orders(standin):
    """A global table `orders` with a replica in each region, plus a plain table `carts` in each region."""
    for region in REGIONS:
        ddb = standin.client("dynamodb", region=region)
        create_table(ddb, "orders", {"backup-plan": "daily"})
        create_table(ddb, "carts", {"backup-plan": "daily"})
    standin.set_global_table("orders", list(REGIONS))


def test_home_region_backs_up_a_global_table_once_across_regions(standin, global_orders):
    reports = run_everywhere()

    # eu-west-1 sorts first: it is the home region of the untagged global table
    assert backups(standin, "eu-west-1") == ["carts", "orders"]
    assert backups(standin, "us-east-1") == ["carts"]
    skipped = reports["us-east-1"].tables(Outcome.SKIPPED)
    assert skipped == {"orders": "global table replica; its home region eu-west-1 backs it up"}
    assert reports["us-east-1"].replicas_skipped == 1 and reports["us-east-1"].failed == {}
    assert reports["eu-west-1"].replicas_skipped == 0


def test_the_home_region_tag_decides_where_the_backup_is_kept(standin, global_orders):
    for region in REGIONS:
        arn = f"arn:aws:dynamodb:{region}:123456789012:table/orders"
        standin.client("dynamodb", region=region).tag_resource(
            ResourceArn=arn, Tags=[{"Key": "tablesafe:home-region", "Value": "us-east-1"}]
        )

    run_everywhere()

    assert backups(standin, "us-east-1") == ["carts", "orders"]
    assert backups(standin, "eu-west-1") == ["carts"]


def test_every_region_mode_backs_up_each_replica(standin, global_orders):
    reports = run_everywhere("every-region")

    assert backups(standin, "us-east-1") == ["carts", "orders"]
    assert backups(standin, "eu-west-1") == ["carts", "orders"]
    assert all(report.replicas_skipped == 0 for report in reports.values())


def test_a_home_tag_naming_no_replica_region_cannot_leave_the_table_unprotected():
    assert backup_region("us-east-1", ["eu-west-1"], "ap-south-1") == "eu-west-1"
    assert backup_region("us-east-1", ["eu-west-1"], "us-east-1") == "us-east-1"
    assert backup_region("us-east-1", [], None) == "us-east-1"


def test_pitr_is_turned_on_with_the_plans_period_and_drift_is_counted_once(standin):
    ddb = standin.client("dynamodb")
    for name in ("ledger", "wallet"):
        create_table(ddb, name, {"backup-plan": "pitr"})
    ddb.update_continuous_backups(
        TableName="wallet",
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 14},
    )
    gateway = DynamoDbGateway(rate_limits=FAST)

    first = run_backup(gateway, settings(), BackupRequest("pitr", "daily", SLOT))
    second = run_backup(gateway, settings(), BackupRequest("pitr", "daily", SLOT.replace(day=28)))

    for name in ("ledger", "wallet"):
        pitr = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
        assert pitr["PointInTimeRecoveryDescription"]["RecoveryPeriodInDays"] == 14
    assert (first.pitr_changed, second.pitr_changed) == (1, 0)  # only ledger drifted, and only the first time
    assert len(first.tables(Outcome.CREATED)) == 2 and len(second.tables(Outcome.CREATED)) == 2


def test_plans_without_pitr_leave_a_tables_pitr_alone(standin):
    ddb = standin.client("dynamodb")
    create_table(ddb, "orders", {"backup-plan": "daily"})

    report = run_backup(DynamoDbGateway(rate_limits=FAST), settings(), BackupRequest("daily", "daily", SLOT))

    pitr = ddb.describe_continuous_backups(TableName="orders")["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED"
    assert report.pitr_changed == 0
    assert standin.calls.count("UpdateContinuousBackups") == 0


def test_a_deferred_replica_asks_for_its_replicas_once_per_run(standin, global_orders):
    standin.creating_seconds = 0.5
    eu = standin.client("dynamodb", region="eu-west-1")
    eu.create_backup(TableName="orders", BackupName="someone-elses")  # CREATING: ours is deferred, then retried
    standin.calls.reset()

    report = run_backup(
        DynamoDbGateway(rate_limits=FAST, region_name="eu-west-1"), settings(), BackupRequest("daily", "daily", SLOT)
    )

    assert report.tables(Outcome.CREATED) == {"orders": "created", "carts": "created"}
    assert standin.calls.codes("CreateBackup").get("BackupInUseException", 0) >= 1
    assert standin.calls.count("DescribeTable") == 2  # orders and carts, once each despite the retry
