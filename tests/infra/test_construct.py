"""The Tablesafe construct in a user's own stack: the options as cdk.json's keys, the same checks, the same stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, RemovalPolicy, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks
from constructs import Construct
from infra_synth import synthesize, validation_report

from tablesafe import constants
from tablesafe.config.context import parse_context
from tablesafe.config.plans import ConfigError
from tablesafe_cdk import Tablesafe

pytestmark = pytest.mark.xdist_group("infra")

PLANS = {
    "daily": [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}],
    "critical": [{"name": "hourly", "schedule": "rate(1 hour)", "retentionDays": 2, "minKeep": 24}],
}
# The logical ids of the standalone stack for the shipped cdk.json, as main synthesized them before the construct
# existed: a changed id would make CloudFormation replace the resource (a second schedule, a new lease table).
STANDALONE_LOGICAL_IDS = {
    "BackupFunctionsBackup1871DBC2",
    "BackupFunctionsBackupEventInvokeConfig437E5DB3",
    "BackupFunctionsBackupLogs205EB8C3",
    "BackupFunctionsBackupRoleDefaultPolicyE9EC8E2F",
    "BackupFunctionsBackupRoleE69196E3",
    "BackupFunctionsDeadLetterQueue168A0F9E",
    "BackupFunctionsDeadLetterQueuePolicy9A27F5CB",
    "BackupFunctionsPrune6456961F",
    "BackupFunctionsPruneEventInvokeConfig113248D4",
    "BackupFunctionsPruneLogs4A4FEF3E",
    "BackupFunctionsPruneRoleDefaultPolicy393B5468",
    "BackupFunctionsPruneRoleFEEE2D86",
    "BackupFunctionsSlotLeasesTable3FF36FEA",
    "MonitoringAlarmTopicAF62D4F1",
    "MonitoringAlarmTopicKeyFFA45DC9",
    "MonitoringAlarmTopicPolicyCB9CCFB0",
    "MonitoringBackupErrorsD49250C0",
    "MonitoringDashboard0C3675C6",
    "MonitoringDeadLetterQueueNotEmptyBC52F70B",
    "MonitoringNoSuccessfulRundailydaily133FFE3A",
    "MonitoringPruneErrors8C26014C",
    "MonitoringPruneTablesFailed843B342F",
    "MonitoringSlotLeaseUnavailableF89831E5",
    "MonitoringTablesFaileddailydaily65902390",
    "MonitoringUnknownPlanTables2DC0B45E",
    "SchedulesBackupdailydaily657FFC4B",
    "SchedulesPrune191330BC",
    "SchedulesSchedulerRole7E9E230C",
    "SchedulesSchedulerRoleDefaultPolicyAB6CF488",
}


class DataStack(Stack):
    """A user's stack: a table of their own, and tablesafe added to it."""

    def __init__(self, scope: Construct, construct_id: str, **options: Any) -> None:
        super().__init__(scope, construct_id, env=options.pop("env", Environment(region="eu-west-1")))
        table = dynamodb.TableV2(
            self,
            "Orders",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.backups = Tablesafe(self, "Backups", **options)
        self.table = table


def user_template(**options: Any) -> Template:
    app = App(analytics_reporting=False)
    return Template.from_stack(DataStack(app, "Data", **options))


def variables(template: Template) -> list[dict[str, Any]]:
    functions = template.find_resources("AWS::Lambda::Function")
    return [f["Properties"]["Environment"]["Variables"] for f in functions.values()]


@pytest.fixture(scope="module")
def template() -> Template:
    return user_template(plans=PLANS, tag_key="team:backup", alarm_email="ops@example.com", dry_run=True)


def test_the_construct_adds_both_functions_to_the_users_stack_next_to_their_table(template: Template) -> None:
    template.resource_count_is("AWS::Lambda::Function", 2)
    template.resource_count_is("AWS::DynamoDB::GlobalTable", 1)  # the user's own table is still there
    for function_name in ("tablesafe-backup", "tablesafe-prune"):
        template.has_resource_properties("AWS::Lambda::Function", {"FunctionName": function_name})


def test_the_options_reach_the_functions_as_the_cdk_json_keys_would(template: Template) -> None:
    for env in variables(template):
        assert env[constants.ENV_TAG_KEY] == "team:backup"
        assert env[constants.ENV_DRY_RUN] == "true"
        assert json.loads(env[constants.ENV_PLANS]).keys() == {"daily", "critical"}
        assert env[constants.ENV_REGIONS] == "eu-west-1"  # no regions given: the stack's own


def test_every_rule_gets_its_schedule_and_the_alarm_topic_its_subscriber(template: Template) -> None:
    template.resource_count_is("AWS::Scheduler::Schedule", 3)  # two rules and the prune
    template.has_resource_properties(
        "AWS::Scheduler::Schedule", {"ScheduleExpression": "rate(1 hour)", "State": "ENABLED"}
    )
    template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"})


def test_defaults_are_the_cdk_json_defaults() -> None:
    (env, *_) = variables(user_template())
    assert env[constants.ENV_TAG_KEY] == constants.DEFAULT_TAG_KEY
    assert json.loads(env[constants.ENV_PLANS]).keys() == constants.DEFAULT_PLANS.keys()


def test_a_stack_without_a_region_passes_the_deploy_time_region() -> None:
    (env, *_) = variables(user_template(env=None))
    assert env[constants.ENV_REGIONS] == {"Ref": "AWS::Region"}


@pytest.mark.parametrize(
    ("option", "value", "context_key"),
    [
        ("tag_key", "aws:backup", "tablesafe:tagKey"),
        ("alarm_email", "not-an-address", "tablesafe:alarmEmail"),
        ("prune_schedule", "every day", "tablesafe:pruneSchedule"),
        ("global_tables", "everywhere", "tablesafe:globalTables"),
        ("storage_price_per_gb_month", -1, "tablesafe:storagePricePerGbMonth"),
    ],
)
def test_a_bad_option_is_refused_with_the_cdk_json_keys_message_naming_the_option(
    option: str, value: object, context_key: str
) -> None:
    with pytest.raises(ConfigError) as from_context:
        parse_context({context_key: value}, regions_required=False)
    with pytest.raises(ConfigError) as from_option:
        user_template(**{option: value})
    assert str(from_option.value) == f"{option}: {value!r} is not allowed; {from_context.value.allowed}"


def test_an_error_inside_the_plans_names_the_place_in_the_option() -> None:
    plans = {"daily": [{"name": "daily", "schedule": "rate(1 day)", "retentionDays": 1, "minKeep": 0}]}
    with pytest.raises(ConfigError, match=r"^plans\.daily\[0\]\.minKeep: 0 is not allowed"):
        user_template(plans=plans)


def test_regions_that_leave_out_the_stacks_own_region_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"regions: .* the stack's region eu-west-1 must be among the regions"):
        user_template(regions=["us-east-1"])


