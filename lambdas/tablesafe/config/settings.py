"""The functions' settings: the environment the stack sets, validated once at cold start."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from tablesafe.aws.dynamodb import DynamoDbGateway, rate_limits_from_env
from tablesafe.aws.lease_table import LeaseTable
from tablesafe.config.plans import ConfigError, Plan, parse_plans
from tablesafe.constants import (
    ENV_BACKUP_NAME_PREFIX,
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
from tablesafe.rules.home_region import REGION_PATTERN
from tablesafe.rules.naming import PREFIX_PATTERN
from tablesafe.slots.lease import SlotLeases

GLOBAL_TABLE_MODES = ("home-region", "every-region")
TABLE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")  # DynamoDB's rule for table names
DEFAULT_TIME_RESERVE_SECONDS = 60.0


class SettingsError(ValueError):
    """An environment variable is missing or wrong; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know that is not in its event."""

    tag_key: str
    plans: Mapping[str, Plan]
    backup_name_prefix: str
    dry_run: bool = False
    storage_price_per_gb_month: float = 0.10
    global_tables: str = "home-region"
    rate_limits: Mapping[str, float] = field(default_factory=dict)
    time_reserve_seconds: float = DEFAULT_TIME_RESERVE_SECONDS
    # The regions tablesafe is deployed to; None when not known (every replica region may then be a home).
    deployed_regions: tuple[str, ...] | None = None
    # The backup function's slot-lease table; the prune function has none.
    lease_table: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Read and validate; SettingsError names the variable and says what is wrong."""
        tag_key = _required(environ, ENV_TAG_KEY)
        prefix = _required(environ, ENV_BACKUP_NAME_PREFIX)
        if not PREFIX_PATTERN.match(prefix):
            raise SettingsError(f"{ENV_BACKUP_NAME_PREFIX}={prefix!r}: expected 1-32 letters, digits, '_' or '-'")
        raw_plans = _required(environ, ENV_PLANS)
        try:
            plans = parse_plans(json.loads(raw_plans), key=ENV_PLANS)
        except json.JSONDecodeError as error:
            raise SettingsError(f"{ENV_PLANS} is not JSON: {error}") from None
        except ConfigError as error:
            raise SettingsError(str(error)) from None
        dry_run_raw = environ.get(ENV_DRY_RUN, "false").strip().lower()
        if dry_run_raw not in ("true", "false"):
            raise SettingsError(f"{ENV_DRY_RUN}={dry_run_raw!r}: expected 'true' or 'false'")
        price = _number(environ, ENV_STORAGE_PRICE, 0.10)
        global_tables = environ.get(ENV_GLOBAL_TABLES, "home-region")
        if global_tables not in GLOBAL_TABLE_MODES:
            raise SettingsError(f"{ENV_GLOBAL_TABLES}={global_tables!r}: expected one of {GLOBAL_TABLE_MODES}")
        try:
            rate_limits = rate_limits_from_env(environ)
        except ValueError as error:
            raise SettingsError(f"{ENV_RATE_LIMITS}: {error}") from None
        return cls(
            tag_key=tag_key,
            plans=plans,
            backup_name_prefix=prefix,
            dry_run=dry_run_raw == "true",
            storage_price_per_gb_month=price,
            global_tables=global_tables,
            rate_limits=rate_limits,
            time_reserve_seconds=_number(environ, ENV_TIME_RESERVE_SECONDS, DEFAULT_TIME_RESERVE_SECONDS),
            deployed_regions=_regions(environ),
            lease_table=_table_name(environ, ENV_LEASE_TABLE),
        )


@cache
def cold_start() -> tuple[Settings, DynamoDbGateway]:
    """Settings and gateway, built once per Lambda execution environment; a bad variable fails the first call."""
    settings = Settings.from_env()
    return settings, DynamoDbGateway(rate_limits=settings.rate_limits)


@cache
def backup_leases() -> SlotLeases:
    """The backup function's slot leases, built once per execution environment; the table must be configured."""
    settings, gateway = cold_start()
    if settings.lease_table is None:
        raise SettingsError(
            f"environment variable {ENV_LEASE_TABLE} is missing or empty: the backup function keeps its slot leases "
            "in that table (the stack sets it)"
        )
    # The gateway's session: its loaded service model makes this client about 60 ms cheaper at cold start.
    return SlotLeases(LeaseTable(settings.lease_table, session=gateway.session))


def _table_name(environ: Mapping[str, str], name: str) -> str | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    if not TABLE_NAME_PATTERN.match(raw):
        raise SettingsError(f"{name}={raw!r}: expected a DynamoDB table name (3-255 letters, digits, '_', '-', '.')")
    return raw


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise SettingsError(f"environment variable {name} is missing or empty")
    return value


def _regions(environ: Mapping[str, str]) -> tuple[str, ...] | None:
    raw = environ.get(ENV_REGIONS)
    if raw is None:
        return None
    regions = tuple(part.strip() for part in raw.split(","))
    expected = "expected the deployed regions, comma-separated, e.g. 'us-east-1,eu-west-1'"
    for region in regions:
        if not REGION_PATTERN.match(region):
            raise SettingsError(f"{ENV_REGIONS}={raw!r}: {region!r} is not a region name; {expected}")
    return regions


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
