"""Exports to S3 as AWS describes them, through boto3.

Followed: API_ExportTableToPointInTime (PITR, ExportTime window, ClientToken for 8 hours), API_DescribeExport,
API_ListExports (MaxResults 1..25, NextToken), and the developer guide's "DynamoDB table export output format"
(`_started`, manifest-summary.json, manifest-files.json, data/*.json.gz of `{"Item": ...}` lines).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tools.standin import StandIn
from tools.standin.support import NO_RETRIES, create_table, error_code, fill

BUCKET = "archive"


@pytest.fixture
def ddb(standin: StandIn) -> Any:
    return standin.client("dynamodb", config=NO_RETRIES)


@pytest.fixture
def s3(standin: StandIn) -> Any:
    client = standin.client("s3", config=NO_RETRIES)
    client.create_bucket(Bucket=BUCKET)
    return client


def pitr_table(ddb: Any, name: str = "orders", items: int = 0) -> str:
    arn = create_table(ddb, name)
    ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    if items:
        fill(ddb, name, items)
    return arn


def keys(s3: Any, prefix: str = "") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def body(s3: Any, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def test_a_completed_export_writes_the_manifests_and_gzipped_items_aws_describes(ddb, s3) -> None:
    table_arn = pitr_table(ddb, items=30)

    export = ddb.export_table_to_point_in_time(TableArn=table_arn, S3Bucket=BUCKET, S3Prefix="t/orders")
    description = ddb.describe_export(ExportArn=export["ExportDescription"]["ExportArn"])["ExportDescription"]

    assert description["ExportStatus"] == "COMPLETED" and description["ItemCount"] == 30
    export_id = description["ExportArn"].rsplit("/", 1)[1]
    assert description["ExportArn"] == f"{table_arn}/export/{export_id}"
    root = f"t/orders/AWSDynamoDB/{export_id}/"
    assert description["ExportManifest"] == f"{root}manifest-summary.json"
    summary = json.loads(body(s3, description["ExportManifest"]))
    assert summary["exportArn"] == description["ExportArn"] and summary["itemCount"] == 30
    assert summary["outputFormat"] == "DYNAMODB_JSON" and summary["manifestFilesS3Key"] == f"{root}manifest-files.json"
    assert f"{root}_started" in keys(s3)
    items = []
    for line in body(s3, summary["manifestFilesS3Key"]).decode().splitlines():
        entry = json.loads(line)
        data = body(s3, entry["dataFileS3Key"])
        assert entry["dataFileS3Key"].startswith(f"{root}data/") and entry["dataFileS3Key"].endswith(".json.gz")
        assert entry["md5Checksum"] == base64.b64encode(hashlib.md5(data).digest()).decode()
        lines = gzip.decompress(data).decode().splitlines()
        assert len(lines) == entry["itemCount"]
        items.extend(json.loads(text)["Item"] for text in lines)
    assert sorted(int(item["pk"]["S"]) for item in items) == list(range(30))
    assert items[0]["data"] == {"S": "x" * 100}  # DynamoDB JSON, typed


def test_an_export_of_an_empty_table_completes_with_one_empty_data_file(ddb, s3) -> None:
    table_arn = pitr_table(ddb)

    arn = ddb.export_table_to_point_in_time(TableArn=table_arn, S3Bucket=BUCKET)["ExportDescription"]["ExportArn"]

    description = ddb.describe_export(ExportArn=arn)["ExportDescription"]
    assert description["ExportStatus"] == "COMPLETED" and description["ItemCount"] == 0
    data = [key for key in keys(s3, "AWSDynamoDB/") if "/data/" in key]
    assert len(data) == 1 and gzip.decompress(body(s3, data[0])) == b""


def test_an_export_needs_point_in_time_recovery(ddb, s3) -> None:
    table_arn = create_table(ddb, "orders")

    with pytest.raises(ClientError) as raised:
        ddb.export_table_to_point_in_time(TableArn=table_arn, S3Bucket=BUCKET)

    assert error_code(raised.value) == "PointInTimeRecoveryUnavailableException"
    assert "orders" in str(raised.value)


def test_an_export_time_outside_the_recovery_window_is_refused(ddb, s3) -> None:
    table_arn = pitr_table(ddb)
    for when in (datetime.now(UTC) + timedelta(hours=1), datetime.now(UTC) - timedelta(days=36)):
        with pytest.raises(ClientError) as raised:
            ddb.export_table_to_point_in_time(TableArn=table_arn, S3Bucket=BUCKET, ExportTime=when)
        assert error_code(raised.value) == "InvalidExportTimeException"


def test_an_export_stays_in_progress_for_the_set_time_and_writes_only_started_meanwhile(standin, ddb, s3) -> None:
    table_arn = pitr_table(ddb, items=3)
    standin.exporting_seconds = 3600

    arn = ddb.export_table_to_point_in_time(TableArn=table_arn, S3Bucket=BUCKET)["ExportDescription"]["ExportArn"]

    assert ddb.describe_export(ExportArn=arn)["ExportDescription"]["ExportStatus"] == "IN_PROGRESS"
    assert [key.rsplit("/", 1)[1] for key in keys(s3)] == ["_started"]
    standin.complete_exports()
    assert ddb.describe_export(ExportArn=arn)["ExportDescription"]["ExportStatus"] == "COMPLETED"
    assert any(key.endswith("manifest-summary.json") for key in keys(s3))


def test_an_export_completes_by_itself_when_its_time_is_over(standin, ddb, s3) -> None:
    table_arn = pitr_table(ddb)
    standin.exporting_seconds = 0.2

    arn = ddb.export_table_to_point_in_time(TableArn=table_arn, S3Bucket=BUCKET)["ExportDescription"]["ExportArn"]
    time.sleep(0.3)

    assert ddb.describe_export(ExportArn=arn)["ExportDescription"]["ExportStatus"] == "COMPLETED"


def test_a_failed_export_says_why_and_writes_no_manifest(standin, ddb, s3) -> None:
    table_arn = pitr_table(ddb, items=2)
    standin.fail_exports("orders", "S3AccessDenied", "Access denied to the bucket")

    arn = ddb.export_table_to_point_in_time(TableArn=table_arn, S3Bucket=BUCKET)["ExportDescription"]["ExportArn"]

    description = ddb.describe_export(ExportArn=arn)["ExportDescription"]
    assert description["ExportStatus"] == "FAILED" and description["FailureCode"] == "S3AccessDenied"
    assert "ExportManifest" not in description
    assert not any("manifest" in key for key in keys(s3))


def test_an_export_to_a_missing_bucket_fails(ddb, s3) -> None:
    table_arn = pitr_table(ddb)

    arn = ddb.export_table_to_point_in_time(TableArn=table_arn, S3Bucket="nobody")["ExportDescription"]["ExportArn"]

    description = ddb.describe_export(ExportArn=arn)["ExportDescription"]
    assert description["ExportStatus"] == "FAILED" and description["FailureCode"] == "S3NoSuchBucket"


def test_the_same_client_token_answers_the_first_export_for_eight_hours(standin, ddb, s3) -> None:
    table_arn = pitr_table(ddb)
    request = {"TableArn": table_arn, "S3Bucket": BUCKET, "S3Prefix": "p", "ClientToken": "slot-1"}

    first = ddb.export_table_to_point_in_time(**request)["ExportDescription"]["ExportArn"]
    again = ddb.export_table_to_point_in_time(**request)["ExportDescription"]["ExportArn"]
    standin.expire_export_client_tokens()
    later = ddb.export_table_to_point_in_time(**request)["ExportDescription"]["ExportArn"]

    assert again == first and later != first
    assert len(ddb.list_exports(TableArn=table_arn)["ExportSummaries"]) == 2


def test_the_same_client_token_with_other_parameters_is_a_conflict(ddb, s3) -> None:
    table_arn = pitr_table(ddb)
    ddb.export_table_to_point_in_time(TableArn=table_arn, S3Bucket=BUCKET, S3Prefix="p", ClientToken="t")

    with pytest.raises(ClientError) as raised:
        ddb.export_table_to_point_in_time(TableArn=table_arn, S3Bucket=BUCKET, S3Prefix="q", ClientToken="t")

    assert error_code(raised.value) == "ExportConflictException"


def test_list_exports_pages_by_max_results_and_filters_by_table(ddb, s3) -> None:
    orders = pitr_table(ddb, "orders")
    users = pitr_table(ddb, "users")
    made = [
        ddb.export_table_to_point_in_time(TableArn=orders, S3Bucket=BUCKET)["ExportDescription"]["ExportArn"]
        for _ in range(5)
    ]
    ddb.export_table_to_point_in_time(TableArn=users, S3Bucket=BUCKET)

    pages = [ddb.list_exports(TableArn=orders, MaxResults=2)]  # botocore has no paginator for ListExports
    while "NextToken" in pages[-1]:
        pages.append(ddb.list_exports(TableArn=orders, MaxResults=2, NextToken=pages[-1]["NextToken"]))

    assert [len(page["ExportSummaries"]) for page in pages] == [2, 2, 1]
    assert [s["ExportArn"] for page in pages for s in page["ExportSummaries"]] == made
    assert len(ddb.list_exports()["ExportSummaries"]) == 6
    with pytest.raises(ClientError) as raised:
        ddb.list_exports(MaxResults=26)
    assert error_code(raised.value) in {"ValidationException", "ParamValidation"}


def test_describe_export_of_an_unknown_arn_is_not_found(ddb) -> None:
    table_arn = pitr_table(ddb)

    with pytest.raises(ClientError) as raised:
        ddb.describe_export(ExportArn=f"{table_arn}/export/01234567890123-abcdef01")

    assert error_code(raised.value) == "ExportNotFoundException"


def test_import_table_from_an_exports_data_files_creates_the_table_with_its_items(ddb, s3) -> None:
    table_arn = pitr_table(ddb, items=12)
    arn = ddb.export_table_to_point_in_time(TableArn=table_arn, S3Bucket=BUCKET)["ExportDescription"]["ExportArn"]
    export_id = arn.rsplit("/", 1)[1]

    answer = ddb.import_table(
        S3BucketSource={"S3Bucket": BUCKET, "S3KeyPrefix": f"AWSDynamoDB/{export_id}/data/"},
        InputFormat="DYNAMODB_JSON",
        InputCompressionType="GZIP",
        TableCreationParameters={
            "TableName": "orders-restored",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )["ImportTableDescription"]

    for _ in range(50):
        status = ddb.describe_import(ImportArn=answer["ImportArn"])["ImportTableDescription"]["ImportStatus"]
        if status != "IN_PROGRESS":
            break
        time.sleep(0.05)
    assert status == "COMPLETED"
    assert ddb.scan(TableName="orders-restored", Select="COUNT")["Count"] == 12
