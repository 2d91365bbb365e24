"""Restores as AWS describes them (API_RestoreSummary) and BatchGetItem's duplicate-key check, through boto3."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from tools.standin import StandIn
from tools.standin.support import NO_RETRIES, create_table, error_code


@pytest.fixture
def ddb(standin: StandIn):
    return standin.client("dynamodb", config=NO_RETRIES)


def backup_of(standin: StandIn, ddb, table: str, created: datetime) -> str:
    arn = ddb.create_backup(TableName=table, BackupName="bak")["BackupDetails"]["BackupArn"]
    standin.set_backup_created(arn, created)
    return str(arn)


def test_a_table_restored_from_a_backup_names_the_backup_and_its_time(standin: StandIn, ddb) -> None:
    source_arn = create_table(ddb, "orders")
    taken = datetime(2026, 3, 1, 4, 5, 6, tzinfo=UTC)
    backup = backup_of(standin, ddb, "orders", taken)

    ddb.restore_table_from_backup(TargetTableName="orders-2", BackupArn=backup)

    summary = ddb.describe_table(TableName="orders-2")["Table"]["RestoreSummary"]
    assert summary["SourceBackupArn"] == backup and summary["SourceTableArn"] == source_arn
    assert summary["RestoreDateTime"] == taken  # "point in time or source backup time", not the restore's time
    assert summary["RestoreInProgress"] is False


def test_a_point_in_time_restore_names_the_source_table_and_the_time_asked_for(standin: StandIn, ddb) -> None:
    source_arn = create_table(ddb, "orders")
    ddb.update_continuous_backups(
        TableName="orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)

    ddb.restore_table_to_point_in_time(SourceTableName="orders", TargetTableName="orders-pit", RestoreDateTime=moment)

    summary = ddb.describe_table(TableName="orders-pit")["Table"]["RestoreSummary"]
    assert "SourceBackupArn" not in summary and summary["SourceTableArn"] == source_arn
    assert summary["RestoreDateTime"] == moment


def test_latest_restorable_time_is_the_one_describe_continuous_backups_shows(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    ddb.update_continuous_backups(
        TableName="orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    pitr = ddb.describe_continuous_backups(TableName="orders")["ContinuousBackupsDescription"]
    latest = pitr["PointInTimeRecoveryDescription"]["LatestRestorableDateTime"]

    ddb.restore_table_to_point_in_time(
        SourceTableName="orders", TargetTableName="orders-pit", UseLatestRestorableTime=True
    )

    summary = ddb.describe_table(TableName="orders-pit")["Table"]["RestoreSummary"]
    assert abs(summary["RestoreDateTime"] - latest) < timedelta(milliseconds=1)


def test_a_restore_that_takes_time_is_creating_and_in_progress_until_it_is_done(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    backup = backup_of(standin, ddb, "orders", datetime(2026, 3, 1, tzinfo=UTC))
    standin.restoring_seconds = 600

    ddb.restore_table_from_backup(TargetTableName="orders-2", BackupArn=backup)

    table = ddb.describe_table(TableName="orders-2")["Table"]
    assert (table["TableStatus"], table["RestoreSummary"]["RestoreInProgress"]) == ("CREATING", True)
    with pytest.raises(ClientError) as raised:
        ddb.create_backup(TableName="orders-2", BackupName="too-soon")
    assert error_code(raised.value) == "TableInUseException"
    standin.complete_restores()
    table = ddb.describe_table(TableName="orders-2")["Table"]
    assert (table["TableStatus"], table["RestoreSummary"]["RestoreInProgress"]) == ("ACTIVE", False)


def test_a_restore_record_ends_with_its_table(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    backup = backup_of(standin, ddb, "orders", datetime(2026, 3, 1, tzinfo=UTC))
    standin.restoring_seconds = 60
    ddb.restore_table_from_backup(TargetTableName="orders-2", BackupArn=backup)
    standin.complete_restores()  # AWS refuses to delete a table still CREATING (tests/standin/test_drill_restores.py)
    ddb.delete_table(TableName="orders-2")

    create_table(ddb, "orders-2")  # the same name, a plain new table

    table = ddb.describe_table(TableName="orders-2")["Table"]
    assert table["TableStatus"] == "ACTIVE" and "RestoreSummary" not in table


def test_restoring_seconds_must_not_be_negative(standin: StandIn) -> None:
    with pytest.raises(ValueError, match="restoring_seconds"):
        standin.restoring_seconds = -1


def test_reset_ends_slow_restores(standin: StandIn) -> None:
    standin.restoring_seconds = 5
    standin.reset()
    assert standin.restoring_seconds == 0


def _two_key_table(ddb) -> None:
    ddb.create_table(
        TableName="items",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="items", Item={"pk": {"S": "a"}, "sk": {"N": "7"}})


@pytest.mark.parametrize("second", ["7.0", "7", "07", "0.7e1", "7.000"])
def test_batch_get_item_refuses_one_number_key_written_two_ways(standin: StandIn, ddb, second: str) -> None:
    _two_key_table(ddb)
    keys = [{"pk": {"S": "a"}, "sk": {"N": "7"}}, {"pk": {"S": "a"}, "sk": {"N": second}}]

    with pytest.raises(ClientError) as raised:
        ddb.batch_get_item(RequestItems={"items": {"Keys": keys}})

    assert error_code(raised.value) == "ValidationException"
    assert raised.value.response["Error"]["Message"] == "Provided list of item keys contains duplicates"


def test_batch_get_item_finds_a_number_key_however_it_is_written(standin: StandIn, ddb) -> None:
    _two_key_table(ddb)
    keys = [{"pk": {"S": "a"}, "sk": {"N": "7.0"}}, {"pk": {"S": "a"}, "sk": {"N": "8"}}]

    answer = ddb.batch_get_item(RequestItems={"items": {"Keys": keys}})

    assert answer["Responses"]["items"] == [{"pk": {"S": "a"}, "sk": {"N": "7"}}]


def test_batch_get_item_compares_binary_keys_by_their_bytes(standin: StandIn, ddb) -> None:
    ddb.create_table(
        TableName="blobs",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "B"}],
        BillingMode="PAY_PER_REQUEST",
    )
    distinct = [{"id": {"B": b"\x01"}}, {"id": {"B": b"\x01\x00"}}]
    assert ddb.batch_get_item(RequestItems={"blobs": {"Keys": distinct}})["Responses"]["blobs"] == []

    with pytest.raises(ClientError) as raised:
        ddb.batch_get_item(RequestItems={"blobs": {"Keys": [{"id": {"B": b"\x01"}}, {"id": {"B": b"\x01"}}]}})
    assert error_code(raised.value) == "ValidationException"
