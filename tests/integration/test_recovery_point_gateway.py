"""The AWS Backup gateway (aws/recovery_points.py) on the stand-in, in process: every page, and errors as decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from tablesafe.aws.clients import recovery_point_client
from tablesafe.aws.errors import GatewayError, ListingIncomplete
from tablesafe.aws.recovery_points import PAGE_SIZE, RecoveryPointGateway
from tools.standin.support import create_table

DAY = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def gateway(standin) -> RecoveryPointGateway:
    return RecoveryPointGateway(recovery_point_client(boto3.Session(), region_name="us-east-1", max_attempts=0))


def test_protected_tables_follow_every_page(standin, gateway) -> None:
    names = [f"t{i:04d}" for i in range(PAGE_SIZE + 1)]
    for name in names:
        standin.add_recovery_point(name, created=DAY)

    found = gateway.protected_tables()

    assert [t.name for t in found] == names and standin.calls.count("ListProtectedResources") == 2
    assert found[0].last_backup == DAY and found[0].vault_arn.endswith(":backup-vault:Default")


def test_recovery_points_follow_every_page_and_ask_for_aws_backups_own(standin, gateway) -> None:
    ddb = standin.client("dynamodb")
    arn = create_table(ddb, "orders")
    ddb.create_backup(TableName="orders", BackupName="tablesafe.daily.daily.20261201T0300Z")  # not AWS Backup's
    made = {standin.add_recovery_point("orders", created=DAY - timedelta(hours=i)) for i in range(PAGE_SIZE + 1)}

    points = gateway.recovery_points(arn)

    assert {p.arn for p in points} == made and standin.calls.count("ListRecoveryPointsByResource") == 2
    assert max(p.created for p in points if p.created) == DAY and {p.vault for p in points} == {"Default"}


def test_a_table_aws_backup_knows_nothing_of_has_no_points(gateway) -> None:
    assert gateway.recovery_points("arn:aws:dynamodb:us-east-1:123456789012:table/never-was") == []


def test_a_denied_listing_raises_the_denial_itself(standin, gateway) -> None:
    standin.add_recovery_point("orders", created=DAY)
    standin.aws_backup.refuse("ListProtectedResources")

    with pytest.raises(GatewayError) as denied:
        gateway.protected_tables()

    assert not isinstance(denied.value, ListingIncomplete)
    assert (denied.value.operation, denied.value.code) == ("ListProtectedResources", "AccessDeniedException")


def test_a_listing_that_stops_part_way_is_incomplete_never_shorter(standin, gateway) -> None:
    for i in range(PAGE_SIZE + 1):
        standin.add_recovery_point("orders", created=DAY - timedelta(minutes=i))
    standin.aws_backup.refuse("ListRecoveryPointsByResource", "ServiceUnavailableException", "busy", status=500,
                              later_pages_only=True)  # fmt: skip

    with pytest.raises(ListingIncomplete) as stopped:
        gateway.recovery_points("arn:aws:dynamodb:us-east-1:123456789012:table/orders")

    assert stopped.value.code == "ServiceUnavailableException" and "after 1 pages" in stopped.value.message


def test_only_dynamodb_tables_are_taken_from_the_protected_resources() -> None:
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    client = recovery_point_client(session, max_attempts=0)
    stub = Stubber(client)
    stub.add_response(
        "list_protected_resources",
        {
            "Results": [
                {"ResourceArn": "arn:aws:ec2:us-east-1:1:volume/vol-1", "ResourceType": "EBS"},
                {
                    "ResourceArn": "arn:aws:dynamodb:us-east-1:1:table/orders",
                    "ResourceType": "DynamoDB",
                    "LastBackupTime": DAY,
                },
            ]
        },
        {"MaxResults": PAGE_SIZE},
    )
    with stub:
        (table,) = RecoveryPointGateway(client).protected_tables()
    assert (table.name, table.last_backup) == ("orders", DAY)
