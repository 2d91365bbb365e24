"""The app as `cdk synth` runs it: the code asset's contents, determinism, the cdk-nag gate, configuration errors."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from infra_synth import ROOT, Synthesized, cdk_json_context, synthesize

from infra import build_app
from infra.bundling import BundlingError, distribution_files, package_files, runtime_python
from infra.stack import stack_name
from tablesafe import constants

pytestmark = pytest.mark.xdist_group("infra")

REGION = "eu-central-1"
CONTEXT = {
    "tablesafe:regions": [REGION],
    "tablesafe:dryRun": "true",
    "tablesafe:globalTables": "every-region",
    "tablesafe:backupNamePrefix": "nightly",
    "tablesafe:pruneSchedule": "cron(15 5 * * ? *)",
}


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("first"), CONTEXT)


@pytest.fixture(scope="module")
def second(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("second"), CONTEXT)


def asset_dir(synth: Synthesized) -> Path:
    (function, *_) = synth.resources(REGION, "AWS::Lambda::Function").values()
    asset_hash = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    return synth.outdir / f"asset.{asset_hash}"


def environment(synth: Synthesized) -> dict[str, str]:
    (function, *_) = synth.resources(REGION, "AWS::Lambda::Function").values()
    return dict(function["Properties"]["Environment"]["Variables"])


# --- the code asset -----------------------------------------------------------------------------------------------


def test_asset_holds_no_cli_module_and_nothing_that_imports_rich(first: Synthesized) -> None:
    asset = asset_dir(first)
    sources = {p.relative_to(asset).as_posix(): p.read_text() for p in asset.rglob("*.py")}

    assert not [name for name in sources if name.startswith("tablesafe_cli/") or name == "tablesafe/__main__.py"]
    assert not [name for name, text in sources.items() if "tablesafe_cli" in text]
    importing_rich = [name for name, text in sources.items() if re.search(r"^\s*(from|import) rich\b", text, re.M)]
    assert not importing_rich


def test_both_functions_run_one_code_asset(first: Synthesized) -> None:
    codes = {json.dumps(f["Properties"]["Code"]) for f in first.resources(REGION, "AWS::Lambda::Function").values()}

    assert len(codes) == 1


def test_asset_holds_our_package_and_byte_code_for_the_runtime_only(first: Synthesized) -> None:
    asset = asset_dir(first)
    source = ROOT / "lambdas" / "tablesafe"
    expected = {p.relative_to(source).as_posix() for p in source.rglob("*.py") if "__pycache__" not in p.parts}
    expected.discard("__main__.py")  # `python -m tablesafe` starts the CLI, which is not in the asset

    shipped = {p.relative_to(asset / "tablesafe").as_posix() for p in (asset / "tablesafe").rglob("*.py")}
    assert shipped == expected
    assert {"__init__.py", "constants.py", "runtime/backup_handler.py", "runtime/prune_handler.py"} <= shipped
    pycs = list(asset.rglob("*.pyc"))
    if runtime_python() is None:  # no Python 3.13 on this machine: source only
        assert not pycs
        return
    # Compiled by Python 3.13 only (never this interpreter's), for every module, as unchecked hash-based pycs
    # (PEP 552 flags = 0b01), so the read-only /var/task needs no compiling and the asset is reproducible.
    assert pycs and all(p.name.endswith(".cpython-313.pyc") for p in pycs)
    assert len([p for p in pycs if "tablesafe" in p.parts]) == len(expected)
    assert {int.from_bytes(p.read_bytes()[4:8], "little") for p in pycs} == {0b01}


def test_asset_holds_powertools_at_the_version_the_tests_use(first: Synthesized) -> None:
    asset = asset_dir(first)
    installed = importlib.metadata.version("aws-lambda-powertools")

    version_py = (asset / "aws_lambda_powertools" / "shared" / "version.py").read_text()
    assert re.search(rf'^VERSION = "{re.escape(installed)}"$', version_py, re.MULTILINE)
    metadata = (asset / f"aws_lambda_powertools-{installed}.dist-info" / "METADATA").read_text()
    assert f"\nVersion: {installed}\n" in metadata


def test_asset_holds_powertools_dependencies_but_not_boto3(first: Synthesized) -> None:
    asset = asset_dir(first)

    assert (asset / "jmespath" / "__init__.py").is_file()
    assert (asset / "typing_extensions.py").is_file()
    # boto3 comes with the Lambda runtime; install records and local paths stay out of the asset.
    assert not (asset / "boto3").exists()
    assert not [p for p in asset.rglob("*") if p.name in ("RECORD", "direct_url.json")]


def test_missing_distribution_fails_with_what_to_do() -> None:
    with pytest.raises(BundlingError, match=r"no-such-distribution is not installed in .*make setup"):
        distribution_files("no-such-distribution")


def test_missing_package_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(BundlingError, match="the Lambda package is missing"):
        package_files(tmp_path)


# --- determinism and configuration --------------------------------------------------------------------------------


def test_same_configuration_gives_the_same_template_and_asset(first: Synthesized, second: Synthesized) -> None:
    assert json.dumps(first.raw[REGION], sort_keys=True) == json.dumps(second.raw[REGION], sort_keys=True)
    assert asset_dir(first).name == asset_dir(second).name


def test_settings_reach_the_functions(first: Synthesized) -> None:
    env = environment(first)

    assert env[constants.ENV_DRY_RUN] == "true"
    assert env[constants.ENV_GLOBAL_TABLES] == "every-region"
    assert env[constants.ENV_BACKUP_NAME_PREFIX] == "nightly"
    assert env[constants.ENV_PLANS] == json.dumps(
        {"daily": {"rules": [{**constants.DEFAULT_PLANS["daily"][0], "timezone": "UTC"}]}},
        sort_keys=True,
        separators=(",", ":"),
    )


def test_prune_schedule_and_dry_run_alarm_follow_the_configuration(first: Synthesized) -> None:
    template = first.templates[REGION]

    template.has_resource_properties("AWS::Scheduler::Schedule", {"ScheduleExpression": "cron(15 5 * * ? *)"})
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": constants.M_PRUNE_TABLES_FAILED,
            "Dimensions": [
                {"Name": constants.DIM_DRY_RUN, "Value": "true"},
                {"Name": "service", "Value": constants.SERVICE_PRUNE},
            ],
        },
    )


def test_without_alarm_email_nobody_is_subscribed(first: Synthesized) -> None:
    first.templates[REGION].resource_count_is("AWS::SNS::Subscription", 0)
    first.templates[REGION].resource_count_is("AWS::SNS::Topic", 1)


def test_an_unacknowledged_cdk_nag_finding_fails_synthesis(tmp_path: Path) -> None:
    app, _ = build_app(App(context={**cdk_json_context(), **CONTEXT}, outdir=str(tmp_path)), environ={})
    stack = app.node.find_child(stack_name(REGION))
    assert isinstance(stack, Stack)
    role = iam.Role(stack, "Careless", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["dynamodb:DeleteBackup"], resources=["*"]))

    with pytest.raises(Exception, match="AwsSolutions-IAM5"):
        app.synth()


def run_app(tmp_path: Path, context: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """Run app.py the way the CDK CLI does: context in CDK_CONTEXT_JSON, output directory in CDK_OUTDIR."""
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps({**cdk_json_context(), **context}),
        "CDK_OUTDIR": str(tmp_path),
    }
    env.pop("CDK_DEFAULT_REGION", None)
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_a_configuration_error_exits_with_the_key_and_writes_no_template(tmp_path: Path) -> None:
    result = run_app(tmp_path, {"tablesafe:regions": ["eu-west-1"], "tablesafe:retentiondays": "35"})

    assert result.returncode == 1
    assert "tablesafe: configuration error: tablesafe:retentiondays: '35' is not allowed; unknown key" in result.stderr
    assert not list(tmp_path.glob("*.template.json"))
