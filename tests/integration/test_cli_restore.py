"""`tablesafe restore`: a new table from a backup or a point in time, with the settings a restore drops put back."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime

import boto3
import pytest

from tablesafe.aws.clients import backup_clients, table_clients
from tablesafe.aws.dynamodb import DynamoDbGateway, TableNotFound
from tablesafe.aws.retry import RetryPolicy
from tablesafe.aws.tables import TableGateway
from tablesafe_cli.restore import RestoreError, RestoreRequest, restore_retry, restore_table
from tests.integration.cli_support import run

REGION = "us-east-1"
POLICY = {
    "TargetValue": 70.0,
    "PredefinedMetricSpecification": {"PredefinedMetricType": "DynamoDBReadCapacityUtilization"},
}


def make_source(client, name: str = "orders", items: int = 10) -> str:
    """A provisioned table with every setting a restore drops: tags, TTL, PITR, auto scaling, stream, protection."""
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        DeletionProtectionEnabled=True,
    )
    arn = client.describe_table(TableName=name)["Table"]["TableArn"]
    client.tag_resource(
        ResourceArn=arn,
        Tags=[
            {"Key": "backup-plan", "Value": "daily"},
            {"Key": "team", "Value": "shop"},
            {"Key": "cost", "Value": "7"},
        ],
    )
    client.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    client.update_continuous_backups(
        TableName=name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 14},
    )
    scaling = boto3.client("application-autoscaling", region_name=REGION)
    for dimension in ("dynamodb:table:ReadCapacityUnits", "dynamodb:table:WriteCapacityUnits"):
        scaling.register_scalable_target(
            ServiceNamespace="dynamodb",
            ResourceId=f"table/{name}",
            ScalableDimension=dimension,
            MinCapacity=5,
            MaxCapacity=50,
        )
    scaling.put_scaling_policy(
        PolicyName="read-70",
        ServiceNamespace="dynamodb",
        ResourceId=f"table/{name}",
        ScalableDimension="dynamodb:table:ReadCapacityUnits",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration=POLICY,
    )
    for i in range(items):
        client.put_item(TableName=name, Item={"pk": {"S": f"customer#{i % 3}"}, "sk": {"N": str(i)}})
    return arn


def tags_of(client, table: str) -> dict[str, str]:
    arn = client.describe_table(TableName=table)["Table"]["TableArn"]
    return {t["Key"]: t["Value"] for t in client.list_tags_of_resource(ResourceArn=arn)["Tags"]}


def test_restore_from_the_latest_backup_reapplies_every_setting_the_restore_dropped(aws, capsys):
    # given a fully configured table and a backup of it
    make_source(aws)
    aws.create_backup(TableName="orders", BackupName="old")
    aws.put_item(TableName="orders", Item={"pk": {"S": "late"}, "sk": {"N": "99"}})
    newest = aws.create_backup(TableName="orders", BackupName="new")["BackupDetails"]["BackupArn"]

    # when it is restored into a new table
    code, out, _ = run(capsys, "restore", "orders", "--to", "orders-restored", "--json")

    # then the new table holds the newest backup's items and carries the source's settings
    assert code == 0
    report = json.loads(out)
    assert report["backupArn"] == newest and report["ok"] is True
    assert {s["setting"]: s["outcome"] for s in report["settings"]} == {
        "point-in-time recovery": "applied",
        "time to live": "applied",
        "tags": "applied",
        "auto scaling": "applied",
        "stream": "applied",
        "deletion protection": "applied",
    }
    table = aws.describe_table(TableName="orders-restored")["Table"]
    assert table["TableStatus"] == "ACTIVE" and table["ItemCount"] == 11
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert table["DeletionProtectionEnabled"] is True
    assert tags_of(aws, "orders-restored") == {"team": "shop", "cost": "7"}  # the plan tag is left out
    ttl = aws.describe_time_to_live(TableName="orders-restored")["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires")
    pitr = aws.describe_continuous_backups(TableName="orders-restored")["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    assert pitr["PointInTimeRecoveryDescription"]["RecoveryPeriodInDays"] == 14
    scaling = boto3.client("application-autoscaling", region_name=REGION)
    targets = scaling.describe_scalable_targets(ServiceNamespace="dynamodb", ResourceIds=["table/orders-restored"])
    assert sorted((t["ScalableDimension"], t["MinCapacity"], t["MaxCapacity"]) for t in targets["ScalableTargets"]) == [
        ("dynamodb:table:ReadCapacityUnits", 5, 50),
        ("dynamodb:table:WriteCapacityUnits", 5, 50),
    ]
    policies = scaling.describe_scaling_policies(ServiceNamespace="dynamodb", ResourceId="table/orders-restored")
    # moto matches ResourceId as a substring, so the source's policy comes back too: keep the new table's.
    (policy,) = [p for p in policies["ScalingPolicies"] if p["ResourceId"] == "table/orders-restored"]
    assert policy["PolicyName"] == "read-70"
    assert policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 70.0


def test_keep_plan_keeps_the_opt_in_tag_so_the_new_table_is_backed_up(aws, capsys):
    make_source(aws)
    aws.create_backup(TableName="orders", BackupName="bak")
    code, _, _ = run(capsys, "restore", "orders", "--to", "orders-2", "--keep-plan")
    assert code == 0
    assert tags_of(aws, "orders-2")["backup-plan"] == "daily"


def test_a_plain_table_restores_with_nothing_to_reapply(aws, capsys):
    aws.create_table(
        TableName="plain",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    arn = aws.create_backup(TableName="plain", BackupName="bak")["BackupDetails"]["BackupArn"]
    code, out, _ = run(capsys, "restore", "plain", "--to", "plain-2", "--backup", arn)
    assert code == 0
    assert "settings re-applied" in out and "not set on source" in out
    assert tags_of(aws, "plain-2") == {}


def test_restore_never_touches_an_existing_table(aws, capsys):
    make_source(aws)
    aws.create_backup(TableName="orders", BackupName="bak")
    aws.create_table(
        TableName="precious",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    aws.put_item(TableName="precious", Item={"id": {"S": "keep-me"}})

    code, out, err = run(capsys, "restore", "orders", "--to", "precious")

    assert code == 1 and out == ""
    assert err == (
        "tablesafe: error: table precious exists already; a restore never touches an existing table: "
        "choose a new name\n"
    )
    assert aws.scan(TableName="precious")["Items"] == [{"id": {"S": "keep-me"}}]
    assert tags_of(aws, "precious") == {}


def test_a_backup_of_another_table_is_refused(aws, capsys):
    make_source(aws)
    make_source(aws, "users", items=1)
    arn = aws.create_backup(TableName="users", BackupName="bak")["BackupDetails"]["BackupArn"]
    code, _, err = run(capsys, "restore", "orders", "--to", "orders-2", "--backup", arn)
    assert code == 1
    assert err == f"tablesafe: error: backup {arn} is of table users, not orders\n"
    assert "orders-2" not in aws.list_tables()["TableNames"]


def test_a_table_without_backups_cannot_be_restored_from_one(aws, capsys):
    make_source(aws)
    code, _, err = run(capsys, "restore", "orders", "--to", "orders-2")
    assert code == 1
    assert err == "tablesafe: error: table orders has no AVAILABLE backup to restore\n"


def test_a_deleted_table_is_restored_from_its_backup_without_settings(aws, capsys):
    aws.create_table(
        TableName="gone",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    aws.put_item(TableName="gone", Item={"pk": {"S": "a"}})
    aws.create_backup(TableName="gone", BackupName="last")
    aws.delete_table(TableName="gone")

    code, out, _ = run(capsys, "restore", "gone", "--to", "gone-back", "--json")

    assert code == 0
    assert json.loads(out)["settings"] == [
        {"setting": "all settings", "outcome": "skipped", "detail": "table gone no longer exists"}
    ]
    assert aws.scan(TableName="gone-back")["Items"] == [{"pk": {"S": "a"}}]


def test_restore_to_a_point_in_time_reapplies_settings(aws, capsys):
    make_source(aws)
    moment = datetime.now(UTC).isoformat()  # after PITR was turned on
    code, out, _ = run(capsys, "restore", "orders", "--to", "orders-pit", "--at", moment, "--json")
    assert code == 0
    report = json.loads(out)
    assert report["method"] == "point-in-time" and report["ok"] is True
    assert aws.describe_table(TableName="orders-pit")["Table"]["DeletionProtectionEnabled"] is True


def test_restore_to_a_point_in_time_needs_pitr(aws, capsys):
    aws.create_table(
        TableName="nopitr",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    code, _, err = run(capsys, "restore", "nopitr", "--to", "x", "--at", "latest")
    assert code == 1
    assert err == (
        "tablesafe: error: point-in-time recovery is off for nopitr: restore from a backup instead (--backup latest)\n"
    )
    assert "x" not in aws.list_tables()["TableNames"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--at", "yesterday"], "--at yesterday: expected an ISO 8601 time such as 2026-11-27T03:00:00Z"),
        (["--at", "2026-01-01T00:00:00"], "--at 2026-01-01T00:00:00: give a time zone"),
        (["--at", "2999-01-01T00:00:00Z"], "--at 2999-01-01T00:00:00Z: that time is in the future"),
        (["--at", "latest", "--backup", "latest"], "give --backup or --at, not both"),
    ],
)
def test_bad_restore_arguments_are_usage_errors(aws, capsys, argv, message):
    make_source(aws)
    code, _, err = run(capsys, "restore", "orders", "--to", "orders-2", *argv)
    assert code == 2
    assert err.startswith(f"tablesafe: error: {message}") and err.count("\n") == 1


def test_a_point_in_time_before_pitr_was_enabled_is_refused(aws, capsys):
    make_source(aws)
    code, _, err = run(capsys, "restore", "orders", "--to", "orders-2", "--at", "2020-01-01T00:00:00Z")
    assert code == 1
    assert err.startswith(
        "tablesafe: error: 2020-01-01T00:00:00+00:00 is before the earliest restorable time of orders"
    )


def test_an_invalid_table_name_is_a_usage_error_on_one_line(aws, capsys):
    make_source(aws)
    aws.create_backup(TableName="orders", BackupName="bak")
    code, _, err = run(capsys, "restore", "orders", "--to", "x")
    assert code == 2
    assert err.startswith("tablesafe: error: ") and "TargetTableName" in err and err.count("\n") == 1
    assert aws.list_tables()["TableNames"] == ["orders"]


def test_restoring_a_table_that_does_not_exist_fails_with_one_line(aws, capsys):
    code, _, err = run(capsys, "restore", "nope", "--to", "nope-2")
    assert code == 1
    assert err == "tablesafe: error: table nope has no AVAILABLE backup to restore\n"


def test_a_setting_that_cannot_be_reapplied_is_reported_the_others_applied_and_the_exit_is_1(aws, capsys, monkeypatch):
    from tablesafe.aws.dynamodb import GatewayError
    from tablesafe.aws.tables import TableGateway

    def refuse(self, name, attribute):
        raise GatewayError("UpdateTimeToLive", "AccessDeniedException", "not allowed")

    monkeypatch.setattr(TableGateway, "enable_ttl", refuse)
    make_source(aws)
    aws.create_backup(TableName="orders", BackupName="bak")

    code, out, _ = run(capsys, "restore", "orders", "--to", "orders-2", "--json")

    assert code == 1
    outcomes = {s["setting"]: (s["outcome"], s["detail"]) for s in json.loads(out)["settings"]}
    assert outcomes["time to live"] == ("failed", "UpdateTimeToLive failed: AccessDeniedException: not allowed")
    assert outcomes["deletion protection"][0] == "applied" and outcomes["tags"][0] == "applied"
    assert aws.describe_table(TableName="orders-2")["Table"]["DeletionProtectionEnabled"] is True


# -- a restore whose answer is lost ------------------------------------------------------------------------------

ALL_APPLIED = {
    "point-in-time recovery": "applied",
    "time to live": "applied",
    "tags": "applied",
    "auto scaling": "applied",
    "stream": "applied",
    "deletion protection": "applied",
}


@pytest.fixture
def no_pauses(monkeypatch):
    """The restore's pauses between attempts, without the waiting; the pauses taken are recorded."""
    pauses: list[float] = []
    monkeypatch.setattr("tablesafe_cli.restore.restore_retry", functools.partial(restore_retry, sleep=pauses.append))
    return pauses


