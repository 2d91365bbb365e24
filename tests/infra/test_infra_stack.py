"""What the synthesized stacks promise: schedules per rule, least privilege, alarms that notify, a dashboard."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_cdk.assertions import Match
from aws_lambda_powertools import Metrics
from infra_synth import Synthesized, synthesize

from infra.functions import BACKUP_FUNCTION_NAME, PRUNE_FUNCTION_NAME
from infra.stack import stack_name
from tablesafe import constants
from tools.demo import Datapoint, evaluate_alarms, template_alarms

pytestmark = pytest.mark.xdist_group("infra")

REGIONS = ["eu-west-1", "us-east-1"]
GFS = {
    "rules": [
        {"name": "hourly", "schedule": "rate(1 hour)", "retentionDays": 2, "minKeep": 24},
        {
            "name": "daily",
            "schedule": "cron(0 3 * * ? *)",
            "retentionDays": 35,
            "minKeep": 7,
            "timezone": "Europe/Paris",
        },
        {"name": "monthly", "schedule": "cron(0 4 1 * ? *)", "retentionDays": 365, "minKeep": 12},
    ],
    "pitr": {"enabled": True, "recoveryPeriodDays": 7},
}
CONTEXT = {
    "tablesafe:regions": REGIONS,
    "tablesafe:plans": {
        "gfs": GFS,
        "critical": [{"name": "quarterly-hour", "schedule": "rate(15 minutes)", "retentionDays": 1, "minKeep": 4}],
    },
    "tablesafe:alarmEmail": "ops@example.com",
    "tablesafe:tagKey": "team:backup",
    "tablesafe:storagePricePerGbMonth": 0.12,
}
RULES = [("critical", "quarterly-hour"), ("gfs", "daily"), ("gfs", "hourly"), ("gfs", "monthly")]
REGION = REGIONS[0]


@pytest.fixture(scope="module")
def gfs(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("gfs"), CONTEXT)


def by_type(synth: Synthesized, resource_type: str, region: str = REGION) -> list[dict[str, Any]]:
    return [r["Properties"] for r in synth.resources(region, resource_type).values()]


def logical_id(synth: Synthesized, resource_type: str, path_suffix: str, region: str = REGION) -> str:
    """The logical id of the one resource whose construct path ends with `path_suffix`."""
    found = [
        k
        for k, v in synth.resources(region, resource_type).items()
        if v["Metadata"]["aws:cdk:path"].endswith(path_suffix)
    ]
    assert len(found) == 1, found
    return found[0]


def statements(synth: Synthesized, region: str = REGION) -> list[tuple[str, dict[str, Any]]]:
    """Every policy statement of the template, with the logical id of the resource that holds it."""
    found = []
    for logical, resource in synth.raw[region]["Resources"].items():
        props = resource.get("Properties", {})
        for key in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument"):
            if key in props:
                found.extend((logical, s) for s in props[key]["Statement"])
    return found


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return value if isinstance(value, list) else [value]


def role_actions(synth: Synthesized, role_suffix: str, region: str = REGION) -> set[str]:
    """Every action the role's policies allow."""
    role = logical_id(synth, "AWS::IAM::Role", role_suffix, region)
    allowed: set[str] = set()
    for policy in by_type(synth, "AWS::IAM::Policy", region):
        if {"Ref": role} in policy["Roles"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                assert statement["Effect"] == "Allow"
                allowed.update(actions(statement))
    return allowed


# --- stacks -----------------------------------------------------------------------------------------------------


def test_one_stack_per_configured_region(gfs: Synthesized) -> None:
    manifest = json.loads((gfs.outdir / "manifest.json").read_text())
    stacks = {name: a for name, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"}

    assert sorted(stacks) == sorted(stack_name(r) for r in REGIONS) == ["Tablesafe-eu-west-1", "Tablesafe-us-east-1"]
    for region in REGIONS:
        # Region only: the account is resolved at deploy time, so synth needs no credentials.
        assert stacks[stack_name(region)]["environment"] == f"aws://unknown-account/{region}"


def test_every_region_gets_the_same_schedules_and_alarms(gfs: Synthesized) -> None:
    for region in REGIONS:
        gfs.templates[region].resource_count_is("AWS::Scheduler::Schedule", len(RULES) + 1)
        gfs.templates[region].resource_count_is("AWS::Lambda::Function", 2)


# --- functions ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "handler", "service"),
    [
        (BACKUP_FUNCTION_NAME, constants.BACKUP_HANDLER, constants.SERVICE_BACKUP),
        (PRUNE_FUNCTION_NAME, constants.PRUNE_HANDLER, constants.SERVICE_PRUNE),
    ],
)
def test_function_runtime_handler_and_environment(gfs: Synthesized, name: str, handler: str, service: str) -> None:
    (function,) = [f for f in by_type(gfs, "AWS::Lambda::Function") if f["FunctionName"] == name]
    env = function["Environment"]["Variables"]

    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert function["Handler"] == handler
    assert function["Timeout"] == 900
    assert function["MemorySize"] == 512
    assert env[constants.ENV_TAG_KEY] == "team:backup"
    assert env[constants.ENV_BACKUP_NAME_PREFIX] == "tablesafe"
    assert env[constants.ENV_DRY_RUN] == "false"
    assert float(env[constants.ENV_STORAGE_PRICE]) == 0.12
    assert env[constants.ENV_GLOBAL_TABLES] == "home-region"
    assert env["POWERTOOLS_SERVICE_NAME"] == service
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == constants.METRICS_NAMESPACE
    assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
    # The functions take their region and endpoints from the Lambda runtime, never from the stack.
    assert not {k for k in env if k.startswith("AWS_")}
    plans = json.loads(env[constants.ENV_PLANS])
    assert sorted(plans) == ["critical", "gfs"]
    assert [r["name"] for r in plans["gfs"]["rules"]] == ["hourly", "daily", "monthly"]
    assert plans["gfs"]["rules"][1]["timezone"] == "Europe/Paris"
    assert plans["gfs"]["pitr"] == {"enabled": True, "recoveryPeriodDays": 7}


def test_plans_are_passed_as_compact_sorted_json(gfs: Synthesized) -> None:
    env = by_type(gfs, "AWS::Lambda::Function")[0]["Environment"]["Variables"]

    assert env[constants.ENV_PLANS] == json.dumps(
        json.loads(env[constants.ENV_PLANS]), sort_keys=True, separators=(",", ":")
    )


def test_both_functions_in_every_region_know_all_the_deployed_regions(gfs: Synthesized) -> None:
    # A global table's home must be a region with tablesafe in it, so every deployment needs the whole list.
    for region in REGIONS:
        functions = by_type(gfs, "AWS::Lambda::Function", region)
        assert sorted(f["FunctionName"] for f in functions) == sorted([BACKUP_FUNCTION_NAME, PRUNE_FUNCTION_NAME])
        for function in functions:
            assert function["Environment"]["Variables"][constants.ENV_REGIONS] == "eu-west-1,us-east-1"


def test_failed_asynchronous_runs_are_retried_twice_then_kept_in_the_dead_letter_queue(gfs: Synthesized) -> None:
    dlq = logical_id(gfs, "AWS::SQS::Queue", "/DeadLetterQueue/Resource")

    gfs.templates[REGION].resource_count_is("AWS::Lambda::EventInvokeConfig", 2)
    gfs.templates[REGION].all_resources_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "MaximumRetryAttempts": 2,
            "MaximumEventAgeInSeconds": 6 * 3600,
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [dlq, "Arn"]}}},
        },
    )


