"""Invoke a function of the synthesized cloud assembly the way Lambda would.

The end-to-end tests, the demo and the benchmarks use this runner, so they prove the deployable artifact works: the
handler path and environment come from the template, the code from the bundled asset directory, and the handler runs
in a fresh interpreter that sees only the asset and what the Lambda runtime provides (boto3 and its dependencies),
never this repository's virtual environment. When Python 3.13 (the functions' runtime) is on the machine it is used.

Asynchronous self-invocations (continuations) go to a small local "Lambda service" run here: it records each
`Invoke` with InvocationType Event, and `run_to_completion` runs them in turn as Lambda would.

The template's DynamoDB tables (the slot-lease table) and S3 buckets (the archive) are created on the AWS endpoint
when the runner starts, as CloudFormation would create them, each named `<stack>-<logical id>` (a bucket's in lower
case); a `Ref` to one in a function's environment becomes that name, and a `Fn::GetAtt [<KMS key>, Arn]` a key ARN
of that logical id (the stand-in checks no key).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "123456789012"
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "dateutil", "jmespath", "urllib3", "six.py")
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"

_BOOTSTRAP = r"""
import importlib, json, os, sys, time, traceback
sys.path[:0] = [os.environ.pop("_RUNNER_CODE_DIR"), os.environ.pop("_RUNNER_RUNTIME_DIR")]
deadline = time.monotonic() + float(os.environ.pop("_RUNNER_TIMEOUT"))
result_path = os.environ.pop("_RUNNER_RESULT")
event = json.loads(os.environ.pop("_RUNNER_EVENT"))

class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = "$LATEST"
    invoked_function_arn = os.environ.pop("_RUNNER_FUNCTION_ARN")
    memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
    aws_request_id = os.environ.pop("_RUNNER_REQUEST_ID")
    log_group_name = "/aws/lambda/" + function_name
    log_stream_name = "local"

    def get_remaining_time_in_millis(self):
        return max(0, int((deadline - time.monotonic()) * 1000))

try:
    module, _, name = os.environ["_HANDLER"].rpartition(".")
    handler = getattr(importlib.import_module(module), name)
    outcome = {"result": handler(event, Context())}
except Exception as error:
    outcome = {"error": {"errorType": type(error).__name__, "errorMessage": str(error),
                         "stackTrace": traceback.format_exc()}}
with open(result_path, "w") as out:
    json.dump(outcome, out, default=str)