def settings_of(report: dict) -> dict[str, str]:
    return {s["setting"]: s["outcome"] for s in report["settings"]}


@pytest.mark.parametrize("lost_as", ["500", "503", "drop"])
def test_a_restore_from_a_backup_whose_answer_is_lost_is_recognised_waited_for_and_its_settings_reapplied(
    aws, standin, capsys, no_pauses, lost_as
):
    make_source(aws)
    backup = aws.create_backup(TableName="orders", BackupName="bak")["BackupDetails"]["BackupArn"]
    standin.restoring_seconds = 0.3  # still CREATING when the command looks
    standin.faults.set("RestoreTableFromBackup", lost=1.0, lost_as=lost_as, limit=1)

    code, out, err = run(capsys, "restore", "orders", "--to", "orders-restored", "--poll", "0.05", "--json")

    assert code == 0, err
    report = json.loads(out)
    assert report["backupArn"] == backup and report["ok"] is True
    assert settings_of(report) == ALL_APPLIED
    assert "answer was lost" in err and "so it is this restore" in err and report["notes"]
    assert standin.calls.count("RestoreTableFromBackup") == 1  # sent once, never again
    table = aws.describe_table(TableName="orders-restored")["Table"]
    assert table["DeletionProtectionEnabled"] is True and table["ItemCount"] == 10
    assert tags_of(aws, "orders-restored") == {"team": "shop", "cost": "7"}


