"""Export rules on the stand-in: one export per table per slot (retries, re-runs past the ClientToken's 8 hours,
concurrent deliveries), the table's settings beside it, and the check that reports how each export ended."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from tablesafe.aws.clients import backup_clients
from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.aws.exports import ArchiveTarget, ExportGateway
from tablesafe.config.settings import Settings
from tablesafe.constants import DEFAULT_RATE_LIMITS
from tablesafe.export.check import check_exports
from tablesafe.export.report import ExportOutcome, ExportRequest
from tablesafe.export.run import run_exports
from tablesafe.rules.export_naming import ExportSlot, parse_slot_prefix
from tablesafe.slots.lease import ClaimState, LeaseKey
from tests.lease_support import LEASE_TABLE, create_lease_table, slot_leases
from tools.standin import StandIn
from tools.standin.support import create_table, fill

SLOT = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
BUCKET = "archive"
PLANS = {
    "gfs": {
        "rules": [
            {"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3},
            {
                "name": "monthly",
                "schedule": "cron(0 4 1 * ? *)",
                "retentionDays": 2555,
                "minKeep": 3,
                "target": "export",
            },
        ],
        "pitr": {"enabled": True},
    }
}
ENV = {
    "TABLESAFE_TAG_KEY": "backup-plan",
    "TABLESAFE_PLANS": json.dumps(PLANS),
    "TABLESAFE_BACKUP_NAME_PREFIX": "tablesafe",
    "TABLESAFE_TIME_RESERVE_SECONDS": "5",
}
REQUEST = ExportRequest("gfs", "monthly", SLOT)
FAST = {operation: 2000.0 for operation in DEFAULT_RATE_LIMITS}


@pytest.fixture
def ddb(standin: StandIn) -> Any:
    client = standin.client("dynamodb")
    create_lease_table(client)
    standin.client("s3").create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def s3(standin: StandIn) -> Any:
    return standin.client("s3")


@pytest.fixture
def gateways(standin: StandIn, ddb: Any) -> tuple[DynamoDbGateway, ExportGateway]:
    dynamodb = standin.client("dynamodb")
    exports = ExportGateway(
        dynamodb=dynamodb,
        s3=standin.client("s3"),
        archive=ArchiveTarget(BUCKET),
        register=dynamodb,
        register_table=LEASE_TABLE,
    )
    return DynamoDbGateway(backup_clients(rate_limits=FAST)), exports


def run(gateways: tuple[DynamoDbGateway, ExportGateway]):
    tables, exports = gateways
    return run_exports(tables, exports, Settings.from_env(ENV), REQUEST)


def tables(ddb: Any, *names: str, items: int = 0) -> None:
    for name in names:
        create_table(ddb, name, {"backup-plan": "gfs"})
        if items:
            fill(ddb, name, items)


def exports_of(ddb: Any, table: str) -> list[dict[str, Any]]:
    arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]
    return list(ddb.list_exports(TableArn=arn)["ExportSummaries"])


def keys(s3: Any, prefix: str = "") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def test_each_table_of_the_plan_gets_one_export_under_its_slot_prefix(ddb, s3, gateways) -> None:
    tables(ddb, "orders", "users", items=5)
    create_table(ddb, "other", {"backup-plan": "daily"})

    report = run(gateways)

    assert report.tables(ExportOutcome.STARTED).keys() == {"orders", "users"} and not report.failed
    assert [len(exports_of(ddb, t)) for t in ("orders", "users", "other")] == [1, 1, 0]
    prefix = next(r.prefix for r in report.results if r.table == "orders")
    parsed = parse_slot_prefix(prefix)
    assert parsed == ExportSlot("123456789012", "us-east-1", "orders", "gfs", "monthly", SLOT)
    assert any(key.startswith(f"{prefix}/AWSDynamoDB/") and key.endswith("manifest-summary.json") for key in keys(s3))


def test_under_a_default_plan_every_untagged_table_is_exported_but_no_opted_out_or_drill_table(ddb, gateways) -> None:
    create_table(ddb, "orders")  # never tagged: found by ListTables alone
    create_table(ddb, "users", {"team": "shop"})  # tagged, not with the plan tag
    create_table(ddb, "sandbox", {"backup-plan": "none"})  # opted out
    drill = "tablesafe-drill-orders-0123456789ab"
    create_table(ddb, drill, {"tablesafe:drill": "orders"})  # a restore drill's table: the drill deletes it
    tables(ddb, "reports")
    table_gateway, exports = gateways
    settings = Settings.from_env({**ENV, "TABLESAFE_DEFAULT_PLAN": "gfs"})

    report = run_exports(table_gateway, exports, settings, REQUEST)

    started = report.tables(ExportOutcome.STARTED).keys()
    assert started - {LEASE_TABLE} == {"orders", "users", "reports"} and not report.failed  # the stack's lease
    assert [len(exports_of(ddb, t)) for t in ("orders", "sandbox", drill)] == [1, 0, 0]  # table has no tag either


def test_the_tables_settings_are_written_beside_the_export(ddb, s3, gateways) -> None:
    tables(ddb, "orders")
    ddb.update_time_to_live(TableName="orders", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})

    report = run(gateways)

    result = report.results[0]
    settings = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{result.prefix}/tablesafe-table.json")["Body"].read())
    assert settings["keySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert settings["attributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    assert settings["billingMode"] == "PAY_PER_REQUEST" and settings["ttlAttribute"] == "exp"
    assert settings["exportArn"] == result.export_arn and settings["tags"] == {"backup-plan": "gfs"}


def test_a_slot_exported_twice_gets_one_export(ddb, gateways) -> None:
    tables(ddb, "orders")

    first = run(gateways)
    second = run(gateways)

    assert first.tables(ExportOutcome.STARTED).keys() == {"orders"}
    assert second.tables(ExportOutcome.ALREADY_PRESENT).keys() == {"orders"}
    assert second.results[0].export_arn == first.results[0].export_arn
    assert len(exports_of(ddb, "orders")) == 1


def test_a_rerun_after_the_client_tokens_eight_hours_finds_the_export_by_its_folder(standin, ddb, gateways) -> None:
    tables(ddb, "orders")
    standin.exporting_seconds = 3600  # still in progress: only `_started` is in the bucket
    first = run(gateways)
    standin.expire_export_client_tokens()

    again = run(gateways)

    assert again.tables(ExportOutcome.ALREADY_PRESENT).keys() == {"orders"}
    assert again.results[0].export_arn == first.results[0].export_arn
    assert len(exports_of(ddb, "orders")) == 1


def test_a_retry_within_the_eight_hours_gets_the_same_export_before_anything_is_in_the_bucket(
    standin, ddb, s3, gateways
) -> None:
    tables(ddb, "orders")
    _, exports = gateways
    arn = ddb.describe_table(TableName="orders")["Table"]["TableArn"]
    slot = ExportSlot("123456789012", "us-east-1", "orders", "gfs", "monthly", SLOT)
    standin.exporting_seconds = 3600
    ddb.update_continuous_backups(
        TableName="orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )

    first = exports.start_export(arn, slot, slot.client_token())
    for key in keys(s3):  # as if `_started` were not written yet
        s3.delete_object(Bucket=BUCKET, Key=key)
    report = run(gateways)

    assert report.results[0].export_arn == first.arn
    assert len(exports_of(ddb, "orders")) == 1


def test_concurrent_deliveries_under_the_slot_lease_make_one_export(ddb, gateways) -> None:
    tables(ddb, "orders", "users")
    results: list[Any] = []

    def deliver() -> None:
        leases = slot_leases()
        key = LeaseKey("backup", "gfs", "monthly", SLOT)
        claim = leases.claim(key, predecessor=None, time_left=lambda: 900.0, reserve=5.0)
        assert claim.state is ClaimState.HELD
        try:
            results.append(run(gateways))
        finally:
            leases.release(claim)

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [len(exports_of(ddb, t)) for t in ("orders", "users")] == [1, 1]
    assert sorted(len(r.tables(ExportOutcome.STARTED)) for r in results) == [0, 0, 2]


def test_concurrent_runs_without_the_lease_still_make_one_export_by_the_client_token(ddb, gateways) -> None:
    tables(ddb, "orders")
    barrier = threading.Barrier(3)
    results: list[Any] = []

    def deliver() -> None:
        barrier.wait()
        results.append(run(gateways))

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(exports_of(ddb, "orders")) == 1
    assert len({r.results[0].export_arn for r in results}) == 1 and not any(r.failed for r in results)


def test_an_export_of_an_empty_table_is_started_and_completes(ddb, gateways) -> None:
    tables(ddb, "empty")

    report = run(gateways)
    check = check_exports(gateways[1])

    assert report.tables(ExportOutcome.STARTED).keys() == {"empty"}
    assert [e.table for e in check.completed] == ["empty"] and check.completed[0].item_count == 0


def test_a_table_without_pitr_gets_it_turned_on_and_is_exported(ddb, gateways) -> None:
    tables(ddb, "orders")  # create_table leaves PITR off; the plan asks for it

    report = run(gateways)

    assert report.tables(ExportOutcome.STARTED).keys() == {"orders"}
    pitr = ddb.describe_continuous_backups(TableName="orders")["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_the_check_reports_each_completed_export_once_with_its_bytes(standin, ddb, gateways) -> None:
    tables(ddb, "orders", items=10)
    standin.exporting_seconds = 3600
    run(gateways)

    early = check_exports(gateways[1])
    standin.complete_exports()
    done = check_exports(gateways[1])
    later = check_exports(gateways[1])

    assert early.in_progress == 1 and not early.completed
    assert [e.table for e in done.completed] == ["orders"] and done.exported_bytes > 0
    assert not later.completed and later.in_progress == 0 and later.failure() is None


def test_a_failed_export_is_reported_once_naming_the_table(standin, ddb, gateways) -> None:
    tables(ddb, "orders", "users")
    standin.fail_exports("orders", "S3AccessDenied", "Access denied")
    standin.exporting_seconds = 3600  # the export fails later, after the run

    report = run(gateways)
    standin.complete_exports()
    check = check_exports(gateways[1])
    again = check_exports(gateways[1])

    assert report.tables(ExportOutcome.STARTED).keys() == {"orders", "users"}
    assert [e.table for e in check.failed] == ["orders"] and "S3AccessDenied" in check.failed[0].failure
    assert "orders" in (check.failure() or "") and [e.table for e in check.completed] == ["users"]
    assert not again.failed


def test_an_export_that_fails_at_once_fails_the_run_and_the_check_counts_it(standin, ddb, gateways) -> None:
    tables(ddb, "orders")
    standin.fail_exports("orders", "S3AccessDenied", "Access denied")

    report = run(gateways)
    check = check_exports(gateways[1])

    assert report.failed.keys() == {"orders"} and "S3AccessDenied" in report.failed["orders"]
    assert [e.table for e in check.failed] == ["orders"]


def test_after_a_failed_export_a_rerun_of_the_slot_makes_a_new_one(standin, ddb, gateways) -> None:
    tables(ddb, "orders")
    standin.fail_exports("orders", "S3AccessDenied", "Access denied")
    run(gateways)
    standin.clear_export_failures()  # the cause is fixed

    report = run(gateways)

    assert report.tables(ExportOutcome.STARTED).keys() == {"orders"}
    statuses = sorted(e["ExportStatus"] for e in exports_of(ddb, "orders"))
    assert statuses == ["COMPLETED", "FAILED"]


def test_a_deleted_table_is_skipped_and_an_unwritable_bucket_fails_the_table(standin, ddb, gateways) -> None:
    tables(ddb, "orders")
    tables_gateway = gateways[0]
    broken = ExportGateway(
        dynamodb=standin.client("dynamodb"),
        s3=standin.client("s3"),
        archive=ArchiveTarget("no-such-bucket"),
        register=standin.client("dynamodb"),
        register_table=LEASE_TABLE,
    )

    report = run_exports(tables_gateway, broken, Settings.from_env(ENV), REQUEST)

    assert report.failed.keys() == {"orders"} and "NoSuchBucket" in report.failed["orders"]
    assert report.failure() is not None and "orders" in (report.failure() or "")
