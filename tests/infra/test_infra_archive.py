"""The archive tier's infrastructure: the bucket's protections, the backup role's export grants (no delete), the
ExportsFailed alarm, and the TablesafeArchive stack's policy for source accounts. cdk-nag runs on every synth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra.archive import ARCHIVE_STACK_NAME
from tests.infra.infra_synth import Synthesized, synthesize

REGION = "eu-west-1"
PLANS = {
    "gfs": {
        "rules": [
            {"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3},
            {
                "name": "monthly",
                "schedule": "cron(0 4 1 * ? *)",
                "retentionDays": 2555,
                "minKeep": 3,
                "target": "export",
            },
        ],
        "pitr": {"enabled": True},
    }
}


def synth(tmp_path: Path, **archive: Any) -> Synthesized:
    overrides: dict[str, Any] = {"tablesafe:regions": [REGION], "tablesafe:plans": PLANS}
    if archive:
        overrides["tablesafe:archive"] = archive
    return synthesize(tmp_path, overrides)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synth(
        tmp_path_factory.mktemp("made"), objectLockMode="COMPLIANCE", storageClass="DEEP_ARCHIVE", transitionAfterDays=2
    )


def policy_statements(synthesized: Synthesized, role: str = "") -> list[dict[str, Any]]:
    policies = synthesized.resources(REGION, "AWS::IAM::Policy")
    return [
        s
        for p in policies.values()
        if role in json.dumps(p["Properties"]["Roles"])
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def actions_of(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def test_the_stack_makes_a_locked_versioned_encrypted_private_bucket(made: Synthesized) -> None:
    template = made.templates[REGION]

    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "VersioningConfiguration": {"Status": "Enabled"},
            "ObjectLockEnabled": True,
            "ObjectLockConfiguration": {
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 2555}},
            },
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    Match.object_like({"ServerSideEncryptionByDefault": Match.object_like({"SSEAlgorithm": "aws:kms"})})
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LifecycleConfiguration": {
                "Rules": [
                    Match.object_like(
                        {"Transitions": [{"StorageClass": "DEEP_ARCHIVE", "TransitionInDays": 2}], "Status": "Enabled"}
                    )
                ]
            },
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )
    assert [v for v in made.violations if "AwsSolutions" in v["rule"]] == []


def test_the_backup_role_may_export_and_write_under_its_folder_but_delete_nothing(made: Synthesized) -> None:
    statements = policy_statements(made)
    by_sid = {s.get("Sid"): s for s in statements}

    export = by_sid["ExportTablesOfExportPlans"]
    assert actions_of(export) == ["dynamodb:ExportTableToPointInTime"]
    assert export["Condition"] == {"StringEquals": {"aws:ResourceTag/backup-plan": ["gfs"]}}
    assert "ExportTablesOfTheDefaultPlan" not in by_sid  # no default plan: only tagged tables are exported
    write = by_sid["WriteExportsUnderOwnFolder"]
    assert "s3:PutObject" in actions_of(write)
    assert "tablesafe/" in json.dumps(write["Resource"]) and "us-east-1" not in json.dumps(write["Resource"])
    backup_actions = {a for s in policy_statements(made, role="BackupFunctionsBackupRole") for a in actions_of(s)}
    assert "s3:PutObject" in backup_actions
    assert not any(a.startswith("s3:Delete") or a in ("s3:*", "s3:BypassGovernanceRetention") for a in backup_actions)


def test_with_an_exporting_default_plan_the_backup_role_may_export_tables_without_the_plan_tag(tmp_path: Path) -> None:
    overrides = {"tablesafe:regions": [REGION], "tablesafe:plans": PLANS, "tablesafe:defaultPlan": "gfs"}
    synthesized = synthesize(tmp_path, overrides)
    by_sid = {s.get("Sid"): s for s in policy_statements(synthesized)}

    untagged = by_sid["ExportTablesOfTheDefaultPlan"]
    assert actions_of(untagged) == ["dynamodb:ExportTableToPointInTime"]
    assert untagged["Condition"] == {"Null": {"aws:ResourceTag/backup-plan": "true"}}
    assert by_sid["ExportTablesOfExportPlans"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/backup-plan": ["gfs"]}
    }


def test_only_the_prune_role_may_delete_and_only_under_its_folder(made: Synthesized) -> None:
    roles = made.resources(REGION, "AWS::IAM::Role")
    policies = made.resources(REGION, "AWS::IAM::Policy")
    deleting = {}
    for policy in policies.values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if any(a.startswith("s3:Delete") for a in actions_of(statement)):
                (role,) = policy["Properties"]["Roles"]
                deleting[role["Ref"]] = statement
    (role_id,) = deleting
    assert "Prune" in role_id and role_id in roles
    assert "/tablesafe/" in json.dumps(deleting[role_id]["Resource"])


def test_the_backup_function_is_told_the_bucket_and_key(made: Synthesized) -> None:
    made.templates[REGION].has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": "tablesafe-backup",
            "Environment": {
                "Variables": Match.object_like(
                    {"TABLESAFE_ARCHIVE_BUCKET": Match.any_value(), "TABLESAFE_ARCHIVE_KMS_KEY": Match.any_value()}
                )
            },
            "Role": Match.any_value(),
        },
    )
    made.templates[REGION].has_resource_properties("AWS::IAM::Role", {"RoleName": f"tablesafe-backup-{REGION}"})


def test_the_prune_function_is_told_the_archives_price_of_its_storage_class(made: Synthesized) -> None:
    made.templates[REGION].has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": "tablesafe-prune",
            "Environment": {
                "Variables": Match.object_like(
                    {"TABLESAFE_ARCHIVE_BUCKET": Match.any_value(), "TABLESAFE_ARCHIVE_PRICE_PER_GB_MONTH": "0.00099"}
                )
            },
        },
    )


def test_a_failed_export_alarms(made: Synthesized) -> None:
    made.templates[REGION].has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": "tablesafe-exports-failed",
            "MetricName": "ExportsFailed",
            "Dimensions": [{"Name": "service", "Value": "tablesafe-backup"}],
            "AlarmActions": Match.any_value(),
        },
    )


def test_with_another_accounts_bucket_no_bucket_is_made_and_the_grants_name_it(tmp_path: Path) -> None:
    synthesized = synth(
        tmp_path,
        bucketArn="arn:aws:s3:::acme-archive",
        bucketOwner="210987654321",
        kmsKeyArn="arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    )

    assert synthesized.resources(REGION, "AWS::S3::Bucket") == {}
    by_sid = {s.get("Sid"): s for s in policy_statements(synthesized)}
    assert "arn:aws:s3:::acme-archive/tablesafe/" in json.dumps(by_sid["WriteExportsUnderOwnFolder"]["Resource"])
    assert by_sid["EncryptExports"]["Resource"].endswith("key/1234abcd-12ab-34cd-56ef-1234567890ab")
    synthesized.templates[REGION].has_resource_properties(
        "AWS::Lambda::Function",
        {"Environment": {"Variables": Match.object_like({"TABLESAFE_ARCHIVE_OWNER": "210987654321"})}},
    )
    every_action = {a for s in policy_statements(synthesized) for a in actions_of(s)}
    assert not any(a.startswith("s3:Delete") for a in every_action)  # the archive account's lifecycle prunes
    assert [v for v in synthesized.violations if "AwsSolutions" in v["rule"]] == []


def test_without_an_export_rule_nothing_of_the_archive_is_made(tmp_path: Path) -> None:
    synthesized = synthesize(tmp_path, {"tablesafe:regions": [REGION]})

    assert synthesized.resources(REGION, "AWS::S3::Bucket") == {}
    roles = synthesized.resources(REGION, "AWS::IAM::Role")
    assert not any("RoleName" in r["Properties"] for r in roles.values())


def test_the_archive_stack_lets_source_roles_write_and_denies_source_accounts_any_delete(tmp_path: Path) -> None:
    from aws_cdk import App
    from aws_cdk.assertions import Template

    from infra import build_app
    from tests.infra.infra_synth import cdk_json_context

    context = {
        **cdk_json_context(),
        "tablesafe:regions": [REGION, "us-east-1"],
        "tablesafe:plans": PLANS,
        "tablesafe:archive": {
            "bucketArn": "arn:aws:s3:::acme-archive",
            "bucketOwner": "210987654321",
            "sourceAccounts": ["123456789012"],
        },
    }
    app, _ = build_app(App(context=context, outdir=str(tmp_path), analytics_reporting=False), {})
    template = Template.from_json(app.synth().get_stack_by_name(ARCHIVE_STACK_NAME).template)

    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled", "Rule": Match.any_value()},
            "LifecycleConfiguration": {"Rules": [Match.object_like({"ExpirationInDays": 2555})]},
        },
    )
    statements = template.find_resources("AWS::S3::BucketPolicy")
    (policy,) = statements.values()
    by_sid = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    writers = json.dumps(by_sid["ExportsOf123456789012"]["Principal"])
    assert "123456789012:role/tablesafe-backup-eu-west-1" in writers and "tablesafe-backup-us-east-1" in writers
    assert "tablesafe/123456789012/*" in json.dumps(by_sid["ExportsOf123456789012"]["Resource"])
    deny = by_sid["NoDeleteFromSourceAccounts"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"}
    assert {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"} <= set(deny["Action"])
    assert deny["Condition"] == {"StringEquals": {"aws:PrincipalAccount": ["123456789012"]}}
