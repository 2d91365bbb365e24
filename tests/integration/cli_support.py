"""Running the CLI in-process from the integration tests."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from datetime import datetime

import pytest
from rich.console import Console

from tablesafe_cli import main as cli


def run(
    capsys: pytest.CaptureFixture[str], *argv: str, clock: Callable[[], datetime] = cli.utc_now
) -> tuple[int, str, str]:
    """`tablesafe ARGV...` in this process, on `clock` if given: exit code, stdout, stderr."""
    code = cli.main(list(argv), clock=clock)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_at(width: int, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`tablesafe ARGV...` printing to a terminal-like console `width` columns wide: exit code, stdout, stderr."""
    screen = io.StringIO()
    code = cli.main(list(argv), out=Console(file=screen, width=width, color_system=None, legacy_windows=False))
    captured = capsys.readouterr()
    return code, screen.getvalue() + captured.out, captured.err


def cut_identifiers(text: str, identifiers: Iterable[str]) -> list[str]:
    """The identifiers (table names, backup names, ARNs) that no line of `text` holds whole: not wrapped, not cut,
    and not merely the start of a longer name."""
    lines = text.splitlines()
    return [
        name
        for name in identifiers
        if not any(re.search(rf"(?<![\w.:/-]){re.escape(name)}(?![\w.:/-])", line) for line in lines)
    ]
