"""TableId as AWS gives it (moto gives none): one per table, a new one for a table re-created under the same name.

API_BackupSummary and API_SourceTableDetails carry the TableId of the table a backup was taken of;
API_TableDescription the table's own. The pattern is a UUID.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tools.standin import StandIn
from tools.standin.support import NO_RETRIES, create_table, list_all_backups

T0 = datetime(2024, 3, 1, 3, 0, tzinfo=UTC)
EARLIER = "0f0e0d0c-0b0a-4908-8706-050403020100"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


@pytest.fixture
def ddb(standin: StandIn):
    return standin.client("dynamodb", config=NO_RETRIES)


def table_ids(ddb, table: str) -> list[str]:
    """The TableId of each backup ListBackups lists for `table`, oldest first."""
    return [s["TableId"] for s in list_all_backups(ddb, TableName=table, BackupType="ALL")[0]]


def test_every_backup_names_the_table_id_that_describe_table_and_describe_backup_give(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    made = [ddb.create_backup(TableName="orders", BackupName=f"backup-{i}") for i in range(3)]
    arns = [answer["BackupDetails"]["BackupArn"] for answer in made]
    standin.complete_backups()

    table_id = ddb.describe_table(TableName="orders")["Table"]["TableId"]
    source = ddb.describe_backup(BackupArn=arns[0])["BackupDescription"]["SourceTableDetails"]

    assert UUID.match(table_id)
    assert table_ids(ddb, "orders") == [table_id] * 3
    assert source["TableId"] == table_id


def test_a_table_re_created_under_the_same_name_has_a_new_table_id_and_the_old_backups_keep_theirs(
    standin: StandIn, ddb
) -> None:
    create_table(ddb, "orders")
    first = ddb.create_backup(TableName="orders", BackupName="before")["BackupDetails"]["BackupArn"]
    standin.set_backup_created(first, T0)
    old_id = ddb.describe_table(TableName="orders")["Table"]["TableId"]
    ddb.delete_table(TableName="orders")
    create_table(ddb, "orders")
    second = ddb.create_backup(TableName="orders", BackupName="after")["BackupDetails"]["BackupArn"]
    standin.set_backup_created(second, T0 + timedelta(days=1))

    new_id = ddb.describe_table(TableName="orders")["Table"]["TableId"]

    assert new_id != old_id and UUID.match(new_id)
    assert table_ids(ddb, "orders") == [old_id, new_id]  # listed by name: both tables' backups


def test_a_restored_table_is_a_new_table(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    arn = ddb.create_backup(TableName="orders", BackupName="backup-0")["BackupDetails"]["BackupArn"]
    standin.complete_backups()

    ddb.restore_table_from_backup(TargetTableName="orders-restored", BackupArn=arn)

    restored = ddb.describe_table(TableName="orders-restored")["Table"]["TableId"]
    assert restored != ddb.describe_table(TableName="orders")["Table"]["TableId"]


def test_foreign_backups_of_a_deleted_table_carry_its_table_id_or_the_one_a_test_gives(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    made = ddb.create_backup(TableName="orders", BackupName="backup-0")["BackupDetails"]["BackupArn"]
    standin.set_backup_created(made, T0)
    deleted_id = ddb.describe_table(TableName="orders")["Table"]["TableId"]
    ddb.delete_table(TableName="orders")

    standin.add_foreign_backup("orders", "theirs", created=T0 + timedelta(days=1))
    standin.add_foreign_backup("orders", "older-table", created=T0 + timedelta(days=2), table_id=EARLIER)
    standin.add_foreign_backup("never-seen", "theirs-1", created=T0)
    standin.add_foreign_backup("never-seen", "theirs-2", created=T0 + timedelta(days=1))

    assert table_ids(ddb, "orders") == [deleted_id, deleted_id, EARLIER]
    (never_seen,) = set(table_ids(ddb, "never-seen"))  # one placeholder table, however many backups
    assert UUID.match(never_seen)
