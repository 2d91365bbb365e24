"""AWS Backup's recovery points of DynamoDB tables as the AWS Backup API reference describes them, through boto3.

Followed: API_ListProtectedResources and API_ListRecoveryPointsByResource (MaxResults 1..1000, NextToken, the
documented errors), the common error AccessDeniedException, and API_ListBackups (a backup AWS Backup made of a
table without its advanced DynamoDB features is a DynamoDB backup of type AWS_BACKUP too).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tools.standin import StandIn
from tools.standin.support import NO_RETRIES, create_table, error_code

DAY = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
ACCOUNT = "123456789012"


@pytest.fixture
def backup(standin: StandIn) -> Any:
    return standin.client("backup", config=NO_RETRIES)


@pytest.fixture
def ddb(standin: StandIn) -> Any:
    return standin.client("dynamodb", config=NO_RETRIES)


def table_arn(name: str, region: str = "us-east-1") -> str:
    return f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}"


def every_page(call: Any, key: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every item by following NextToken by hand; also the number of calls."""
    items: list[dict[str, Any]] = []
    calls = 0
    while True:
        page = call(**params)
        calls += 1
        items += page[key]
        if "NextToken" not in page:
            return items, calls
        params["NextToken"] = page["NextToken"]


def test_protected_resources_lists_each_table_once_with_its_newest_completed_point(standin, backup) -> None:
    standin.add_recovery_point("orders", created=DAY - timedelta(days=1))
    newest = standin.add_recovery_point("orders", created=DAY, vault="prod")
    standin.add_recovery_point("orders", created=DAY + timedelta(hours=1), status="PARTIAL")  # not a whole backup
    standin.add_recovery_point("users", created=DAY)
    standin.add_recovery_point("scratch", status="EXPIRED")  # nothing successful: not protected

    results = backup.list_protected_resources()["Results"]

    assert [r["ResourceName"] for r in results] == ["orders", "users"]
    orders = results[0]
    assert orders["ResourceArn"] == table_arn("orders") and orders["ResourceType"] == "DynamoDB"
    assert (orders["LastBackupTime"], orders["LastRecoveryPointArn"]) == (DAY, newest)
    assert orders["LastBackupVaultArn"] == f"arn:aws:backup:us-east-1:{ACCOUNT}:backup-vault:prod"


def test_protected_resources_pages_with_next_token_and_each_region_is_its_own(standin, backup) -> None:
    for index in range(7):
        standin.add_recovery_point(f"t{index}", created=DAY)
    standin.add_recovery_point("elsewhere", created=DAY, region="eu-west-1")

    results, calls = every_page(backup.list_protected_resources, "Results", MaxResults=3)

    assert [r["ResourceName"] for r in results] == [f"t{i}" for i in range(7)] and calls == 3
    other = standin.client("backup", region="eu-west-1", config=NO_RETRIES).list_protected_resources()["Results"]
    assert [r["ResourceName"] for r in other] == ["elsewhere"]


def test_recovery_points_of_a_table_page_in_arn_order_not_time_order(standin, backup) -> None:
    made = [standin.add_recovery_point("orders", created=DAY - timedelta(days=i)) for i in range(5)]
    standin.add_recovery_point("users", created=DAY)

    points, calls = every_page(
        backup.list_recovery_points_by_resource, "RecoveryPoints", ResourceArn=table_arn("orders"), MaxResults=2
    )

    assert [p["RecoveryPointArn"] for p in points] == sorted(made) and calls == 3
    assert {p["Status"] for p in points} == {"COMPLETED"} and {p["BackupVaultName"] for p in points} == {"Default"}
    assert all(p["RecoveryPointArn"].startswith(f"arn:aws:backup:us-east-1:{ACCOUNT}:recovery-point:") for p in points)


def test_a_point_without_advanced_features_is_also_the_dynamodb_backup_list_backups_gives(standin, backup, ddb):
    create_table(ddb, "orders")
    arn = standin.add_recovery_point("orders", created=DAY, advanced=False)

    summaries = ddb.list_backups(BackupType="AWS_BACKUP")["BackupSummaries"]
    points = backup.list_recovery_points_by_resource(ResourceArn=table_arn("orders"))["RecoveryPoints"]

    assert [s["BackupArn"] for s in summaries] == [arn] == [p["RecoveryPointArn"] for p in points]
    assert arn.startswith(table_arn("orders") + "/backup/") and summaries[0]["BackupCreationDateTime"] == DAY


