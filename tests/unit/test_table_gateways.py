"""The CLI's gateways, each alone, on clients answered by botocore's Stubber (no network)."""

from datetime import UTC, datetime

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from tablesafe.aws.clients import BackupClients, backup_clients, table_clients
from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.aws.errors import AmbiguousResult, BackupNotFound, TableExists, TableNotFound
from tablesafe.aws.items import ItemGateway
from tablesafe.aws.restores import RestoreGateway
from tablesafe.aws.scaling import ScalingGateway
from tablesafe.aws.table_settings import TableSettingsGateway
from tablesafe.aws.tables import TableGateway

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"


@pytest.fixture
def clients():
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    return table_clients(session, rate_limits={}, max_attempts=1)


def stubbed(client):
    stubber = Stubber(client)
    stubber.activate()
    return stubber


def test_list_tables_follows_every_page_and_sorts(clients):
    stub = stubbed(clients.dynamodb)
    stub.add_response("list_tables", {"TableNames": ["bbb", "ccc"], "LastEvaluatedTableName": "ccc"}, {"Limit": 100})
    stub.add_response("list_tables", {"TableNames": ["aaa"]}, {"Limit": 100, "ExclusiveStartTableName": "ccc"})
    assert TableSettingsGateway(clients.dynamodb).list_tables() == ["aaa", "bbb", "ccc"]
    stub.assert_no_pending_responses()


def test_tags_follow_every_page(clients):
    stub = stubbed(clients.dynamodb)
    stub.add_response("list_tags_of_resource", {"Tags": [{"Key": "a", "Value": "1"}], "NextToken": "t"})
    stub.add_response(
        "list_tags_of_resource", {"Tags": [{"Key": "b", "Value": "2"}]}, {"ResourceArn": ARN, "NextToken": "t"}
    )
    assert TableSettingsGateway(clients.dynamodb).tags(ARN) == {"a": "1", "b": "2"}


def test_describe_reads_the_key_and_a_missing_table_is_table_not_found(clients):
    stub = stubbed(clients.dynamodb)
    stub.add_response(
        "describe_table",
        {
            "Table": {
                "TableName": "orders",
                "TableStatus": "ACTIVE",
                "KeySchema": [{"AttributeName": "sk", "KeyType": "RANGE"}, {"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "N"},
                ],
            }
        },
    )
    stub.add_client_error("describe_table", service_error_code="ResourceNotFoundException")
    tables = TableSettingsGateway(clients.dynamodb)
    details = tables.describe("orders")
    assert (details.status, details.key_names, details.key[1].type) == ("ACTIVE", ("pk", "sk"), "N")
    assert tables.exists("gone") is False


def test_pitr_reads_the_window_only_when_on(clients):
    stub = stubbed(clients.dynamodb)
    earliest, latest = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)
    on = {
        "ContinuousBackupsStatus": "ENABLED",
        "PointInTimeRecoveryDescription": {
            "PointInTimeRecoveryStatus": "ENABLED",
            "RecoveryPeriodInDays": 7,
            "EarliestRestorableDateTime": earliest,
            "LatestRestorableDateTime": latest,
        },
    }
    off = {
        "ContinuousBackupsStatus": "ENABLED",
        "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"},
    }
    stub.add_response("describe_continuous_backups", {"ContinuousBackupsDescription": on})
    stub.add_response("describe_continuous_backups", {"ContinuousBackupsDescription": off})
    tables = TableSettingsGateway(clients.dynamodb)
    state = tables.pitr("orders")
    assert (state.enabled, state.recovery_period_days, state.earliest, state.latest) == (True, 7, earliest, latest)
    assert tables.pitr("orders").enabled is False


def test_scaling_keeps_only_the_tables_targets_and_their_exact_policies(clients):
    stub = stubbed(clients.scaling)
    target = {
        "ServiceNamespace": "dynamodb",
        "ScalableDimension": "dynamodb:table:ReadCapacityUnits",
        "MinCapacity": 5,
        "MaxCapacity": 50,
        "RoleARN": "arn:aws:iam::123456789012:role/r",
        "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
    }
    stub.add_response(
        "describe_scalable_targets",
        {"ScalableTargets": [{**target, "ResourceId": "table/orders-archive"}], "NextToken": "t"},
    )
    stub.add_response("describe_scalable_targets", {"ScalableTargets": [{**target, "ResourceId": "table/orders"}]})
    policy = {
        "PolicyARN": "arn:p",
        "PolicyName": "read",
        "ServiceNamespace": "dynamodb",
        "ScalableDimension": "dynamodb:table:ReadCapacityUnits",
        "PolicyType": "TargetTrackingScaling",
        "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
        "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 70.0},
    }
    stub.add_response(
        "describe_scaling_policies",
        {"ScalingPolicies": [{**policy, "ResourceId": "table/orders"}, {**policy, "ResourceId": "table/orders/x"}]},
    )
    (setup,) = ScalingGateway(clients.scaling).scaling("orders")
    assert (setup.suffix, setup.min_capacity, setup.max_capacity) == ("", 5, 50)
    assert setup.policies == (
        {
            "PolicyName": "read",
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 70.0},
        },
    )


