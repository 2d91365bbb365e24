"""The stand-in as a server: lifecycle, environment, concurrency, other services, isolation from real AWS."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from tools.standin import StandIn
from tools.standin.support import NO_RETRIES, create_table, error_code


def test_code_that_builds_clients_from_the_environment_reaches_the_stand_in(standin: StandIn) -> None:
    plain = boto3.client("dynamodb")  # what production code does: region, endpoint and credentials from env

    create_table(plain, "orders")

    assert os.environ["AWS_ENDPOINT_URL"] == standin.endpoint_url
    assert standin.client("dynamodb").list_tables()["TableNames"] == ["orders"]


def test_env_names_endpoint_credentials_and_region(standin: StandIn) -> None:
    env = standin.env(region="eu-west-1")

    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert env["AWS_DEFAULT_REGION"] == env["AWS_REGION"] == "eu-west-1"
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(env)


def test_reset_wipes_tables_backups_faults_and_counters(standin: StandIn) -> None:
    ddb = standin.client("dynamodb", config=NO_RETRIES)
    create_table(ddb, "orders")
    ddb.create_backup(TableName="orders", BackupName="first")
    standin.faults.set("ListTables", throttle=1.0)
    standin.creating_seconds = 60

    standin.reset()

    assert ddb.list_tables()["TableNames"] == []
    assert ddb.list_backups()["BackupSummaries"] == []
    assert standin.creating_seconds == 0
    assert standin.calls.snapshot() == {"ListTables": {"ok": 1}, "ListBackups": {"ok": 1}}


def test_many_threads_with_standard_retries_and_a_pool_of_32(standin: StandIn) -> None:
    # 8 attempts, as the gateway makes: with standard's default 3, 10 % faults fail about one call in 1,000, and one
    # of these 320 calls in four runs
    retries: Any = {"mode": "standard", "max_attempts": 8}
    ddb = standin.client("dynamodb", config=Config(retries=retries, max_pool_connections=32))
    for i in range(32):
        create_table(ddb, f"t{i:02d}")
    standin.faults.set("DescribeTable", throttle=0.05, server_error=0.05)

    def work(i: int) -> int:
        table = f"t{i % 32:02d}"
        ddb.describe_table(TableName=table)
        ddb.list_backups(TableName=table, Limit=10)
        return 2

    with ThreadPoolExecutor(32) as pool:
        done = sum(pool.map(work, range(320)))

    assert done == 640
    snapshot = standin.calls.snapshot()
    assert snapshot["ListBackups"] == {"ok": 320}
    assert snapshot["DescribeTable"]["ok"] == 320  # every throttle and 500 was retried to success
    assert standin.calls.count("DescribeTable") > 320


def test_backups_of_distinct_tables_in_parallel(standin: StandIn) -> None:
    ddb = standin.client("dynamodb")
    for i in range(20):
        create_table(ddb, f"t{i:02d}")

    with ThreadPoolExecutor(20) as pool:
        arns = list(
            pool.map(
                lambda i: ddb.create_backup(TableName=f"t{i:02d}", BackupName="nightly")["BackupDetails"]["BackupArn"],
                range(20),
            )
        )

    listed = {s["BackupArn"] for s in ddb.list_backups()["BackupSummaries"]}
    assert listed == set(arns)


def test_other_services_are_served_by_moto(standin: StandIn) -> None:
    identity = standin.client("sts").get_caller_identity()
    s3 = standin.client("s3")
    s3.create_bucket(Bucket="reports")

    assert identity["Account"] == standin.account_id
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["reports"]
    assert standin.calls.count("GetCallerIdentity", "ok") == 1


def test_a_crash_inside_is_a_500_and_is_recorded(standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> dict:
        raise KeyError("boom")

    monkeypatch.setitem(standin.fidelity._handlers, "ListBackups", broken)
    ddb = standin.client("dynamodb", config=NO_RETRIES)

    with pytest.raises(ClientError) as raised:
        ddb.list_backups()

    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "KeyError: 'boom'" in standin.internal_errors[0]
    standin.app.internal_errors.clear()  # expected here; the fixture fails a test on any other crash


def test_a_second_stand_in_starts_and_stops_on_its_own_port() -> None:
    with StandIn(region="eu-central-1") as other:
        ddb = other.client("dynamodb", config=NO_RETRIES)
        create_table(ddb, "solo")
        endpoint = other.endpoint_url
        assert ddb.list_tables()["TableNames"] == ["solo"]
    stopped = boto3.client("dynamodb", endpoint_url=endpoint, config=NO_RETRIES)
    with pytest.raises(EndpointConnectionError):
        stopped.list_tables()


def test_without_the_stand_in_nothing_reaches_aws() -> None:
    assert "AWS_ENDPOINT_URL" not in os.environ
    ddb = boto3.client("dynamodb", config=Config(retries={"total_max_attempts": 1}, connect_timeout=1))

    with pytest.raises(EndpointConnectionError):
        ddb.list_tables()


def test_plain_moto_fixture(moto_aws: None) -> None:
    ddb = boto3.client("dynamodb")
    create_table(ddb, "in-process")

    assert ddb.list_tables()["TableNames"] == ["in-process"]


def test_backup_in_use_answer_from_a_moto_passthrough_is_counted_as_rejected(standin: StandIn) -> None:
    ddb = standin.client("dynamodb", config=NO_RETRIES)

    with pytest.raises(ClientError) as raised:
        ddb.delete_table(TableName="nope")

    assert error_code(raised.value) == "ResourceNotFoundException"
    assert standin.calls.snapshot()["DeleteTable"] == {"rejected": 1}
