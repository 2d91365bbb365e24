"""Injected faults reach boto3 as AWS's would, with or without effect, and are counted."""

from __future__ import annotations

import contextlib
import json
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError
from moto.iam.models import iam_backends

from tablesafe.constants import DEFAULT_RATE_LIMITS
from tools.standin import StandIn
from tools.standin.faults import DEFAULT_SEED, FaultRule
from tools.standin.support import NO_RETRIES, create_table, error_code


@pytest.fixture
def ddb(standin: StandIn):
    return standin.client("dynamodb", config=NO_RETRIES)


@pytest.fixture
def orders(ddb) -> str:
    create_table(ddb, "orders")
    return "orders"


def _backup_names(ddb) -> list[str]:
    return [s["BackupName"] for s in ddb.list_backups()["BackupSummaries"]]


def test_throttled_create_backup_has_no_effect(standin: StandIn, ddb, orders) -> None:
    standin.faults.set("CreateBackup", throttle=1.0)

    with pytest.raises(ClientError) as raised:
        ddb.create_backup(TableName=orders, BackupName="first")

    assert error_code(raised.value) == "ThrottlingException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert _backup_names(ddb) == []
    assert standin.calls.count("CreateBackup", "throttled") == 1
    assert standin.calls.codes("CreateBackup") == {"ThrottlingException": 1}


def test_delete_backup_can_be_refused_with_limit_exceeded(standin: StandIn, ddb, orders) -> None:
    arn = ddb.create_backup(TableName=orders, BackupName="first")["BackupDetails"]["BackupArn"]
    standin.faults.set("DeleteBackup", throttle=1.0, throttle_as="LimitExceededException")

    with pytest.raises(ClientError) as raised:
        ddb.delete_backup(BackupArn=arn)

    assert error_code(raised.value) == "LimitExceededException"
    assert _backup_names(ddb) == ["first"]


def test_server_error_is_a_500_without_effect(standin: StandIn, ddb, orders) -> None:
    standin.faults.set("CreateBackup", server_error=1.0)

    with pytest.raises(ClientError) as raised:
        ddb.create_backup(TableName=orders, BackupName="first")

    assert error_code(raised.value) == "InternalServerError"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert _backup_names(ddb) == []
    assert standin.calls.count("CreateBackup", "error") == 1


@pytest.mark.parametrize(("mode", "status"), [("500", 500), ("503", 503)])
def test_lost_answer_after_the_backup_was_made(standin: StandIn, ddb, orders, mode: str, status: int) -> None:
    standin.faults.set("CreateBackup", lost=1.0, lost_as=mode)

    with pytest.raises(ClientError) as raised:
        ddb.create_backup(TableName=orders, BackupName="first")

    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert _backup_names(ddb) == ["first"]
    assert standin.calls.count("CreateBackup", "lost") == 1


def test_dropped_connection_after_the_backup_was_made(standin: StandIn, ddb, orders) -> None:
    standin.faults.set("CreateBackup", lost=1.0, lost_as="drop")

    with pytest.raises(ConnectionClosedError):
        ddb.create_backup(TableName=orders, BackupName="first")

    assert _backup_names(ddb) == ["first"]
    assert standin.calls.count("CreateBackup", "lost") == 1


def test_standard_retries_get_through_a_few_throttles(standin: StandIn, orders) -> None:
    ddb = standin.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 5}))
    standin.faults.set("CreateBackup", throttle=1.0, limit=1)

    answer = ddb.create_backup(TableName=orders, BackupName="first")

    assert answer["ResponseMetadata"]["RetryAttempts"] == 1
    assert standin.calls.snapshot()["CreateBackup"] == {"throttled": 1, "ok": 1}


