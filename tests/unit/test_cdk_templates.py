"""`make lint-templates` lints the templates of cdk.out's manifest, not those a removed region left behind."""

from __future__ import annotations

import json

from tools.cdk_templates import main, stack_templates


def _assembly(outdir, regions):
    artifacts = {
        f"Tablesafe-{region}": {
            "type": "aws:cloudformation:stack",
            "environment": f"aws://unknown-account/{region}",
            "properties": {"templateFile": f"Tablesafe-{region}.template.json"},
        }
        for region in regions
    }
    artifacts["Tree"] = {"type": "cdk:tree", "properties": {"file": "tree.json"}}
    (outdir / "manifest.json").write_text(json.dumps({"version": "41.0.0", "artifacts": artifacts}))
    for region in regions:
        (outdir / f"Tablesafe-{region}.template.json").write_text("{}")


def test_a_template_of_a_region_no_longer_configured_is_not_linted(tmp_path):
    _assembly(tmp_path, ["us-east-1", "eu-west-1"])
    _assembly(tmp_path, ["us-east-1"])  # eu-west-1 removed from tablesafe:regions, synthesized again

    assert (tmp_path / "Tablesafe-eu-west-1.template.json").exists()
    assert stack_templates(tmp_path) == [tmp_path / "Tablesafe-us-east-1.template.json"]


def test_without_a_synthesized_assembly_it_says_to_synthesize(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    assert "run make synth first" in capsys.readouterr().err
