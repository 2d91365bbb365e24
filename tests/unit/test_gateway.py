"""The gateway turns AWS answers into decisions; checked with botocore's Stubber (no network)."""

from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from tablesafe.aws.clients import RateLimiter, backup_clients, rate_limits_from_env
from tablesafe.aws.dynamodb import (
    AmbiguousResult,
    BackupInUse,
    DeleteOutcome,
    DynamoDbGateway,
    GatewayError,
    ListingIncomplete,
    TableInUse,
    TableNotFound,
    Throttled,
)

TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
BACKUP_ARN = TABLE_ARN + "/backup/01700000000000-abcdef12"


@pytest.fixture
def clients():
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    return backup_clients(session, rate_limits={}, max_attempts=1)


@pytest.fixture
def gateway(clients):
    return DynamoDbGateway(clients)


def stub(client):
    stubber = Stubber(client)
    stubber.activate()
    return stubber


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ThrottlingException", 400, Throttled),
        ("LimitExceededException", 400, Throttled),
        ("BackupInUseException", 400, BackupInUse),
        ("TableNotFoundException", 400, TableNotFound),
        ("TableInUseException", 400, TableInUse),
        ("InternalServerError", 500, AmbiguousResult),
        ("ServiceUnavailable", 503, AmbiguousResult),
        ("ValidationException", 400, GatewayError),
    ],
)
def test_create_backup_errors_become_decisions(clients, gateway, code, status, expected):
    stubber = stub(clients.create)
    stubber.add_client_error("create_backup", service_error_code=code, http_status_code=status, service_message="m")
    with pytest.raises(expected) as raised:
        gateway.create_backup("orders", "tablesafe.daily.daily.20261127T0300Z")
    assert raised.value.code == code
    assert type(raised.value) is expected


def test_create_backup_returns_the_backup(clients, gateway):
    stubber = stub(clients.create)
    created = datetime(2026, 11, 27, 3, 0, 5, tzinfo=UTC)
    stubber.add_response(
        "create_backup",
        {
            "BackupDetails": {
                "BackupArn": BACKUP_ARN,
                "BackupName": "tablesafe.daily.daily.20261127T0300Z",
                "BackupStatus": "CREATING",
                "BackupType": "USER",
                "BackupCreationDateTime": created,
            }
        },
    )
    backup = gateway.create_backup("orders", "tablesafe.daily.daily.20261127T0300Z")
    assert (backup.arn, backup.status, backup.created, backup.table_name) == (BACKUP_ARN, "CREATING", created, "orders")


def test_delete_backup_outcomes(clients, gateway):
    stubber = stub(clients.dynamodb)
    stubber.add_response("delete_backup", {})
    stubber.add_client_error("delete_backup", service_error_code="BackupNotFoundException")
    stubber.add_client_error("delete_backup", service_error_code="BackupInUseException")
    stubber.add_client_error("delete_backup", service_error_code="AccessDeniedException")
    assert gateway.delete_backup(BACKUP_ARN) is DeleteOutcome.DELETED
    assert gateway.delete_backup(BACKUP_ARN) is DeleteOutcome.ALREADY_GONE
    assert gateway.delete_backup(BACKUP_ARN) is DeleteOutcome.IN_USE
    with pytest.raises(GatewayError, match="AccessDenied"):
        gateway.delete_backup(BACKUP_ARN)


def summary(n):
    return {
        "BackupArn": f"{BACKUP_ARN}{n}",
        "BackupName": f"bk{n}",
        "TableName": "orders",
        "BackupStatus": "AVAILABLE",
        "BackupType": "USER",
        "BackupCreationDateTime": datetime(2026, 1, 1, tzinfo=UTC),
    }


def test_list_backups_follows_every_page_with_the_time_range(clients, gateway):
    stubber = stub(clients.dynamodb)
    lower = datetime(2026, 11, 1, tzinfo=UTC)
    stubber.add_response(
        "list_backups",
        {"BackupSummaries": [summary(1)], "LastEvaluatedBackupArn": f"{BACKUP_ARN}1"},
        {"BackupType": "USER", "Limit": 100, "TimeRangeLowerBound": lower},
    )
    stubber.add_response(
        "list_backups",
        {"BackupSummaries": [summary(2)]},
        {"BackupType": "USER", "Limit": 100, "TimeRangeLowerBound": lower, "ExclusiveStartBackupArn": f"{BACKUP_ARN}1"},
    )
    names = [b.name for b in gateway.list_backups(created_from=lower)]
    assert names == ["bk1", "bk2"]
    stubber.assert_no_pending_responses()


def test_a_listing_that_fails_part_way_is_incomplete_not_short(clients, gateway):
    stubber = stub(clients.dynamodb)
    stubber.add_response("list_backups", {"BackupSummaries": [summary(1)], "LastEvaluatedBackupArn": f"{BACKUP_ARN}1"})
    stubber.add_client_error("list_backups", service_error_code="InternalServerError", http_status_code=500)
    with pytest.raises(ListingIncomplete, match="stopped after 1 backups"):
        gateway.list_backups()


def test_a_backup_missing_its_creation_time_reads_as_new(clients, gateway):
    stubber = stub(clients.dynamodb)
    bare = {"BackupArn": BACKUP_ARN, "BackupName": "bkp", "TableName": "orders", "BackupStatus": "AVAILABLE"}
    stubber.add_response("list_backups", {"BackupSummaries": [bare]})
    before = datetime.now(UTC)
    (backup,) = gateway.list_backups()
    assert backup.created >= before
    assert backup.backup_type == "USER"


def test_find_tagged_tables_reads_every_page_and_the_tag_value(clients, gateway):
    stubber = stub(clients.tagging)
    page1 = [{"ResourceARN": TABLE_ARN, "Tags": [{"Key": "backup-plan", "Value": "daily"}]}]
    page2 = [{"ResourceARN": TABLE_ARN.replace("orders", "carts"), "Tags": [{"Key": "backup-plan", "Value": "x y"}]}]
    stubber.add_response("get_resources", {"ResourceTagMappingList": page1, "PaginationToken": "t1"})
    stubber.add_response("get_resources", {"ResourceTagMappingList": page2, "PaginationToken": ""})
    tables = gateway.find_tagged_tables("backup-plan")
    assert [(t.name, t.tag_value) for t in tables] == [("carts", "x y"), ("orders", "daily")]


def test_rate_limiter_spaces_calls_evenly():
    now = [100.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(10.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        limiter.acquire()
    assert slept == pytest.approx([0.1, 0.1, 0.1, 0.1])


def test_rate_limits_from_env_overrides_and_rejects_nonsense():
    limits = rate_limits_from_env({"TABLESAFE_RATE_LIMITS": '{"CreateBackup": 500}'})
    assert limits["CreateBackup"] == 500 and limits["DeleteBackup"] == 10
    for bad in ("[1]", "{nope", '{"CreateBackup": 0}', '{"CreateBackup": true}'):
        with pytest.raises(ValueError, match="TABLESAFE_RATE_LIMITS"):
            rate_limits_from_env({"TABLESAFE_RATE_LIMITS": bad})
