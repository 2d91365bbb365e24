"""The checks of every configuration value, shared by synth, the functions' environment and the CLI.

Each takes the key the user knows the value by (`tablesafe:tagKey` in the context, `TABLESAFE_TAG_KEY` in the
environment) and raises ConfigError naming it, the value and what is allowed, so a value refused in one place is
refused everywhere with the same words. Pure: no boto3, no CDK; zoneinfo only when a zone other than UTC is named.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping, Sequence
from functools import cache
from types import MappingProxyType

from tablesafe.config.archive import Archive, parse_archive
from tablesafe.config.plans import ConfigError, Plan, parse_plans
from tablesafe.config.schedule_expr import ScheduleExpression, parse_schedule
from tablesafe.rules.home_region import REGION_PATTERN
from tablesafe.rules.naming import PREFIX_PATTERN
from tablesafe.rules.opt_in import OPT_OUT_VALUE

GLOBAL_TABLE_MODES = ("home-region", "every-region")
UTC_ZONE = "UTC"  # in every time zone database, and what Scheduler assumes: no need to look it up

# AWS tag keys: 1-128 Unicode letters, digits, white space and _ . : / = + - @; the `aws:` prefix is reserved.
_TAG_KEY_SYMBOLS = frozenset("_.:/=+-@")
_TAG_KEY_MAX = 128
_TAG_KEY_ALLOWED = (
    f"a tag key is 1-{_TAG_KEY_MAX} letters, digits, spaces and _ . : / = + - @, and does not start with 'aws:'"
)
_PREFIX_ALLOWED = "a backup name prefix is 1-32 letters, digits, '_' or '-' (no dot: it separates the name's parts)"
# Deliberately loose: SNS sends the confirmation; this only catches a value that cannot be an address.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def json_object_text(key: str, value: object) -> object:
    """As json_text, for a key whose value is a JSON object or array: text that is not JSON is an error saying so."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            allowed = f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno} (char {error.pos})"
            raise ConfigError(key, value, allowed) from None
    return value


def json_text(value: object) -> object:
    """A value given as text (`cdk -c`, the environment): decoded when it is JSON, else left for the check to reject."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


@cache
def _zones() -> frozenset[str]:
    # Imported here: zoneinfo pulls in sysconfig, a cold-start cost the functions pay only for a zone other than UTC.
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


def timezone_exists(name: str) -> bool:
    """True for an IANA zone name this machine's time zone database knows (what Scheduler accepts)."""
    return name == UTC_ZONE or name in _zones()


def plans(key: str, value: object) -> Mapping[str, Plan]:
    """The plans (an object, or its JSON text), every rule's time zone included."""
    return MappingProxyType(parse_plans(json_object_text(key, value), key=key, check_timezone=timezone_exists))


def _string(key: str, value: object, allowed: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(key, value, allowed)
    return value


def tag_key(key: str, value: object) -> str:
    """The tag that opts a table in: a valid AWS tag key outside the reserved `aws:` prefix."""
    text = _string(key, value, _TAG_KEY_ALLOWED)
    valid = all(c.isalnum() or c.isspace() or c in _TAG_KEY_SYMBOLS for c in text)
    if not valid or len(text) > _TAG_KEY_MAX or text.lower().startswith("aws:") or text != text.strip():
        raise ConfigError(key, value, _TAG_KEY_ALLOWED)
    return text


def schedule(key: str, value: object) -> ScheduleExpression:
    """A Scheduler cron(...) or rate(...) expression."""
    text = _string(key, value, "expected a cron(...) or rate(...) expression, e.g. 'cron(30 4 * * ? *)'")
    try:
        return parse_schedule(text)
    except ValueError as error:
        raise ConfigError(key, value, str(error)) from None


def backup_name_prefix(key: str, value: object) -> str:
    """The first part of every backup name tablesafe makes (and the only names it deletes)."""
    prefix = _string(key, value, _PREFIX_ALLOWED)
    if not PREFIX_PATTERN.match(prefix):
        raise ConfigError(key, value, _PREFIX_ALLOWED)
    return prefix


def region_names(key: str, value: object, names: Sequence[object], allowed: str) -> tuple[str, ...]:
    """`names` decoded from `value` (the text or list as given, for the message): region names, none twice."""
    if not names:
        raise ConfigError(key, value, allowed)
    regions: list[str] = []
    for name in names:
        if not isinstance(name, str) or not REGION_PATTERN.match(name):
            raise ConfigError(key, value, f"{name!r} is not a region name; {allowed}")
        regions.append(name)
    duplicates = sorted({r for r in regions if regions.count(r) > 1})
    if duplicates:
        raise ConfigError(key, value, f"{duplicates[0]!r} is listed twice; each region gets one stack")
    return tuple(regions)


@cache
def known_regions() -> frozenset[str]:
    """The DynamoDB regions of every partition in the endpoint data of the installed botocore."""
    import botocore.session  # data only (endpoints.json), no AWS call; loaded only by the checks that need it

    session = botocore.session.get_session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("dynamodb", partition_name=partition)
    )


