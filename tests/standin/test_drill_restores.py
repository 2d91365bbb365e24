"""What the stand-in adds for restore drills: refused restores, items missing, the concurrent-restore limit, the
backup's recorded item count, indexes and encryption, billing mode overrides, and no DeleteTable while CREATING."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tools.standin import StandIn
from tools.standin.support import NO_RETRIES, create_table, error_code, fill

KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


@pytest.fixture
def ddb(standin: StandIn):
    return standin.client("dynamodb", config=NO_RETRIES)


def backup(standin: StandIn, ddb, table: str) -> str:
    arn = str(ddb.create_backup(TableName=table, BackupName="bak")["BackupDetails"]["BackupArn"])
    standin.complete_backups()
    return arn


def indexed_table(ddb, name: str) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "when", "AttributeType": "N"},
            {"AttributeName": "owner", "AttributeType": "S"},
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-when",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "when", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-owner",
                "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": KEY},
    )


def test_describe_backup_records_item_count_indexes_and_encryption(standin: StandIn, ddb) -> None:
    indexed_table(ddb, "orders")
    for i in range(7):
        ddb.put_item(TableName="orders", Item={"pk": {"S": str(i)}, "sk": {"S": "a"}})
    description = ddb.describe_backup(BackupArn=backup(standin, ddb, "orders"))["BackupDescription"]
    assert description["SourceTableDetails"]["ItemCount"] == 7
    features = description["SourceTableFeatureDetails"]
    assert [i["IndexName"] for i in features["LocalSecondaryIndexes"]] == ["by-when"]
    assert features["GlobalSecondaryIndexes"][0]["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": ["total"],
    }
    assert features["SSEDescription"] == {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": KEY}


def test_a_restore_keeps_the_backups_encryption_and_takes_the_billing_mode_asked_for(standin: StandIn, ddb) -> None:
    indexed_table(ddb, "orders")
    arn = backup(standin, ddb, "orders")
    ddb.restore_table_from_backup(TargetTableName="copy", BackupArn=arn, BillingModeOverride="PAY_PER_REQUEST")
    table = ddb.describe_table(TableName="copy")["Table"]
    assert table["SSEDescription"]["KMSMasterKeyArn"] == KEY
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_a_refused_backup_answers_validation_exception_and_creates_nothing(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    arn = backup(standin, ddb, "orders")
    standin.refuse_restore(arn)
    with pytest.raises(ClientError) as refused:
        ddb.restore_table_from_backup(TargetTableName="copy", BackupArn=arn)
    assert error_code(refused.value) == "ValidationException"
    assert "KMS key" in str(refused.value)
    assert "copy" not in ddb.list_tables()["TableNames"]


def test_a_restore_can_leave_items_out(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    fill(ddb, "orders", 30)
    arn = backup(standin, ddb, "orders")
    standin.restore_missing_items(arn, 5)
    ddb.restore_table_from_backup(TargetTableName="copy", BackupArn=arn)
    assert ddb.scan(TableName="copy", Select="COUNT")["Count"] == 25
    assert ddb.describe_backup(BackupArn=arn)["BackupDescription"]["SourceTableDetails"]["ItemCount"] == 30


def test_restores_beyond_the_concurrent_limit_answer_limit_exceeded(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    arn = backup(standin, ddb, "orders")
    standin.restoring_seconds = 600
    standin.max_concurrent_restores = 2
    ddb.restore_table_from_backup(TargetTableName="copy-1", BackupArn=arn)
    ddb.restore_table_from_backup(TargetTableName="copy-2", BackupArn=arn)
    with pytest.raises(ClientError) as limited:
        ddb.restore_table_from_backup(TargetTableName="copy-3", BackupArn=arn)
    assert error_code(limited.value) == "LimitExceededException"
    standin.complete_restores()  # restores over: room again
    ddb.restore_table_from_backup(TargetTableName="copy-3", BackupArn=arn)


@pytest.mark.parametrize("seconds", [0, 600])
def test_a_table_still_restoring_cannot_be_deleted(standin: StandIn, ddb, seconds: float) -> None:
    create_table(ddb, "orders")
    arn = backup(standin, ddb, "orders")
    standin.restoring_seconds = seconds
    ddb.restore_table_from_backup(TargetTableName="copy", BackupArn=arn)
    if seconds:
        with pytest.raises(ClientError) as in_use:
            ddb.delete_table(TableName="copy")
        assert error_code(in_use.value) == "ResourceInUseException"
        standin.complete_restores()
    ddb.delete_table(TableName="copy")
    assert "copy" not in ddb.list_tables()["TableNames"]