@pytest.mark.parametrize("at", ["moment", "latest"])
def test_a_point_in_time_restore_whose_answer_is_lost_is_recognised_and_its_settings_reapplied(
    aws, standin, capsys, no_pauses, at
):
    make_source(aws)
    moment = datetime.now(UTC).isoformat() if at == "moment" else "latest"
    standin.restoring_seconds = 0.3
    standin.faults.set("RestoreTableToPointInTime", lost=1.0, lost_as="500", limit=1)

    code, out, err = run(capsys, "restore", "orders", "--to", "orders-pit", "--at", moment, "--poll", "0.05", "--json")

    assert code == 0, err
    report = json.loads(out)
    assert report["method"] == "point-in-time" and settings_of(report) == ALL_APPLIED
    assert "so it is this restore" in err
    assert standin.calls.count("RestoreTableToPointInTime") == 1
    assert aws.describe_table(TableName="orders-pit")["Table"]["DeletionProtectionEnabled"] is True


def test_a_restore_with_no_effect_is_sent_again_once_the_target_is_seen_absent(aws, standin, capsys, no_pauses):
    make_source(aws)
    aws.create_backup(TableName="orders", BackupName="bak")
    standin.faults.set("RestoreTableFromBackup", server_error=1.0, limit=1)  # a 5xx that changed nothing

    code, out, err = run(capsys, "restore", "orders", "--to", "orders-restored", "--json")

    assert code == 0, err
    assert settings_of(json.loads(out)) == ALL_APPLIED
    assert "did not exist, so it was sent again" in err
    assert standin.calls.count("RestoreTableFromBackup", "error") == 1
    assert standin.calls.count("RestoreTableFromBackup", "ok") == 1
    assert len(no_pauses) == 1


