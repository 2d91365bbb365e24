"""`tablesafe:organization`: the StackSet, what each member gets, and the hub that gathers their alarms and metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from infra_synth import synthesize

pytestmark = pytest.mark.xdist_group("infra")

HUB = "111122223333"
UNITS = ["ou-ab12-11111111", "ou-ab12-22222222"]
REGIONS = ["eu-west-1", "us-east-1"]
SINK = f"arn:aws:oam:eu-west-1:{HUB}:sink/0a1b2c3d-4e5f"
ORGANIZATION = {
    "tablesafe:organization": {
        "organizationalUnits": UNITS,
        "regions": REGIONS,
        "hubAccount": HUB,
        "observabilitySinks": {"eu-west-1": SINK},
    },
    "tablesafe:alarmEmail": "ops@example.com",
    # A drilled plan, so the members have a drill function and the read-only role reads the last drills.
    "tablesafe:plans": {
        "daily": {
            "rules": [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}],
            "drill": {"everyDays": 7},
        }
    },
}
# Verbs that read: anything else in the read-only role is a write.
READ_VERBS = ("List", "Describe", "Get", "BatchGet")


class Org:
    """The synthesized organization: each template by file name."""

    def __init__(self, outdir: Path) -> None:
        self.outdir = outdir
        self.templates = {p.name: json.loads(p.read_text()) for p in outdir.glob("*.template.json")}

    def template(self, name: str) -> dict[str, Any]:
        (found,) = [t for n, t in self.templates.items() if n.startswith(name)]
        return found

    def resources(self, name: str, resource_type: str) -> list[dict[str, Any]]:
        return [r for r in self.template(name)["Resources"].values() if r["Type"] == resource_type]

    @property
    def stack_set(self) -> dict[str, Any]:
        (found,) = self.resources("Tablesafe-organization.", "AWS::CloudFormation::StackSet")
        return dict(found["Properties"])

    def member(self, resource_type: str) -> list[dict[str, Any]]:
        return self.resources("TablesafeorganizationMember", resource_type)


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    outdir = tmp_path_factory.mktemp("org")
    synthesize(outdir, ORGANIZATION)  # raises on any unacknowledged cdk-nag finding
    return Org(outdir)


def test_the_stack_set_is_service_managed_and_deploys_to_accounts_that_join_later(org: Org) -> None:
    stack_set = org.stack_set
    assert stack_set["PermissionModel"] == "SERVICE_MANAGED"
    assert stack_set["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert stack_set["CallAs"] == "SELF"  # from the management account, unless delegatedAdmin is set
    assert stack_set["Capabilities"] == ["CAPABILITY_NAMED_IAM"]  # the read-only role has a fixed name


def test_the_stack_set_targets_every_unit_in_every_region_with_that_regions_sink(org: Org) -> None:
    groups = org.stack_set["StackInstancesGroup"]
    assert sorted(r for g in groups for r in g["Regions"]) == REGIONS
    for group in groups:
        assert group["DeploymentTargets"]["OrganizationalUnitIds"] == UNITS
        (override,) = group["ParameterOverrides"]
        expected = SINK if group["Regions"] == ["eu-west-1"] else ""  # us-east-1 has no sink configured
        assert override == {"ParameterKey": "ObservabilitySinkArn", "ParameterValue": expected}


def test_the_stack_set_passes_the_hub_account_as_a_parameter(org: Org) -> None:
    assert org.stack_set["Parameters"] == [{"ParameterKey": "HubAccountId", "ParameterValue": HUB}]
    parameters = org.template("TablesafeorganizationMember")["Parameters"]
    assert parameters["HubAccountId"]["AllowedPattern"] == r"^\d{12}$"


def test_a_delegated_administrator_deploys_it_as_one(tmp_path: Path) -> None:
    context = {"tablesafe:organization": {**ORGANIZATION["tablesafe:organization"], "delegatedAdmin": True}}  # type: ignore[dict-item]
    synthesize(tmp_path, context)
    assert Org(tmp_path).stack_set["CallAs"] == "DELEGATED_ADMIN"


def test_each_member_region_loads_the_code_from_its_own_regions_asset_bucket(org: Org) -> None:
    for function in org.member("AWS::Lambda::Function"):
        bucket = function["Properties"]["Code"]["S3Bucket"]
        assert bucket == {"Fn::Join": ["-", [f"tablesafe-assets-{HUB}", {"Ref": "AWS::Region"}]]}
    copies = org.resources("Tablesafe-organization.", "Custom::CDKBucketDeployment")
    assert sorted(c["Properties"]["DestinationBucketName"] for c in copies) == [
        f"tablesafe-assets-{HUB}-{region}" for region in REGIONS
    ]
    for region in REGIONS:
        (bucket,) = org.resources(f"Tablesafe-assets-{region}.", "AWS::S3::Bucket")
        assert bucket["Properties"]["BucketName"] == f"tablesafe-assets-{HUB}-{region}"


def test_the_asset_buckets_are_readable_by_the_units_accounts_only(org: Org) -> None:
    (policy,) = org.resources("Tablesafe-assets-eu-west-1.", "AWS::S3::BucketPolicy")
    (read,) = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid") == "MemberAccountsReadTheCode"
    ]
    assert read["Condition"] == {
        "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [f"o-*/r-*/*{unit}/*" for unit in UNITS]}
    }
    assert sorted(read["Action"]) == ["s3:GetObject", "s3:GetObjectVersion"]


def read_only_role(org: Org) -> dict[str, Any]:
    (role,) = [r for r in org.member("AWS::IAM::Role") if r["Properties"].get("RoleName") == "TablesafeReadOnly"]
    return dict(role["Properties"])


def test_the_read_only_role_is_trusted_by_the_hub_account_only(org: Org) -> None:
    (trust,) = read_only_role(org)["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Principal"] == {
        "AWS": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "HubAccountId"}, ":root"]]}
    }


def test_the_read_only_role_reads_coverage_and_can_write_nothing(org: Org) -> None:
    (policy,) = [
        p for p in org.member("AWS::IAM::Policy") if {"Ref": "ReadOnlyRoleA3AD4127"} in p["Properties"]["Roles"]
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    # CloudFormation takes one action as a string, several as a list.
    actions = [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    writes = [a for a in actions if not a.split(":")[1].startswith(READ_VERBS)]
    assert writes == []
    needed = {
        "dynamodb:ListTables",  # tables
        "tag:GetResources",  # tags
        "dynamodb:ListBackups",  # our backups
        "backup:ListRecoveryPointsByResource",  # AWS Backup's
        "dynamodb:DescribeContinuousBackups",  # PITR
        "dynamodb:ListExports",  # exports
    }
    assert needed <= set(actions)
    assert not [a for a in actions if "*" in a]
    assert read_only_role(org).get("ManagedPolicyArns") is None


def test_the_read_only_role_reads_the_last_drills_in_the_lease_table_only(org: Org) -> None:
    (policy,) = [
        p for p in org.member("AWS::IAM::Policy") if {"Ref": "ReadOnlyRoleA3AD4127"} in p["Properties"]["Roles"]
    ]
    statements = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    member = org.template("TablesafeorganizationMember")["Resources"]
    (lease_table,) = [k for k, r in member.items() if r["Type"] == "AWS::DynamoDB::Table"]
    (drill_function,) = [
        k
        for k, r in member.items()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("FunctionName") == "tablesafe-drill"
    ]
    records = statements["ReadLastDrills"]
    assert records["Action"] == "dynamodb:BatchGetItem"
    assert records["Resource"] == {"Fn::GetAtt": [lease_table, "Arn"]}
    finder = statements["FindLastDrills"]
    assert finder["Action"] == "lambda:GetFunctionConfiguration"
    assert finder["Resource"] == {"Fn::GetAtt": [drill_function, "Arn"]}


def test_every_member_alarm_also_notifies_the_hub_topic_of_its_region(org: Org) -> None:
    hub_topic = {"Fn::Sub": "arn:${AWS::Partition}:sns:${AWS::Region}:${HubAccountId}:tablesafe-organization-alarms"}
    alarms = org.member("AWS::CloudWatch::Alarm")
    assert alarms
    assert all(hub_topic in a["Properties"]["AlarmActions"] for a in alarms)


def test_a_member_links_its_metrics_only_where_a_sink_is_configured(org: Org) -> None:
    member = org.template("TablesafeorganizationMember")
    (link,) = [r for r in member["Resources"].values() if r["Type"] == "AWS::Oam::Link"]
    assert link["Properties"]["ResourceTypes"] == ["AWS::CloudWatch::Metric"]
    assert link["Condition"] == "HasObservabilitySink"
    assert member["Conditions"]["HasObservabilitySink"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ObservabilitySinkArn"}, ""]}]
    }


def test_the_hub_topic_is_encrypted_and_takes_alarms_from_the_units_accounts_only(org: Org) -> None:
    members = {"ForAnyValue:StringLike": {"aws:SourceOrgPaths": [f"o-*/r-*/*{unit}/*" for unit in UNITS]}}
    for region in REGIONS:
        (topic,) = org.resources(f"Tablesafe-hub-{region}.", "AWS::SNS::Topic")
        assert topic["Properties"]["TopicName"] == "tablesafe-organization-alarms"
        assert "KmsMasterKeyId" in topic["Properties"]
        (policy,) = org.resources(f"Tablesafe-hub-{region}.", "AWS::SNS::TopicPolicy")
        (publish,) = [
            s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid") == "MemberAccountAlarms"
        ]
        assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        assert publish["Condition"] == members
        (key,) = org.resources(f"Tablesafe-hub-{region}.", "AWS::KMS::Key")
        (use,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid") == "MemberAlarmNotifications"]
        assert use["Condition"] == members
    (subscription,) = org.resources("Tablesafe-hub-eu-west-1.", "AWS::SNS::Subscription")
    assert subscription["Properties"]["Endpoint"] == "ops@example.com"


def test_the_hub_stacks_are_in_the_hub_account_with_a_sink_and_a_dashboard_across_accounts(org: Org) -> None:
    manifest = json.loads((org.outdir / "manifest.json").read_text())
    environments = {
        n: a.get("environment")
        for n, a in manifest["artifacts"].items()
        if n.startswith("Tablesafe-hub") and "." not in n
    }
    assert environments == {f"Tablesafe-hub-{r}": f"aws://{HUB}/{r}" for r in REGIONS}
    (sink,) = org.resources("Tablesafe-hub-eu-west-1.", "AWS::Oam::Sink")
    (statement,) = sink["Properties"]["Policy"]["Statement"]
    assert statement["Condition"]["ForAllValues:StringEquals"] == {"oam:ResourceTypes": ["AWS::CloudWatch::Metric"]}
    (dashboard,) = org.resources("Tablesafe-hub-eu-west-1.", "AWS::CloudWatch::Dashboard")
    assert "SEARCH(" in json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "ObservabilitySinkArn" in org.template("Tablesafe-hub-eu-west-1.")["Outputs"]


def test_without_an_organization_the_app_has_only_the_region_stacks(tmp_path: Path) -> None:
    synthesize(tmp_path, {})
    assert sorted(p.name for p in tmp_path.glob("*.template.json")) == ["Tablesafe-us-east-1.template.json"]
