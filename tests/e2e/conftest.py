"""End-to-end set-up: the app synthesized once through app.py, as `cdk synth` runs it, and a runner for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tools.lambda_runner import CloudAssembly, LambdaRunner, synthesize

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


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> CloudAssembly:
    return synthesize(tmp_path_factory.mktemp("cdk.out"), E2E_CONTEXT)


@pytest.fixture
def runner(assembly: CloudAssembly, standin) -> Iterator[LambdaRunner]:
    with LambdaRunner(assembly, standin.env()) as lambda_runner:
        yield lambda_runner
