"""What the synthesized stack promises for restore drills: nothing unless configured; then a function on a schedule,
a role that restores and deletes only drill tables, alarms for a failed drill and for no passing drill, widgets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from infra_synth import Synthesized, synthesize

from infra.drills import DRILL_FUNCTION_NAME
from tablesafe import constants
from tools.demo import Datapoint, evaluate_alarms, template_alarms

pytestmark = pytest.mark.xdist_group("infra")

REGION = "eu-west-1"
RULES = [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}]
VALIDATOR = "arn:aws:lambda:eu-west-1:123456789012:function:check-orders"
CONTEXT = {
    "tablesafe:regions": [REGION],
    "tablesafe:backupNamePrefix": "acme",
    "tablesafe:plans": {
        "weekly": {"rules": RULES, "drill": {"everyDays": 7, "validator": VALIDATOR}},
        "daily": {"rules": RULES, "drill": {"everyDays": 1, "maxConcurrent": 4}},
        "plain": RULES,
    },
}


@pytest.fixture(scope="module")
def drilled(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("drilled"), CONTEXT)


@pytest.fixture(scope="module")
def undrilled(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("undrilled"), {"tablesafe:regions": [REGION]})


def resources(synth: Synthesized, kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in synth.resources(REGION, kind).values()]


def drill_function(synth: Synthesized) -> tuple[str, dict[str, Any]]:
    ((logical, resource),) = [
        (k, v) for k, v in synth.resources(REGION, "AWS::Lambda::Function").items()
        if v["Properties"]["FunctionName"] == DRILL_FUNCTION_NAME
    ]  # fmt: skip
    return logical, resource["Properties"]


def drill_statements(synth: Synthesized) -> list[dict[str, Any]]:
    _, function = drill_function(synth)
    role = function["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in resources(synth, "AWS::IAM::Policy")
        if {"Ref": role} in policy["Roles"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_drills_are_off_unless_a_plan_asks_for_them(undrilled: Synthesized) -> None:
    names = [f["FunctionName"] for f in resources(undrilled, "AWS::Lambda::Function")]
    assert DRILL_FUNCTION_NAME not in names
    assert not [a for a in resources(undrilled, "AWS::CloudWatch::Alarm") if "drill" in a["AlarmName"]]


def test_the_drill_function_runs_the_drill_handler_with_the_lease_table(drilled: Synthesized) -> None:
    _, function = drill_function(drilled)
    assert function["Handler"] == constants.DRILL_HANDLER
    assert function["Timeout"] == 900
    env = function["Environment"]["Variables"]
    assert env["POWERTOOLS_SERVICE_NAME"] == constants.SERVICE_DRILL
    assert constants.ENV_LEASE_TABLE in env
    assert json.loads(env[constants.ENV_PLANS])["weekly"]["drill"]["validator"] == VALIDATOR


def test_the_schedule_sends_the_drill_job_every_15_minutes_by_default(drilled: Synthesized) -> None:
    logical, _ = drill_function(drilled)
    (schedule,) = [s for s in resources(drilled, "AWS::Scheduler::Schedule") if logical in json.dumps(s["Target"])]
    assert schedule["ScheduleExpression"] == "rate(15 minutes)"
    assert json.loads(schedule["Target"]["Input"]) == {"job": "drill"}


def test_the_drill_schedule_key_sets_the_expression(tmp_path) -> None:
    synth = synthesize(tmp_path, {**CONTEXT, "tablesafe:drillSchedule": "rate(1 hour)"})
    logical, _ = drill_function(synth)
    (schedule,) = [s for s in resources(synth, "AWS::Scheduler::Schedule") if logical in json.dumps(s["Target"])]
    assert schedule["ScheduleExpression"] == "rate(1 hour)"


def test_the_role_deletes_and_writes_only_drill_tables_and_never_touches_backups(drilled: Synthesized) -> None:
    statements = drill_statements(drilled)
    allowed = {action for s in statements for action in as_list(s["Action"])}
    assert not allowed & {"dynamodb:CreateBackup", "dynamodb:DeleteBackup", "dynamodb:*", "*"}
    writes = {
        "dynamodb:DeleteTable",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:TagResource",
    }
    for statement in statements:
        if set(as_list(statement["Action"])) & writes and "SlotLeasesTable" not in json.dumps(statement["Resource"]):
            (resource,) = as_list(statement["Resource"])
            assert json.dumps(resource).endswith(':table/acme-drill-*"]]}'), resource
    (restore,) = [s for s in statements if "dynamodb:RestoreTableFromBackup" in as_list(s["Action"])]
    assert json.dumps(restore["Resource"]).endswith(':table/*/backup/*"]]}')


def test_the_role_invokes_only_the_configured_validators(drilled: Synthesized) -> None:
    (invoke,) = [s for s in drill_statements(drilled) if "lambda:InvokeFunction" in as_list(s["Action"])]
    assert as_list(invoke["Resource"]) == [VALIDATOR]


def test_a_failed_drill_and_no_passing_drill_alarm_per_plan_with_missing_data_breaching(drilled: Synthesized) -> None:
    alarms = {a["AlarmName"]: a for a in resources(drilled, "AWS::CloudWatch::Alarm")}
    for plan in ("daily", "weekly"):
        failed = alarms[f"tablesafe-drill-failed.{plan}"]
        assert failed["MetricName"] == constants.M_DRILLS_FAILED
        assert {"Name": "Plan", "Value": plan} in failed["Dimensions"]
        overdue = alarms[f"tablesafe-no-drill-passed.{plan}"]
        assert overdue["MetricName"] == constants.M_DRILLS_OVERDUE
        assert overdue["TreatMissingData"] == "breaching"
        assert overdue["Statistic"] == "Maximum"
        assert overdue["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" and overdue["Threshold"] == 1
    assert "36 hours" in alarms["tablesafe-no-drill-passed.daily"]["AlarmDescription"]
    assert "tablesafe-drill-errors" in alarms
    assert not [n for n in alarms if n.endswith(".plain") and "drill" in n]


def test_the_dashboard_shows_drills_passed_failed_and_restore_time(drilled: Synthesized) -> None:
    (dashboard,) = resources(drilled, "AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["DashboardBody"])
    for metric in (constants.M_DRILLS_PASSED, constants.M_DRILLS_FAILED, constants.M_RESTORE_SECONDS):
        assert metric in body


def test_the_drill_resources_pass_cdk_nag(drilled: Synthesized) -> None:
    assert [v for v in drilled.violations if "RestoreDrills" in v["path"]] == []
    assert [v for v in drilled.violations if v["plugin"] != "Construct Annotations"] == []


def test_a_drill_failing_run_after_run_notifies_once_and_ok_when_a_run_has_no_failure(drilled: Synthesized) -> None:
    (alarm,) = [a for a in template_alarms(drilled.raw[REGION]) if a.name == "tablesafe-drill-failed.daily"]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    runs = [start + timedelta(days=day, hours=5) for day in range(5)]
    points = [
        Datapoint(when, alarm.namespace, alarm.metric, alarm.dimensions, 1.0 if day < 3 else 0.0)
        for day, when in enumerate(runs)
    ]

    (record,) = evaluate_alarms([alarm], points, start, start + timedelta(days=5))

    assert alarm.treat_missing == "ignore"
    assert len(record.fired) == 1 and len(record.recovered) == 1 and record.final == "OK"