def test_a_restore_is_sent_once_and_its_errors_are_decisions(clients):
    stub = stubbed(clients.restore)
    stub.add_client_error("restore_table_from_backup", service_error_code="TableAlreadyExistsException")
    stub.add_client_error("restore_table_from_backup", service_error_code="InternalServerError", http_status_code=500)
    restores = RestoreGateway(clients.dynamodb, clients.restore)
    with pytest.raises(TableExists):
        restores.restore_from_backup("orders-restored", ARN + "/backup/1")
    with pytest.raises(AmbiguousResult) as lost:
        restores.restore_from_backup("orders-restored", ARN + "/backup/1")
    assert lost.value.botocore_retried is False  # its client does not retry: the caller decides
    stub.assert_no_pending_responses()


def test_describe_backup_of_no_backup_is_backup_not_found(clients):
    stubbed(clients.dynamodb).add_client_error("describe_backup", service_error_code="BackupNotFoundException")
    with pytest.raises(BackupNotFound):
        RestoreGateway(clients.dynamodb, clients.restore).describe_backup(ARN + "/backup/1")


def test_items_report_what_was_left_unprocessed_and_an_existing_item(clients):
    stub = stubbed(clients.dynamodb)
    key = {"pk": {"S": "a"}}
    stub.add_response(
        "batch_get_item",
        {
            "Responses": {"orders": [{"pk": {"S": "a"}, "n": {"N": "1"}}]},
            "UnprocessedKeys": {"orders": {"Keys": [key]}},
        },
    )
    stub.add_response("batch_write_item", {"UnprocessedItems": {"orders": [{"PutRequest": {"Item": key}}]}})
    stub.add_client_error("put_item", service_error_code="ConditionalCheckFailedException")
    items = ItemGateway(clients.dynamodb)
    assert items.batch_get("orders", [key, {"pk": {"S": "b"}}]) == ([{"pk": {"S": "a"}, "n": {"N": "1"}}], [key])
    assert items.batch_put("orders", [key, {"pk": {"S": "b"}}]) == [key]
    assert items.put_if_absent("orders", key, "pk") is False


def test_scan_follows_every_page(clients):
    stub = stubbed(clients.dynamodb)
    stub.add_response(
        "scan", {"Items": [{"pk": {"S": "a"}}], "ScannedCount": 3, "LastEvaluatedKey": {"pk": {"S": "a"}}}
    )
    stub.add_response("scan", {"Items": [], "ScannedCount": 2})
    pages = list(ItemGateway(clients.dynamodb).scan("orders"))
    assert [(len(p.items), p.scanned) for p in pages] == [(1, 3), (0, 2)]
    stub.assert_no_pending_responses()


def test_the_joined_gateway_answers_for_all_four_jobs(clients):
    stubbed(clients.dynamodb).add_client_error("describe_table", service_error_code="ResourceNotFoundException")
    tables = TableGateway(clients)
    assert tables.region == "us-east-1"
    with pytest.raises(TableNotFound):
        tables.describe("gone")
    assert all(hasattr(tables, job) for job in ("scaling", "restore_from_backup", "batch_get", "enable_pitr"))


def test_a_send_once_call_on_a_retrying_client_is_refused():
    # botocore would resend a CreateBackup or a restore whose answer was lost: a second backup, a refused restore.
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    retrying = session.client("dynamodb", config=Config(retries={"mode": "standard", "total_max_attempts": 9}))
    built = backup_clients(session, rate_limits={})
    with pytest.raises(ValueError, match="CreateBackup's client must not retry"):
        DynamoDbGateway(BackupClients(dynamodb=built.dynamodb, create=retrying, tagging=built.tagging))
    with pytest.raises(ValueError, match="must not retry"):
        RestoreGateway(retrying, retrying)
