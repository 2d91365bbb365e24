"""The functions' settings: the environment the stack sets, validated once at cold start.

Each variable carries a value synth wrote from the context, and goes through the same check (values.py), so what
synth accepted the functions accept and what synth refuses they refuse, in the same words.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from tablesafe.aws.clients import rate_limits_from_env
from tablesafe.config import values
from tablesafe.config.archive import DEFAULT_ARCHIVE_PRICE
from tablesafe.config.plans import ConfigError, Plan
from tablesafe.constants import (
    DEFAULT_GLOBAL_TABLES,
    DEFAULT_STORAGE_PRICE_PER_GB_MONTH,
    ENV_ARCHIVE_PRICE,
    ENV_BACKUP_NAME_PREFIX,
    ENV_DEFAULT_PLAN,
    ENV_DRY_RUN,
    ENV_GLOBAL_TABLES,
    ENV_LEASE_TABLE,
    ENV_PLANS,
    ENV_RATE_LIMITS,
    ENV_REGIONS,
    ENV_STORAGE_PRICE,
    ENV_TAG_KEY,
    ENV_TIME_RESERVE_SECONDS,
)

TABLE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")  # DynamoDB's rule for table names
DEFAULT_TIME_RESERVE_SECONDS = 60.0
T = TypeVar("T")


class SettingsError(ValueError):
    """An environment variable is missing or wrong; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know that is not in its event."""

    tag_key: str
    plans: Mapping[str, Plan]
    backup_name_prefix: str
    dry_run: bool = False
    storage_price_per_gb_month: float = DEFAULT_STORAGE_PRICE_PER_GB_MONTH
    archive_price_per_gb_month: float = DEFAULT_ARCHIVE_PRICE  # of exports in the archive (pricePerGbMonth)
    global_tables: str = DEFAULT_GLOBAL_TABLES
    rate_limits: Mapping[str, float] = field(default_factory=dict)
    time_reserve_seconds: float = DEFAULT_TIME_RESERVE_SECONDS
    # The regions tablesafe is deployed to; None when not known (every replica region may then be a home).
    deployed_regions: tuple[str, ...] | None = None
    # The backup function's slot-lease table; the prune function has none.
    lease_table: str | None = None
    # `tablesafe:defaultPlan`: every table without the plan tag is backed up under it (opt out: tag value none).
    default_plan: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Read and validate with the checks synth made; SettingsError names the variable and says what is wrong."""
        tag_key = _checked(ENV_TAG_KEY, _required(environ, ENV_TAG_KEY), values.tag_key)
        prefix = _checked(ENV_BACKUP_NAME_PREFIX, _required(environ, ENV_BACKUP_NAME_PREFIX), values.backup_name_prefix)
        try:
            rate_limits = rate_limits_from_env(environ)
        except ValueError as error:
            raise SettingsError(f"{ENV_RATE_LIMITS}: {error}") from None
        plans = _plans(environ)
        return cls(
            tag_key=tag_key,
            plans=plans,
            backup_name_prefix=prefix,
            dry_run=_checked(ENV_DRY_RUN, environ.get(ENV_DRY_RUN, "false"), values.boolean),
            storage_price_per_gb_month=_price(environ, ENV_STORAGE_PRICE, DEFAULT_STORAGE_PRICE_PER_GB_MONTH),
            archive_price_per_gb_month=_price(environ, ENV_ARCHIVE_PRICE, DEFAULT_ARCHIVE_PRICE),
            global_tables=_checked(
                ENV_GLOBAL_TABLES, environ.get(ENV_GLOBAL_TABLES, DEFAULT_GLOBAL_TABLES), values.global_tables
            ),
            rate_limits=rate_limits,
            time_reserve_seconds=_number(environ, ENV_TIME_RESERVE_SECONDS, DEFAULT_TIME_RESERVE_SECONDS),
            deployed_regions=_regions(environ),
            lease_table=_table_name(environ, ENV_LEASE_TABLE),
            default_plan=_default_plan(environ, plans),
        )


def _table_name(environ: Mapping[str, str], name: str) -> str | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    if not TABLE_NAME_PATTERN.match(raw):
        raise SettingsError(f"{name}={raw!r}: expected a DynamoDB table name (3-255 letters, digits, '_', '-', '.')")
    return raw


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "")
    if not value.strip():
        raise SettingsError(f"environment variable {name} is missing or empty")
    return value  # as written: synth checked this very text


def _checked(name: str, raw: str, check: Callable[[str, object], T]) -> T:
    """One variable through the check synth made of the same value; its words, after the variable and its text."""
    try:
        return check(name, raw)
    except ConfigError as error:
        raise SettingsError(f"{name}={raw!r}: {error.allowed}") from None


def _plans(environ: Mapping[str, str]) -> Mapping[str, Plan]:
    raw = _required(environ, ENV_PLANS)
    try:
        decoded = json.loads(raw)
    except json.JSONDecodeError as error:
        raise SettingsError(f"{ENV_PLANS} is not JSON: {error}") from None
    try:
        return values.plans(ENV_PLANS, decoded)
    except ConfigError as error:  # names the place inside the plans: TABLESAFE_PLANS.daily[0].minKeep
        raise SettingsError(str(error)) from None


def _price(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    return _checked(name, raw, values.price)


def _regions(environ: Mapping[str, str]) -> tuple[str, ...] | None:
    raw = environ.get(ENV_REGIONS)
    if raw is None:
        return None
    expected = "expected the deployed regions, comma-separated, e.g. 'us-east-1,eu-west-1'"
    parts = [part.strip() for part in raw.split(",")]
    return _checked(ENV_REGIONS, raw, lambda name, value: values.region_names(name, value, parts, expected))


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a number") from None
    if value <= 0:
        raise SettingsError(f"{name}={raw!r}: expected a number > 0")
    return value


def _default_plan(environ: Mapping[str, str], plans: Mapping[str, Plan]) -> str | None:
    raw = environ.get(ENV_DEFAULT_PLAN)
    if raw is None:
        return None
    return _checked(ENV_DEFAULT_PLAN, raw, lambda name, value: values.default_plan(name, value, plans))
