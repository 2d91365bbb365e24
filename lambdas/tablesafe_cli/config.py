"""The CLI's configuration: the `tablesafe:*` context of a cdk.json, through the parser synth uses.

So the CLI refuses what `cdk synth` refuses (an unknown key, a bad tag key, an unknown time zone), in the same
words, and reads a value as synth would (JSON text where cdk.json holds what `-c` would give).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tablesafe import constants
from tablesafe.config.archive import Archive
from tablesafe.config.context import parse_context
from tablesafe.config.plans import ConfigError, Plan, parse_plans


class ConfigFileError(Exception):
    """The configuration file is missing, unreadable or holds a wrong value; the message names the file."""


@dataclass(frozen=True)
class CliConfig:
    """What the CLI needs from the cdk.json context; constants' defaults where a key is absent."""

    tag_key: str = constants.DEFAULT_TAG_KEY
    plans: Mapping[str, Plan] = field(default_factory=lambda: parse_plans(constants.DEFAULT_PLANS))
    prefix: str = constants.DEFAULT_BACKUP_NAME_PREFIX
    price_per_gb_month: float = constants.DEFAULT_STORAGE_PRICE_PER_GB_MONTH
    global_tables: str = constants.DEFAULT_GLOBAL_TABLES
    regions: tuple[str, ...] | None = None  # where tablesafe is deployed; None: not configured (any replica region)
    archive: Archive = field(default_factory=Archive)  # where exports go (`tablesafe:archive`)
    default_plan: str | None = None  # `tablesafe:defaultPlan`: the plan of every table without the plan tag


def load_config(path: Path, *, explicit: bool) -> CliConfig:
    """Read the context of a cdk.json; a missing default file means the defaults, a missing given file an error."""
    if not path.exists():
        if explicit:
            raise ConfigFileError(f"--config {path}: no such file")
        return _from_context(path, {})
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ConfigFileError(f"{path}: cannot read it as JSON ({error})") from None
    context = document.get("context", {}) if isinstance(document, dict) else {}
    if not isinstance(context, dict):
        raise ConfigFileError(f"{path}: 'context' must be an object")
    return _from_context(path, context)


def _from_context(path: Path, context: Mapping[str, object]) -> CliConfig:
    """The CLI's view of a validated context; regions left out stay "not configured" (synth would default them)."""
    try:
        config = parse_context(context, regions_required=False)
    except ConfigError as error:
        raise ConfigFileError(f"{path}: {error}") from None
    return CliConfig(
        tag_key=config.tag_key,
        plans=config.plans,
        prefix=config.backup_name_prefix,
        price_per_gb_month=config.storage_price_per_gb_month,
        global_tables=config.global_tables,
        regions=config.regions or None,
        archive=config.archive,
        default_plan=config.default_plan,
    )
