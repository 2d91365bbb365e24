"""Pruning the archive on the stand-in: only tablesafe's slots, only past retention, never the newest minKeep
completed exports of a table and rule, nothing else under the folder, and Object Lock's refusals reported."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tablesafe.aws.clients import backup_clients
from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.aws.exports import ArchiveTarget, ExportGateway
from tablesafe.config import values
from tablesafe.config.settings import Settings
from tablesafe.constants import DEFAULT_RATE_LIMITS
from tablesafe.export.prune import prune_exports
from tablesafe.export.report import ExportRequest
from tablesafe.export.run import run_exports
from tablesafe.runtime.exports import prune_archive
from tests.lease_support import LEASE_TABLE, create_lease_table
from tools.standin import StandIn
from tools.standin.support import create_table

BUCKET = "archive"
ACCOUNT = "123456789012"
FOLDER = f"tablesafe/{ACCOUNT}/us-east-1/"
PLANS = {
    "gfs": {
        "rules": [
            {"name": "monthly", "schedule": "cron(0 4 1 * ? *)", "retentionDays": 60, "minKeep": 2, "target": "export"}
        ],
        "pitr": {"enabled": True},
    }
}
ENV = {"TABLESAFE_TAG_KEY": "backup-plan", "TABLESAFE_PLANS": json.dumps(PLANS), "TABLESAFE_BACKUP_NAME_PREFIX": "t"}
SLOTS = [datetime(2026, month, 1, 4, 0, tzinfo=UTC) for month in range(1, 7)]  # January .. June


@pytest.fixture
def s3(standin: StandIn) -> Any:
    client = standin.client("s3")
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return client


@pytest.fixture
def exports(standin: StandIn, s3: Any) -> ExportGateway:
    ddb = standin.client("dynamodb")
    create_lease_table(ddb)
    return ExportGateway(dynamodb=ddb, s3=s3, archive=ArchiveTarget(BUCKET), register=ddb, register_table=LEASE_TABLE)


def export_months(standin: StandIn, exports: ExportGateway, slots: list[datetime]) -> None:
    ddb = standin.client("dynamodb")
    create_table(ddb, "orders", {"backup-plan": "gfs"})
    tables = DynamoDbGateway(backup_clients(rate_limits={op: 2000.0 for op in DEFAULT_RATE_LIMITS}))
    for slot in slots:
        report = run_exports(tables, exports, Settings.from_env(ENV), ExportRequest("gfs", "monthly", slot))
        assert not report.failed


def slots_left(s3: Any) -> list[str]:
    keys = [v["Key"] for v in s3.list_object_versions(Bucket=BUCKET).get("Versions", [])]
    return sorted({k.split("/")[6] for k in keys if k.startswith(FOLDER) and k.count("/") >= 6})


def test_exports_past_retention_go_and_the_newest_min_keep_stay(standin, s3, exports) -> None:
    export_months(standin, exports, SLOTS)
    now = SLOTS[-1] - timedelta(days=2)  # May 30: January..March are past 60 days, April is not

    report = prune_exports(exports, values.plans("p", PLANS), ACCOUNT, now)

    assert len(report.deleted) == 3 and report.failure() is None
    assert slots_left(s3) == ["20260401T0400Z", "20260501T0400Z", "20260601T0400Z"]


def test_min_keep_holds_however_old_the_exports_are(standin, s3, exports) -> None:
    export_months(standin, exports, SLOTS[:3])

    report = prune_exports(exports, values.plans("p", PLANS), ACCOUNT, SLOTS[-1] + timedelta(days=3650))

    assert slots_left(s3) == ["20260201T0400Z", "20260301T0400Z"] and len(report.deleted) == 1


def test_a_dry_run_deletes_nothing(standin, s3, exports) -> None:
    export_months(standin, exports, SLOTS)

    report = prune_exports(exports, values.plans("p", PLANS), ACCOUNT, SLOTS[-1] - timedelta(days=2), dry_run=True)

    assert len(report.deleted) == 3 and len(slots_left(s3)) == 6


def test_only_tablesafes_slots_are_touched(standin, s3, exports) -> None:
    export_months(standin, exports, SLOTS[:1])
    foreign = [
        f"{FOLDER}orders/gfs/monthly/20250101T0400Z/AWSDynamoDB/x/data/a.json.gz",  # no tablesafe-table.json
        f"{FOLDER}notes.txt",
        "elsewhere/orders/gfs/monthly/20250101T0400Z/tablesafe-table.json",
    ]
    for key in foreign:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    removed = {"gfs": {"rules": [{**PLANS["gfs"]["rules"][0], "name": "yearly"}], "pitr": {"enabled": True}}}

    report = prune_exports(exports, values.plans("p", removed), ACCOUNT, SLOTS[0] + timedelta(days=3650))

    keys = {v["Key"] for v in s3.list_object_versions(Bucket=BUCKET)["Versions"]}
    assert set(foreign) <= keys and report.deleted == []
    assert report.orphaned == [f"{FOLDER}orders/gfs/monthly/20260101T0400Z"]  # its rule is gone: kept, reported


def test_a_listing_that_fails_deletes_nothing(standin, s3, exports) -> None:
    export_months(standin, exports, SLOTS)
    broken = ExportGateway(
        dynamodb=standin.client("dynamodb"), s3=standin.client("s3"), archive=ArchiveTarget("no-such-bucket")
    )

    with pytest.raises(Exception, match="NoSuchBucket"):
        prune_exports(broken, values.plans("p", PLANS), ACCOUNT, SLOTS[-1] + timedelta(days=10))
    assert len(slots_left(s3)) == 6


def test_what_object_lock_still_holds_is_reported_not_hidden(standin, exports) -> None:
    s3 = standin.client("s3")
    s3.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket="locked",
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 30}},
        },
    )
    ddb = standin.client("dynamodb")
    locked = ExportGateway(
        dynamodb=ddb, s3=s3, archive=ArchiveTarget("locked"), register=ddb, register_table=LEASE_TABLE
    )
    export_months(standin, locked, SLOTS)

    report = prune_exports(locked, values.plans("p", PLANS), ACCOUNT, SLOTS[-1] - timedelta(days=2))

    assert report.refused and "AccessDenied" in report.refused[0]
    assert report.failure() is not None


def test_the_prune_emits_the_archives_estimated_monthly_cost_at_its_price(standin, s3, exports, capsys) -> None:
    export_months(standin, exports, SLOTS[-2:])
    capsys.readouterr()
    settings = Settings.from_env({**ENV, "TABLESAFE_ARCHIVE_PRICE_PER_GB_MONTH": "3"})
    environ = {"TABLESAFE_ARCHIVE_BUCKET": BUCKET}
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:tablesafe-prune"

    assert prune_archive(settings, datetime(2026, 6, 2, tzinfo=UTC), arn, environ) is None

    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    (metric,) = [d for d in documents if "EstimatedArchiveMonthlyCost" in d]
    stored = sum(v["Size"] for v in s3.list_object_versions(Bucket=BUCKET).get("Versions", []))
    assert stored > 0 and metric["ArchivedBytes"] == [stored]
    assert metric["EstimatedArchiveMonthlyCost"] == [pytest.approx(stored / 1e9 * 3)]
