"""Requests AWS refuses with a 4xx and moto accepted or crashed on (tools/standin/validation.py names the docs)."""

from __future__ import annotations

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tools.standin.support import create_table, error_code

ONE_TRY = Config(retries={"max_attempts": 1})


def _refused(call) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value


@pytest.mark.parametrize("service", ["dynamodb", "resourcegroupstaggingapi"])
def test_a_region_no_partition_has_is_refused_as_aws_refuses_the_signature(standin, service):
    client = standin.client(service, region="us-east-9", config=ONE_TRY)
    call = client.list_tables if service == "dynamodb" else client.get_resources

    error = _refused(call)

    assert error_code(error) == "InvalidSignatureException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Credential should be scoped to a valid region, not 'us-east-9'" in str(error)
    assert standin.internal_errors == []


@pytest.mark.parametrize("region", ["eu-central-2", "cn-north-1", "us-gov-west-1"])
def test_regions_of_every_partition_are_served(standin, region):
    assert standin.client("dynamodb", region=region).list_tables()["TableNames"] == []


@pytest.mark.parametrize("name", ["bad name!", "x" * 256, "tablé"])
def test_create_table_refuses_a_name_outside_the_naming_rules(standin, name):
    ddb = standin.client("dynamodb", config=ONE_TRY)

    error = _refused(lambda: create_table(ddb, name, None))

    assert error_code(error) == "ValidationException"
    assert f"Value '{name}' at 'tableName' failed to satisfy constraint" in str(error)
    assert ddb.list_tables()["TableNames"] == []


@pytest.mark.parametrize("name", ["bad name!", "tablé"])  # botocore itself refuses lengths outside 3-255
def test_restores_refuse_a_target_name_outside_the_naming_rules(standin, name):
    ddb = standin.client("dynamodb", config=ONE_TRY)
    create_table(ddb, "orders", None)
    arn = ddb.create_backup(TableName="orders", BackupName="before")["BackupDetails"]["BackupArn"]

    from_backup = _refused(lambda: ddb.restore_table_from_backup(TargetTableName=name, BackupArn=arn))
    to_time = _refused(
        lambda: ddb.restore_table_to_point_in_time(
            SourceTableName="orders", TargetTableName=name, UseLatestRestorableTime=True
        )
    )

    for error in (from_backup, to_time):
        assert error_code(error) == "ValidationException" and "at 'targetTableName'" in str(error)
    assert ddb.list_tables()["TableNames"] == ["orders"]


def test_valid_names_with_dots_dashes_and_underscores_are_accepted(standin):
    ddb = standin.client("dynamodb")
    create_table(ddb, "orders-2026_11.restored", None)
    assert ddb.list_tables()["TableNames"] == ["orders-2026_11.restored"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"FilterExpression": "#a = :v", "ExpressionAttributeValues": {":v": {"S": "1"}}}, "attribute name: #a"),
        ({"FilterExpression": "pk = :v"}, "attribute value: :v"),
        ({"ProjectionExpression": "pk, #d"}, "Invalid ProjectionExpression"),
    ],
)
def test_an_expression_using_an_undefined_name_or_value_is_a_validation_error(standin, params, message):
    ddb = standin.client("dynamodb", config=ONE_TRY)
    create_table(ddb, "orders", None)

    error = _refused(lambda: ddb.scan(TableName="orders", **params))

    assert error_code(error) == "ValidationException" and message in str(error)
    assert standin.internal_errors == []


def test_an_expression_with_its_names_and_values_defined_still_runs(standin):
    ddb = standin.client("dynamodb")
    create_table(ddb, "orders", None)
    ddb.put_item(TableName="orders", Item={"pk": {"S": "1"}, "data": {"S": "x"}})

    found = ddb.scan(
        TableName="orders",
        FilterExpression="#d = :v",
        ExpressionAttributeNames={"#d": "data"},
        ExpressionAttributeValues={":v": {"S": "x"}},
    )

    assert found["Count"] == 1