def test_each_function_logs_to_its_own_group_with_a_retention(gfs: Synthesized) -> None:
    groups = gfs.resources(REGION, "AWS::Logs::LogGroup")

    assert len(groups) == 2
    assert {g["Properties"]["RetentionInDays"] for g in groups.values()} == {90}
    targets = {f["LoggingConfig"]["LogGroup"]["Ref"] for f in by_type(gfs, "AWS::Lambda::Function")}
    assert targets == set(groups)


# --- schedules ----------------------------------------------------------------------------------------------------


def schedules(synth: Synthesized) -> list[dict[str, Any]]:
    return by_type(synth, "AWS::Scheduler::Schedule")


def test_one_backup_schedule_per_plan_rule_sending_plan_and_rule(gfs: Synthesized) -> None:
    backup_fn = logical_id(gfs, "AWS::Lambda::Function", "/BackupFunctions/Backup/Resource")
    events = [
        json.loads(s["Target"]["Input"]) for s in schedules(gfs) if s["Target"]["Arn"]["Fn::GetAtt"][0] == backup_fn
    ]

    assert sorted((e["plan"], e["rule"]) for e in events) == RULES
    for event in events:
        assert event == {
            "job": constants.JOB_BACKUP,
            "plan": event["plan"],
            "rule": event["rule"],
            "scheduledTime": constants.SCHEDULED_TIME_PLACEHOLDER,
        }


