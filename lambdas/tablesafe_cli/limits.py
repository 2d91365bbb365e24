"""The bounds of the CLI's numeric options, checked by argparse so that a bad value is one line and exit 2 at once.

The ceilings are what the CLI can use sanely, not what AWS allows: copy-items starts one thread per Scan segment and
per writer, and the table gateway keeps 64 connections (aws/tables.py), so more than 64 of either only waits its
turn; a backup or restore wait longer than the ceiling is better left to `tablesafe backups` or the console later.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

MAX_SEGMENTS = 64  # copy-items --segments: parallel Scan segments, a thread each
MAX_WORKERS = 64  # copy-items --workers: parallel writers, as many as the table gateway's connections
MAX_BACKUP_WAIT = 24 * 3600.0  # backup --timeout, seconds: an on-demand backup is usually AVAILABLE within minutes
MAX_RESTORE_WAIT = 7 * 24 * 3600.0  # restore --timeout, seconds: a restore of a large table can take many hours
MAX_POLL = 300.0  # restore --poll, seconds between DescribeTable calls


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high}, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {value}")
        return value

    return parse


def seconds(high: float) -> Callable[[str], float]:
    """An argparse type: a number of seconds above 0 and at most `high`."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
        if not math.isfinite(value) or not 0 < value <= high:
            raise argparse.ArgumentTypeError(f"must be more than 0 and at most {high:g} seconds, got {text}")
        return value

    return parse