def test_standard_retries_after_a_dropped_connection_find_the_backup_exists(standin: StandIn, orders) -> None:
    ddb = standin.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 3}))
    standin.faults.set("DeleteBackup", lost=1.0, lost_as="drop", limit=1)
    arn = ddb.create_backup(TableName=orders, BackupName="first")["BackupDetails"]["BackupArn"]

    with pytest.raises(ClientError) as raised:
        ddb.delete_backup(BackupArn=arn)  # deleted on the first attempt, the retry finds nothing

    assert error_code(raised.value) == "BackupNotFoundException"
    assert standin.calls.snapshot()["DeleteBackup"] == {"lost": 1, "rejected": 1}


def test_latency_delays_every_call_of_the_operation(standin: StandIn, ddb, orders) -> None:
    standin.faults.set("DescribeTable", latency_ms=150)

    started = time.monotonic()
    ddb.describe_table(TableName=orders)

    # A lower bound only: the sleep guarantees it, so this cannot flake.
    assert time.monotonic() - started >= 0.15


def test_faults_can_target_some_tables(standin: StandIn, ddb, orders) -> None:
    create_table(ddb, "users")
    standin.faults.set("CreateBackup", throttle=1.0, tables=["users"])

    ddb.create_backup(TableName=orders, BackupName="first")
    with pytest.raises(ClientError) as raised:
        ddb.create_backup(TableName="users", BackupName="first")

    assert error_code(raised.value) == "ThrottlingException"


def test_set_all_covers_operations_without_a_rule_of_their_own(standin: StandIn, ddb, orders) -> None:
    standin.faults.set_all(server_error=1.0)
    standin.faults.set("DescribeTable", latency_ms=1)

    ddb.describe_table(TableName=orders)
    with pytest.raises(ClientError):
        ddb.list_backups()
    standin.faults.clear()
    ddb.list_backups()

    assert standin.calls.snapshot()["ListBackups"] == {"error": 1, "ok": 1}


def _outcomes(standin: StandIn, ddb, calls: int) -> list[str]:
    seen = []
    for _ in range(calls):
        try:
            ddb.describe_table(TableName="orders")
            seen.append("ok")
        except ClientError as error:
            seen.append(error_code(error))
    return seen


def test_the_same_seed_gives_the_same_faults(standin: StandIn, ddb, orders) -> None:
    standin.faults.set("DescribeTable", throttle=0.3, server_error=0.2)
    first = _outcomes(standin, ddb, 40)
    standin.faults.seed(7)
    other_seed = _outcomes(standin, ddb, 40)
    standin.faults.seed(7)
    ddb.list_backups()  # other operations draw from their own sequences

    again = _outcomes(standin, ddb, 40)

    assert again == other_seed
    assert first != other_seed
    assert {"ok", "ThrottlingException", "InternalServerError"} == set(first)


def test_a_tables_faults_do_not_depend_on_calls_for_other_tables(standin: StandIn, ddb, orders) -> None:
    create_table(ddb, "users")
    standin.faults.set("DescribeTable", throttle=0.5)
    alone = _outcomes(standin, ddb, 20)
    standin.faults.seed(DEFAULT_SEED)

    interleaved = []
    for _ in range(20):
        interleaved += _outcomes(standin, ddb, 1)
        with contextlib.suppress(ClientError):
            ddb.describe_table(TableName="users")

    assert interleaved == alone


def test_rate_limit_throttles_beyond_the_bucket(standin: StandIn, ddb, orders) -> None:
    standin.faults.rate_limit("ListBackups", per_second=0.001, burst=3)

    outcomes = []
    for _ in range(6):
        try:
            ddb.list_backups()
            outcomes.append("ok")
        except ClientError as error:
            outcomes.append(error_code(error))
    west = standin.client("dynamodb", region="us-west-2", config=NO_RETRIES)
    west.list_backups()  # each region has its own bucket, as AWS's per-account-per-region quotas

    assert outcomes == ["ok"] * 3 + ["ThrottlingException"] * 3
    assert standin.calls.snapshot()["ListBackups"] == {"ok": 4, "rate_limited": 3}


