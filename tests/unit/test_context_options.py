"""The construct's keyword options go through the cdk.json keys' checks, and their errors name the option."""

from __future__ import annotations

import pytest

from tablesafe.config.context import APP_KEYS, KNOWN_KEYS, OPTION_KEYS, option_name, parse_context, parse_options
from tablesafe.config.plans import ConfigError


def test_every_cdk_json_key_has_its_snake_case_option() -> None:
    assert set(OPTION_KEYS.values()) == set(KNOWN_KEYS) - set(APP_KEYS)
    assert option_name("tablesafe:storagePricePerGbMonth") == "storage_price_per_gb_month"
    assert option_name("tablesafe:tagKey") == "tag_key"


def test_options_give_the_configuration_the_same_keys_give() -> None:
    options = {"tag_key": "team:backup", "dry_run": True, "backup_name_prefix": "nightly", "regions": ["eu-west-1"]}
    context = {OPTION_KEYS[name]: value for name, value in options.items()}
    assert parse_options(options) == parse_context(context)


def test_an_option_left_as_none_takes_the_keys_default() -> None:
    assert parse_options({"tag_key": None, "alarm_email": None}) == parse_context({}, regions_required=False)


def test_no_regions_is_allowed_for_the_construct_which_takes_its_stacks() -> None:
    assert parse_options({}).regions == ()


def test_an_unknown_option_names_itself_and_the_known_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"^retention_days: 7 is not allowed; unknown option; the options are tag_key"
    ):
        parse_options({"retention_days": 7})


def test_an_error_names_the_option_with_the_keys_words() -> None:
    with pytest.raises(ConfigError) as from_key:
        parse_context({"tablesafe:dryRun": "maybe"}, regions_required=False)
    with pytest.raises(ConfigError) as from_option:
        parse_options({"dry_run": "maybe"})
    assert (from_option.value.key, from_option.value.allowed) == ("dry_run", from_key.value.allowed)
