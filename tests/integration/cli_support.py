"""Running the CLI in-process from the integration tests."""

from __future__ import annotations

import pytest

from tablesafe_cli import main as cli


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`tablesafe ARGV...` in this process: exit code, stdout, stderr."""
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err
