"""A plan's restore drills: the `drill` object of a plan in `tablesafe:plans`, validated once.

    {"rules": [...], "drill": {"everyDays": 7, "maxConcurrent": 2, "maxRestoreMinutes": 240,
                               "countTolerancePercent": 10, "validator": "arn:aws:lambda:...:function:check"}}

Drills are off unless a plan carries this object: a restore costs money (docs/restore.md#what-a-drill-costs).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tablesafe.config.plans import ConfigError

DRILL_KEYS = frozenset({"everyDays", "maxConcurrent", "maxRestoreMinutes", "countTolerancePercent", "validator"})
# AWS allows 50 restores in progress per account (DynamoDB service quotas); a drill never takes them all by default.
MAX_CONCURRENT_LIMIT = 50
DEFAULT_MAX_CONCURRENT = 2
DEFAULT_MAX_RESTORE_MINUTES = 240
DEFAULT_COUNT_TOLERANCE_PERCENT = 10.0
MAX_RESTORE_MINUTES_LIMIT = 7 * 24 * 60  # a week: beyond it, no alarm window could look back at the drill
# A function ARN, optionally with a version or alias (API_Invoke: FunctionName).
VALIDATOR_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?\Z"
)


@dataclass(frozen=True)
class Drill:
    """How a plan's tables are drilled: how often, how many at once, how fast and how exact."""

    every_days: int
    max_concurrent: int = DEFAULT_MAX_CONCURRENT
    max_restore_minutes: int = DEFAULT_MAX_RESTORE_MINUTES
    count_tolerance_percent: float = DEFAULT_COUNT_TOLERANCE_PERCENT
    validator: str | None = None

    @property
    def interval(self) -> timedelta:
        return timedelta(days=self.every_days)

    @property
    def max_restore(self) -> timedelta:
        return timedelta(minutes=self.max_restore_minutes)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "everyDays": self.every_days,
            "maxConcurrent": self.max_concurrent,
            "maxRestoreMinutes": self.max_restore_minutes,
            "countTolerancePercent": self.count_tolerance_percent,
        }
        if self.validator is not None:
            body["validator"] = self.validator
        return body


def parse_drill(key: str, raw: object) -> Drill:
    """The `drill` object of one plan; ConfigError names the key inside it (tablesafe:plans.daily.drill.everyDays)."""
    if not isinstance(raw, Mapping):
        raise ConfigError(key, raw, 'expected an object such as {"everyDays": 7}')
    unknown = sorted(set(raw) - DRILL_KEYS)
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}", raw[unknown[0]], f"a drill has only the keys {sorted(DRILL_KEYS)}")
    if "everyDays" not in raw:
        raise ConfigError(f"{key}.everyDays", None, "this key is required: how often each table is drilled, in days")
    validator = raw.get("validator")
    if validator is not None and (not isinstance(validator, str) or not VALIDATOR_ARN.match(validator)):
        raise ConfigError(
            f"{key}.validator",
            validator,
            "expected a Lambda function ARN, arn:aws:lambda:<region>:<account>:function:<name>",
        )
    return Drill(
        every_days=_whole(f"{key}.everyDays", raw["everyDays"], 1, 365),
        max_concurrent=_whole(
            f"{key}.maxConcurrent", raw.get("maxConcurrent", DEFAULT_MAX_CONCURRENT), 1, MAX_CONCURRENT_LIMIT
        ),
        max_restore_minutes=_whole(
            f"{key}.maxRestoreMinutes",
            raw.get("maxRestoreMinutes", DEFAULT_MAX_RESTORE_MINUTES),
            1,
            MAX_RESTORE_MINUTES_LIMIT,
        ),
        count_tolerance_percent=_percent(
            f"{key}.countTolerancePercent", raw.get("countTolerancePercent", DEFAULT_COUNT_TOLERANCE_PERCENT)
        ),
        validator=validator,
    )


def _whole(key: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(key, value, f"expected an integer from {low} to {high}")
    return value


def _percent(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise ConfigError(key, value, "expected a number from 0 to 100")
    return float(value)
