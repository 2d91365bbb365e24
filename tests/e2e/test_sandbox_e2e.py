"""`make sandbox`: the synthesized functions invoked by name over Lambda's Invoke API on the stand-in."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from botocore.config import Config

from tools.sandbox.sandbox import Sandbox
from tools.standin.support import create_table, list_all_backups

pytestmark = pytest.mark.xdist_group("e2e")
ROOT = Path(__file__).resolve().parents[2]
DAILY = {"job": "backup", "plan": "daily", "rule": "daily"}


@pytest.fixture
def sandbox(assembly, standin):
    with Sandbox(assembly.outdir, standin, retry_delays=(0.0,)) as running:
        yield running


def _lambda(standin):
    return standin.client("lambda", config=Config(retries={"mode": "standard"}, read_timeout=900))


def test_the_backup_function_invoked_by_name_makes_the_backup_and_answers_its_report(sandbox, standin):
    ddb = standin.client("dynamodb")
    create_table(ddb, "orders", {"backup-plan": "daily"})

    answer = _lambda(standin).invoke(FunctionName="tablesafe-backup", Payload=json.dumps(DAILY), LogType="Tail")

    report = json.loads(answer["Payload"].read())
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert report["created"] == 1 and report["failed"] == {}
    assert [b["TableName"] for b in list_all_backups(ddb)[0]] == ["orders"]
    assert "table backed up" in base64.b64decode(answer["LogResult"]).decode()


def test_an_event_invocation_is_accepted_at_once_and_runs_from_the_queue(sandbox, standin):
    ddb = standin.client("dynamodb")
    create_table(ddb, "orders", {"backup-plan": "daily"})

    answer = _lambda(standin).invoke(
        FunctionName=f"arn:aws:lambda:us-east-1:{standin.account_id}:function:tablesafe-backup",
        InvocationType="Event",
        Payload=json.dumps(DAILY),
    )

    assert answer["StatusCode"] == 202
    assert sandbox.wait_idle(120)
    assert [b["TableName"] for b in list_all_backups(ddb)[0]] == ["orders"]


def test_a_failing_event_invocation_is_retried_as_its_event_invoke_config_says(sandbox, standin):
    answer = _lambda(standin).invoke(
        FunctionName="tablesafe-backup", InvocationType="Event", Payload=json.dumps({"job": "backup"})
    )

    assert answer["StatusCode"] == 202 and sandbox.wait_idle(120)
    runs = [i for i in sandbox.invocations if i.function == "tablesafe-backup"]
    assert len(runs) == 3 and all(run.error["errorType"] == "EventError" for run in runs)  # 1 + MaximumRetryAttempts 2


def test_a_synchronous_error_comes_back_as_lambda_sends_it(sandbox, standin):
    answer = _lambda(standin).invoke(FunctionName="tablesafe-backup", Payload=b'{"job": "backup"}')

    error = json.loads(answer["Payload"].read())
    assert answer["StatusCode"] == 200 and answer["FunctionError"] == "Unhandled"
    assert error["errorType"] == "EventError" and isinstance(error["stackTrace"], list)


def test_unknown_functions_and_bad_payloads_get_lambdas_errors(sandbox, standin):
    client = _lambda(standin)

    with pytest.raises(client.exceptions.ResourceNotFoundException, match="function:tablesafe-nope"):
        client.invoke(FunctionName="tablesafe-nope", Payload=b"{}")
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke(FunctionName="tablesafe-backup", Payload=b"{not json")
    assert client.invoke(FunctionName="tablesafe-prune", InvocationType="DryRun")["StatusCode"] == 204
    assert sandbox.invocations == []


def test_functions_are_found_in_the_template_not_in_a_list(sandbox, assembly):
    assert sandbox.functions == {"us-east-1": sorted(assembly.functions)}


def test_a_run_short_of_time_continues_through_the_sandbox(assembly, standin):
    ddb = standin.client("dynamodb")
    names = [f"t{i:02d}" for i in range(90)]
    for name in names:
        create_table(ddb, name, {"backup-plan": "daily"})
    standin.faults.set("CreateBackup", latency_ms=3000)
    # 8 s above the function's 60 s reserve (room for a slow cold start on a loaded machine), 16 tables at a time
    # taking 3 s each, 32 queued: whatever the cold start took, one invocation starts at most 64 of the 90 (three
    # rounds), then invokes itself (Event) for the rest.
    with Sandbox(assembly.outdir, standin, retry_delays=(0.0,), timeout=68) as sandbox:
        answer = _lambda(standin).invoke(FunctionName="tablesafe-backup", Payload=json.dumps(DAILY))
        assert answer["StatusCode"] == 200 and sandbox.wait_idle(300)
        runs = sandbox.invocations

    assert len(runs) >= 2 and all(run.ok for run in runs), [run.error for run in runs]
    assert [run.event.get("continuation", 0) for run in runs] == list(range(len(runs)))
    assert sorted(b["TableName"] for b in list_all_backups(ddb)[0]) == names


def test_make_sandbox_prints_the_lines_to_paste_and_stops_cleanly_on_ctrl_c(assembly):
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'lambdas'}{os.pathsep}{ROOT}", "TABLESAFE_SANDBOX_PORT": "0"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.sandbox", "--assembly", str(assembly.outdir)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any("export AWS_ENDPOINT_URL=" in line for line in lines):
        lines.append(process.stdout.readline())
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=30)

    (export,) = [line.strip() for line in lines if "export AWS_ENDPOINT_URL=" in line]
    assert export.startswith("export AWS_ENDPOINT_URL=http://127.0.0.1:")
    assert "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1" in export
    assert process.returncode == 0 and "sandbox: stopped" in rest
