"""Fixtures of the fault-injection suite, and the figures it prints at the end of a run."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.retries.standard import ExponentialBackoff


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's backoff between retries, a hundredth as long.

    The stand-in draws its faults per call, not per second, so how long a retry waits changes nothing but the
    duration; the retries, their number and the retry quota stay botocore's own. Tests where time matters (two runs
    racing) do not use this.
    """
    original = ExponentialBackoff.delay_amount
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: original(self, context) / 100)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the figures each test recorded with record_property("figures", ...), also from xdist workers."""
    lines = [
        f"{report.nodeid}: {json.dumps(value, sort_keys=True)}"
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        for name, value in getattr(report, "user_properties", [])
        if name == "figures"
    ]
    if lines:
        terminalreporter.section("reliability figures")
        for line in lines:
            terminalreporter.write_line(line)