def test_managed_by_aws_backup_only_leaves_out_dynamodb_backups_made_without_it(standin, backup, ddb) -> None:
    create_table(ddb, "orders")
    ours = ddb.create_backup(TableName="orders", BackupName="tablesafe.daily.daily.20261201T0300Z")
    theirs = standin.add_recovery_point("orders", created=DAY)

    every = backup.list_recovery_points_by_resource(ResourceArn=table_arn("orders"))["RecoveryPoints"]
    managed = backup.list_recovery_points_by_resource(ResourceArn=table_arn("orders"), ManagedByAWSBackupOnly=True)

    assert {p["RecoveryPointArn"] for p in every} == {theirs, ours["BackupDetails"]["BackupArn"]}
    assert [p["RecoveryPointArn"] for p in managed["RecoveryPoints"]] == [theirs]


def test_a_table_without_points_lists_none_and_an_arn_of_nothing_is_not_found(backup, ddb) -> None:
    create_table(ddb, "orders")
    assert backup.list_recovery_points_by_resource(ResourceArn=table_arn("orders"))["RecoveryPoints"] == []
    with pytest.raises(ClientError) as gone:
        backup.list_recovery_points_by_resource(ResourceArn=table_arn("never-was"))
    assert error_code(gone.value) == "ResourceNotFoundException"
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize(
    ("params", "operation"),
    [
        ({"ResourceArn": "orders"}, "list_recovery_points_by_resource"),  # not an ARN
        ({"ResourceArn": table_arn("orders"), "MaxResults": 1001}, "list_recovery_points_by_resource"),
        ({"ResourceArn": table_arn("orders"), "NextToken": "not-ours"}, "list_recovery_points_by_resource"),
        ({"MaxResults": 1001}, "list_protected_resources"),
        ({"NextToken": "bm90LWpzb24="}, "list_protected_resources"),
    ],
)
def test_bad_parameters_are_invalid_parameter_values(standin, backup, params, operation) -> None:
    standin.add_recovery_point("orders", created=DAY)
    with pytest.raises(ClientError) as refused:
        getattr(backup, operation)(**params)
    assert error_code(refused.value) == "InvalidParameterValueException"


def test_a_refused_action_answers_access_denied_and_the_calls_are_counted_by_name(standin, backup) -> None:
    standin.add_recovery_point("orders", created=DAY)
    standin.aws_backup.refuse("ListProtectedResources")

    with pytest.raises(ClientError) as denied:
        backup.list_protected_resources()

    assert error_code(denied.value) == "AccessDeniedException"
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "backup:ListProtectedResources" in str(denied.value)
    assert backup.list_recovery_points_by_resource(ResourceArn=table_arn("orders"))["RecoveryPoints"]
    assert standin.calls.codes("ListProtectedResources") == {"AccessDeniedException": 1}
    assert standin.calls.count("ListRecoveryPointsByResource", "ok") == 1


def test_a_refusal_of_later_pages_stops_a_listing_part_way(standin, backup) -> None:
    for index in range(3):
        standin.add_recovery_point(f"t{index}", created=DAY)
    standin.aws_backup.refuse("ListProtectedResources", "ServiceUnavailableException", "busy", status=500,
                              later_pages_only=True)  # fmt: skip

    first = backup.list_protected_resources(MaxResults=2)
    with pytest.raises(ClientError) as stopped:
        backup.list_protected_resources(MaxResults=2, NextToken=first["NextToken"])

    assert len(first["Results"]) == 2 and error_code(stopped.value) == "ServiceUnavailableException"


def test_reset_forgets_points_and_refusals(standin, backup) -> None:
    standin.add_recovery_point("orders", created=DAY)
    standin.aws_backup.refuse("ListProtectedResources")
    standin.reset()
    assert backup.list_protected_resources()["Results"] == []


def test_the_rest_of_aws_backup_is_still_moto(backup) -> None:
    backup.create_backup_vault(BackupVaultName="prod")
    assert [v["BackupVaultName"] for v in backup.list_backup_vaults()["BackupVaultList"]] == ["prod"]
