"""`pip install <repository>` gives a working CLI: everything `tablesafe` imports comes from a declared dependency."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"tablesafe", "tablesafe_cli"}
# Imported here but not needed: the interpreter's own (__mp_main__, setuptools' _distutils_hack .pth and the
# __editable__ finder of `pip install -e .`), and certifi,
# which botocore.httpsession imports only if it is there (it falls back to its own CA bundle).
NOT_NEEDED = {"__mp_main__", "_distutils_hack", "certifi"}


def _name(requirement: str) -> tuple[str, set[str]]:
    """`aws-lambda-powertools[tracer]>=3.37,<4` -> ("aws-lambda-powertools", {"tracer"})."""
    match = re.match(r"\s*([A-Za-z0-9_.-]+)\s*(?:\[([^\]]*)\])?", requirement)
    assert match, requirement
    extras = {e.strip() for e in (match.group(2) or "").split(",") if e.strip()}
    return match.group(1).lower().replace("_", "-"), extras


def _closure(requirements: list[str]) -> set[str]:
    """The distributions those requirements install, with their own run-time requirements (markers for extras
    honoured; other markers taken as true on this machine)."""
    seen: set[str] = set()
    todo = [_name(r) for r in requirements]
    while todo:
        name, extras = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for requirement in metadata.requires(name) or []:
            spec, _, marker = requirement.partition(";")
            wanted = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
            if wanted and wanted.group(1) not in extras:
                continue
            if marker.strip() and not wanted and not _marker_holds(marker):
                continue
            todo.append(_name(spec))
    return seen


def _marker_holds(marker: str) -> bool:
    from packaging.markers import Marker  # pip's vendored copy is not importable; packaging comes with setuptools

    return Marker(marker).evaluate()


def test_every_module_the_cli_imports_comes_from_a_declared_dependency() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    installed = _closure(declared)
    code = (
        "import sys, json; import tablesafe_cli.main, tablesafe_cli.parser; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    imported = set(json.loads(run.stdout)) - FIRST_PARTY - set(sys.stdlib_module_names) - {"__main__"} - NOT_NEEDED
    imported = {m for m in imported if not m.startswith("__editable__")}
    owners = metadata.packages_distributions()
    missing = {
        module: owners.get(module, ["?"])
        for module in imported
        if not any(d.lower().replace("_", "-") in installed for d in owners.get(module, []))
    }

    assert missing == {}, f"imported by the CLI but not installed by pyproject's dependencies: {missing}"
