"""End-to-end set-up: the app synthesized once through app.py, as `cdk synth` runs it, and a runner for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lambda_runner import CloudAssembly, LambdaRunner

ROOT = Path(__file__).resolve().parents[2]
E2E_CONTEXT = {
    "tablesafe:regions": ["us-east-1"],
    "tablesafe:plans": {
        "daily": [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}],
        "gfs": [
            {"name": "hourly", "schedule": "rate(1 hour)", "retentionDays": 2, "minKeep": 24},
            {"name": "monthly", "schedule": "cron(0 5 1 * ? *)", "retentionDays": 365, "minKeep": 12},
        ],
    },
}


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
    subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    return CloudAssembly(outdir)


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> CloudAssembly:
    return synthesize(tmp_path_factory.mktemp("cdk.out"), E2E_CONTEXT)


@pytest.fixture
def runner(assembly: CloudAssembly, standin) -> Iterator[LambdaRunner]:
    with LambdaRunner(assembly, standin.env()) as lambda_runner:
        yield lambda_runner