def test_a_restore_that_never_gets_an_answer_gives_up_saying_the_table_may_still_appear(
    aws, standin, capsys, no_pauses
):
    make_source(aws)
    aws.create_backup(TableName="orders", BackupName="bak")
    standin.faults.set("RestoreTableFromBackup", server_error=1.0)

    code, out, err = run(capsys, "restore", "orders", "--to", "orders-restored")

    assert code == 1 and out == ""
    assert err.startswith("tablesafe: error: RestoreTableFromBackup into orders-restored went unanswered")
    assert "check orders-restored (aws dynamodb describe-table) before restoring again" in err
    assert err.count("\n") == 1
    assert standin.calls.count("RestoreTableFromBackup") == 6


def test_a_throttled_restore_is_sent_again_after_a_pause(aws, standin, capsys, no_pauses):
    make_source(aws)
    aws.create_backup(TableName="orders", BackupName="bak")
    standin.faults.set("RestoreTableFromBackup", throttle=1.0, throttle_as="LimitExceededException", limit=2)

    code, out, err = run(capsys, "restore", "orders", "--to", "orders-restored", "--json")

    assert code == 0, err
    assert json.loads(out)["notes"] == []
    assert standin.calls.count("RestoreTableFromBackup") == 3 and len(no_pauses) == 2


