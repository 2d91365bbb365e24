"""The code asset's hash: a function of the shipped sources only, the same on every machine."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_

from infra.bundling import BUILD, PACKAGE_DIR, PythonFinder, code_asset, package_files, source_hash

pytestmark = pytest.mark.xdist_group("infra")


def synthesized_asset(outdir: Path, find_python: PythonFinder) -> tuple[str, Path]:
    """The asset hash a function's template gets from code_asset, and the asset directory CDK staged."""
    app = App(outdir=str(outdir), analytics_reporting=False)
    stack = Stack(app, "Asset")
    lambda_.Function(
        stack,
        "Function",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="tablesafe.runtime.backup_handler.lambda_handler",
        code=code_asset(find_python),
    )
    template = app.synth().get_stack_by_name("Asset").template
    (function,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    asset_hash = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    return asset_hash, outdir / f"asset.{asset_hash}"


def copy_of_package(where: Path) -> Path:
    target = where / "tablesafe"
    shutil.copytree(PACKAGE_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_asset_hash_is_the_same_with_and_without_a_python_to_compile_byte_code(tmp_path: Path) -> None:
    # This interpreter stands in for Python 3.13: what matters is that one synth compiles and the other cannot.
    with_compiler, compiled = synthesized_asset(tmp_path / "with", lambda: sys.executable)
    without_compiler, source_only = synthesized_asset(tmp_path / "without", lambda: None)

    assert list(compiled.rglob("*.pyc")) and not list(source_only.rglob("*.pyc"))  # two different outputs...
    assert with_compiler == without_compiler  # ...one hash, the sources'


def test_asset_hash_does_not_depend_on_where_the_sources_are(tmp_path: Path) -> None:
    here, there = copy_of_package(tmp_path / "here"), copy_of_package(tmp_path / "there")

    assert source_hash(package_files(here)) == source_hash(package_files(there))


def test_local_byte_code_next_to_the_sources_does_not_change_the_hash(tmp_path: Path) -> None:
    package = copy_of_package(tmp_path)
    before = source_hash(package_files(package))
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "naming.cpython-311.pyc").write_bytes(b"\x00local byte code")
    (package / "stray.pyc").write_bytes(b"\x00more")

    assert source_hash(package_files(package)) == before


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda p: (p / "rules" / "naming.py").write_bytes((p / "rules" / "naming.py").read_bytes() + b"\n"),
            id="edited",
        ),
        pytest.param(lambda p: (p / "rules" / "naming.py").rename(p / "rules" / "names.py"), id="renamed"),
        pytest.param(lambda p: (p / "extra.py").write_text("X = 1\n"), id="added"),
        pytest.param(lambda p: (p / "rules" / "naming.py").unlink(), id="removed"),
    ],
)
def test_asset_hash_changes_when_a_shipped_file_changes(tmp_path: Path, change: Callable[[Path], object]) -> None:
    package = copy_of_package(tmp_path)
    before = source_hash(package_files(package))
    change(package)

    assert source_hash(package_files(package)) != before


def test_asset_hash_changes_when_the_byte_code_is_made_differently() -> None:
    # A new runtime or compile mode changes only the .pyc files; the asset must still be shipped again.
    files = package_files()

    assert source_hash(files, BUILD.replace("python3.13", "python3.14")) != source_hash(files)
    assert source_hash(files, BUILD.replace("unchecked-hash", "timestamp")) != source_hash(files)
