"""The functions' code asset, bundled without Docker: our package plus Powertools from this interpreter.

Copying the installed distributions (rather than resolving them again) makes the Lambda run the very
Powertools version the tests ran against. Every dependency is pure Python, so files installed for the local
Python work on the Lambda's Python 3.13 on arm64; boto3 comes with the Lambda runtime.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

import tablesafe

# The `tablesafe` package this interpreter imports: lambdas/tablesafe in the repository (PYTHONPATH or an editable
# install), site-packages/tablesafe when tablesafe is pip-installed and the construct is used from another app.
PACKAGE_DIR = Path(tablesafe.__file__).resolve().parent
# What the functions import besides our own package; aws-lambda-powertools needs the other two at run time.
# aws-xray-sdk (with wrapt) is what Powertools' Tracer records with (tablesafe:tracing).
DISTRIBUTIONS = ("aws-lambda-powertools", "jmespath", "typing_extensions", "aws-xray-sdk", "wrapt")
# Never copied: local byte code (compiled for this interpreter), install records listing files we leave out,
# and direct_url.json, which would put this machine's paths into the asset. Byte code for the runtime's Python is
# compiled into the asset instead, when that Python is on this machine (see compile_for_runtime).
_SKIPPED_PARTS = frozenset({"__pycache__"})
# Compiled extensions are built for this machine, not for the Lambda's arm64 Python 3.13 (and would make the asset
# differ between machines): left out. wrapt, the one dependency that has one, then runs its pure-Python version.
_SKIPPED_SUFFIXES = frozenset({".pyc", ".pyo", ".so", ".pyd"})
_SKIPPED_NAMES = frozenset({"RECORD", "direct_url.json"})
# `python -m tablesafe` starts the operator CLI, which is not in the asset (lambdas/tablesafe_cli).
_SKIPPED_PACKAGE_FILES = frozenset({PurePosixPath("tablesafe/__main__.py")})
RUNTIME_PYTHON = "python3.13"  # the functions' runtime; its byte code goes into the asset
LAMBDA_TASK_ROOT = "/var/task"  # where Lambda unpacks the asset: the path tracebacks show
# How the byte code is compiled (after `<python> -m`); part of the asset hash, so changing it ships a new asset.
COMPILE_ARGS = ("compileall", "-q", "-d", LAMBDA_TASK_ROOT, "--invalidation-mode", "unchecked-hash")
COMPILE_ENV = {"PYTHONHASHSEED": "0"}
FILE_MODE = 0o644  # readable by the Lambda runtime's user whatever the local umask
# Everything besides the files that decides the asset's bytes: it enters the asset hash (source_hash).
BUILD = repr((RUNTIME_PYTHON, COMPILE_ARGS, sorted(COMPILE_ENV.items()), oct(FILE_MODE)))

PythonFinder = Callable[[], str | None]


class BundlingError(RuntimeError):
    """The code asset cannot be built; the message says what to install."""


@dataclass(frozen=True)
class AssetFile:
    """One file of the asset: where it comes from and where it goes (relative, POSIX)."""

    source: Path
    target: PurePosixPath


def package_files(package_dir: Path = PACKAGE_DIR) -> list[AssetFile]:
    """Our package's source files, under tablesafe/."""
    if not (package_dir / "__init__.py").is_file():
        raise BundlingError(f"the Lambda package is missing: {package_dir}/__init__.py")
    files = []
    for path in sorted(package_dir.rglob("*")):
        relative = PurePosixPath(package_dir.name, *path.relative_to(package_dir).parts)
        if path.is_file() and _shipped(relative) and relative not in _SKIPPED_PACKAGE_FILES:
            files.append(AssetFile(path, relative))
    return files


def distribution_files(name: str) -> list[AssetFile]:
    """The installed files of one distribution, as they sit in site-packages."""
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        raise BundlingError(
            f"{name} is not installed in {sys.executable}; the functions ship the installed copy. "
            "Run `make setup` (it installs requirements.txt) and synthesize again."
        ) from None
    files = []
    for entry in sorted(dist.files or [], key=str):
        target = PurePosixPath(*entry.parts)
        # Scripts installed outside site-packages (../../bin/...) are not importable code.
        if ".." in target.parts or not _shipped(target):
            continue
        source = Path(str(dist.locate_file(entry)))
        if source.is_file():
            files.append(AssetFile(source, target))
    if not files:
        raise BundlingError(f"{name} is installed in {sys.executable} but lists no files to ship")
    return files