def test_schedule_expression_and_timezone_come_from_the_rule(gfs: Synthesized) -> None:
    found = {
        (json.loads(s["Target"]["Input"]).get("rule")): (s["ScheduleExpression"], s["ScheduleExpressionTimezone"])
        for s in schedules(gfs)
    }

    assert found["daily"] == ("cron(0 3 * * ? *)", "Europe/Paris")
    assert found["hourly"] == ("rate(1 hour)", "UTC")
    assert found["monthly"] == ("cron(0 4 1 * ? *)", "UTC")


def test_prune_schedule_starts_the_prune_function_daily(gfs: Synthesized) -> None:
    prune_fn = logical_id(gfs, "AWS::Lambda::Function", "/BackupFunctions/Prune/Resource")
    (prune,) = [s for s in schedules(gfs) if s["Target"]["Arn"]["Fn::GetAtt"][0] == prune_fn]

    assert json.loads(prune["Target"]["Input"]) == {
        "job": constants.JOB_PRUNE,
        "scheduledTime": constants.SCHEDULED_TIME_PLACEHOLDER,
    }
    assert prune["ScheduleExpression"] == constants.DEFAULT_PRUNE_SCHEDULE


def test_schedules_run_on_time_retry_and_keep_what_they_could_not_deliver(gfs: Synthesized) -> None:
    dlq = logical_id(gfs, "AWS::SQS::Queue", "/DeadLetterQueue/Resource")

    gfs.templates[REGION].all_resources_properties(
        "AWS::Scheduler::Schedule",
        {
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED",
            "Target": Match.object_like(
                {
                    "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
                    "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [dlq, "Arn"]}},
                }
            ),
        },
    )


def test_schedules_send_the_events_as_compact_json_in_a_fixed_key_order(gfs: Synthesized) -> None:
    # The same bytes the L1 schedules sent, so nothing in Scheduler's console or a DLQ message changes.
    inputs = sorted(s["Target"]["Input"] for s in schedules(gfs))

    assert inputs[0] == (
        '{"job":"backup","plan":"critical","rule":"quarterly-hour","scheduledTime":"<aws.scheduler.scheduled-time>"}'
    )
    assert inputs[-1] == '{"job":"prune","scheduledTime":"<aws.scheduler.scheduled-time>"}'
    assert all(i == json.dumps(json.loads(i), separators=(",", ":")) for i in inputs)


def test_prune_schedule_runs_in_utc(gfs: Synthesized) -> None:
    prune_fn = logical_id(gfs, "AWS::Lambda::Function", "/BackupFunctions/Prune/Resource")
    (prune,) = [s for s in schedules(gfs) if s["Target"]["Arn"]["Fn::GetAtt"][0] == prune_fn]

    # Not the L2's default (Etc/UTC): the value the deployed schedules have.
    assert prune["ScheduleExpressionTimezone"] == "UTC"


def test_schedules_keep_their_logical_ids_group_and_generated_names(gfs: Synthesized) -> None:
    # A new logical id, name or group replaces the schedule: CloudFormation creates the new one before deleting the
    # old, and both could start the same slot. These are the ids the schedules had as L1 CfnSchedules.
    assert sorted(gfs.resources(REGION, "AWS::Scheduler::Schedule")) == [
        "SchedulesBackupcriticalquarterlyhourE5D450EF",
        "SchedulesBackupgfsdaily984C06F1",
        "SchedulesBackupgfshourly6FB749C4",
        "SchedulesBackupgfsmonthly0F607C43",
        "SchedulesPrune191330BC",
    ]
    gfs.templates[REGION].resource_count_is("AWS::Scheduler::ScheduleGroup", 0)
    assert not [s for s in schedules(gfs) if {"Name", "GroupName", "KmsKeyArn"} & set(s)]


