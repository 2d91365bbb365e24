"""`tablesafe:organization`: the organizational units and regions tablesafe is deployed to, and the hub account.

    {"organizationalUnits": ["ou-ab12-11111111"], "regions": ["eu-west-1"], "hubAccount": "123456789012"}

Optional: `assetBucketPrefix` (the code asset's buckets, `<prefix>-<region>`; default `tablesafe-assets-<hub>`),
`observabilitySinks` (region -> the hub's CloudWatch OAM sink ARN, from the hub stacks' outputs), and
`delegatedAdmin` (true: deployed from a delegated administrator account; default false, the management account).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from tablesafe.config import values
from tablesafe.config.plans import ConfigError

KEYS = ("organizationalUnits", "regions", "hubAccount", "assetBucketPrefix", "observabilitySinks", "delegatedAdmin")
_OU = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")  # Organizations API reference: OrganizationalUnit Id
_ACCOUNT = re.compile(r"^\d{12}$")
# S3 bucket names: 3-63 lowercase letters, digits, '-' (and '.'); the prefix leaves room for "-<region>".
_BUCKET_PREFIX = re.compile(r"^[a-z0-9][a-z0-9-]{1,40}$")
_SINK = re.compile(r"^arn:aws[a-z-]*:oam:([a-z0-9-]+):(\d{12}):sink/[0-9a-zA-Z-]+$")
_ALLOWED = (
    'expected {"organizationalUnits": ["ou-..."], "regions": ["..."], "hubAccount": "123456789012"}, optionally '
    'with "assetBucketPrefix" and "observabilitySinks"'
)


@dataclass(frozen=True)
class OrganizationConfig:
    """Where the StackSet deploys, and the account whose topic and dashboard gather every member's alarms."""

    organizational_units: tuple[str, ...]
    regions: tuple[str, ...]
    hub_account: str
    asset_bucket_prefix: str
    observability_sinks: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    delegated_admin: bool = False


def parse_organization(key: str, value: object) -> OrganizationConfig | None:
    """None when the key is not set; ConfigError naming `key.<field>` for a wrong field."""
    if value is None:
        return None
    decoded = values.json_text(value)
    if not isinstance(decoded, Mapping):
        raise ConfigError(key, value, _ALLOWED)
    unknown = sorted(set(decoded) - set(KEYS))
    if unknown:
        raise ConfigError(
            f"{key}.{unknown[0]}", decoded[unknown[0]], f"unknown field; the fields are {', '.join(KEYS)}"
        )
    hub = decoded.get("hubAccount")
    if not isinstance(hub, str) or not _ACCOUNT.match(hub):
        raise ConfigError(f"{key}.hubAccount", hub, "expected a 12-digit AWS account id as a string")
    regions = _list(
        f"{key}.regions", decoded.get("regions"), 'expected a non-empty list of regions, e.g. ["eu-west-1"]'
    )
    prefix = decoded.get("assetBucketPrefix", f"tablesafe-assets-{hub}")
    if not isinstance(prefix, str) or not _BUCKET_PREFIX.match(prefix):
        raise ConfigError(f"{key}.assetBucketPrefix", prefix, "expected 2-41 lowercase letters, digits or '-'")
    return OrganizationConfig(
        organizational_units=_units(f"{key}.organizationalUnits", decoded.get("organizationalUnits")),
        regions=values.region_names(f"{key}.regions", regions, regions, "expected region names, none twice"),
        hub_account=hub,
        asset_bucket_prefix=prefix,
        observability_sinks=_sinks(f"{key}.observabilitySinks", decoded.get("observabilitySinks", {}), hub, regions),
        delegated_admin=values.boolean(f"{key}.delegatedAdmin", decoded.get("delegatedAdmin", False)),
    )


def _list(key: str, value: object, allowed: str) -> list[object]:
    if not isinstance(value, list) or not value:
        raise ConfigError(key, value, allowed)
    return value


def _units(key: str, value: object) -> tuple[str, ...]:
    units = _list(key, value, 'expected a non-empty list of organizational unit ids, e.g. ["ou-ab12-11111111"]')
    for unit in units:
        if not isinstance(unit, str) or not _OU.match(unit):
            raise ConfigError(key, value, f"{unit!r} is not an organizational unit id (ou-<root>-<suffix>)")
    if len(set(units)) != len(units):
        raise ConfigError(key, value, "an organizational unit is listed twice")
    return tuple(str(unit) for unit in units)


def _sinks(key: str, value: object, hub: str, regions: list[object]) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise ConfigError(key, value, "expected an object of region -> OAM sink ARN of the hub account")
    sinks: dict[str, str] = {}
    for region, arn in value.items():
        match = _SINK.match(arn) if isinstance(arn, str) else None
        if region not in regions:
            raise ConfigError(f"{key}.{region}", arn, "a sink for a region the organization is not deployed to")
        if match is None or match.group(1) != region or match.group(2) != hub:
            raise ConfigError(
                f"{key}.{region}", arn, f"expected the ARN of an OAM sink of account {hub} in region {region}"
            )
        sinks[str(region)] = arn
    return MappingProxyType(sinks)