def asset_files() -> list[AssetFile]:
    """Everything the code asset holds, in a stable order."""
    files = package_files()
    for name in DISTRIBUTIONS:
        files.extend(distribution_files(name))
    return files


def _shipped(path: PurePosixPath) -> bool:
    return (
        not _SKIPPED_PARTS.intersection(path.parts)
        and path.suffix not in _SKIPPED_SUFFIXES
        and path.name not in _SKIPPED_NAMES
    )


def source_hash(files: Sequence[AssetFile], build: str = BUILD) -> str:
    """The asset's hash: what it is built from, never what this machine's tools made of it.

    Each shipped file's relative path and bytes, in path order, plus `build`: the runtime and the compile mode its
    byte code is made with. Whether Python 3.13 is on this machine is not part of it: every machine gives the same
    hash for the same sources, and the asset built with byte code or without it (which runs the same) has one hash.
    Anything else LocalBundling comes to write into the asset must enter BUILD.
    """
    digest = hashlib.sha256()
    digest.update(build.encode())
    for item in sorted(files, key=lambda f: f.target.as_posix()):
        data = item.source.read_bytes()
        # Length-prefixed, so no two different file sets give the same byte stream.
        digest.update(f"\0{item.target.as_posix()}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


@jsii.implements(ILocalBundling)
class LocalBundling:
    """Copies the asset's files into CDK's output directory; Docker is never needed."""

    def __init__(self, files: list[AssetFile], find_python: PythonFinder) -> None:
        self._files = files
        self._find_python = find_python

    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        out = Path(output_dir)
        for item in self._files:
            target = out.joinpath(*item.target.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(item.source, target)
            target.chmod(FILE_MODE)
        compile_for_runtime(out, self._find_python())
        return True


def runtime_python() -> str | None:
    """A working Python 3.13 on this machine (PATH or pyenv), or None."""
    candidates = [
        shutil.which(RUNTIME_PYTHON),
        *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13"))),
    ]
    for candidate in candidates:
        probe = [candidate, "-c", "pass"] if candidate else None
        if probe and subprocess.run(probe, capture_output=True, check=False).returncode == 0:  # noqa: S603 (our PATH)
            return candidate
    return None


def compile_for_runtime(out: Path, python: str | None) -> bool:
    """Compile the asset's byte code with `python` (the runtime's), so a cold start does not compile every module.

    Lambda's code directory is read-only, so without this the runtime compiles Powertools and tablesafe at every cold
    start (measured: import 1.49x `import boto3`, against 1.15x with byte code; docs/performance.md). The pycs are
    hash-based and unchecked (the code never changes under them), compiled with a fixed hash seed and with
    /var/task as their recorded path, so the same sources always give the same asset. Without Python 3.13 here, the
    asset ships source only and works the same, with slower cold starts; synth says so.
    """
    if python is None:
        print(f"tablesafe: {RUNTIME_PYTHON} not found; the code asset ships without byte code", file=sys.stderr)
        return False
    subprocess.run(  # noqa: S603 - the runtime's own interpreter, found by the caller
        [python, "-m", *COMPILE_ARGS, str(out)],
        env={**os.environ, **COMPILE_ENV},
        check=True,
        capture_output=True,
    )
    return True


def code_asset(find_python: PythonFinder = runtime_python) -> lambda_.Code:
    """The one code asset both functions run, hashed from its sources (`source_hash`): the same on every machine.

    `find_python` finds the interpreter that compiles the byte code (None: source only); tests pass their own.
    """
    # Resolved now, in Python, so a missing distribution fails synth with our message, not inside jsii.
    files = asset_files()
    return lambda_.Code.from_asset(
        str(PACKAGE_DIR),
        # CDK mixes the bundling options into this; they hold nothing of this machine (no paths, no environment).
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=source_hash(files),
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds or raises. CDK requires an image regardless.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.13"),
            # jsii calls try_bundle(output_dir, options) with the options as one struct, unlike the stub's
            # keyword form.
            local=LocalBundling(files, find_python),  # type: ignore[arg-type]
        ),
    )
