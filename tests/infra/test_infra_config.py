"""The tablesafe:* context: defaults, -c strings, and one clear error per kind of wrong value (no synthesis)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from aws_cdk import App, Stack
from infra_synth import cdk_json_context

from infra import build_app
from infra.config import load_config
from infra.monitoring import AlarmWindow, describe, no_success_window
from tablesafe import constants
from tablesafe.config.plans import ConfigError

pytestmark = pytest.mark.xdist_group("infra")

REGION = {"tablesafe:regions": ["eu-west-1"]}
RULE = {"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}


def config_error(context: dict[str, Any], environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        load_config(context, environ or {})
    return raised.value


def test_the_shipped_cdk_json_is_valid_and_uses_every_default() -> None:
    config = load_config(cdk_json_context(), {})

    assert config.regions == ("us-east-1",)
    assert config.tag_key == constants.DEFAULT_TAG_KEY
    assert config.backup_name_prefix == constants.DEFAULT_BACKUP_NAME_PREFIX
    assert config.prune_schedule.expression == constants.DEFAULT_PRUNE_SCHEDULE
    assert config.storage_price_per_gb_month == constants.DEFAULT_STORAGE_PRICE_PER_GB_MONTH
    assert config.global_tables == constants.DEFAULT_GLOBAL_TABLES
    assert config.dry_run is False
    assert config.alarm_email is None
    assert [r.name for r in config.plans["daily"].rules] == ["daily"]


def test_values_given_with_dash_c_arrive_as_strings_and_are_decoded() -> None:
    # `cdk synth -c key=value` passes every value as text.
    plans = {"gfs": {"rules": [RULE], "pitr": {"enabled": True}}}
    config = load_config(
        {
            "tablesafe:plans": json.dumps(plans),
            "tablesafe:regions": '["eu-west-1", "eu-central-1"]',
            "tablesafe:dryRun": "true",
            "tablesafe:storagePricePerGbMonth": "0.125",
            "tablesafe:alarmEmail": "ops@example.com",
        },
        {},
    )

    assert config.regions == ("eu-west-1", "eu-central-1")
    assert config.dry_run is True
    assert config.storage_price_per_gb_month == 0.125
    assert config.plans["gfs"].pitr is not None and config.plans["gfs"].pitr.enabled
    assert config.alarm_email == "ops@example.com"


def test_regions_may_be_given_comma_separated_with_dash_c() -> None:
    assert load_config({"tablesafe:regions": "us-east-1,eu-west-1"}, {}).regions == ("us-east-1", "eu-west-1")


def test_regions_default_to_the_cli_default_region() -> None:
    assert load_config({}, {"CDK_DEFAULT_REGION": "ap-southeast-2"}).regions == ("ap-southeast-2",)


def test_without_regions_or_a_default_region_the_error_names_the_key() -> None:
    error = config_error({})

    assert error.key == "tablesafe:regions"
    assert "configure a default AWS region" in str(error)


@pytest.mark.parametrize(
    "regions",
    [[], "", ["us-east-1", "us-east-1"], ["US-EAST-1"], ["useast1"], [42], 5, {"us-east-1": True}],
)
def test_bad_region_list(regions: object) -> None:
    assert config_error({"tablesafe:regions": regions}).key == "tablesafe:regions"


@pytest.mark.parametrize(
    "schedule", ["cron(0 3 * * * *)", "cron(0 3 * *)", "rate(0 days)", "daily", "cron(61 3 * * ? *)"]
)
def test_bad_cron_in_a_rule(schedule: str) -> None:
    error = config_error({**REGION, "tablesafe:plans": {"daily": [{**RULE, "schedule": schedule}]}})

    assert error.key == "tablesafe:plans.daily[0].schedule"
    assert error.value == schedule


def test_bad_prune_schedule() -> None:
    error = config_error({**REGION, "tablesafe:pruneSchedule": "cron(30 4 * * *)"})

    assert error.key == "tablesafe:pruneSchedule"
    assert "6 fields" in str(error)


def test_retention_of_zero_days() -> None:
    error = config_error({**REGION, "tablesafe:plans": {"daily": [{**RULE, "retentionDays": 0}]}})

    assert error.key == "tablesafe:plans.daily[0].retentionDays"


def test_missing_min_keep() -> None:
    rule = {k: v for k, v in RULE.items() if k != "minKeep"}
    error = config_error({**REGION, "tablesafe:plans": {"daily": [rule]}})

    assert error.key == "tablesafe:plans.daily[0].minKeep"
    assert "required" in str(error)


def test_duplicate_rule_names_in_a_plan() -> None:
    error = config_error({**REGION, "tablesafe:plans": {"gfs": [RULE, {**RULE, "schedule": "cron(0 4 * * ? *)"}]}})

    assert error.key == "tablesafe:plans.gfs[1].name"
    assert "unique" in str(error)


def test_plan_name_that_cannot_be_a_tag_value() -> None:
    # '#' is not allowed in an AWS tag value, so no table could opt in to this plan.
    error = config_error({**REGION, "tablesafe:plans": {"tier#1": [RULE]}})

    assert error.key == "tablesafe:plans.tier#1"


def test_unknown_timezone() -> None:
    error = config_error({**REGION, "tablesafe:plans": {"daily": [{**RULE, "timezone": "Europe/Atlantis"}]}})

    assert error.key == "tablesafe:plans.daily[0].timezone"


def test_plans_given_with_dash_c_that_are_not_json() -> None:
    assert config_error({**REGION, "tablesafe:plans": "{daily: []"}).key == "tablesafe:plans"


def test_unknown_tablesafe_key_is_an_error() -> None:
    error = config_error({**REGION, "tablesafe:colour": "blue"})

    assert error.key == "tablesafe:colour"
    assert "unknown key" in str(error)
    assert "tablesafe:plans" in error.allowed  # the list of known keys


def test_rule_setting_given_as_a_key_points_into_the_plans() -> None:
    error = config_error({**REGION, "tablesafe:retentiondays": 35})

    assert error.key == "tablesafe:retentiondays"
    assert "'retentionDays' is set per rule, inside tablesafe:plans" in str(error)


def test_misspelt_key_is_pointed_to_the_right_one() -> None:
    error = config_error({**REGION, "tablesafe:dryrun": True})

    assert "did you mean 'tablesafe:dryRun'" in str(error)


def test_other_context_keys_are_left_alone() -> None:
    config = load_config({**REGION, "@aws-cdk/core:target-partitions": ["aws"], "cli-telemetry": False}, {})

    assert config.regions == ("eu-west-1",)


@pytest.mark.parametrize("email", ["", "ops", "ops@", "@example.com", "ops@example", "two words@example.com", 7])
def test_bad_email(email: object) -> None:
    assert config_error({**REGION, "tablesafe:alarmEmail": email}).key == "tablesafe:alarmEmail"


@pytest.mark.parametrize("dry_run", ["yes", "1", 1, "", None, "maybe"])
def test_bad_dry_run(dry_run: object) -> None:
    error = config_error({**REGION, "tablesafe:dryRun": dry_run})

    assert error.key == "tablesafe:dryRun"
    assert "true or false" in str(error)


@pytest.mark.parametrize("price", [0, -0.1, "free", True, "NaN", "Infinity", None, [0.1]])
def test_bad_price(price: object) -> None:
    assert config_error({**REGION, "tablesafe:storagePricePerGbMonth": price}).key == "tablesafe:storagePricePerGbMonth"


@pytest.mark.parametrize("prefix", ["", "table.safe", "x" * 33, "table safe", 3])
def test_bad_backup_name_prefix(prefix: object) -> None:
    assert config_error({**REGION, "tablesafe:backupNamePrefix": prefix}).key == "tablesafe:backupNamePrefix"


@pytest.mark.parametrize("tag_key", ["", "aws:backup", "AWS:plan", "plan#", "x" * 129, " plan", 12])
def test_bad_tag_key(tag_key: object) -> None:
    assert config_error({**REGION, "tablesafe:tagKey": tag_key}).key == "tablesafe:tagKey"


def test_unusual_but_valid_tag_key() -> None:
    assert load_config({**REGION, "tablesafe:tagKey": "team/backup-plan:v2"}, {}).tag_key == "team/backup-plan:v2"


@pytest.mark.parametrize("mode", ["all", "", None, "every region"])
def test_bad_global_tables_mode(mode: object) -> None:
    assert config_error({**REGION, "tablesafe:globalTables": mode}).key == "tablesafe:globalTables"


def test_a_wrong_value_stops_the_app_before_any_stack_exists() -> None:
    app = App(context={**cdk_json_context(), "tablesafe:regions": ["eu-west-1", "us-east-1"], "tablesafe:dryRun": "1"})

    with pytest.raises(ConfigError):
        build_app(app, {})

    assert not [child for child in app.node.children if isinstance(child, Stack)]


@pytest.mark.parametrize(
    ("interval", "window"),
    [
        (timedelta(minutes=1), AlarmWindow(120, 1)),  # 90 s, rounded up to whole minutes
        (timedelta(minutes=30), AlarmWindow(2700, 1)),
        (timedelta(hours=1), AlarmWindow(3600, 2)),  # 90 min: past an hour, hourly periods
        (timedelta(days=1), AlarmWindow(3600, 36)),
        (timedelta(days=4), AlarmWindow(3600, 144)),
        (timedelta(days=4, hours=16), AlarmWindow(3600, 168)),  # exactly the 7 days CloudWatch allows
    ],
)
def test_no_success_window_is_one_and_a_half_intervals(interval: timedelta, window: AlarmWindow) -> None:
    found = no_success_window(interval)

    assert found == window
    assert found is not None and found.seconds >= interval.total_seconds() * 1.5
    # CloudWatch's limit: 1 day for periods under an hour, 7 days otherwise.
    assert found.seconds <= (86400 if found.period_seconds < 3600 else 7 * 86400)


@pytest.mark.parametrize("interval", [timedelta(days=4, hours=17), timedelta(days=7), timedelta(days=31)])
def test_no_success_window_beyond_what_cloudwatch_can_watch(interval: timedelta) -> None:
    assert no_success_window(interval) is None


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(days=31), "31 days"),
        (timedelta(hours=36), "36 hours"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(minutes=23), "23 minutes"),
        (timedelta(seconds=90), "90 seconds"),
    ],
)
def test_alarm_texts_give_durations_in_whole_units(duration: timedelta, text: str) -> None:
    assert describe(duration) == text


def test_a_region_no_partition_has_is_refused_with_the_closest_names_and_the_escape_hatch() -> None:
    error = config_error({"tablesafe:regions": ["us-east-9"]})

    assert error.key == "tablesafe:regions"
    assert "'us-east-9' is not a DynamoDB region" in str(error) and "'us-east-1'" in str(error)
    assert "tablesafe:allowUnknownRegions=true" in str(error)


def test_regions_of_every_partition_are_known() -> None:
    regions = ("us-east-1", "cn-north-1", "us-gov-west-1", "eu-central-2")
    assert load_config({"tablesafe:regions": list(regions)}, {}).regions == regions


def test_a_default_region_no_partition_has_is_refused_too() -> None:
    assert config_error({}, {"CDK_DEFAULT_REGION": "moon-base-1"}).key == "tablesafe:regions"


def test_allow_unknown_regions_lets_a_region_newer_than_botocore_through() -> None:
    config = load_config({"tablesafe:regions": "us-east-9", "tablesafe:allowUnknownRegions": "true"}, {})

    assert config.regions == ("us-east-9",)
    assert config_error({**REGION, "tablesafe:allowUnknownRegions": "yes"}).key == "tablesafe:allowUnknownRegions"


def test_plans_that_are_not_json_are_reported_as_a_json_error() -> None:
    error = config_error({**REGION, "tablesafe:plans": '{"daily": [}'})

    assert error.key == "tablesafe:plans"
    assert "not valid JSON: Expecting value at line 1 column 12" in str(error)
    assert "non-empty object" not in str(error)