# --- IAM ----------------------------------------------------------------------------------------------------------


def test_no_statement_allows_a_wildcard_action(gfs: Synthesized) -> None:
    for region in REGIONS:
        found = statements(gfs, region)
        assert found, f"no policy statement found in {region}: the loop below would check nothing"
        for logical, statement in found:
            wildcards = [a for a in actions(statement) if "*" in a]
            if statement["Effect"] == "Allow":
                assert not wildcards, (logical, statement)
            else:
                # The only wildcard: SQS's enforce-SSL deny (cdk-nag SQS4 requires sqs:*), which takes access away.
                assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, (logical, statement)


def test_backup_role_may_back_up_but_never_delete(gfs: Synthesized) -> None:
    allowed = role_actions(gfs, "/BackupFunctions/BackupRole/Resource")

    assert {
        "dynamodb:CreateBackup",
        "dynamodb:DescribeTable",
        "dynamodb:DescribeContinuousBackups",
        "dynamodb:UpdateContinuousBackups",
        "dynamodb:ListBackups",
        "tag:GetResources",
        "lambda:InvokeFunction",
    } <= allowed
    assert not {a for a in allowed if a.startswith("dynamodb:Delete") or a == "dynamodb:RestoreTableFromBackup"}


def test_backup_role_may_list_table_names_to_learn_which_tables_can_be_replicas(gfs: Synthesized) -> None:
    assert "dynamodb:ListTables" in role_actions(gfs, "/BackupFunctions/BackupRole/Resource")
    assert "dynamodb:ListTables" not in role_actions(gfs, "/BackupFunctions/PruneRole/Resource")


def test_prune_role_may_delete_backups_but_never_create_them(gfs: Synthesized) -> None:
    allowed = role_actions(gfs, "/BackupFunctions/PruneRole/Resource")

    assert {
        "dynamodb:ListBackups",
        "dynamodb:DescribeBackup",
        "dynamodb:DeleteBackup",
        "lambda:InvokeFunction",
    } <= allowed
    assert "dynamodb:CreateBackup" not in allowed
    assert not {a for a in allowed if a.startswith("tag:") or "ContinuousBackups" in a}


def test_delete_is_limited_to_backup_arns(gfs: Synthesized) -> None:
    gfs.templates[REGION].has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": ["dynamodb:DeleteBackup", "dynamodb:DescribeBackup"],
                                "Resource": {
                                    "Fn::Join": [
                                        "",
                                        [f"arn:aws:dynamodb:{REGION}:", {"Ref": "AWS::AccountId"}, ":table/*/backup/*"],
                                    ]
                                },
                            }
                        )
                    ]
                )
            }
        },
    )


@pytest.mark.parametrize(
    ("role", "function_name"), [("BackupRole", BACKUP_FUNCTION_NAME), ("PruneRole", PRUNE_FUNCTION_NAME)]
)
def test_each_function_may_invoke_only_itself(gfs: Synthesized, role: str, function_name: str) -> None:
    role_id = logical_id(gfs, "AWS::IAM::Role", f"/BackupFunctions/{role}/Resource")
    (policy,) = [p for p in by_type(gfs, "AWS::IAM::Policy") if {"Ref": role_id} in p["Roles"]]
    invokes = [s for s in policy["PolicyDocument"]["Statement"] if "lambda:InvokeFunction" in actions(s)]

    assert [s["Resource"] for s in invokes] == [
        {"Fn::Join": ["", [f"arn:aws:lambda:{REGION}:", {"Ref": "AWS::AccountId"}, f":function:{function_name}"]]}
    ]


