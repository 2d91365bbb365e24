"""Global tables across two regions, and point-in-time recovery, against the stand-in's replicas."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from tablesafe.aws.clients import backup_clients
from tablesafe.aws.dynamodb import DynamoDbGateway, GatewayError
from tablesafe.backup.run import BackupReport, BackupRequest, Outcome, run_backup
from tablesafe.config.settings import Settings
from tablesafe.constants import DEFAULT_RATE_LIMITS
from tablesafe.observability import logger
from tools.standin.support import create_table, list_all_backups

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


def settings(mode: str = "home-region", deployed: Sequence[str] | None = REGIONS) -> Settings:
    """The functions' settings as the stack sets them; `deployed` None is a deployment from before TABLESAFE_REGIONS."""
    environ = {
        "TABLESAFE_TAG_KEY": "backup-plan",
        "TABLESAFE_PLANS": json.dumps(PLANS),
        "TABLESAFE_BACKUP_NAME_PREFIX": "tablesafe",
        "TABLESAFE_GLOBAL_TABLES": mode,
    }
    if deployed is not None:
        environ["TABLESAFE_REGIONS"] = ",".join(deployed)
    return Settings.from_env(environ)


def run_in(region: str, run_settings: Settings) -> BackupReport:
    deployed = run_settings.deployed_regions or ()  # as cold start builds them: a client for each other region
    gateway = DynamoDbGateway(backup_clients(rate_limits=FAST, region_name=region, other_regions=deployed))
    return run_backup(gateway, run_settings, BackupRequest("daily", "daily", SLOT))


def run_everywhere(mode: str = "home-region", deployed: Sequence[str] = REGIONS) -> dict[str, BackupReport]:
    """Each deployed region's backup function runs for the same slot, independently."""
    return {region: run_in(region, settings(mode, deployed)) for region in deployed}


@pytest.fixture
def log_lines(monkeypatch) -> Callable[[], list[dict[str, Any]]]:
    """The run's JSON log lines, parsed."""
    stream = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", stream)
    return lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


def tag_home(standin, table: str, home: str, regions: Sequence[str] = REGIONS) -> None:
    for region in regions:
        arn = f"arn:aws:dynamodb:{region}:123456789012:table/{table}"
        standin.client("dynamodb", region=region).tag_resource(
            ResourceArn=arn, Tags=[{"Key": "tablesafe:home-region", "Value": home}]
        )


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
    tag_home(standin, "orders", "us-east-1")

    run_everywhere()

    assert backups(standin, "us-east-1") == ["carts", "orders"]
    assert backups(standin, "eu-west-1") == ["carts"]


def test_every_region_mode_backs_up_each_replica(standin, global_orders):
    reports = run_everywhere("every-region")

    assert backups(standin, "us-east-1") == ["carts", "orders"]
    assert backups(standin, "eu-west-1") == ["carts", "orders"]
    assert all(report.replicas_skipped == 0 for report in reports.values())


def test_a_deployment_to_one_region_backs_up_its_replicas_there_without_asking_for_replicas(standin, global_orders):
    # Before, us-east-1 left `orders` to eu-west-1, where no tablesafe runs: a backup that silently never happened.
    standin.calls.reset()

    report = run_in("us-east-1", settings(deployed=["us-east-1"]))

    assert backups(standin, "us-east-1") == ["carts", "orders"]
    assert report.replicas_skipped == 0 and report.failed == {}
    assert standin.calls.count("DescribeTable") == 0


def test_a_home_tag_naming_a_region_without_tablesafe_is_warned_about_and_the_table_backed_up_here(
    standin, global_orders, log_lines
):
    tag_home(standin, "orders", "eu-west-1", regions=["us-east-1"])

    report = run_in("us-east-1", settings(deployed=["us-east-1"]))

    assert report.tables(Outcome.CREATED) == {"orders": "created", "carts": "created"}
    (warning,) = [line for line in log_lines() if line.get("table") == "orders" and line["level"] == "WARNING"]
    assert warning["home_tag"] == "eu-west-1" and warning["tag"] == "tablesafe:home-region"
    assert warning["reason"] == "tablesafe is not deployed in that region"
    assert warning["backup_region"] == "us-east-1"


def test_in_a_deployment_to_two_regions_the_first_backs_up_and_the_other_skips(standin, global_orders):
    standin.calls.reset()

    reports = run_everywhere(deployed=["us-east-1", "eu-west-1"])

    assert backups(standin, "eu-west-1") == ["carts", "orders"]
    assert backups(standin, "us-east-1") == ["carts"]
    assert reports["us-east-1"].replicas_skipped == 1
    # eu-west-1 sorts first among the deployed regions: it is home whatever the replicas, so it need not ask.
    assert standin.calls.count("DescribeTable") == 2  # us-east-1's, for orders and carts


