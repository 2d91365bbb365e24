"""Item-level recovery from an S3 export through the CLI: `find-items` and `copy-items --from-export`, on exports
tablesafe's export run made in the stand-in."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tablesafe.aws.clients import backup_clients
from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.aws.exports import ArchiveTarget, ExportGateway
from tablesafe.config.settings import Settings
from tablesafe.constants import DEFAULT_RATE_LIMITS
from tablesafe.export.report import ExportRequest
from tablesafe.export.run import run_exports
from tests.integration.cli_support import cut_identifiers, run, run_at
from tests.lease_support import LEASE_TABLE, create_lease_table

BUCKET = "archive"
PLANS = {
    "gfs": {
        "rules": [
            {"name": "monthly", "schedule": "cron(0 4 1 * ? *)", "retentionDays": 90, "minKeep": 2, "target": "export"}
        ],
        "pitr": {"enabled": True},
    }
}
ENV = {"TABLESAFE_TAG_KEY": "backup-plan", "TABLESAFE_PLANS": json.dumps(PLANS), "TABLESAFE_BACKUP_NAME_PREFIX": "t"}


def item(pk: str, sk: int, status: str = "open") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}, "status": {"S": status}, "tags": {"SS": ["a", "b"]}}


@pytest.fixture
def exported(aws, standin) -> dict[str, str]:
    """`orders` (pk, sk) with 300 items exported twice (November: all open; December: some closed)."""
    aws.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "backup-plan", "Value": "gfs"}],
    )
    create_lease_table(aws)
    s3 = standin.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    standin.fidelity.exports.items_per_file = 100  # several data files
    gateway = ExportGateway(
        dynamodb=aws, s3=s3, archive=ArchiveTarget(BUCKET), register=aws, register_table=LEASE_TABLE
    )
    tables = DynamoDbGateway(backup_clients(rate_limits={op: 2000.0 for op in DEFAULT_RATE_LIMITS}))
    arns = {}
    for month, status in ((11, "open"), (12, "closed")):
        for start in range(0, 300, 25):
            batch = [{"PutRequest": {"Item": item(f"c#{i % 7}", i, status if i % 2 else "open")}}
                     for i in range(start, start + 25)]  # fmt: skip
            aws.batch_write_item(RequestItems={"orders": batch})
        slot = datetime(2026, month, 1, 4, 0, tzinfo=UTC)
        report = run_exports(tables, gateway, Settings.from_env(ENV), ExportRequest("gfs", "monthly", slot))
        arns[str(month)] = report.results[0].export_arn
    return arns


def test_find_items_prints_the_items_of_the_latest_export(aws, capsys, exported) -> None:
    code, out, _ = run(capsys, "find-items", "orders", "--export", "latest", "--key", '{"pk": "c#1", "sk": 1}')

    assert code == 0
    assert json.loads(out.strip()) == item("c#1", 1, "closed")  # December's, as the export holds it


def test_find_items_of_a_named_export_and_keys_not_in_it(aws, capsys, exported, tmp_path) -> None:
    keys = tmp_path / "keys.jsonl"
    keys.write_text('{"pk": "c#1", "sk": 1}\n{"pk": {"S": "c#1"}, "sk": {"N": "999"}}\n')

    code, out, _ = run(capsys, "find-items", "orders", "--export", exported["11"], "--keys-file", str(keys), "--json")

    body = json.loads(out)
    assert code == 1  # a key was not found: flagged
    assert body["export"] == exported["11"] and body["items"] == [item("c#1", 1, "open")]
    assert body["notFound"] == [{"pk": "c#1", "sk": 999}] and body["bytesRead"] > 0


def test_find_items_refuses_a_key_that_does_not_fit_the_table(aws, capsys, exported) -> None:
    code, _, err = run(capsys, "find-items", "orders", "--export", "latest", "--key", '{"pk": "c#1"}')

    assert code == 2 and "missing sk" in err


def test_find_items_of_a_deleted_table_by_export_arn(aws, capsys, exported) -> None:
    aws.delete_table(TableName="orders")

    code, out, _ = run(capsys, "find-items", "orders", "--export", exported["12"], "--key", '{"pk": "c#0", "sk": 7}')
    latest, _, err = run(capsys, "find-items", "orders", "--export", "latest", "--key", '{"pk": "c#0", "sk": 7}')

    assert code == 0 and json.loads(out)["sk"] == {"N": "7"}
    assert latest == 1 and "--export ARN" in err


def test_copy_items_from_an_export_writes_back_what_was_lost_and_skips_what_exists(aws, capsys, exported) -> None:
    for sk in (1, 3, 5):
        aws.delete_item(TableName="orders", Key={"pk": {"S": f"c#{sk % 7}"}, "sk": {"N": str(sk)}})
    keys = [json.dumps({"pk": f"c#{sk % 7}", "sk": sk}) for sk in (1, 3, 5, 7)]
    argv = ["copy-items", "--from-export", "latest", "--to", "orders"]
    for key in keys:
        argv += ["--key", key]

    dry, dry_out, _ = run(capsys, *argv, "--dry-run", "--json")
    code, out, _ = run(capsys, *argv, "--json")

    planned = {p["key"]["sk"]: p["action"] for p in json.loads(dry_out)["planned"]}
    assert dry == 0 and planned == {1: "copy", 3: "copy", 5: "copy", 7: "skip"}
    body = json.loads(out)
    assert code == 0 and (body["copied"], body["skipped"]) == (3, 1) and body["from"] == exported["12"]
    restored = aws.get_item(TableName="orders", Key={"pk": {"S": "c#1"}, "sk": {"N": "1"}})["Item"]
    assert restored == item("c#1", 1, "closed")


def test_copy_items_from_an_export_reports_keys_not_in_it(aws, capsys, exported) -> None:
    code, out, _ = run(
        capsys, "copy-items", "--from-export", "latest", "--to", "orders", "--key", '{"pk": "x", "sk": 1}', "--json"
    )

    assert code == 1 and json.loads(out)["notFound"] == [{"pk": "x", "sk": 1}]


def test_a_throttled_copy_from_an_export_retries_and_finishes(aws, capsys, standin, exported) -> None:
    for sk in range(0, 60, 2):
        aws.delete_item(TableName="orders", Key={"pk": {"S": f"c#{sk % 7}"}, "sk": {"N": str(sk)}})
    standin.faults.set("PutItem", throttle=0.3)
    standin.faults.set("BatchGetItem", throttle=0.3)
    argv = ["copy-items", "--from-export", exported["12"], "--to", "orders", "--json"]
    for sk in range(0, 60, 2):
        argv += ["--key", json.dumps({"pk": f"c#{sk % 7}", "sk": sk})]

    code, out, _ = run(capsys, *argv)

    body = json.loads(out)
    assert code == 0 and body["copied"] == 30 and body["failed"] == []
    assert standin.calls.count("PutItem", "throttled") > 0
    assert aws.scan(TableName="orders", Select="COUNT")["Count"] == 300


def test_copy_items_wants_exactly_one_source(aws, capsys, exported) -> None:
    both, _, err = run(capsys, "copy-items", "--from", "x", "--from-export", "latest", "--to", "orders", "--key", "{}")
    neither, _, _ = run(capsys, "copy-items", "--to", "orders", "--key", "{}")
    query, _, qerr = run(capsys, "copy-items", "--from-export", "latest", "--to", "orders", "--filter", "a = b")

    assert (both, neither, query) == (2, 2, 2)
    assert "exactly one of --from" in err and "keys only" in qerr


def test_restore_from_the_latest_export_imports_it_and_reapplies_the_settings(aws, capsys, exported) -> None:
    aws.update_time_to_live(TableName="orders", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})

    code, out, err = run(capsys, "restore", "orders", "--to", "orders-back", "--export", "latest", "--json")

    body = json.loads(out)
    assert code == 0, err
    assert body["method"] == "export" and body["backupArn"] == exported["12"]
    assert aws.scan(TableName="orders-back", Select="COUNT")["Count"] == 300
    table = aws.describe_table(TableName="orders-back")["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    ttl = aws.describe_time_to_live(TableName="orders-back")["TimeToLiveDescription"]
    assert ttl.get("AttributeName") == "exp"
    tags = aws.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]
    assert {"Key": "backup-plan", "Value": "gfs"} not in tags  # without --keep-plan the copy is not backed up


def test_restore_from_an_export_of_a_deleted_table_uses_the_saved_settings(aws, capsys, exported) -> None:
    aws.delete_table(TableName="orders")

    code, _, err = run(capsys, "restore", "orders", "--to", "orders-back", "--export", exported["11"], "--json")

    assert code == 0, err
    assert "saved with the" in " ".join(err.split())
    item_back = aws.get_item(TableName="orders-back", Key={"pk": {"S": "c#1"}, "sk": {"N": "1"}})["Item"]
    assert item_back == item("c#1", 1, "open")


def test_restore_from_an_export_never_touches_an_existing_table(aws, capsys, exported) -> None:
    code, _, err = run(capsys, "restore", "orders", "--to", "orders", "--export", "latest")
    both, _, both_err = run(capsys, "restore", "orders", "--to", "x", "--export", "latest", "--backup", "latest")

    assert code == 1 and "exists already" in err
    assert both == 2 and "one of --backup, --at or --export" in both_err


def test_exports_lists_the_tables_exports_newest_slot_first(aws, capsys, exported) -> None:
    code, out, _ = run(capsys, "exports", "orders", "--json")

    rows = json.loads(out)
    assert code == 0 and [r["exportArn"] for r in rows] == [exported["12"], exported["11"]]
    assert rows[0]["slot"] == "2026-12-01T04:00:00+00:00" and rows[0]["status"] == "COMPLETED"
    assert rows[0]["plan"] == "gfs" and rows[0]["rule"] == "monthly" and rows[0]["storageClass"] == "STANDARD"


def test_cost_lists_the_archives_exports_by_plan_and_table_at_the_configured_price(
    aws, capsys, exported, standin, tmp_path
) -> None:
    config = tmp_path / "cdk.json"
    context = {"tablesafe:plans": PLANS, "tablesafe:tagKey": "backup-plan", "tablesafe:archive": {"pricePerGbMonth": 2}}
    config.write_text(json.dumps({"context": context}))
    s3 = standin.client("s3")
    stored = sum(v["Size"] for v in s3.list_object_versions(Bucket=BUCKET).get("Versions", []))

    code, out, _ = run(capsys, "cost", "--json", "--config", str(config))

    assert code == 0
    archive = json.loads(out)["archive"]
    assert archive["pricePerGbMonth"] == 2
    assert [(r["name"], r["exports"]) for r in archive["byPlan"]] == [("gfs", 2)]
    assert [(r["name"], r["exports"]) for r in archive["byTable"]] == [("orders", 2)]
    assert 0 < archive["total"]["bytes"] == stored  # every object of both completed exports, as S3 counts it
    assert archive["total"]["monthlyCost"] == pytest.approx(stored / 1e9 * 2)
    assert json.loads(out)["monthlyCost"] == pytest.approx(json.loads(out)["total"]["monthlyCost"] + stored / 1e9 * 2)


@pytest.mark.parametrize("width", [80, 120])
def test_cost_shows_the_archive_readable_at_80_columns(aws, capsys, exported, tmp_path, width) -> None:
    config = tmp_path / "cdk.json"
    config.write_text(json.dumps({"context": {"tablesafe:plans": PLANS, "tablesafe:tagKey": "backup-plan"}}))

    code, out, _ = run_at(width, capsys, "cost", "--config", str(config))

    assert code == 0
    assert "archive (exports) by table" in out and "backups and archive:" in out
    assert not cut_identifiers(out, ["orders", "gfs"]) and "…" not in out, out
    assert max(len(line) for line in out.splitlines()) <= width
