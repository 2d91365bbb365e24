"""The `drill` object of a plan and `tablesafe:drillSchedule`: defaults, round trip, and errors naming the key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tablesafe.config.context import parse_context
from tablesafe.config.drill import Drill
from tablesafe.config.plans import ConfigError, parse_plans, plans_as_json

RULES = [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}]
VALIDATOR = "arn:aws:lambda:eu-west-1:123456789012:function:check-orders"


def plan_with(drill: Any) -> dict[str, Any]:
    return {"daily": {"rules": RULES, "drill": drill}}


def test_a_plan_without_a_drill_object_is_not_drilled() -> None:
    assert parse_plans({"daily": RULES})["daily"].drill is None
    assert parse_plans({"daily": {"rules": RULES}})["daily"].drill is None


def test_a_drill_takes_its_defaults_and_round_trips_through_the_functions_json() -> None:
    drill = parse_plans(plan_with({"everyDays": 7}))["daily"].drill
    assert drill == Drill(every_days=7, max_concurrent=2, max_restore_minutes=240, count_tolerance_percent=10.0)
    assert drill.interval == timedelta(days=7) and drill.max_restore == timedelta(hours=4)
    full = {
        "everyDays": 1,
        "maxConcurrent": 50,
        "maxRestoreMinutes": 30,
        "countTolerancePercent": 0,
        "validator": VALIDATOR,
    }
    plans = parse_plans(plan_with(full))
    assert parse_plans(plans_as_json(plans)) == plans
    assert plans["daily"].drill is not None and plans["daily"].drill.validator == VALIDATOR


@pytest.mark.parametrize(
    ("drill", "key", "allowed"),
    [
        ({}, "everyDays", "required"),
        ({"everyDays": 0}, "everyDays", "from 1 to 365"),
        ({"everyDays": "7"}, "everyDays", "integer"),
        ({"everyDays": True}, "everyDays", "integer"),
        ({"everyDays": 7, "maxConcurrent": 0}, "maxConcurrent", "from 1 to 50"),
        ({"everyDays": 7, "maxConcurrent": 51}, "maxConcurrent", "from 1 to 50"),
        ({"everyDays": 7, "maxRestoreMinutes": 0}, "maxRestoreMinutes", "integer"),
        ({"everyDays": 7, "countTolerancePercent": -1}, "countTolerancePercent", "from 0 to 100"),
        ({"everyDays": 7, "countTolerancePercent": 101}, "countTolerancePercent", "from 0 to 100"),
        ({"everyDays": 7, "validator": "check-orders"}, "validator", "Lambda function ARN"),
        ({"everyDays": 7, "validator": VALIDATOR + "\n"}, "validator", "Lambda function ARN"),
        ({"everyDays": 7, "every": 3}, "every", "only the keys"),
    ],
)
def test_a_bad_drill_value_names_its_key(drill: dict[str, Any], key: str, allowed: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_plans(plan_with(drill))
    assert error.value.key == f"tablesafe:plans.daily.drill.{key}"
    assert allowed in str(error.value)


def test_a_drill_that_is_not_an_object_names_the_drill_key() -> None:
    with pytest.raises(ConfigError) as error:
        parse_plans(plan_with(7))
    assert error.value.key == "tablesafe:plans.daily.drill"


def test_the_drill_schedule_defaults_to_every_15_minutes_and_is_checked() -> None:
    base = {"tablesafe:regions": ["eu-west-1"]}
    assert parse_context(base).drill_schedule.expression == "rate(15 minutes)"
    assert parse_context({**base, "tablesafe:drillSchedule": "rate(1 hour)"}).drill_schedule.interval == timedelta(
        hours=1
    )
    with pytest.raises(ConfigError) as error:
        parse_context({**base, "tablesafe:drillSchedule": "every 15 minutes"})
    assert error.value.key == "tablesafe:drillSchedule"


def test_a_misspelt_drill_schedule_key_is_caught() -> None:
    with pytest.raises(ConfigError) as error:
        parse_context({"tablesafe:regions": ["eu-west-1"], "tablesafe:drillschedule": "rate(1 hour)"})
    assert "tablesafe:drillSchedule" in str(error.value)