"""


@dataclass(frozen=True)
class FunctionSpec:
    """A Lambda function as the template declares it."""

    logical_id: str
    name: str
    handler: str
    runtime: str
    timeout: int
    memory: int
    environment: Mapping[str, str]
    code_dir: Path


@dataclass(frozen=True)
class TableSpec:
    """A DynamoDB table the template declares, with the name the runner gives it."""

    logical_id: str
    name: str
    properties: Mapping[str, Any]

    def create_request(self) -> dict[str, Any]:
        """CreateTable parameters from the template's properties (keys, billing, encryption)."""
        props = self.properties
        request: dict[str, Any] = {
            "TableName": self.name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        if "SSESpecification" in props:
            request["SSESpecification"] = {"Enabled": props["SSESpecification"].get("SSEEnabled", False)}
        return request


@dataclass(frozen=True)
class ScheduleSpec:
    """An EventBridge Scheduler schedule and the function it targets."""

    logical_id: str
    function: FunctionSpec
    expression: str
    timezone: str
    input: str

    def event(self, scheduled_time: datetime) -> dict[str, Any]:
        """The event the schedule sends for a scheduled time (Scheduler fills in the context attribute)."""
        stamp = scheduled_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        parsed: dict[str, Any] = json.loads(self.input.replace(SCHEDULED_TIME, stamp))
        return parsed


class CloudAssembly:
    """The functions and schedules of one synthesized stack."""

    def __init__(self, outdir: Path, stack: str | None = None) -> None:
        self.outdir = Path(outdir)
        manifest = json.loads((self.outdir / "manifest.json").read_text())
        stacks = {
            name: artifact
            for name, artifact in manifest["artifacts"].items()
            if artifact.get("type") == "aws:cloudformation:stack"
        }
        if stack is None:
            if len(stacks) != 1:
                raise ValueError(f"name one stack of {sorted(stacks)}")
            stack = next(iter(stacks))
        self.stack = stack
        template_file = stacks[stack]["properties"]["templateFile"]
        self.template = json.loads((self.outdir / template_file).read_text())
        resources = self.template["Resources"]
        self.tables = {
            logical_id: TableSpec(logical_id, f"{stack}-{logical_id}", resource["Properties"])
            for logical_id, resource in resources.items()
            if resource["Type"] == "AWS::DynamoDB::Table"
        }
        self.buckets = {
            logical_id: f"{stack}-{logical_id}".lower()
            for logical_id, resource in resources.items()
            if resource["Type"] == "AWS::S3::Bucket"
        }
        self.keys = {
            logical_id: f"arn:aws:kms:{self._region(stack)}:123456789012:key/{logical_id}"
            for logical_id, resource in resources.items()
            if resource["Type"] == "AWS::KMS::Key"
        }
        self.functions: dict[str, FunctionSpec] = {}
        by_id: dict[str, FunctionSpec] = {}
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            props = resource["Properties"]
            spec = FunctionSpec(
                logical_id=logical_id,
                name=props["FunctionName"],
                handler=props["Handler"],
                runtime=props["Runtime"],
                timeout=int(props.get("Timeout", 3)),
                memory=int(props.get("MemorySize", 128)),
                environment=self._resolve(props.get("Environment", {}).get("Variables", {})),
                code_dir=self.outdir / resource["Metadata"]["aws:asset:path"],
            )
            self.functions[spec.name] = spec
            by_id[logical_id] = spec
        self.schedules: list[ScheduleSpec] = []
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::Scheduler::Schedule":
                continue
            props = resource["Properties"]
            target_id = props["Target"]["Arn"]["Fn::GetAtt"][0]
            self.schedules.append(
                ScheduleSpec(
                    logical_id=logical_id,
                    function=by_id[target_id],
                    expression=props["ScheduleExpression"],
                    timezone=props.get("ScheduleExpressionTimezone", "UTC"),
                    input=props["Target"]["Input"],
                )
            )

    def function(self, name: str) -> FunctionSpec:
        return self.functions[name]

    def _resolve(self, variables: Mapping[str, Any]) -> dict[str, str]:
        """Environment values as Lambda would see them: a Ref to one of the template's tables is its name."""
        resolved = {}
        for key, value in variables.items():
            if isinstance(value, dict) and value.get("Ref") in self.tables:
                value = self.tables[value["Ref"]].name
            elif isinstance(value, dict) and value.get("Ref") in self.buckets:
                value = self.buckets[value["Ref"]]
            elif isinstance(value, dict) and (value.get("Fn::GetAtt") or [None])[0] in self.keys:
                value = self.keys[value["Fn::GetAtt"][0]]
            if not isinstance(value, str):
                raise ValueError(f"environment variable {key}: the runner cannot resolve {value!r}")
            resolved[key] = value
        return resolved

    @staticmethod
    def _region(stack: str) -> str:
        return stack.removeprefix("Tablesafe-") if stack.startswith("Tablesafe-") else "us-east-1"

    def schedules_for(self, name: str) -> list[ScheduleSpec]:
        return [s for s in self.schedules if s.function.name == name]


@dataclass
class Invocation:
    """One invocation's outcome, logs and metrics."""

    function: str
    event: dict[str, Any]
    result: Any = None
    error: dict[str, str] | None = None
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.stdout.splitlines():
            try:
                parsed = json.loads(line)
            except ValueError:
                continue
            if isinstance(parsed, dict):
                lines.append(parsed)
        return lines

    @property
    def metrics(self) -> dict[str, float]:
        """EMF metric values of this invocation, summed by metric name."""
        totals: dict[str, float] = {}
        for line in self.log_lines:
            for directive in line.get("_aws", {}).get("CloudWatchMetrics", []):
                for metric in directive.get("Metrics", []):
                    value = line.get(metric["Name"])
                    values = value if isinstance(value, list) else [value]
                    totals[metric["Name"]] = totals.get(metric["Name"], 0.0) + sum(float(v) for v in values)
        return totals


class _AsyncInvokes(BaseHTTPRequestHandler):
    """A local stand-in for Lambda's Invoke API: records asynchronous invocations."""

    server: _LambdaService

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        payload = json.loads(self.rfile.read(length) or b"{}")
        name = unquote(self.path.split("/functions/", 1)[1].split("/", 1)[0])
        name = name.rsplit(":", 1)[-1] if name.startswith("arn") else name
        with self.server.lock:
            self.server.queued.append((name, payload))
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _LambdaService(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _AsyncInvokes)
        self.lock = threading.Lock()
        self.queued: list[tuple[str, dict[str, Any]]] = []

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        with self.lock:
            taken, self.queued = self.queued, []
        return taken


@dataclass
class LambdaRunner:
    """Runs functions of a cloud assembly against an AWS endpoint (the stand-in), with their template environment."""

    assembly: CloudAssembly
    aws_env: Mapping[str, str]
    python: str | None = None
    invocations: list[Invocation] = field(default_factory=list)
    # Where the functions' own Invoke calls (continuations) go; None: the runner's queue, for run_to_completion.
    lambda_endpoint: str | None = None

    def __post_init__(self) -> None:
        self.python = self.python or lambda_python()
        self._runtime_dir = Path(tempfile.mkdtemp(prefix="lambda-runtime-"))
        site = Path(__import__("botocore").__file__).parent.parent
        for package in RUNTIME_PACKAGES:
            source = site / package
            if source.exists():
                (self._runtime_dir / package).symlink_to(source)
        self._service = _LambdaService()
        threading.Thread(target=self._service.serve_forever, daemon=True).start()
        self.create_tables()

    def create_tables(self) -> None:
        """Create the template's DynamoDB tables on the AWS endpoint (again after the endpoint was reset)."""
        env = self.aws_env
        client = boto3.client(
            "dynamodb",
            endpoint_url=env.get("AWS_ENDPOINT_URL"),
            region_name=self.region,
            aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=env.get("AWS_SESSION_TOKEN"),
        )
        self._create_buckets()
        for table in self.assembly.tables.values():
            try:
                client.create_table(**table.create_request())
            except client.exceptions.ResourceInUseException:
                continue  # created by an earlier runner on the same endpoint
            ttl = table.properties.get("TimeToLiveSpecification")
            if ttl:
                client.update_time_to_live(
                    TableName=table.name,
                    TimeToLiveSpecification={"Enabled": ttl["Enabled"], "AttributeName": ttl["AttributeName"]},
                )

    def _create_buckets(self) -> None:
        env = self.aws_env
        s3 = boto3.client(
            "s3",
            endpoint_url=env.get("AWS_ENDPOINT_URL"),
            region_name=self.region,
            aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=env.get("AWS_SESSION_TOKEN"),
        )
        for name in self.assembly.buckets.values():
            params: dict[str, Any] = {"Bucket": name, "ObjectLockEnabledForBucket": True}
            if self.region != "us-east-1":
                params["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            try:
                s3.create_bucket(**params)
            except s3.exceptions.BucketAlreadyOwnedByYou:
                continue

    def close(self) -> None:
        self._service.shutdown()
        self._service.server_close()
        shutil.rmtree(self._runtime_dir, ignore_errors=True)

    def __enter__(self) -> LambdaRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def region(self) -> str:
        return self.aws_env.get("AWS_REGION") or self.aws_env.get("AWS_DEFAULT_REGION") or "us-east-1"

    def invoke(self, function: str, event: dict[str, Any], *, timeout: float | None = None) -> Invocation:
        """One synchronous invocation; `timeout` shrinks the function's time budget (seconds)."""
        spec = self.assembly.function(function)
        budget = float(timeout if timeout is not None else spec.timeout)
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
            result_path = handle.name
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            **spec.environment,
            **self.aws_env,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL_LAMBDA": self.lambda_endpoint or f"http://127.0.0.1:{self._service.server_address[1]}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "_HANDLER": spec.handler,
            "_RUNNER_CODE_DIR": str(spec.code_dir),
            "_RUNNER_RUNTIME_DIR": str(self._runtime_dir),
            "_RUNNER_TIMEOUT": str(budget),
            "_RUNNER_RESULT": result_path,
            "_RUNNER_EVENT": json.dumps(event),
            "_RUNNER_FUNCTION_ARN": f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{spec.name}",
            "_RUNNER_REQUEST_ID": str(uuid.uuid4()),
        }
        assert self.python is not None
        try:
            completed = subprocess.run(
                [self.python, "-S", "-u", "-c", _BOOTSTRAP],
                env=env,
                capture_output=True,
                text=True,
                timeout=budget + 30,
                check=False,
            )
            outcome = json.loads(Path(result_path).read_text() or "{}")
            stdout, stderr = completed.stdout, completed.stderr
        except subprocess.TimeoutExpired as expired:
            outcome = {"error": {"errorType": "TaskTimedOut", "errorMessage": f"timed out after {budget} s"}}
            stdout = expired.stdout.decode() if isinstance(expired.stdout, bytes) else (expired.stdout or "")
            stderr = ""
        except ValueError:
            outcome = {"error": {"errorType": "Runtime.ExitError", "errorMessage": "the handler process died"}}
            stdout, stderr = completed.stdout, completed.stderr
        finally:
            Path(result_path).unlink(missing_ok=True)
        if not outcome:
            outcome = {"error": {"errorType": "Runtime.ExitError", "errorMessage": completed.stderr[-2000:]}}
        invocation = Invocation(spec.name, event, outcome.get("result"), outcome.get("error"), stdout, stderr)
        self.invocations.append(invocation)
        return invocation

    def run_to_completion(
        self, function: str, event: dict[str, Any], *, timeout: float | None = None, max_invocations: int = 100
    ) -> list[Invocation]:
        """Invoke, then run every asynchronous invocation the function queued (its continuations), in order."""
        runs = [self.invoke(function, event, timeout=timeout)]
        while len(runs) < max_invocations:
            queued = self._service.take()
            if not queued:
                return runs
            for name, payload in queued:
                runs.append(self.invoke(name, payload, timeout=timeout))
        raise RuntimeError(f"more than {max_invocations} invocations: a continuation loop?")


def lambda_python() -> str:
    """Python 3.13 (the functions' runtime) when this machine has it, else the running interpreter."""
    candidates = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13")))
    found = shutil.which("python3.13")
    for candidate in [*candidates, *([found] if found else [])]:
        probe = subprocess.run([candidate, "-S", "-c", "print(1)"], capture_output=True, check=False)
        if probe.returncode == 0:
            return candidate
    return sys.executable


def synthesize(outdir: Path, overrides: dict) -> CloudAssembly:
    """Run app.py the way the CDK CLI does (context in CDK_CONTEXT_JSON, output in CDK_OUTDIR)."""
    context = {**json.loads((ROOT / "cdk.json").read_text())["context"], **overrides}
    context["aws:cdk:enable-asset-metadata"] = True  # what the CDK CLI asks for: asset paths in the template
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps(context),
        "CDK_OUTDIR": str(outdir),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }
    done = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"synth failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return CloudAssembly(outdir)
