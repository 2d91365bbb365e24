"""Every shell command in README.md and docs/ runs as written, or says what it needs (tests/docs/doc_commands.py).

The `aws` and `tablesafe` commands run against the sandbox (the synthesized functions on the stand-in), each block
from the sample account below (or from nothing, for a walk-through that creates its own table); `npx cdk synth`
variants are checked by the configuration parser synth uses, and one of each kind goes through the CDK CLI itself.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from infra.config import load_config
from tablesafe.config.plans import ConfigError
from tablesafe.rules.naming import scheduled_name
from tests.docs.doc_commands import ROOT, DocCommand, read_docs
from tools.sandbox.sandbox import Sandbox
from tools.standin.support import create_table

pytestmark = pytest.mark.xdist_group("e2e")
COMMANDS, UNTAGGED = read_docs()
VENV_BIN = ROOT / ".venv" / "bin"
AWS_CLI = shutil.which("aws")
SAMPLE_REGIONS = ("us-east-1", "eu-west-1")
_CDK_JSON_HAS = re.compile(r'\./cdk\.json has "([^"]+)": (.+)$')


def kind(command: DocCommand) -> str:
    """How this test checks the command (or "marked": its comment says what it needs)."""
    if command.marker:
        return "marked"
    words = command.command.split()
    if words[0] in ("source", "export", "unset"):
        return "environment"
    if words[:3] == ["npx", "cdk", "synth"]:
        return "synth"
    if words[0] in ("aws", "tablesafe"):
        return "sandbox"
    return "unclassified"


def _normalized(text: str) -> str:
    return " ".join(text.split())


def _shows(actual: str, expected: str) -> bool:
    """The output the docs show appears in `actual` (whitespace aside; "..." stands for anything)."""
    pattern = ".*?".join(re.escape(part.strip()) for part in _normalized(expected).split("..."))
    return re.search(pattern, _normalized(actual), re.S) is not None


# -- what the docs hold --------------------------------------------------------------------------------------------


def test_every_fenced_block_names_its_language_so_no_command_hides_in_one():
    assert UNTAGGED == []


def test_every_command_is_run_here_or_says_what_it_needs():
    unclassified = [f"{c.where}: {c.command}" for c in COMMANDS if kind(c) == "unclassified"]
    assert unclassified == [], "mark these (see tests/docs/doc_commands.py) or teach this test to run them"
    assert sum(kind(c) == "sandbox" for c in COMMANDS) >= 30  # the extraction finds the docs' commands


def test_the_readme_gives_the_lambda_invoke_spelling_of_both_aws_cli_versions():
    invokes = [c for c in COMMANDS if c.path == "README.md" and c.command.startswith("aws lambda invoke")]
    v2 = [c for c in invokes if "--cli-binary-format raw-in-base64-out" in c.command]
    assert v2 and all(c.marker == "needs AWS" and "AWS CLI v2" in c.comment for c in v2)
    assert len(invokes) - len(v2) == len(v2)  # each also without --cli-binary-format, run here with the CLI v1


# -- synth ---------------------------------------------------------------------------------------------------------


def _synth_context(command: DocCommand) -> dict[str, object]:
    context = dict(json.loads((ROOT / "cdk.json").read_text())["context"])
    words = shlex.split(command.command)
    for flag, value in itertools.pairwise(words):
        if flag in ("-c", "--context"):
            key, _, text = value.partition("=")
            context[key] = text  # the CDK CLI hands every -c value over as text
    for missing in re.findall(r"with no (tablesafe:\w+)", command.comment):
        context.pop(missing, None)
    return context


SYNTHS = [c for c in COMMANDS if kind(c) == "synth"]


@pytest.mark.parametrize("command", SYNTHS, ids=[c.where for c in SYNTHS])
def test_a_synth_variant_is_accepted_or_refused_with_the_message_the_docs_show(command):
    context = _synth_context(command)
    if not command.expected_output.startswith("tablesafe: configuration error"):
        assert load_config(context, {}).regions
        return
    with pytest.raises(ConfigError) as raised:
        load_config(context, {})
    assert _shows(f"tablesafe: configuration error: {raised.value}", command.expected_output)


def test_synth_variants_run_through_the_cdk_cli_as_written(tmp_path):
    accepted = next(c for c in SYNTHS if not c.expected_output)
    refused = next(c for c in SYNTHS if c.expected_output.startswith("tablesafe: configuration error"))
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", "CDK_DISABLE_VERSION_CHECK": "1"}

    for command, outdir in ((accepted, tmp_path / "ok"), (refused, tmp_path / "refused")):
        done = subprocess.run(
            [*shlex.split(command.command), "--output", str(outdir)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if command is accepted:
            assert done.returncode == 0, done.stderr[-2000:]
            assert list(outdir.glob("*.template.json"))
        else:
            assert done.returncode != 0 and _shows(done.stderr, command.expected_output), done.stderr[-2000:]
            assert not list(outdir.glob("*.template.json"))


# -- the sandbox ---------------------------------------------------------------------------------------------------


def sample_account(standin, workdir: Path) -> None:
    """What the docs' examples assume: `orders` (pk, sk) tagged daily, PITR on, one backup, in two regions."""
    for region in SAMPLE_REGIONS:
        ddb = standin.client("dynamodb", region=region)
        ddb.create_table(
            TableName="orders",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=[{"Key": "backup-plan", "Value": "daily"}],
        )
        ddb.update_continuous_backups(
            TableName="orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
        for pk, sk, status in (("customer#42", 7, "shipped"), ("customer#42", 8, "new"), ("customer#43", 1, "new")):
            ddb.put_item(TableName="orders", Item={"pk": {"S": pk}, "sk": {"N": str(sk)}, "status": {"S": status}})
        slot = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        name = scheduled_name("tablesafe", "daily", "daily", slot)
        arn = ddb.create_backup(TableName="orders", BackupName=name)["BackupDetails"]["BackupArn"]
        standin.set_backup_created(arn, slot)  # an hour ago: a healthy account, `tablesafe status` exits 0
    create_table(standin.client("dynamodb"), "scratch", None)
    (workdir / "damaged-keys.jsonl").write_text('{"pk": "customer#42", "sk": 7}\n')


def _blocks() -> list[list[DocCommand]]:
    by_block: dict[int, list[DocCommand]] = defaultdict(list)
    for command in COMMANDS:
        if kind(command) == "sandbox":
            by_block[command.block].append(command)
    return list(by_block.values())


BLOCKS = _blocks()


def _restore_target(command: DocCommand) -> tuple[str, str] | None:
    words = shlex.split(command.command)
    if words[:2] != ["tablesafe", "restore"] or "--to" not in words:
        return None
    region = words[words.index("--region") + 1] if "--region" in words else SAMPLE_REGIONS[0]
    return words[words.index("--to") + 1], region


def _prepare(command: DocCommand, standin, workdir: Path) -> None:
    # Alternatives in one block restore into the same new table: each starts where that table does not exist.
    target = _restore_target(command)
    if target is not None:
        ddb = standin.client("dynamodb", region=target[1])
        if target[0] in ddb.list_tables()["TableNames"]:
            ddb.delete_table(TableName=target[0])
    config = json.loads((ROOT / "cdk.json").read_text())
    for key, value in _CDK_JSON_HAS.findall(command.comment):
        config["context"][key] = json.loads(value)
    (workdir / "cdk.json").write_text(json.dumps(config))


@pytest.mark.parametrize("block", BLOCKS, ids=[b[0].where for b in BLOCKS])
def test_the_aws_and_tablesafe_commands_of_a_block_run_against_the_sandbox(block, assembly, standin, tmp_path):
    # requirements-dev.txt installs the AWS CLI into .venv: without it the docs' aws lines would go unchecked
    assert AWS_CLI is not None or not any(c.command.startswith("aws ") for c in block), "no aws on PATH: make setup"
    if not block[0].fresh:
        sample_account(standin, tmp_path)
    env = {
        **os.environ,
        **standin.env(),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "VIRTUAL_ENV": str(ROOT / ".venv"),
        "PYTHONPATH": f"{ROOT / 'lambdas'}{os.pathsep}{ROOT}",
        "COLUMNS": "120",
    }
    env.pop("AWS_SESSION_TOKEN", None)
    with Sandbox(assembly.outdir, standin, retry_delays=(0.0,)):
        for command in block:
            _prepare(command, standin, tmp_path)
            done = subprocess.run(
                ["bash", "-c", command.command],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            expected = 2 if command.expected_output.startswith("tablesafe: error") else command.exit_code
            report = f"{command.where}: {command.command}\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
            assert done.returncode == expected, report
            if command.expected_output:
                assert _shows(done.stdout + done.stderr, command.expected_output), report


def test_the_export_lines_the_docs_show_are_the_sandbox_s_own(assembly, standin):
    shown = [c.command for c in COMMANDS if kind(c) == "environment" and c.command.split()[0] != "source"]
    with Sandbox(assembly.outdir, standin) as sandbox:
        own = [line.replace(standin.endpoint_url, "http://127.0.0.1:4566") for line in sandbox.export_lines()]

    assert shown and set(shown) <= set(own)
    assert all((ROOT / c.command.split()[1]).exists() for c in COMMANDS if c.command.startswith("source "))