def test_each_account_has_its_own_rate_limit_bucket(standin: StandIn, ddb) -> None:
    other = "111111111111"  # a member account, reached through a role as `status --accounts` reaches it
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": standin.account_id}, "Action": "sts:AssumeRole"}]}
    iam_backends[other]["aws"].create_role("reader", json.dumps(trust), "/", None, "", [], None)
    role = f"arn:aws:iam::{other}:role/reader"
    credentials = standin.client("sts").assume_role(RoleArn=role, RoleSessionName="rate-test")["Credentials"]
    theirs = boto3.client(
        "dynamodb",
        endpoint_url=standin.endpoint_url,
        region_name=standin.region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        config=NO_RETRIES,
    )
    standin.faults.rate_limit("ListBackups", per_second=0.001, burst=1)

    ddb.list_backups()
    with pytest.raises(ClientError) as raised:
        ddb.list_backups()
    theirs.list_backups()  # the other account's quota is its own

    assert error_code(raised.value) == "ThrottlingException"
    assert standin.calls.snapshot()["ListBackups"] == {"ok": 2, "rate_limited": 1}


def test_aws_documented_rate_limits(standin: StandIn) -> None:
    rates = standin.faults.rate_limits(aws_documented=True, scale=0.5)

    assert rates == {op: rate / 2 for op, rate in DEFAULT_RATE_LIMITS.items()}
    assert rates["CreateBackup"] == 25
    assert rates["ListBackups"] == 2.5


def test_tagging_api_throttles_in_its_own_words(standin: StandIn) -> None:
    tagging = standin.client("resourcegroupstaggingapi", config=NO_RETRIES)
    standin.faults.rate_limit("GetResources", per_second=0.001, burst=1)

    tagging.get_resources(ResourceTypeFilters=["dynamodb:table"])
    with pytest.raises(ClientError) as raised:
        tagging.get_resources(ResourceTypeFilters=["dynamodb:table"])

    assert error_code(raised.value) == "ThrottledException"


def test_unprocessed_items_are_not_written(standin: StandIn, ddb, orders) -> None:
    standin.faults.set("BatchWriteItem", unprocessed=0.5)
    requests = [{"PutRequest": {"Item": {"pk": {"S": str(i)}}}} for i in range(25)]

    answer = ddb.batch_write_item(RequestItems={orders: requests})

    handed_back = {r["PutRequest"]["Item"]["pk"]["S"] for r in answer["UnprocessedItems"].get(orders, [])}
    written = {item["pk"]["S"] for item in ddb.scan(TableName=orders)["Items"]}
    assert 0 < len(handed_back) < 25
    assert written == {str(i) for i in range(25)} - handed_back
    assert standin.calls.unprocessed_items() == len(handed_back)


def test_all_items_unprocessed(standin: StandIn, ddb, orders) -> None:
    standin.faults.set("BatchWriteItem", unprocessed=1.0)
    requests = [{"PutRequest": {"Item": {"pk": {"S": str(i)}}}} for i in range(3)]

    answer = ddb.batch_write_item(RequestItems={orders: requests})

    assert answer["UnprocessedItems"] == {orders: requests}
    assert ddb.scan(TableName=orders)["Count"] == 0


def test_counters_by_operation_and_outcome(standin: StandIn, ddb, orders) -> None:
    standin.calls.reset()
    ddb.describe_table(TableName=orders)
    with pytest.raises(ClientError):
        ddb.describe_table(TableName="nope")

    assert standin.calls.snapshot() == {"DescribeTable": {"ok": 1, "rejected": 1}}
    assert standin.calls.count() == 2
    assert standin.calls.count(outcome="rejected") == 1
    assert standin.calls.codes() == {"ResourceNotFoundException": 1}
    standin.calls.reset()
    assert standin.calls.count() == 0


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"throttle": 1.5}, "throttle=1.5"),
        ({"lost_as": "404"}, "lost_as='404'"),
        ({"latency_ms": -1}, "latency_ms=-1"),
        ({"limit": -1}, "limit=-1"),
    ],
)
def test_fault_rules_name_their_mistakes(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaultRule(**settings)
