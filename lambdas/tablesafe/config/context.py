"""The `tablesafe:*` context -> one frozen, validated configuration; the parser of synth and of the CLI's cdk.json.

Values come from cdk.json (JSON types) or from `cdk synth -c key=value` (always strings), so every non-string key
also accepts its JSON text: `-c tablesafe:dryRun=true`, `-c 'tablesafe:regions=["eu-west-1"]'`. Errors are
ConfigError naming the key, the bad value and what is allowed (see values.py, shared with the functions' settings).

    config = parse_context({"tablesafe:regions": ["eu-west-1"]})
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tablesafe import constants
from tablesafe.config import values
from tablesafe.config.archive import Archive
from tablesafe.config.organization import OrganizationConfig, parse_organization
from tablesafe.config.plans import RULE_KEYS, ConfigError, Plan
from tablesafe.config.schedule_expr import ScheduleExpression, parse_schedule

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
ARCHIVE = "tablesafe:archive"
# true: regions are checked only for their form, not against botocore's partition data (a region newer than it).
ALLOW_UNKNOWN_REGIONS = "tablesafe:allowUnknownRegions"
DRILL_SCHEDULE = "tablesafe:drillSchedule"
ORGANIZATION = "tablesafe:organization"
TRACING = "tablesafe:tracing"
DEFAULT_PLAN = "tablesafe:defaultPlan"
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
    ARCHIVE,
    ALLOW_UNKNOWN_REGIONS,
    DRILL_SCHEDULE,
    ORGANIZATION,
    TRACING,
    DEFAULT_PLAN,
)
# Keys of the standalone app only, not options of the construct (the organization is the app's StackSet).
APP_KEYS = (ORGANIZATION,)
_REGIONS_ALLOWED = 'expected a non-empty list of AWS region names, e.g. ["us-east-1", "eu-west-1"]'


@dataclass(frozen=True)
class TablesafeConfig:
    """Everything the stacks are built from; one instance serves every region."""

    tag_key: str
    plans: Mapping[str, Plan]
    prune_schedule: ScheduleExpression
    backup_name_prefix: str
    # One stack each. Empty only when parse_context was told the regions may be left out and they were.
    regions: tuple[str, ...]
    alarm_email: str | None
    dry_run: bool
    storage_price_per_gb_month: float
    global_tables: str
    archive: Archive = field(default_factory=Archive)  # where the exports of "target": "export" rules go
    # How often the drill function runs (only deployed when a plan has a `drill` object).
    drill_schedule: ScheduleExpression = field(default_factory=lambda: parse_schedule(constants.DEFAULT_DRILL_SCHEDULE))
    # The StackSet to an Organization's accounts (organization.py), or None for one account.
    organization: OrganizationConfig | None = None
    # X-Ray active tracing and Powertools' Tracer on both functions.
    tracing: bool = True
    # The plan of every table without the plan tag (a table opts out with the tag value `none`), or None.
    default_plan: str | None = None


def parse_context(
    context: Mapping[str, Any], *, default_region: str | None = None, regions_required: bool = True
) -> TablesafeConfig:
    """Validate the `tablesafe:*` keys (others are left alone); ConfigError names the first wrong key.

    Without `tablesafe:regions` the regions are `default_region` (the CDK CLI's default region at synth), or else
    an error, unless `regions_required` is False (the CLI reading cdk.json: then they are empty, "not configured").
    """
    _reject_unknown_keys(context)
    plans = values.plans(PLANS, context.get(PLANS, constants.DEFAULT_PLANS))
    return TablesafeConfig(
        tag_key=values.tag_key(TAG_KEY, context.get(TAG_KEY, constants.DEFAULT_TAG_KEY)),
        plans=plans,
        prune_schedule=values.schedule(PRUNE_SCHEDULE, context.get(PRUNE_SCHEDULE, constants.DEFAULT_PRUNE_SCHEDULE)),
        backup_name_prefix=values.backup_name_prefix(
            BACKUP_NAME_PREFIX, context.get(BACKUP_NAME_PREFIX, constants.DEFAULT_BACKUP_NAME_PREFIX)
        ),
        regions=_regions(
            context.get(REGIONS),
            default_region,
            required=regions_required,
            any_region=values.boolean(ALLOW_UNKNOWN_REGIONS, context.get(ALLOW_UNKNOWN_REGIONS, False)),
        ),
        alarm_email=values.email(ALARM_EMAIL, context.get(ALARM_EMAIL)),
        dry_run=values.boolean(DRY_RUN, context.get(DRY_RUN, False)),
        storage_price_per_gb_month=values.price(
            STORAGE_PRICE, context.get(STORAGE_PRICE, constants.DEFAULT_STORAGE_PRICE_PER_GB_MONTH)
        ),
        global_tables=values.global_tables(GLOBAL_TABLES, context.get(GLOBAL_TABLES, constants.DEFAULT_GLOBAL_TABLES)),
        archive=values.archive(ARCHIVE, context.get(ARCHIVE)),
        drill_schedule=values.schedule(DRILL_SCHEDULE, context.get(DRILL_SCHEDULE, constants.DEFAULT_DRILL_SCHEDULE)),
        organization=parse_organization(ORGANIZATION, context.get(ORGANIZATION)),
        tracing=values.boolean(TRACING, context.get(TRACING, True)),
        default_plan=values.default_plan(DEFAULT_PLAN, context.get(DEFAULT_PLAN), plans),
    )


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


def _regions(value: object, default_region: str | None, *, required: bool, any_region: bool) -> tuple[str, ...]:
    if value is None:
        if default_region:
            value = [default_region]
        elif required:
            raise ConfigError(
                REGIONS, None, f"{_REGIONS_ALLOWED}; set it in cdk.json or with -c, or configure a default AWS region"
            )
        else:
            return ()
    decoded = values.json_text(value)
    if isinstance(decoded, str):  # -c tablesafe:regions=us-east-1,eu-west-1
        decoded = [part.strip() for part in decoded.split(",")]
    if not isinstance(decoded, list):
        raise ConfigError(REGIONS, value, _REGIONS_ALLOWED)
    regions = values.region_names(REGIONS, value, decoded, _REGIONS_ALLOWED)
    if not any_region:
        values.known_region_names(REGIONS, value, regions, ALLOW_UNKNOWN_REGIONS)
    return regions


def option_name(key: str) -> str:
    """The keyword argument of the CDK construct for a context key: `tablesafe:tagKey` -> `tag_key`."""
    suffix = key.removeprefix(PREFIX)
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in suffix)


OPTION_KEYS = {option_name(key): key for key in KNOWN_KEYS if key not in APP_KEYS}


def parse_options(options: Mapping[str, Any], *, default_region: str | None = None) -> TablesafeConfig:
    """The CDK construct's keyword arguments, checked by the context's checks; ConfigError names the argument.

    `options` maps argument names (`tag_key`) to the values the cdk.json key takes; None means "not given" (the
    key's default). `regions` may be left out: the construct then deploys to its stack's region.
        config = parse_options({"tag_key": "team:backup", "alarm_email": "ops@example.com"})
    """
    context: dict[str, Any] = {}
    for name, value in options.items():
        if name not in OPTION_KEYS:
            raise ConfigError(name, value, f"unknown option; the options are {', '.join(OPTION_KEYS)}")
        if value is not None:
            context[OPTION_KEYS[name]] = value
    try:
        return parse_context(context, default_region=default_region, regions_required=False)
    except ConfigError as error:
        # The same check and words as the cdk.json key, naming the argument the user wrote: `plans.daily[0].minKeep`.
        key = next((k for k in KNOWN_KEYS if error.key == k or error.key.startswith(f"{k}.")), None)
        if key is None:
            raise
        raise ConfigError(option_name(key) + error.key.removeprefix(key), error.value, error.allowed) from None
