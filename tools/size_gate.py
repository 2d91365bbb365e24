"""The size gate of `make size-gate`: product modules and functions stay small, tests keep off gateways' privates.

    python -m tools.size_gate            # from the repository root; exit 1 listing what is over a limit

- A product module (lambdas/, infra/, app.py) over 400 lines fails, over 300 warns (STYLE.md: about 300).
- A product function over 80 lines fails, over 60 warns (ruff's PLR0915 caps its statements at 50; this caps what
  ruff does not count: docstrings, comments, long literals).
- A test that reads or patches a private attribute of a class in lambdas/tablesafe/aws/ fails: gateways receive
  their clients (STYLE.md, principle 3), so a test hands them a client instead of reaching inside.
Warnings never change the exit code.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PRODUCT = ("lambdas", "infra", "app.py")
GATEWAYS = Path("lambdas/tablesafe/aws")
TESTS = Path("tests")
# Objects a class may read its own privates through; anything else reaching `_name` is from outside.
OWN = frozenset({"self", "cls"})
# Calls that name an attribute in a string: setattr(gateway, "_dynamodb", ...), monkeypatch.setattr(...).
BY_NAME = frozenset({"setattr", "getattr", "hasattr", "delattr"})


@dataclass(frozen=True)
class Limits:
    module_fail: int = 400
    module_warn: int = 300
    function_fail: int = 80
    function_warn: int = 60


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    message: str
    fails: bool

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {'error' if self.fails else 'warning'}: {self.message}"


def python_files(root: Path, parts: tuple[str, ...] | tuple[Path, ...]) -> Iterator[Path]:
    """The .py files under each part (a folder or a file), relative to root, in name order."""
    for part in parts:
        path = root / part
        found = [path] if path.is_file() else sorted(path.rglob("*.py"))
        for file in found:
            if "__pycache__" not in file.parts:
                yield file.relative_to(root)


def size_findings(root: Path, limits: Limits) -> Iterator[Finding]:
    """Modules and functions of the product over their limits."""
    for path in python_files(root, PRODUCT):
        text = (root / path).read_text()
        lines = len(text.splitlines())
        if lines > limits.module_warn:
            message = f"module of {lines} lines (limit {limits.module_fail}, aim {limits.module_warn})"
            yield Finding(path, 1, message, lines > limits.module_fail)
        for node in ast.walk(ast.parse(text, str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                length = (node.end_lineno or node.lineno) - start + 1
                if length > limits.function_warn:
                    message = f"function {node.name} of {length} lines (limit {limits.function_fail})"
                    yield Finding(path, node.lineno, message, length > limits.function_fail)


def gateway_privates(root: Path) -> frozenset[str]:
    """The private attributes and methods of the classes in lambdas/tablesafe/aws/."""
    names: set[str] = set()
    for path in python_files(root, (GATEWAYS,)):
        for node in ast.walk(ast.parse((root / path).read_text(), str(path))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in OWN:
                names.add(node.attr)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
    return frozenset(n for n in names if n.startswith("_") and not n.startswith("__"))


def private_access_findings(root: Path) -> Iterator[Finding]:
    """Tests that read, write or patch a gateway's private attribute."""
    privates = gateway_privates(root)
    for path in python_files(root, (TESTS,)):
        for node in ast.walk(ast.parse((root / path).read_text(), str(path))):
            name = _touched(node)
            if name in privates:
                yield Finding(path, node.lineno, f"touches {name}, a gateway's private attribute", True)


def _touched(node: ast.AST) -> str | None:
    """The attribute a node reaches from outside its object: `x._a`, or setattr(x, "_a", ...) and the like."""
    if isinstance(node, ast.Attribute):
        own = isinstance(node.value, ast.Name) and node.value.id in OWN
        return None if own else node.attr
    if isinstance(node, ast.Call) and len(node.args) >= 2:
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        target = node.args[1]
        if called in BY_NAME and isinstance(target, ast.Constant) and isinstance(target.value, str):
            return target.value
    return None


def check(root: Path, limits: Limits) -> list[Finding]:
    return [*size_findings(root, limits), *private_access_findings(root)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.size_gate", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository root (default: here)")
    args = parser.parse_args(argv)
    findings = check(args.root, Limits())
    for finding in sorted(findings, key=lambda f: (not f.fails, str(f.path), f.line)):
        print(finding)
    failed = sum(f.fails for f in findings)
    print(f"size gate: {failed} over a limit, {len(findings) - failed} warnings")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
