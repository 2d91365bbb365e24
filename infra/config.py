"""The `tablesafe:*` CDK context -> one frozen, validated configuration; errors name the key and the bad value.

Values come from cdk.json (JSON types) or from `cdk synth -c key=value` (always strings), so every non-string key
also accepts its JSON text: `-c tablesafe:dryRun=true`, `-c 'tablesafe:regions=["eu-west-1"]'`.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

from tablesafe import constants
from tablesafe.config.plans import RULE_KEYS, ConfigError, Plan, parse_plans
from tablesafe.config.schedule_expr import ScheduleExpression, parse_schedule
from tablesafe.rules.home_region import REGION_PATTERN
from tablesafe.rules.naming import PREFIX_PATTERN

PREFIX = "tablesafe:"
TAG_KEY = "tablesafe:tagKey"
PLANS = "tablesafe:plans"
PRUNE_SCHEDULE = "tablesafe:pruneSchedule"
BACKUP_NAME_PREFIX = "tablesafe:backupNamePrefix"
REGIONS = "tablesafe:regions"
ALARM_EMAIL = "tablesafe:alarmEmail"
DRY_RUN = "tablesafe:dryRun"
STORAGE_PRICE = "tablesafe:storagePricePerGbMonth"
GLOBAL_TABLES = "tablesafe:globalTables"
KNOWN_KEYS = (
    TAG_KEY,
    PLANS,
    PRUNE_SCHEDULE,
    BACKUP_NAME_PREFIX,
    REGIONS,
    ALARM_EMAIL,
    DRY_RUN,
    STORAGE_PRICE,
    GLOBAL_TABLES,
)
GLOBAL_TABLE_MODES = ("home-region", "every-region")

# AWS tag keys: 1-128 Unicode letters, digits, white space and _ . : / = + - @; the `aws:` prefix is reserved.
_TAG_KEY_SYMBOLS = frozenset("_.:/=+-@")
_TAG_KEY_MAX = 128
# Deliberately loose: SNS sends the confirmation; this only catches a value that cannot be an address.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


@dataclass(frozen=True)
class TablesafeConfig:
    """Everything the stacks are built from; one instance serves every region."""

    tag_key: str
    plans: Mapping[str, Plan]
    prune_schedule: ScheduleExpression
    backup_name_prefix: str
    regions: tuple[str, ...]
    alarm_email: str | None
    dry_run: bool
    storage_price_per_gb_month: float
    global_tables: str


def load_config(context: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> TablesafeConfig:
    """Validate the CDK context; ConfigError names the first wrong key.

    Example: ``load_config(app.node.get_all_context())``.
    """
    _reject_unknown_keys(context)
    return TablesafeConfig(
        tag_key=_tag_key(context.get(TAG_KEY, constants.DEFAULT_TAG_KEY)),
        plans=_plans(context.get(PLANS, constants.DEFAULT_PLANS)),
        prune_schedule=_schedule(PRUNE_SCHEDULE, context.get(PRUNE_SCHEDULE, constants.DEFAULT_PRUNE_SCHEDULE)),
        backup_name_prefix=_prefix(context.get(BACKUP_NAME_PREFIX, constants.DEFAULT_BACKUP_NAME_PREFIX)),
        regions=_regions(context.get(REGIONS), environ.get("CDK_DEFAULT_REGION")),
        alarm_email=_email(context.get(ALARM_EMAIL)),
        dry_run=_bool(DRY_RUN, context.get(DRY_RUN, False)),
        storage_price_per_gb_month=_price(context.get(STORAGE_PRICE, constants.DEFAULT_STORAGE_PRICE_PER_GB_MONTH)),
        global_tables=_global_tables(context.get(GLOBAL_TABLES, constants.DEFAULT_GLOBAL_TABLES)),
    )


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def timezone_exists(name: str) -> bool:
    """True for an IANA zone name this machine's time zone database knows (what Scheduler accepts)."""
    return name in _zones()


def _reject_unknown_keys(context: Mapping[str, Any]) -> None:
    # A typo such as `tablesafe:retentiondays` would otherwise be ignored and the default silently used.
    known = {key.removeprefix(PREFIX).lower(): key for key in KNOWN_KEYS}
    rule_keys = {key.lower(): key for key in RULE_KEYS}
    for key in sorted(context):
        if not key.startswith(PREFIX) or key in KNOWN_KEYS:
            continue
        suffix = key.removeprefix(PREFIX).lower()
        close = difflib.get_close_matches(suffix, list(known), n=1, cutoff=0.75)
        if suffix in rule_keys:
            hint = f"{rule_keys[suffix]!r} is set per rule, inside {PLANS}; "
        elif close:
            hint = f"did you mean {known[close[0]]!r}? "
        else:
            hint = ""
        raise ConfigError(key, context[key], f"unknown key; {hint}the known keys are {', '.join(KNOWN_KEYS)}")