def test_scheduler_role_invokes_only_the_two_functions(gfs: Synthesized) -> None:
    role_id = logical_id(gfs, "AWS::IAM::Role", "/Schedules/SchedulerRole/Resource")
    functions = sorted(gfs.resources(REGION, "AWS::Lambda::Function"))
    (policy,) = [p for p in by_type(gfs, "AWS::IAM::Policy") if {"Ref": role_id} in p["Roles"]]
    by_action = {a: s["Resource"] for s in policy["PolicyDocument"]["Statement"] for a in actions(s)}

    assert sorted(by_action) == ["lambda:InvokeFunction", "sqs:SendMessage"]
    assert sorted(r["Fn::GetAtt"][0] for r in by_action["lambda:InvokeFunction"]) == functions
    # Only the unqualified ARNs Scheduler calls: no `<function>:*` (every version and alias), as LambdaInvoke grants.
    assert len(policy["PolicyDocument"]["Statement"]) == 2
    dlq = logical_id(gfs, "AWS::SQS::Queue", "/DeadLetterQueue/Resource")
    assert by_action["sqs:SendMessage"] == {"Fn::GetAtt": [dlq, "Arn"]}
    gfs.templates[REGION].has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Principal": {"Service": "scheduler.amazonaws.com"},
                            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                        }
                    )
                ]
            }
        },
    )


def test_functions_use_no_managed_policy(gfs: Synthesized) -> None:
    assert all("ManagedPolicyArns" not in role for role in by_type(gfs, "AWS::IAM::Role"))


# --- encryption -----------------------------------------------------------------------------------------------------


def test_dead_letter_queue_is_encrypted_and_refuses_plain_http(gfs: Synthesized) -> None:
    (queue,) = by_type(gfs, "AWS::SQS::Queue")

    assert queue["SqsManagedSseEnabled"] is True
    gfs.templates[REGION].has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )


def test_alarm_topic_is_encrypted_with_a_rotated_key_cloudwatch_may_use(gfs: Synthesized) -> None:
    (topic,) = by_type(gfs, "AWS::SNS::Topic")
    (key,) = gfs.resources(REGION, "AWS::KMS::Key").items()

    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key[0], "Arn"]}
    assert key[1]["Properties"]["EnableKeyRotation"] is True
    cloudwatch = [
        s
        for s in key[1]["Properties"]["KeyPolicy"]["Statement"]
        if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert [sorted(actions(s)) for s in cloudwatch] == [["kms:Decrypt", "kms:GenerateDataKey"]]


def test_topic_takes_alarms_from_cloudwatch_over_tls_only(gfs: Synthesized) -> None:
    (policy,) = by_type(gfs, "AWS::SNS::TopicPolicy")
    by_effect = {s["Effect"]: s for s in policy["PolicyDocument"]["Statement"]}

    assert by_effect["Deny"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert by_effect["Allow"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert by_effect["Allow"]["Action"] == "sns:Publish"


def test_alarm_email_is_subscribed(gfs: Synthesized) -> None:
    gfs.templates[REGION].has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )


# --- alarms -------------------------------------------------------------------------------------------------------


def alarms(synth: Synthesized, region: str = REGION) -> dict[str, dict[str, Any]]:
    return {a["AlarmName"]: a for a in by_type(synth, "AWS::CloudWatch::Alarm", region)}


def test_every_alarm_notifies_the_topic(gfs: Synthesized) -> None:
    (topic,) = gfs.resources(REGION, "AWS::SNS::Topic")

    assert alarms(gfs)
    for name, alarm in alarms(gfs).items():
        assert alarm["AlarmActions"] == [{"Ref": topic}], name


def test_function_errors_alarm(gfs: Synthesized) -> None:
    found = alarms(gfs)

    for what in ("backup", "prune"):
        alarm = found[f"tablesafe-{what}-errors"]
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/Lambda", "Errors", "Sum")
        assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_tables_failed_alarm_per_plan_rule(gfs: Synthesized) -> None:
    failed = [a for a in alarms(gfs).values() if a.get("MetricName") == constants.M_TABLES_FAILED]
    dims = sorted(tuple(d["Value"] for d in a["Dimensions"]) for a in failed)

    assert dims == sorted((p, r, constants.SERVICE_BACKUP) for p, r in RULES)
    assert {a["TreatMissingData"] for a in failed} == {"ignore"}


def test_prune_tables_failed_alarm(gfs: Synthesized) -> None:
    alarm = alarms(gfs)["tablesafe-prune-tables-failed"]

    assert alarm["MetricName"] == constants.M_PRUNE_TABLES_FAILED
    assert alarm["Dimensions"] == [
        {"Name": constants.DIM_DRY_RUN, "Value": "false"},
        {"Name": "service", "Value": constants.SERVICE_PRUNE},
    ]


def test_the_expired_backlog_alarms_only_when_it_stops_shrinking_day_after_day(gfs: Synthesized) -> None:
    alarm = alarms(gfs)["tablesafe-expired-backlog-not-shrinking"]
    expression, backlog = sorted(alarm["Metrics"], key=lambda m: "Expression" not in m)

    # a large backlog is no failure: only a day that is not smaller than the day before, three days running
    assert expression["Expression"] == "IF(backlog > 0 AND DIFF(backlog) >= 0, 1, 0)"
    assert backlog["Id"] == "backlog" and backlog["ReturnData"] is False
    stat = backlog["MetricStat"]
    assert stat["Metric"]["MetricName"] == constants.M_EXPIRED_BACKLOG
    assert (stat["Period"], stat["Stat"]) == (86400, "Minimum")
    assert {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]} == {
        constants.DIM_DRY_RUN: "false",
        "service": constants.SERVICE_PRUNE,
    }
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"], alarm["Threshold"]) == (3, 3, 1)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "ignore"  # a day without a figure (no run) keeps the state it had


@pytest.mark.parametrize(
    ("plan", "rule", "period", "periods"),
    [("gfs", "hourly", 3600, 2), ("gfs", "daily", 3600, 36), ("critical", "quarterly-hour", 1380, 1)],
)
def test_no_successful_run_alarm_is_a_dead_mans_switch(
    gfs: Synthesized, plan: str, rule: str, period: int, periods: int
) -> None:
    alarm = alarms(gfs)[f"tablesafe-no-successful-backup.{plan}.{rule}"]

    assert alarm["MetricName"] == constants.M_BACKUP_RUNS_SUCCEEDED
    assert alarm["Dimensions"] == [
        {"Name": constants.DIM_PLAN, "Value": plan},
        {"Name": constants.DIM_RULE, "Value": rule},
        {"Name": "service", "Value": constants.SERVICE_BACKUP},
    ]
    assert (alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]) == ("Sum", "LessThanThreshold", 1)
    # Every period of the window without a successful run; no data at all counts as no run.
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (period, periods, periods)
    assert alarm["TreatMissingData"] == "breaching"


