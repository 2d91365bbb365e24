"""`tablesafe:tracing`: X-Ray active tracing and Powertools' Tracer on every function, or on none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from infra_synth import Synthesized, synthesize

pytestmark = pytest.mark.xdist_group("infra")

REGION = "us-east-1"
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# A plan with restore drills, so that the drill function is there too: every function is traced.
PLANS = {
    "daily": {
        "rules": [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}],
        "drill": {"everyDays": 1},
    }
}


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("traced"), {"tablesafe:plans": PLANS})


@pytest.fixture(scope="module")
def untraced(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("untraced"), {"tablesafe:plans": PLANS, "tablesafe:tracing": "false"})


def functions(synth: Synthesized) -> list[dict[str, Any]]:
    return [r["Properties"] for r in synth.resources(REGION, "AWS::Lambda::Function").values()]


def policy_actions(synth: Synthesized) -> set[str]:
    found: set[str] = set()
    for policy in synth.resources(REGION, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            found.update([actions] if isinstance(actions, str) else actions)
    return found


def test_tracing_is_on_by_default_for_every_function(traced: Synthesized) -> None:
    assert len(functions(traced)) == 3  # backup, prune, drill
    for function in functions(traced):
        assert function["TracingConfig"] == {"Mode": "Active"}
        assert "POWERTOOLS_TRACE_DISABLED" not in function["Environment"]["Variables"]
    assert policy_actions(traced) >= XRAY_ACTIONS


def test_tracing_off_leaves_no_tracing_config_no_xray_grant_and_disables_the_tracer(untraced: Synthesized) -> None:
    for function in functions(untraced):
        assert "TracingConfig" not in function
        assert function["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert not XRAY_ACTIONS & policy_actions(untraced)


def test_the_code_asset_ships_the_xray_sdk_in_pure_python(traced: Synthesized) -> None:
    (function, *_) = functions(traced)
    asset: Path = traced.outdir / f"asset.{function['Code']['S3Key'].removesuffix('.zip')}"
    assert (asset / "aws_xray_sdk" / "core" / "__init__.py").is_file()
    assert (asset / "wrapt" / "__init__.py").is_file()
    assert [p.name for p in asset.rglob("*") if p.suffix in (".so", ".pyd")] == []


def test_a_wrong_tracing_value_is_refused_naming_the_key(tmp_path: Path) -> None:
    from tablesafe.config.plans import ConfigError

    with pytest.raises(ConfigError, match=r"^tablesafe:tracing: 'sometimes' is not allowed; expected true or false"):
        synthesize(tmp_path, {"tablesafe:tracing": "sometimes"})