def _json(key: str, value: object) -> object:
    """A `-c` value arrives as text: decode it when it is JSON, else leave it for the type check to reject."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _plans(value: object) -> Mapping[str, Plan]:
    return MappingProxyType(parse_plans(_json(PLANS, value), key=PLANS, check_timezone=timezone_exists))


def _string(key: str, value: object, allowed: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(key, value, allowed)
    return value


def _tag_key(value: object) -> str:
    allowed = (
        f"a tag key is 1-{_TAG_KEY_MAX} letters, digits, spaces and _ . : / = + - @, and does not start with 'aws:'"
    )
    key = _string(TAG_KEY, value, allowed)
    valid = all(c.isalnum() or c.isspace() or c in _TAG_KEY_SYMBOLS for c in key)
    if not valid or len(key) > _TAG_KEY_MAX or key.lower().startswith("aws:") or key != key.strip():
        raise ConfigError(TAG_KEY, value, allowed)
    return key


def _schedule(key: str, value: object) -> ScheduleExpression:
    text = _string(key, value, "expected a cron(...) or rate(...) expression, e.g. 'cron(30 4 * * ? *)'")
    try:
        return parse_schedule(text)
    except ValueError as error:
        raise ConfigError(key, value, str(error)) from None


def _prefix(value: object) -> str:
    allowed = "a backup name prefix is 1-32 letters, digits, '_' or '-' (no dot: it separates the name's parts)"
    prefix = _string(BACKUP_NAME_PREFIX, value, allowed)
    if not PREFIX_PATTERN.match(prefix):
        raise ConfigError(BACKUP_NAME_PREFIX, value, allowed)
    return prefix


def _regions(value: object, default_region: str | None) -> tuple[str, ...]:
    allowed = 'expected a non-empty list of AWS region names, e.g. ["us-east-1", "eu-west-1"]'
    if value is None:
        if not default_region:
            raise ConfigError(
                REGIONS, None, f"{allowed}; set it in cdk.json or with -c, or configure a default AWS region"
            )
        value = [default_region]
    decoded = _json(REGIONS, value)
    if isinstance(decoded, str):  # -c tablesafe:regions=us-east-1,eu-west-1
        decoded = [part.strip() for part in decoded.split(",")]
    if not isinstance(decoded, list) or not decoded:
        raise ConfigError(REGIONS, value, allowed)
    for region in decoded:
        if not isinstance(region, str) or not REGION_PATTERN.match(region):
            raise ConfigError(REGIONS, region, f"not a region name; {allowed}")
    duplicates = sorted({r for r in decoded if decoded.count(r) > 1})
    if duplicates:
        raise ConfigError(REGIONS, value, f"{duplicates[0]!r} is listed twice; each region gets one stack")
    return tuple(decoded)


def _email(value: object) -> str | None:
    if value is None:
        return None
    allowed = "expected one e-mail address such as 'ops@example.com', or leave the key out"
    email = _string(ALARM_EMAIL, value, allowed)
    if not _EMAIL.match(email):
        raise ConfigError(ALARM_EMAIL, value, allowed)
    return email


def _bool(key: str, value: object) -> bool:
    decoded = value.strip().lower() if isinstance(value, str) else value
    if decoded in ("true", "false"):
        return decoded == "true"
    if isinstance(decoded, bool):
        return decoded
    raise ConfigError(key, value, "expected true or false")


def _price(value: object) -> float:
    allowed = "expected a number of USD per GB-month greater than 0, e.g. 0.10"
    decoded = _json(STORAGE_PRICE, value)
    if isinstance(decoded, bool) or not isinstance(decoded, int | float):
        raise ConfigError(STORAGE_PRICE, value, allowed)
    price = float(decoded)
    if not math.isfinite(price) or price <= 0:
        raise ConfigError(STORAGE_PRICE, value, allowed)
    return price


def _global_tables(value: object) -> str:
    allowed = f"expected one of {', '.join(repr(m) for m in GLOBAL_TABLE_MODES)}"
    if value not in GLOBAL_TABLE_MODES:
        raise ConfigError(GLOBAL_TABLES, value, allowed)
    return str(value)
