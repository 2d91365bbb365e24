"""Security promises, checked on the template app.py synthesizes as `cdk synth` runs it (the deployable artifact).

tests/infra/test_infra_stack.py already checks, on an in-process synth, the policy documents for `*` actions, the
backup and prune roles' action lists, the encrypted queue and topic, and cdk-nag (see docs/reliability.md for the
test names). This module adds what those leave open: permissions as IAM would evaluate them (every way a policy
reaches a role, wildcards and NotAction matched), the role each function really runs as, that no other role can
create or delete a backup, every topic and queue of the template, and which cdk-nag findings are acknowledged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from tools.lambda_runner import CloudAssembly, synthesize

pytestmark = pytest.mark.xdist_group("reliability-synth")

REGION = "eu-west-1"
BACKUP_FUNCTION = "tablesafe-backup"
PRUNE_FUNCTION = "tablesafe-prune"
# Every cdk-nag finding the app acknowledges, each with its reason next to the resource in infra/. A new one is a
# deliberate change to this list.
ACKNOWLEDGED = {
    "AwsSolutions-DDB3",  # no PITR on the slot-lease table (infra/leases.py)
    "AwsSolutions-L1",
    "AwsSolutions-SQS3",
    "AwsSolutions-IAM5[Resource::*]",
    f"AwsSolutions-IAM5[Resource::arn:aws:dynamodb:{REGION}:<AWS::AccountId>:table/*]",
    f"AwsSolutions-IAM5[Resource::arn:aws:dynamodb:{REGION}:<AWS::AccountId>:table/*/backup/*]",
}


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> CloudAssembly:
    """The shipped cdk.json with an alarm e-mail, in one region."""
    context = {"tablesafe:regions": [REGION], "tablesafe:alarmEmail": "ops@example.com"}
    return synthesize(tmp_path_factory.mktemp("cdk.out"), context)


@pytest.fixture(scope="module")
def resources(assembly: CloudAssembly) -> dict[str, dict[str, Any]]:
    return dict(assembly.template["Resources"])


def of_type(resources: dict[str, dict[str, Any]], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v.get("Properties", {}) for k, v in resources.items() if v["Type"] == resource_type}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def all_statements(resources: dict[str, dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every statement of every policy the template holds, wherever CloudFormation accepts one."""
    for logical, resource in resources.items():
        props = resource.get("Properties", {})
        documents = [props.get(key) for key in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument")]
        documents += [policy["PolicyDocument"] for policy in props.get("Policies", [])]  # inline, on a role
        for document in documents:
            for statement in as_list((document or {}).get("Statement", [])):
                yield logical, statement


def role_allows(resources: dict[str, dict[str, Any]], role: str) -> list[dict[str, Any]]:
    """The Allow statements that reach `role`: its inline policies and every policy attached to it."""
    props = resources[role]["Properties"]
    assert "ManagedPolicyArns" not in props, "a managed policy's actions are not in the template to check"
    documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
    for policy_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for policy in of_type(resources, policy_type).values():
            if {"Ref": role} in policy.get("Roles", []):
                documents.append(policy["PolicyDocument"])
    return [s for d in documents for s in as_list(d["Statement"]) if s["Effect"] == "Allow"]


def may(statements: list[dict[str, Any]], action: str) -> bool:
    """Whether IAM would allow `action` by one of these statements (case-insensitive wildcards, NotAction)."""
    for statement in statements:
        if "NotAction" in statement:
            if not any(fnmatchcase(action.lower(), a.lower()) for a in as_list(statement["NotAction"])):
                return True
        elif any(fnmatchcase(action.lower(), a.lower()) for a in as_list(statement["Action"])):
            return True
    return False


def function_role(resources: dict[str, dict[str, Any]], name: str) -> str:
    """The logical id of the role a function runs as."""
    (function,) = [f for f in of_type(resources, "AWS::Lambda::Function").values() if f["FunctionName"] == name]
    role_arn = function["Role"]["Fn::GetAtt"]
    assert role_arn[1] == "Arn" and resources[role_arn[0]]["Type"] == "AWS::IAM::Role"
    return str(role_arn[0])


def test_no_statement_allows_an_action_by_wildcard_or_by_exclusion(resources: dict[str, dict[str, Any]]) -> None:
    checked = 0
    for logical, statement in all_statements(resources):
        if statement["Effect"] != "Allow":
            continue
        checked += 1
        assert "NotAction" not in statement, (logical, statement)
        assert not [a for a in as_list(statement["Action"]) if "*" in a or "?" in a], (logical, statement)
    assert checked >= 10


def test_the_backup_function_runs_as_a_role_that_cannot_delete_or_restore_backups(
    resources: dict[str, dict[str, Any]],
) -> None:
    allowed = role_allows(resources, function_role(resources, BACKUP_FUNCTION))

    assert may(allowed, "dynamodb:CreateBackup")
    for action in ("dynamodb:DeleteBackup", "dynamodb:RestoreTableFromBackup", "dynamodb:DeleteTable"):
        assert not may(allowed, action), action


def test_the_prune_function_runs_as_a_role_that_cannot_create_or_restore_backups(
    resources: dict[str, dict[str, Any]],
) -> None:
    allowed = role_allows(resources, function_role(resources, PRUNE_FUNCTION))

    assert may(allowed, "dynamodb:DeleteBackup")
    for action in ("dynamodb:CreateBackup", "dynamodb:RestoreTableFromBackup", "dynamodb:UpdateContinuousBackups"):
        assert not may(allowed, action), action


def test_no_other_role_may_create_or_delete_a_backup(resources: dict[str, dict[str, Any]]) -> None:
    roles = of_type(resources, "AWS::IAM::Role")
    creators = {r for r in roles if may(role_allows(resources, r), "dynamodb:CreateBackup")}
    deleters = {r for r in roles if may(role_allows(resources, r), "dynamodb:DeleteBackup")}

    assert len(roles) >= 3
    assert creators == {function_role(resources, BACKUP_FUNCTION)}
    assert deleters == {function_role(resources, PRUNE_FUNCTION)}


def test_every_topic_and_queue_is_encrypted_at_rest(resources: dict[str, dict[str, Any]]) -> None:
    topics = of_type(resources, "AWS::SNS::Topic")
    queues = of_type(resources, "AWS::SQS::Queue")
    keys = of_type(resources, "AWS::KMS::Key")

    assert topics and queues
    for topic in topics.values():
        assert topic["KmsMasterKeyId"]["Fn::GetAtt"][0] in keys
    for queue in queues.values():
        assert queue.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in queue
    assert all(key["EnableKeyRotation"] is True for key in keys.values())


def test_cdk_nag_passes_with_only_the_reviewed_acknowledgments(
    assembly: CloudAssembly, resources: dict[str, dict[str, Any]]
) -> None:
    # app.py would have failed to synthesize on an unacknowledged cdk-nag error; warnings would not stop it.
    report = json.loads(Path(assembly.outdir, "validation-report.json").read_text())
    findings = [p for p in report["pluginReports"] if p["pluginName"] != "Construct Annotations"]
    acknowledged = {
        rule["id"]: rule["reason"]
        for resource in resources.values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    }

    assert findings == []
    assert set(acknowledged) == ACKNOWLEDGED
    assert all(len(reason) > 40 for reason in acknowledged.values()), acknowledged
    assert not [rule for rule in acknowledged if "Action::" in rule], "a wildcard action must never be waved through"