@pytest.mark.parametrize("theirs", ["another backup", "a point in time", "a plain table"])
def test_a_table_someone_else_made_after_a_lost_answer_is_refused_and_never_touched(
    aws, standin, capsys, monkeypatch, theirs
):
    make_source(aws)
    make_source(aws, "users", items=1)
    aws.create_backup(TableName="orders", BackupName="ours")
    other = aws.create_backup(TableName="users", BackupName="theirs")["BackupDetails"]["BackupArn"]

    def someone_else(_seconds: float) -> None:
        if "orders-restored" in aws.list_tables()["TableNames"]:
            return
        if theirs == "another backup":
            aws.restore_table_from_backup(TargetTableName="orders-restored", BackupArn=other)
        elif theirs == "a point in time":
            aws.restore_table_to_point_in_time(
                SourceTableName="orders", TargetTableName="orders-restored", UseLatestRestorableTime=True
            )
        else:
            aws.create_table(
                TableName="orders-restored",
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )

    monkeypatch.setattr("tablesafe_cli.restore.restore_retry", functools.partial(restore_retry, sleep=someone_else))
    standin.faults.set("RestoreTableFromBackup", server_error=1.0, limit=1)  # our attempt had no effect

    code, out, err = run(capsys, "restore", "orders", "--to", "orders-restored")

    assert code == 1 and out == ""
    assert err.startswith("tablesafe: error: table orders-restored was created meanwhile by someone else (")
    assert err.endswith("nothing restored, and orders-restored was not touched\n")
    ours = standin.calls.count("RestoreTableFromBackup") - (theirs == "another backup")
    assert ours == 1  # sent once; what followed was a look at the target, never a resend
    table = aws.describe_table(TableName="orders-restored")["Table"]
    assert table["DeletionProtectionEnabled"] is False and "StreamSpecification" not in table
    assert tags_of(aws, "orders-restored") == {}


def test_a_target_created_between_the_check_and_the_restore_is_refused(aws, standin):
    make_source(aws)
    aws.create_backup(TableName="orders", BackupName="bak")
    tables = TableGateway(table_clients(boto3.Session(region_name=REGION), rate_limits={}))

    def phase(name: str) -> None:
        if name == "restoring":  # someone takes the name just before the call
            aws.create_table(
                TableName="orders-restored",
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )

    request = RestoreRequest(source="orders", target="orders-restored", backup="latest")
    with pytest.raises(RestoreError, match="created meanwhile by someone else; nothing restored"):
        restore_table(
            DynamoDbGateway(backup_clients(rate_limits={})), tables, request, tag_key="backup-plan", on_phase=phase
        )
    assert tags_of(aws, "orders-restored") == {}


class LateTables(TableGateway):
    """DescribeTable does not show the new table at first, as AWS's eventually consistent DescribeTable may not
    right after the table was created."""

    def __init__(self, target: str, misses: int) -> None:
        super().__init__(table_clients(boto3.Session(region_name=REGION), rate_limits={}))
        self.target, self.misses = target, misses

    def describe(self, name):
        details = super().describe(name)
        if name == self.target and self.misses > 0:
            self.misses -= 1
            raise TableNotFound("DescribeTable", "ResourceNotFoundException", f"Requested resource not found: {name}")
        return details


def test_a_lost_restore_not_yet_shown_by_describe_table_is_found_through_the_resend(aws, standin):
    make_source(aws)
    backup = aws.create_backup(TableName="orders", BackupName="bak")["BackupDetails"]["BackupArn"]
    standin.faults.set("RestoreTableFromBackup", lost=1.0, lost_as="drop", limit=1)
    tables = LateTables("orders-restored", misses=1)
    request = RestoreRequest(source="orders", target="orders-restored", backup=backup)

    report = restore_table(
        DynamoDbGateway(backup_clients(rate_limits={})), tables, request, tag_key="backup-plan", poll=0.01,
        retry=RetryPolicy(attempts=4, base=2.0, cap=20.0, sleep=lambda _: None),
    )  # fmt: skip

    assert report.notes and "so it is this restore" in report.notes[0]
    assert {s.setting: s.outcome.value for s in report.settings} == ALL_APPLIED
    # the resend met the table the lost attempt had made, and changed nothing
    assert standin.calls.codes("RestoreTableFromBackup") == {"TableAlreadyExistsException": 1}
    assert standin.calls.count("RestoreTableFromBackup") == 2
