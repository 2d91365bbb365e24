"""Synthesizing tablesafe apps for the infrastructure tests: cdk.json's context plus each test's overrides."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App
from aws_cdk.assertions import Template

from infra import build_app
from infra.config import TablesafeConfig
from infra.stack import stack_name

ROOT = Path(__file__).resolve().parents[2]
CDK_JSON = ROOT / "cdk.json"


def cdk_json_context() -> dict[str, Any]:
    """The context `cdk synth` starts from: feature flags and the shipped tablesafe:* values."""
    return dict(json.loads(CDK_JSON.read_text())["context"])


@dataclass
class Synthesized:
    """An app built from cdk.json's context plus overrides, synthesized once (cdk-nag included)."""

    config: TablesafeConfig
    outdir: Path
    templates: dict[str, Template]
    raw: dict[str, dict[str, Any]]
    violations: list[dict[str, str]]

    def resources(self, region: str, resource_type: str) -> dict[str, dict[str, Any]]:
        """The template's resources of one type, by logical id."""
        return {k: v for k, v in self.raw[region]["Resources"].items() if v["Type"] == resource_type}


def synthesize(outdir: Path, overrides: dict[str, Any]) -> Synthesized:
    """Build and synthesize; raises when validation (cdk-nag) finds anything unacknowledged."""
    # Path metadata, as the CLI asks for it: tests find resources by construct path.
    context = {**cdk_json_context(), "aws:cdk:enable-path-metadata": True, **overrides}
    app = App(context=context, outdir=str(outdir), analytics_reporting=False)
    app, config = build_app(app, {})
    assembly = app.synth()
    templates, raw = {}, {}
    for region in config.regions:
        artifact = assembly.get_stack_by_name(stack_name(region))
        raw[region] = artifact.template
        templates[region] = Template.from_json(artifact.template)
    return Synthesized(config, outdir, templates, raw, validation_report(outdir))


def validation_report(outdir: Path) -> list[dict[str, str]]:
    """What `cdk synth` reports after synthesis (cdk-nag findings, construct warnings), one entry per finding."""
    report_file = outdir / "validation-report.json"
    if not report_file.exists():
        return []
    report = json.loads(report_file.read_text())
    return [
        {
            "plugin": plugin["pluginName"],
            "rule": violation["ruleName"],
            "severity": violation["severity"],
            "description": violation["description"],
            "path": construct["constructPath"],
        }
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]
