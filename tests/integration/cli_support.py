"""Running the CLI in-process from the integration tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from tablesafe_cli import main as cli


def run(
    capsys: pytest.CaptureFixture[str], *argv: str, clock: Callable[[], datetime] = cli.utc_now
) -> tuple[int, str, str]:
    """`tablesafe ARGV...` in this process, on `clock` if given: exit code, stdout, stderr."""
    code = cli.main(list(argv), clock=clock)
    captured = capsys.readouterr()
    return code, captured.out, captured.err