def test_monthly_rule_has_no_dead_mans_switch_and_synth_says_so(gfs: Synthesized) -> None:
    # 1.5 x 31 days is beyond the 7 days a CloudWatch alarm can evaluate.
    assert "tablesafe-no-successful-backup.gfs.monthly" not in alarms(gfs)
    assert "tablesafe-tables-failed.gfs.monthly" in alarms(gfs)
    (warning,) = [v for v in gfs.violations if v["path"] == f"{stack_name(REGION)}/Default/Monitoring"]
    assert warning["severity"] == "warning"
    assert "plan gfs, rule monthly" in warning["description"] and "7 days" in warning["description"]


def test_cdk_nag_finds_nothing_unacknowledged(gfs: Synthesized) -> None:
    # Synthesis fails on a cdk-nag error; warnings would not fail it, so check there are none either.
    assert [v for v in gfs.violations if v["plugin"] != "Construct Annotations"] == []
    assert {v["rule"] for v in gfs.violations} == {"Annotation::tablesafe:noSuccessAlarmSkipped"}


def test_dead_letter_queue_not_empty_alarm(gfs: Synthesized) -> None:
    alarm = alarms(gfs)["tablesafe-dead-letter-queue-not-empty"]

    assert (alarm["MetricName"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "ApproximateNumberOfMessagesVisible",
        "GreaterThanThreshold",
        0,
    )


def test_alarm_dimensions_are_those_powertools_emits_under_the_functions_environment(gfs: Synthesized) -> None:
    # CloudWatch matches a metric on its exact dimension set: an extra or missing dimension is a silent alarm.
    env = next(
        f["Environment"]["Variables"]
        for f in by_type(gfs, "AWS::Lambda::Function")
        if f["FunctionName"] == BACKUP_FUNCTION_NAME
    )
    metrics = Metrics(namespace=env["POWERTOOLS_METRICS_NAMESPACE"], service=env["POWERTOOLS_SERVICE_NAME"])
    try:
        metrics.add_dimension(name=constants.DIM_PLAN, value="gfs")
        metrics.add_dimension(name=constants.DIM_RULE, value="daily")
        metrics.add_metric(name=constants.M_BACKUP_RUNS_SUCCEEDED, unit="Count", value=1)
        emitted = metrics.serialize_metric_set()
    finally:
        metrics.clear_metrics()
    (directive,) = emitted["_aws"]["CloudWatchMetrics"]
    alarm = alarms(gfs)["tablesafe-no-successful-backup.gfs.daily"]

    assert directive["Namespace"] == alarm["Namespace"]
    assert directive["Dimensions"] == [sorted(d["Name"] for d in alarm["Dimensions"])]
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {k: emitted[k] for k in directive["Dimensions"][0]}


def test_a_table_tagged_with_an_unknown_plan_raises_one_alarm_for_every_rule(gfs: Synthesized) -> None:
    # The backup function emits UnknownPlanTables under {service} alone as well, so one alarm covers all rules.
    alarm = alarms(gfs)["tablesafe-unknown-plan-tags"]

    assert alarm["MetricName"] == constants.M_UNKNOWN_PLAN_TABLES
    assert alarm["Dimensions"] == [{"Name": "service", "Value": constants.SERVICE_BACKUP}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert alarm["AlarmActions"]


# --- dashboard ----------------------------------------------------------------------------------------------------


def test_dashboard_shows_backups_failures_deletions_storage_cost_and_errors(gfs: Synthesized) -> None:
    (dashboard,) = by_type(gfs, "AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["DashboardBody"])

    for metric in (
        constants.M_BACKUPS_CREATED,
        constants.M_TABLES_FAILED,
        constants.M_BACKUPS_DELETED,
        constants.M_STORED_BYTES,
        constants.M_ESTIMATED_MONTHLY_COST,
        "Errors",
    ):
        assert f'\\"{metric}\\"' in body, metric
    for plan, rule in RULES:
        assert f'\\"{plan}\\",\\"{constants.DIM_RULE}\\",\\"{rule}\\"' in body
    assert f'\\"{constants.DIM_DRY_RUN}\\",\\"false\\"' in body


# --- one notification per lasting problem -------------------------------------------------------------------------

PER_RUN_ALARMS = [
    "tablesafe-unknown-plan-tags",
    "tablesafe-slot-lease-unavailable",
    "tablesafe-prune-tables-failed",
    "tablesafe-tables-failed.gfs.daily",
]


@pytest.mark.parametrize("name", PER_RUN_ALARMS)
def test_a_problem_lasting_four_daily_runs_sends_one_alarm_then_one_ok_when_fixed(gfs: Synthesized, name: str) -> None:
    # Evaluated as CloudWatch does (tools/demo.py); each run emits the count, 0 once the problem is fixed.
    (alarm,) = [a for a in template_alarms(gfs.raw[REGION]) if a.name == name]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    runs = [start + timedelta(days=day, hours=3) for day in range(7)]
    points = [
        Datapoint(when, alarm.namespace, alarm.metric, alarm.dimensions, 2.0 if day < 4 else 0.0)
        for day, when in enumerate(runs)
    ]

    (record,) = evaluate_alarms([alarm], points, start, start + timedelta(days=7))

    assert alarm.treat_missing == "ignore"
    assert record.fired == [runs[0] + timedelta(minutes=5)]  # one ALARM notification, not one per run
    assert record.recovered == [runs[4] + timedelta(minutes=5)] and record.final == "OK"


def test_alarms_on_lambda_errors_and_the_queue_treat_missing_data_as_not_breaching(gfs: Synthesized) -> None:
    # Lambda documents no Errors datapoint of 0 for a successful invocation: `ignore` could stay in ALARM for good.
    found = alarms(gfs)
    names = ["tablesafe-backup-errors", "tablesafe-prune-errors", "tablesafe-dead-letter-queue-not-empty"]

    assert {found[name]["TreatMissingData"] for name in names} == {"notBreaching"}
