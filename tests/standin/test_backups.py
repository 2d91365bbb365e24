"""The stand-in's backups behave as AWS's reference pages say (ListBackups, CreateBackup, DeleteBackup, ...)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from tools.standin import StandIn
from tools.standin.support import NO_RETRIES, create_table, error_code, fill, list_all_backups

T0 = datetime(2024, 3, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def ddb(standin: StandIn):
    return standin.client("dynamodb", config=NO_RETRIES)


def _backups(standin: StandIn, ddb, table: str, count: int, start: datetime = T0) -> list[str]:
    """`count` backups of `table`, created one hour apart from `start`, made in shuffled order."""
    arns = [
        ddb.create_backup(TableName=table, BackupName=f"b{i:03d}")["BackupDetails"]["BackupArn"] for i in range(count)
    ]
    for hours, arn in zip(reversed(range(count)), arns, strict=True):  # newest made first: order must come from time
        standin.set_backup_created(arn, start + timedelta(hours=hours))
    return list(reversed(arns))


def test_pages_follow_exclusive_start_in_creation_order(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    oldest_first = _backups(standin, ddb, "orders", 7)

    first = ddb.list_backups(TableName="orders", Limit=3)
    second = ddb.list_backups(TableName="orders", Limit=3, ExclusiveStartBackupArn=first["LastEvaluatedBackupArn"])
    third = ddb.list_backups(TableName="orders", Limit=3, ExclusiveStartBackupArn=second["LastEvaluatedBackupArn"])

    pages = [[s["BackupArn"] for s in page["BackupSummaries"]] for page in (first, second, third)]
    assert pages == [oldest_first[0:3], oldest_first[3:6], oldest_first[6:7]]
    assert first["LastEvaluatedBackupArn"] == oldest_first[2]
    assert "LastEvaluatedBackupArn" not in third


def test_a_full_last_page_still_names_a_last_evaluated_backup(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    _backups(standin, ddb, "orders", 4)

    summaries, calls = list_all_backups(ddb, TableName="orders", Limit=2)

    assert len(summaries) == 4
    assert calls == 3  # the third page is empty: "may or may not indicate that there is more data"


def test_default_page_holds_100_backups(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    for i in range(105):
        standin.add_foreign_backup("orders", f"manual-{i:03d}", created=T0 + timedelta(minutes=i))

    first = ddb.list_backups()
    rest = ddb.list_backups(ExclusiveStartBackupArn=first["LastEvaluatedBackupArn"])

    assert len(first["BackupSummaries"]) == 100
    assert [s["BackupName"] for s in rest["BackupSummaries"]] == [f"manual-{i:03d}" for i in range(100, 105)]
    assert "LastEvaluatedBackupArn" not in rest


def test_limit_above_100_is_a_validation_error(standin: StandIn, ddb) -> None:
    with pytest.raises(ClientError) as raised:
        ddb.list_backups(Limit=101)
    assert error_code(raised.value) == "ValidationException"


def test_time_range_includes_the_lower_bound_and_excludes_the_upper(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    oldest_first = _backups(standin, ddb, "orders", 5)  # T0, T0+1h, ..., T0+4h

    listed = ddb.list_backups(TimeRangeLowerBound=T0 + timedelta(hours=1), TimeRangeUpperBound=T0 + timedelta(hours=3))

    assert [s["BackupArn"] for s in listed["BackupSummaries"]] == oldest_first[1:3]


def test_backup_type_filter_defaults_to_user(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    own = ddb.create_backup(TableName="orders", BackupName="tablesafe.daily.daily.20240301T0300Z")
    user = standin.add_foreign_backup("orders", "someone else's", created=T0)
    system = standin.add_foreign_backup("orders", "orders-replica-removal", backup_type="SYSTEM", created=T0)
    aws_backup = standin.add_foreign_backup("orders", "awsbackup-job", backup_type="AWS_BACKUP", created=T0)

    def listed(**params: str) -> set[str]:
        return {s["BackupArn"] for s in ddb.list_backups(**params)["BackupSummaries"]}

    assert listed() == {own["BackupDetails"]["BackupArn"], user}
    assert listed(BackupType="SYSTEM") == {system}
    assert listed(BackupType="AWS_BACKUP") == {aws_backup}
    assert listed(BackupType="ALL") == {own["BackupDetails"]["BackupArn"], user, system, aws_backup}
    with pytest.raises(ClientError) as raised:
        ddb.list_backups(BackupType="MANUAL")
    assert error_code(raised.value) == "ValidationException"


def test_system_backups_expire_35_days_after_creation(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    standin.add_foreign_backup("orders", "dropped-replica", backup_type="SYSTEM", created=T0)

    (summary,) = ddb.list_backups(BackupType="SYSTEM")["BackupSummaries"]

    assert summary["BackupExpiryDateTime"] == T0 + timedelta(days=35)


def test_table_name_filter_lists_backups_of_a_deleted_table(standin: StandIn, ddb) -> None:
    gone_arn = create_table(ddb, "gone")
    create_table(ddb, "kept")
    gone_backup = ddb.create_backup(TableName="gone", BackupName="last")["BackupDetails"]["BackupArn"]
    ddb.create_backup(TableName="kept", BackupName="other")
    ddb.delete_table(TableName="gone")

    by_name = ddb.list_backups(TableName="gone")["BackupSummaries"]
    by_arn = ddb.list_backups(TableName=gone_arn)["BackupSummaries"]

    assert [s["BackupArn"] for s in by_name] == [gone_backup]
    assert by_arn == by_name
    assert by_name[0]["TableName"] == "gone"


def test_paging_continues_after_a_backup_deleted_between_pages(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    oldest_first = _backups(standin, ddb, "orders", 4)
    first = ddb.list_backups(Limit=2)
    ddb.delete_backup(BackupArn=first["LastEvaluatedBackupArn"])

    second = ddb.list_backups(Limit=2, ExclusiveStartBackupArn=first["LastEvaluatedBackupArn"])

    assert [s["BackupArn"] for s in second["BackupSummaries"]] == oldest_first[2:4]


def test_an_exclusive_start_arn_never_issued_is_a_validation_error(standin: StandIn, ddb) -> None:
    with pytest.raises(ClientError) as raised:
        ddb.list_backups(ExclusiveStartBackupArn="arn:aws:dynamodb:us-east-1:123456789012:table/x/backup/0-0")
    assert error_code(raised.value) == "ValidationException"


def test_new_backup_is_creating_then_available(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    standin.creating_seconds = 0.3

    created = ddb.create_backup(TableName="orders", BackupName="first")["BackupDetails"]
    arn = created["BackupArn"]

    assert created["BackupStatus"] == "CREATING"
    assert ddb.describe_backup(BackupArn=arn)["BackupDescription"]["BackupDetails"]["BackupStatus"] == "CREATING"
    assert ddb.list_backups()["BackupSummaries"][0]["BackupStatus"] == "CREATING"
    deadline = time.monotonic() + 10
    while ddb.describe_backup(BackupArn=arn)["BackupDescription"]["BackupDetails"]["BackupStatus"] == "CREATING":
        assert time.monotonic() < deadline, "the backup never became AVAILABLE"
        time.sleep(0.05)
    assert ddb.list_backups()["BackupSummaries"][0]["BackupStatus"] == "AVAILABLE"


def test_answer_to_create_backup_says_creating_even_when_it_is_instant(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")

    created = ddb.create_backup(TableName="orders", BackupName="first")["BackupDetails"]

    assert created["BackupStatus"] == "CREATING"
    assert ddb.list_backups()["BackupSummaries"][0]["BackupStatus"] == "AVAILABLE"


def test_backup_in_use_while_the_previous_backup_is_creating(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    create_table(ddb, "users")
    standin.creating_seconds = 600
    arn = ddb.create_backup(TableName="orders", BackupName="first")["BackupDetails"]["BackupArn"]

    with pytest.raises(ClientError) as second:
        ddb.create_backup(TableName="orders", BackupName="second")
    with pytest.raises(ClientError) as delete:
        ddb.delete_backup(BackupArn=arn)
    with pytest.raises(ClientError) as restore:
        ddb.restore_table_from_backup(TargetTableName="orders-restored", BackupArn=arn)
    other_table = ddb.create_backup(TableName="users", BackupName="first")

    assert error_code(second.value) == "BackupInUseException"
    assert error_code(delete.value) == "BackupInUseException"
    assert error_code(restore.value) == "BackupInUseException"
    assert other_table["BackupDetails"]["BackupStatus"] == "CREATING"
    assert len(ddb.list_backups(TableName="orders")["BackupSummaries"]) == 1

    standin.complete_backups()

    ddb.create_backup(TableName="orders", BackupName="second")  # a new CREATING one, but the first is free now
    assert ddb.delete_backup(BackupArn=arn)["BackupDescription"]["BackupDetails"]["BackupStatus"] == "DELETED"


def test_backup_size_is_the_data_at_creation(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    fill(ddb, "orders", 40)
    # item size = attribute names + values: "pk" + key, "data" + 100 characters
    expected = sum(len("pk") + len(str(i)) + len("data") + 100 for i in range(40))

    first = ddb.create_backup(TableName="orders", BackupName="first")["BackupDetails"]
    fill(ddb, "orders", 80)
    second = ddb.create_backup(TableName="orders", BackupName="second")["BackupDetails"]

    described = ddb.describe_backup(BackupArn=first["BackupArn"])["BackupDescription"]
    sizes = {s["BackupName"]: s["BackupSizeBytes"] for s in ddb.list_backups()["BackupSummaries"]}
    assert first["BackupSizeBytes"] == expected
    assert described["BackupDetails"]["BackupSizeBytes"] == expected
    assert described["SourceTableDetails"]["ItemCount"] == 40
    assert sizes == {"first": expected, "second": second["BackupSizeBytes"]}
    assert second["BackupSizeBytes"] > expected


def test_thousands_of_items_back_up_and_restore(standin: StandIn, ddb) -> None:
    create_table(ddb, "big")
    fill(ddb, "big", 2000, payload="y" * 20)

    arn = ddb.create_backup(TableName="big", BackupName="big-copy")["BackupDetails"]["BackupArn"]
    ddb.restore_table_from_backup(TargetTableName="big-restored", BackupArn=arn)

    restored = ddb.describe_table(TableName="big-restored")["Table"]
    assert restored["ItemCount"] == 2000


def test_deleted_backup_is_gone(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    arn = ddb.create_backup(TableName="orders", BackupName="first")["BackupDetails"]["BackupArn"]

    deleted = ddb.delete_backup(BackupArn=arn)["BackupDescription"]

    assert deleted["BackupDetails"]["BackupStatus"] == "DELETED"
    assert deleted["SourceTableDetails"]["TableName"] == "orders"
    assert ddb.list_backups()["BackupSummaries"] == []
    for call in (ddb.describe_backup, ddb.delete_backup):
        with pytest.raises(ClientError) as raised:
            call(BackupArn=arn)
        assert error_code(raised.value) == "BackupNotFoundException"


def test_create_backup_of_a_missing_table_or_with_a_bad_name_fails(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")

    with pytest.raises(ClientError) as missing:
        ddb.create_backup(TableName="nope", BackupName="first")
    with pytest.raises(ClientError) as bad_name:
        ddb.create_backup(TableName="orders", BackupName="has spaces")

    assert error_code(missing.value) == "TableNotFoundException"
    assert error_code(bad_name.value) == "ValidationException"


def test_simulated_days_move_a_backup_in_time(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    arn = ddb.create_backup(TableName="orders", BackupName="first")["BackupDetails"]["BackupArn"]

    standin.set_backup_created(arn, datetime(2020, 1, 2, 3, 4, 5))  # naive: UTC

    (summary,) = ddb.list_backups(TimeRangeUpperBound=datetime(2020, 1, 3, tzinfo=UTC))["BackupSummaries"]
    assert summary["BackupCreationDateTime"] == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    described = ddb.describe_backup(BackupArn=arn)["BackupDescription"]["BackupDetails"]
    assert described["BackupCreationDateTime"] == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="unknown backup ARN"):
        standin.set_backup_created(arn + "0", T0)


def test_foreign_backup_of_a_table_that_no_longer_exists(standin: StandIn, ddb) -> None:
    arn = standin.add_foreign_backup("dropped", "before-the-drop", created=T0)

    (summary,) = ddb.list_backups(TableName="dropped")["BackupSummaries"]

    assert summary["BackupArn"] == arn
    assert summary["BackupName"] == "before-the-drop"
    assert summary["BackupStatus"] == "AVAILABLE"


def test_backups_belong_to_their_region(standin: StandIn) -> None:
    east = standin.client("dynamodb", region="us-east-1")
    west = standin.client("dynamodb", region="us-west-2")
    create_table(east, "orders")
    create_table(west, "orders")

    arn = west.create_backup(TableName="orders", BackupName="west")["BackupDetails"]["BackupArn"]

    assert ":us-west-2:" in arn
    assert [s["BackupArn"] for s in west.list_backups()["BackupSummaries"]] == [arn]
    assert east.list_backups()["BackupSummaries"] == []
    with pytest.raises(ClientError) as raised:
        east.describe_backup(BackupArn=arn)
    assert error_code(raised.value) == "BackupNotFoundException"