def test_regions_given_are_passed_to_the_functions_for_global_tables() -> None:
    (env, *_) = variables(user_template(regions=["us-east-1", "eu-west-1"], global_tables="home-region"))
    assert env[constants.ENV_REGIONS] == "us-east-1,eu-west-1"


def test_an_unknown_option_is_a_type_error_as_for_any_python_call() -> None:
    with pytest.raises(TypeError, match="retention_days"):
        user_template(retention_days=7)


def test_the_standalone_stack_keeps_its_logical_ids(tmp_path: Path) -> None:
    synth = synthesize(tmp_path, {})
    ids = set(synth.raw["us-east-1"]["Resources"])
    # Every resource the stack had keeps its id (resources added since, such as a new alarm, come on top).
    assert ids >= STANDALONE_LOGICAL_IDS, sorted(STANDALONE_LOGICAL_IDS - ids)


def test_the_users_stack_holds_what_the_standalone_stack_holds(tmp_path: Path) -> None:
    synth = synthesize(tmp_path, {"tablesafe:regions": ["eu-west-1"], "tablesafe:plans": PLANS})
    standalone = sorted(r["Type"] for r in synth.raw["eu-west-1"]["Resources"].values())
    users = user_template(plans=PLANS).to_json()["Resources"]
    assert sorted(r["Type"] for r in users.values() if r["Type"] != "AWS::DynamoDB::GlobalTable") == standalone


@pytest.mark.parametrize("env", [Environment(region="eu-west-1"), None], ids=["with-region", "without-region"])
def test_a_user_who_runs_cdk_nag_finds_every_finding_acknowledged(tmp_path: Path, env: Environment | None) -> None:
    app = App(analytics_reporting=False, outdir=str(tmp_path))
    DataStack(app, "Data", env=env, plans=PLANS)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    app.synth()  # raises on an unacknowledged finding
    assert [v for v in validation_report(tmp_path) if v["path"].startswith("Data/Backups")] == []


def backup_statements(template: Template) -> list[dict[str, Any]]:
    policies = template.find_resources("AWS::IAM::Policy")
    return [
        s
        for p in policies.values()
        if "BackupRole" in json.dumps(p["Properties"]["Roles"])
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_a_default_plan_reaches_the_functions_and_lets_the_backup_function_list_every_table() -> None:
    template = user_template(plans=PLANS, default_plan="critical")
    for env in variables(template):
        assert env[constants.ENV_DEFAULT_PLAN] == "critical"
    (list_tables,) = [s for s in backup_statements(template) if s.get("Sid") == "ListTables"]
    assert (list_tables["Action"], list_tables["Resource"]) == ("dynamodb:ListTables", "*")


def test_without_a_default_plan_nothing_lists_every_table(template: Template) -> None:
    assert all(constants.ENV_DEFAULT_PLAN not in env for env in variables(template))
    assert [s for s in backup_statements(template) if s.get("Sid") == "ListTables"] == []


def lease_table_tags(template: Template) -> list[dict[str, str]]:
    (lease,) = [
        t["Properties"]
        for t in template.find_resources("AWS::DynamoDB::Table").values()
        if t["Properties"].get("TimeToLiveSpecification", {}).get("AttributeName") == "ttl"
    ]
    return lease.get("Tags", [])


def test_under_a_default_plan_the_lease_table_opts_out_so_tablesafe_never_backs_up_its_own_leases() -> None:
    template = user_template(plans=PLANS, tag_key="team:backup", default_plan="critical")
    assert {"Key": "team:backup", "Value": "none"} in lease_table_tags(template)


def test_without_a_default_plan_the_lease_table_carries_no_plan_tag(template: Template) -> None:
    # `none` would be a plan tag like any other there: an unknown plan, flagged by status
    assert all(tag["Key"] != "team:backup" for tag in lease_table_tags(template))