class CountingGateway(DynamoDbGateway):
    """us-east-1's gateway, counting the regions whose table names it lists; `broken` fails every such listing."""

    def __init__(self, broken: bool = False) -> None:
        super().__init__(backup_clients(rate_limits=FAST, region_name="us-east-1", other_regions=REGIONS))
        self.asked: list[str] = []
        self.broken = broken

    def table_names_in(self, region: str) -> frozenset[str]:
        self.asked.append(region)
        if self.broken:
            raise GatewayError("ListTables", "AccessDeniedException", "not authorized")
        return super().table_names_in(region)


def test_the_other_region_asks_only_tables_whose_name_another_deployed_region_has(standin, global_orders):
    # "sessions" exists only in us-east-1: no other deployed region can hold a replica of it, so it is not described.
    create_table(standin.client("dynamodb", region="us-east-1"), "sessions", {"backup-plan": "daily"})
    gateway = CountingGateway()
    standin.calls.reset()

    report = run_backup(gateway, settings(), BackupRequest("daily", "daily", SLOT))

    assert gateway.asked == ["eu-west-1"]  # once per run
    assert standin.calls.count("DescribeTable") == 2  # orders and carts (a table of that name is in eu-west-1)
    assert backups(standin, "us-east-1") == ["carts", "sessions"]
    assert report.tables(Outcome.SKIPPED) == {"orders": "global table replica; its home region eu-west-1 backs it up"}


def test_when_the_other_regions_cannot_be_listed_every_table_is_asked_for_its_replicas(standin, global_orders):
    create_table(standin.client("dynamodb", region="us-east-1"), "sessions", {"backup-plan": "daily"})
    standin.calls.reset()

    report = run_backup(CountingGateway(broken=True), settings(), BackupRequest("daily", "daily", SLOT))

    assert standin.calls.count("DescribeTable") == 3
    assert backups(standin, "us-east-1") == ["carts", "sessions"]
    assert report.replicas_skipped == 1 and report.failed == {}


def test_a_replica_in_an_undeployed_region_that_sorts_first_no_longer_causes_a_skip(standin):
    for region in ("ap-south-1", *REGIONS):
        create_table(standin.client("dynamodb", region=region), "orders", {"backup-plan": "daily"})
    standin.set_global_table("orders", ["ap-south-1", *REGIONS])

    reports = run_everywhere(deployed=REGIONS)

    assert backups(standin, "eu-west-1") == ["orders"]
    assert backups(standin, "us-east-1") == []
    assert backups(standin, "ap-south-1") == []
    skipped = reports["us-east-1"].tables(Outcome.SKIPPED)
    assert skipped == {"orders": "global table replica; its home region eu-west-1 backs it up"}


def test_a_deployment_that_does_not_say_its_regions_decides_as_before(standin, global_orders):
    report = run_in("us-east-1", settings(deployed=None))

    assert report.tables(Outcome.SKIPPED) == {"orders": "global table replica; its home region eu-west-1 backs it up"}
    assert backups(standin, "us-east-1") == ["carts"]


def test_pitr_is_turned_on_with_the_plans_period_and_drift_is_counted_once(standin):
    ddb = standin.client("dynamodb")
    for name in ("ledger", "wallet"):
        create_table(ddb, name, {"backup-plan": "pitr"})
    ddb.update_continuous_backups(
        TableName="wallet",
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 14},
    )
    gateway = DynamoDbGateway(backup_clients(rate_limits=FAST))

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

    report = run_backup(
        DynamoDbGateway(backup_clients(rate_limits=FAST)), settings(), BackupRequest("daily", "daily", SLOT)
    )

    pitr = ddb.describe_continuous_backups(TableName="orders")["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED"
    assert report.pitr_changed == 0
    assert standin.calls.count("UpdateContinuousBackups") == 0


def test_a_deferred_replica_asks_for_its_replicas_once_per_run(standin, global_orders):
    # Someone else's backup stays CREATING until our CreateBackup has been refused once, however long the run takes to
    # get there (no timing assumed): ours is deferred, then retried once the other backup is AVAILABLE.
    standin.creating_seconds = 3600
    eu = standin.client("dynamodb", region="eu-west-1")
    eu.create_backup(TableName="orders", BackupName="someone-elses")
    standin.calls.reset()
    refused = threading.Event()

    def complete_after_the_first_refusal() -> None:
        deadline = time.monotonic() + 120
        while not refused.is_set() and time.monotonic() < deadline:
            if standin.calls.codes("CreateBackup").get("BackupInUseException", 0):
                standin.complete_backups()
                refused.set()
            time.sleep(0.01)

    watcher = threading.Thread(target=complete_after_the_first_refusal, daemon=True)
    watcher.start()

    # Deployed regions not known: eu-west-1 must ask for replicas to know it is home.
    report = run_in("eu-west-1", settings(deployed=None))
    refused.set()
    watcher.join()

    assert report.tables(Outcome.CREATED) == {"orders": "created", "carts": "created"}
    assert standin.calls.codes("CreateBackup").get("BackupInUseException", 0) >= 1
    assert standin.calls.count("DescribeTable") == 2  # orders and carts, once each despite the retry
