"""The construct as installed from the repository: `tablesafe_cdk` importable without the repository on the path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from infra_synth import ROOT

pytestmark = pytest.mark.xdist_group("infra")

USER_APP = """
import json, sys
from aws_cdk import App, Environment, Stack
import tablesafe
from tablesafe_cdk import Tablesafe

app = App(analytics_reporting=False, outdir=sys.argv[1])
stack = Stack(app, "Data", env=Environment(region="eu-west-1"))
Tablesafe(stack, "Backups", tag_key="team:backup")
app.synth()
try:
    import infra  # the repository's folder must play no part
except ImportError:
    infra = None
print(json.dumps({"tablesafe": tablesafe.__file__, "infra": infra is not None}))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packages as the distribution installs them (setup.py's build_py: the folders and names it maps)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("lambdas", "infra"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    site = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(site)],
        cwd=source,
        check=True,
        capture_output=True,
    )
    return site


def test_the_distribution_installs_the_construct_as_tablesafe_cdk_and_no_infra_package(installed: Path) -> None:
    assert (installed / "tablesafe_cdk" / "construct.py").is_file()
    assert (installed / "tablesafe" / "__init__.py").is_file()
    assert not (installed / "infra").exists()


def test_a_user_app_synthesizes_with_the_installed_package_and_its_code_asset(installed: Path, tmp_path: Path) -> None:
    app_dir, outdir = tmp_path / "user-app", tmp_path / "cdk.out"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(USER_APP)
    environ = {**os.environ, "PYTHONPATH": str(installed)}
    result = subprocess.run(
        [sys.executable, "app.py", str(outdir)], cwd=app_dir, env=environ, check=True, capture_output=True, text=True
    )
    imported = json.loads(result.stdout.strip().splitlines()[-1])
    assert imported == {"tablesafe": str(installed / "tablesafe" / "__init__.py"), "infra": False}
    template = json.loads((outdir / "Data.template.json").read_text())
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert {f["Properties"]["Environment"]["Variables"]["TABLESAFE_TAG_KEY"] for f in functions} == {"team:backup"}
    asset = outdir / f"asset.{functions[0]['Properties']['Code']['S3Key'].removesuffix('.zip')}"
    assert (asset / "tablesafe" / "runtime").is_dir()  # the code asset came from the installed package
    assert not (asset / "tablesafe_cdk").exists()
