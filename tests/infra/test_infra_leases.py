"""The slot-lease table in the stack: on demand, encrypted, TTL, deleted with the stack, and only the backup
function may touch it, with the three item actions lease_table.py calls."""

from __future__ import annotations

from typing import Any

import pytest
from infra_synth import Synthesized, synthesize

from infra.functions import BACKUP_FUNCTION_NAME, PRUNE_FUNCTION_NAME
from infra.leases import HOLDER_ACTIONS
from tablesafe import constants

pytestmark = pytest.mark.xdist_group("infra")

REGION = "eu-west-1"


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("leases"), {"tablesafe:regions": [REGION]})


def the_table(synth: Synthesized) -> tuple[str, dict[str, Any]]:
    ((logical, table),) = synth.resources(REGION, "AWS::DynamoDB::Table").items()
    return logical, table


def functions(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {f["Properties"]["FunctionName"]: f for f in synth.resources(REGION, "AWS::Lambda::Function").values()}


def statements_of(synth: Synthesized, function_name: str) -> list[dict[str, Any]]:
    role = functions(synth)[function_name]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in synth.resources(REGION, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_lease_table_is_on_demand_encrypted_with_ttl_and_goes_with_the_stack(synth: Synthesized) -> None:
    _, table = the_table(synth)
    props = table["Properties"]

    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Delete", "Delete")


def test_the_backup_function_knows_the_table_and_the_prune_function_does_not(synth: Synthesized) -> None:
    logical, _ = the_table(synth)
    found = functions(synth)

    assert found[BACKUP_FUNCTION_NAME]["Properties"]["Environment"]["Variables"][constants.ENV_LEASE_TABLE] == {
        "Ref": logical
    }
    assert constants.ENV_LEASE_TABLE not in found[PRUNE_FUNCTION_NAME]["Properties"]["Environment"]["Variables"]


def test_only_the_backup_function_may_use_the_table_and_only_its_three_item_actions(synth: Synthesized) -> None:
    logical, _ = the_table(synth)
    arn = {"Fn::GetAtt": [logical, "Arn"]}
    backup = [s for s in statements_of(synth, BACKUP_FUNCTION_NAME) if s["Resource"] == arn]
    everyone = [
        s
        for policy in synth.resources(REGION, "AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if logical in str(s["Resource"])
    ]

    assert [sorted(s["Action"]) for s in backup] == [sorted(HOLDER_ACTIONS)]
    assert sorted(HOLDER_ACTIONS) == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert everyone == backup  # no other statement of any role names the table


def test_no_point_in_time_recovery_is_acknowledged_with_a_reason(synth: Synthesized) -> None:
    _, table = the_table(synth)
    rules = table["Metadata"]["cdk_nag"]["rules_to_suppress"]

    assert [r["id"] for r in rules] == ["AwsSolutions-DDB3"]
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": False}


def test_lease_trouble_raises_one_alarm_for_every_rule(synth: Synthesized) -> None:
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in synth.resources(REGION, "AWS::CloudWatch::Alarm").values()
    }
    alarm = alarms["tablesafe-slot-lease-unavailable"]

    assert alarm["MetricName"] == constants.M_SLOT_LEASE_UNAVAILABLE
    assert alarm["Dimensions"] == [{"Name": "service", "Value": constants.SERVICE_BACKUP}]
    assert (alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "Sum",
        "GreaterThanOrEqualToThreshold",
        1,
    )
    assert alarm["AlarmActions"] and alarm["TreatMissingData"] == "ignore"  # emitted on every run, 0 included
