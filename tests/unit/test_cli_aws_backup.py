"""AWS Backup's recovery points in status's coverage rules: counted once, shown for what they are, and an untagged
table protected by AWS Backup alone told apart from an unprotected one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tablesafe.aws.dynamodb import Backup
from tablesafe.aws.errors import GatewayError, Throttled
from tablesafe.aws.recovery_points import ProtectedTable, RecoveryPoint
from tablesafe_cli.aws_backup import AWS_BACKUP_WITHIN, AwsBackupReader, summarize
from tablesafe_cli.config import CliConfig
from tablesafe_cli.coverage import DEFAULT_FAIL_ON, FlagKind, assess_table, parse_fail_on

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"


def point(arn: str, hours_ago: float | None, status: str = "COMPLETED", vault: str = "Default", **kw) -> RecoveryPoint:
    created = NOW - timedelta(hours=hours_ago) if hours_ago is not None else None
    return RecoveryPoint(arn=arn, created=created, status=status, vault=vault, size_bytes=kw.pop("size", 10), **kw)


def dynamodb_backup(arn: str, name: str, backup_type: str, table_id: str = "id-1", hours_ago: float = 1) -> Backup:
    return Backup(arn=arn, name=name, table_name="orders", created=NOW - timedelta(hours=hours_ago),
                  status="AVAILABLE", backup_type=backup_type, size_bytes=100, table_id=table_id)  # fmt: skip


def assess(tag: str | None, backups=(), points=None, **kw):
    return assess_table("orders", tag, CliConfig(), list(backups), None, NOW, region="us-east-1", table_id="id-1",
                        recovery_points=points, **kw)  # fmt: skip


# -- summing up a table's points ---------------------------------------------------------------------------------


def test_the_newest_completed_point_is_the_last_whatever_the_order_listed():
    points = [
        point("rp-2", 30, vault="old"),
        point("rp-1", 3, vault="prod"),
        point("rp-3", 1, status="PARTIAL"),  # counted, but not a whole backup: never the last
        point("rp-4", None),  # no CreationDate: never taken for a recent one
    ]
    summary = summarize(points, [])
    assert (summary.recovery_points, summary.last, summary.vault) == (4, NOW - timedelta(hours=3), "prod")
    assert summary.vaults == ("Default", "old", "prod") and summary.size_bytes == 40


def test_parents_and_points_deleting_or_expired_are_not_counted():
    points = [point("rp-1", 2), point("parent", 2, is_parent=True), point("rp-2", 1, status="EXPIRED"),
              point("rp-3", 1, status="DELETING")]  # fmt: skip
    summary = summarize(points, [])
    assert summary.recovery_points == 1 and summary.last == NOW - timedelta(hours=2)
    assert summary.note() == "AWS Backup: 1 recovery point, last 2026-12-01 10:00 (vault Default)"
    assert summarize([], []).note() is None


# -- each backup counted once ------------------------------------------------------------------------------------


def test_a_dynamodb_backup_aws_backup_made_is_one_of_its_points_not_also_one_of_the_backups():
    ours = dynamodb_backup(TABLE + "/backup/1", "tablesafe.daily.daily.20261201T0300Z", "USER")
    theirs = dynamodb_backup(TABLE + "/backup/2", "awsbackup-job", "AWS_BACKUP")
    status = assess("daily", [ours, theirs], [point(theirs.arn, 1), point("arn:aws:backup:rp-advanced", 2)])

    assert (status.backups, status.backup_bytes) == (1, 100)  # ours alone
    assert status.aws_backup is not None and status.aws_backup.recovery_points == 2
    assert status.as_dict()["awsBackup"]["alsoDynamoDbBackups"] == 1
    assert [r.last for r in status.rules] == [ours]  # the rule still judged by its own backups


def test_an_earlier_tables_dynamodb_backups_stay_among_its_backups_not_the_points():
    earlier = dynamodb_backup(TABLE + "/backup/0", "awsbackup-old", "AWS_BACKUP", table_id="id-0", hours_ago=900)
    status = assess(None, [earlier], [point(earlier.arn, 900)])
    assert status.earlier_backups == 1 and status.aws_backup is not None and status.aws_backup.recovery_points == 0
    assert [f.kind for f in status.issues] == [FlagKind.UNPROTECTED]


def test_without_aws_backup_read_the_backups_are_counted_as_before_and_shown_unknown():
    theirs = dynamodb_backup(TABLE + "/backup/2", "awsbackup-job", "AWS_BACKUP")
    status = assess(None, [theirs])
    assert status.backups == 1 and status.aws_backup is None and status.as_dict()["awsBackup"] is None


# -- untagged tables ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "kind"),
    [
        (timedelta(0), FlagKind.AWS_BACKUP_ONLY),
        (AWS_BACKUP_WITHIN, FlagKind.AWS_BACKUP_ONLY),  # the limit itself is still in time
        (AWS_BACKUP_WITHIN + timedelta(seconds=1), FlagKind.UNPROTECTED),
        (timedelta(days=400), FlagKind.UNPROTECTED),
    ],
)
def test_an_untagged_table_is_protected_by_aws_backup_only_while_its_last_point_is_recent(age, kind):
    status = assess(None, points=[point("rp-1", age.total_seconds() / 3600)])
    assert [f.kind for f in status.issues] == [kind]
    assert status.fails(DEFAULT_FAIL_ON) is (kind is FlagKind.UNPROTECTED)
    if kind is FlagKind.UNPROTECTED:
        assert "AWS Backup's last recovery point" in status.flags[0] and "(limit 1d 12h)" in status.flags[0]
    else:
        assert status.flags == ("protected by AWS Backup only (no plan tag)",)
        assert status.fails(parse_fail_on("aws-backup-only"))


def test_an_untagged_table_with_only_unfinished_points_or_none_read_is_unprotected():
    for points in ([point("rp-1", 1, status="CREATING"), point("rp-2", 1, status="PARTIAL")], [], None):
        status = assess(None, points=points)
        assert status.flags == ("unprotected: no plan tag",)


def test_a_tagged_table_is_judged_by_its_plan_whatever_aws_backup_holds():
    status = assess("daily", points=[point("rp-1", 1)])
    assert [f.kind for f in status.issues] == [FlagKind.STALE]  # no backup of ours: AWS Backup does not hide it
    assert status.aws_backup is not None and status.aws_backup.note() is not None


# -- the reader --------------------------------------------------------------------------------------------------


class Source:
    """A RecoveryPointSource answering from a dict, or raising what it is given."""

    region = "eu-west-1"

    def __init__(self, protected=None, points=None, error: GatewayError | None = None) -> None:
        self.protected = protected or {}
        self.points = points or {}
        self.error = error
        self.asked: list[str] = []

    def protected_tables(self):
        if isinstance(self.error, Throttled):
            raise self.error
        return [ProtectedTable(arn=TABLE.replace("orders", n), name=n, last_backup=NOW) for n in self.protected]

    def recovery_points(self, table_arn):
        self.asked.append(table_arn)
        name = table_arn.rpartition("/")[2]
        if self.error is not None and name in self.points.get("fail", ()):
            raise self.error
        return self.points.get(name, [])


def test_the_reader_asks_for_points_only_of_tables_aws_backup_protects():
    source = Source(protected={"orders"}, points={"orders": [point("rp-1", 1)]})
    reader = AwsBackupReader(source, account=lambda: "123456789012")
    reader.load()
    assert [p.arn for p in reader.points("orders")] == ["rp-1"] and reader.points("users") == ()
    assert source.asked == [TABLE] and reader.complete and reader.problems() == []


def test_a_listing_that_failed_makes_every_table_unknown_and_is_one_line_naming_account_region_and_action():
    denied = Throttled("ListProtectedResources", "ThrottlingException", "Rate exceeded")
    reader = AwsBackupReader(Source(protected={"orders"}, error=denied), account=lambda: "123456789012")
    reader.load()
    assert reader.points("orders") is None and not reader.complete
    assert reader.problems() == [
        "AWS Backup not read in account 123456789012, eu-west-1: backup:ListProtectedResources failed: "
        "ThrottlingException: Rate exceeded; its recovery points are not counted"
    ]


def test_a_denied_table_listing_is_one_line_for_all_the_tables_it_concerns():
    denied = GatewayError("ListRecoveryPointsByResource", "AccessDeniedException", "not authorized")
    names = ["a", "b", "c", "d"]
    source = Source(protected=set(names), points={"fail": names}, error=denied)
    reader = AwsBackupReader(source, account=lambda: "123456789012")
    reader.load()
    assert [reader.points(n) for n in names] == [None] * 4
    (line,) = reader.problems()
    assert "backup:ListRecoveryPointsByResource failed for 4 table(s) (a, b, c, ...): AccessDeniedException" in line
    assert reader.as_dict() == {"read": False, "problems": [line]}