def known_region_names(key: str, value: object, regions: Sequence[str], escape_key: str) -> None:
    """Every one of `regions` is a region botocore knows, or ConfigError naming the first that is not."""
    known = known_regions()
    for region in regions:
        if region not in known:
            close = difflib.get_close_matches(region, sorted(known), n=3)
            hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
            raise ConfigError(
                key,
                value,
                f"{region!r} is not a DynamoDB region of any AWS partition this botocore knows; {hint}"
                f"for a region newer than botocore, set {escape_key}=true",
            )


def email(key: str, value: object) -> str | None:
    """The alarm topic's subscriber, or None for none."""
    if value is None:
        return None
    allowed = "expected one e-mail address such as 'ops@example.com', or leave the key out"
    address = _string(key, value, allowed)
    if not _EMAIL.match(address):
        raise ConfigError(key, value, allowed)
    return address


def boolean(key: str, value: object) -> bool:
    """true or false, as JSON or as text in any case."""
    decoded = value.strip().lower() if isinstance(value, str) else value
    if decoded in ("true", "false"):
        return decoded == "true"
    if isinstance(decoded, bool):
        return decoded
    raise ConfigError(key, value, "expected true or false")


def price(key: str, value: object) -> float:
    """USD per GB-month of backup storage: a finite number > 0, or its text."""
    allowed = "expected a number of USD per GB-month greater than 0, e.g. 0.10"
    decoded = json_text(value)
    if isinstance(decoded, bool) or not isinstance(decoded, int | float):
        raise ConfigError(key, value, allowed)
    number = float(decoded)
    if not math.isfinite(number) or number <= 0:
        raise ConfigError(key, value, allowed)
    return number


def global_tables(key: str, value: object) -> str:
    """How global tables are backed up: in their home region or in every region."""
    if value not in GLOBAL_TABLE_MODES:
        raise ConfigError(key, value, f"expected one of {', '.join(repr(m) for m in GLOBAL_TABLE_MODES)}")
    return str(value)


def archive(key: str, value: object) -> Archive:
    """Where exports go and how the archive bucket keeps them (an object, or its JSON text)."""
    return parse_archive(key, json_text(value))


def default_plan(key: str, value: object, configured: Mapping[str, Plan]) -> str | None:
    """The plan of every table without the plan tag (None: such tables are not backed up); a configured plan."""
    if value is None:
        return None
    names = ", ".join(repr(name) for name in sorted(configured))
    name = _string(key, value, f"expected the name of a configured plan ({names}), or leave the key out")
    if name not in configured:
        raise ConfigError(key, value, f"names no configured plan; the plans are {names}")
    if OPT_OUT_VALUE in configured:
        raise ConfigError(
            key, value, f"a plan named {OPT_OUT_VALUE!r} cannot be told from the opt-out tag value; rename that plan"
        )
    return name
