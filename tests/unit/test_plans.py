"""Backup plans: the configuration parses into plans, and every mistake names its key and its bad value."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any
from zoneinfo import available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tablesafe.config.plans import PLANS_KEY, ConfigError, Pitr, Plan, parse_plans, plans_as_json
from tablesafe.constants import DEFAULT_PLANS

ZONES = available_timezones()


def known_zone(name: str) -> bool:
    """Stand-in for synth's check: the zone exists in the IANA database."""
    return name in ZONES


def rule(**overrides: Any) -> dict[str, Any]:
    """A valid rule, with some keys replaced or (value ...) removed."""
    body: dict[str, Any] = {"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def test_the_default_plan_backs_up_daily_and_keeps_35_days() -> None:
    plans = parse_plans(DEFAULT_PLANS)

    assert list(plans) == ["daily"]
    daily = plans["daily"]
    assert daily.name == "daily"
    assert daily.pitr is None
    assert [r.name for r in daily.rules] == ["daily"]
    only = daily.rules[0]
    assert only.schedule.expression == "cron(0 3 * * ? *)"
    assert only.schedule.interval == timedelta(days=1)
    assert only.retention == timedelta(days=35)
    assert only.min_keep == 3
    assert only.timezone == "UTC"
    assert daily.rule("daily") is only
    assert daily.rule("weekly") is None


def test_parsing_leaves_the_input_untouched() -> None:
    raw = copy.deepcopy(DEFAULT_PLANS)

    parse_plans(raw)

    assert raw == DEFAULT_PLANS


def test_a_plan_object_carries_rules_and_pitr() -> None:
    raw = {
        "critical": {
            "rules": [rule(name="hourly", schedule="rate(1 hour)", retentionDays=2, minKeep=24, timezone="UTC")],
            "pitr": {"enabled": True, "recoveryPeriodDays": 7},
        },
        "archive": {"rules": [rule(name="monthly", schedule="cron(0 4 1 * ? *)", retentionDays=365)]},
    }

    plans = parse_plans(raw, check_timezone=known_zone)

    assert plans["critical"].pitr == Pitr(enabled=True, recovery_period_days=7)
    assert plans["critical"].rules[0].schedule.interval == timedelta(hours=1)
    assert plans["archive"].pitr is None
    assert plans["archive"].rules[0].retention_days == 365


def test_pitr_keeps_35_days_unless_told_otherwise() -> None:
    plans = parse_plans({"p": {"rules": [rule()], "pitr": {"enabled": False}}})

    assert plans["p"].pitr == Pitr(enabled=False, recovery_period_days=35)


def test_a_rule_in_a_named_time_zone_is_accepted_when_the_zone_exists() -> None:
    plans = parse_plans({"p": [rule(timezone="Europe/Paris")]}, check_timezone=known_zone)

    assert plans["p"].rules[0].timezone == "Europe/Paris"


@pytest.mark.parametrize("name", ["a", "A-b_9", "x" * 64])
def test_plan_and_rule_names_of_letters_digits_dash_and_underscore_up_to_64_characters_are_accepted(name: str) -> None:
    plans = parse_plans({name: [rule(name=name)]})

    assert plans[name].rules[0].name == name


CASES = [
    # (what, raw plans, key named by the error, bad value named by the error, a phrase of the explanation)
    ("plans not an object", [rule()], PLANS_KEY, [rule()], "non-empty object"),
    ("no plans", {}, PLANS_KEY, {}, "non-empty object"),
    ("empty rule list", {"daily": []}, f"{PLANS_KEY}.daily", [], "non-empty list"),
    ("rules not a list", {"daily": "cron(0 3 * * ? *)"}, f"{PLANS_KEY}.daily", "cron(0 3 * * ? *)", "list"),
    ("rule not an object", {"daily": ["daily"]}, f"{PLANS_KEY}.daily[0]", "daily", "expected an object"),
    ("plan name with a space", {"my plan": [rule()]}, f"{PLANS_KEY}.my plan", "my plan", "plan name"),
    ("plan name with a dot", {"my.plan": [rule()]}, f"{PLANS_KEY}.my.plan", "my.plan", "plan name"),
    ("plan name too long", {"p" * 65: [rule()]}, f"{PLANS_KEY}.{'p' * 65}", "p" * 65, "1-64"),
    ("empty plan name", {"": [rule()]}, f"{PLANS_KEY}.", "", "plan name"),
    ("plan name ending in a newline", {"daily\n": [rule()]}, f"{PLANS_KEY}.daily\n", "daily\n", "plan name"),
    ("rule name with a dot", {"p": [rule(name="dai.ly")]}, f"{PLANS_KEY}.p[0].name", "dai.ly", "rule name"),
    ("rule name too long", {"p": [rule(name="r" * 65)]}, f"{PLANS_KEY}.p[0].name", "r" * 65, "rule name"),
    ("rule name not a string", {"p": [rule(name=7)]}, f"{PLANS_KEY}.p[0].name", 7, "rule name"),
    ("rule name ending in a newline", {"p": [rule(name="d\n")]}, f"{PLANS_KEY}.p[0].name", "d\n", "rule name"),
    (
        "duplicate rule names",
        {"p": [rule(), rule(schedule="cron(0 15 * * ? *)")]},
        f"{PLANS_KEY}.p[1].name",
        "daily",
        "unique",
    ),
    ("unknown rule key", {"p": [rule(retention=35)]}, f"{PLANS_KEY}.p[0].retention", 35, "only the keys"),
    ("missing minKeep", {"p": [rule(minKeep=...)]}, f"{PLANS_KEY}.p[0].minKeep", None, "required"),
    ("missing schedule", {"p": [rule(schedule=...)]}, f"{PLANS_KEY}.p[0].schedule", None, "required"),
    ("missing name", {"p": [rule(name=...)]}, f"{PLANS_KEY}.p[0].name", None, "required"),
    (
        "cron with five fields",
        {"p": [rule(schedule="cron(0 3 * * *)")]},
        f"{PLANS_KEY}.p[0].schedule",
        "cron(0 3 * * *)",
        "6 fields",
    ),
    (
        "cron hour out of range",
        {"p": [rule(schedule="cron(0 24 * * ? *)")]},
        f"{PLANS_KEY}.p[0].schedule",
        "cron(0 24 * * ? *)",
        "hours",
    ),
    ("schedule not a string", {"p": [rule(schedule=3)]}, f"{PLANS_KEY}.p[0].schedule", 3, "cron(...) or rate(...)"),
    ("retention 0", {"p": [rule(retentionDays=0)]}, f"{PLANS_KEY}.p[0].retentionDays", 0, ">= 1"),
    ("retention negative", {"p": [rule(retentionDays=-1)]}, f"{PLANS_KEY}.p[0].retentionDays", -1, ">= 1"),
    ("retention as text", {"p": [rule(retentionDays="35")]}, f"{PLANS_KEY}.p[0].retentionDays", "35", "integer"),
    ("retention fractional", {"p": [rule(retentionDays=1.5)]}, f"{PLANS_KEY}.p[0].retentionDays", 1.5, "integer"),
    ("retention a bool", {"p": [rule(retentionDays=True)]}, f"{PLANS_KEY}.p[0].retentionDays", True, "integer"),
    ("minKeep a bool", {"p": [rule(minKeep=True)]}, f"{PLANS_KEY}.p[0].minKeep", True, "integer"),
    ("minKeep 0", {"p": [rule(minKeep=0)]}, f"{PLANS_KEY}.p[0].minKeep", 0, ">= 1"),
    ("empty timezone", {"p": [rule(timezone="")]}, f"{PLANS_KEY}.p[0].timezone", "", "IANA"),
    ("timezone not a string", {"p": [rule(timezone=1)]}, f"{PLANS_KEY}.p[0].timezone", 1, "IANA"),
    ("unknown plan object key", {"p": {"rules": [rule()], "pitR": {}}}, f"{PLANS_KEY}.p.pitR", {}, "only"),
    ("plan object without rules", {"p": {"pitr": {"enabled": True}}}, f"{PLANS_KEY}.p.rules", None, "list of rules"),
    ("plan object with no rules", {"p": {"rules": []}}, f"{PLANS_KEY}.p.rules", [], "list of rules"),
    (
        "rule error inside a plan object",
        {"p": {"rules": [rule(minKeep=0)]}},
        f"{PLANS_KEY}.p.rules[0].minKeep",
        0,
        ">= 1",
    ),
    ("pitr not an object", {"p": {"rules": [rule()], "pitr": True}}, f"{PLANS_KEY}.p.pitr", True, "enabled"),
    (
        "pitr enabled as text",
        {"p": {"rules": [rule()], "pitr": {"enabled": "true"}}},
        f"{PLANS_KEY}.p.pitr",
        {"enabled": "true"},
        "enabled",
    ),
    (
        "pitr recovery period 0",
        {"p": {"rules": [rule()], "pitr": {"enabled": True, "recoveryPeriodDays": 0}}},
        f"{PLANS_KEY}.p.pitr.recoveryPeriodDays",
        0,
        "1 to 35",
    ),
    (
        "pitr recovery period 36",
        {"p": {"rules": [rule()], "pitr": {"enabled": True, "recoveryPeriodDays": 36}}},
        f"{PLANS_KEY}.p.pitr.recoveryPeriodDays",
        36,
        "1 to 35",
    ),
    (
        "pitr recovery period a bool",
        {"p": {"rules": [rule()], "pitr": {"enabled": True, "recoveryPeriodDays": True}}},
        f"{PLANS_KEY}.p.pitr.recoveryPeriodDays",
        True,
        "1 to 35",
    ),
    (
        "unknown pitr key",
        {"p": {"rules": [rule()], "pitr": {"enabled": True, "days": 7}}},
        f"{PLANS_KEY}.p.pitr.days",
        7,
        "only the keys",
    ),
]


@pytest.mark.parametrize(("raw", "key", "value", "phrase"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_value_is_reported_with_its_key_path_and_the_value(
    raw: object, key: str, value: object, phrase: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_plans(raw, check_timezone=known_zone)

    error = caught.value
    assert error.key == key
    assert error.value == value
    assert type(error.value) is type(value)
    message = str(error)
    assert message.startswith(f"{key}: {value!r} ")
    assert phrase in message


def test_an_unknown_time_zone_is_reported_when_synth_can_check_it() -> None:
    raw = {"p": [rule(timezone="Mars/Olympus_Mons")]}

    with pytest.raises(ConfigError) as caught:
        parse_plans(raw, check_timezone=known_zone)

    assert caught.value.key == f"{PLANS_KEY}.p[0].timezone"
    assert caught.value.value == "Mars/Olympus_Mons"
    assert "'Mars/Olympus_Mons'" in str(caught.value)
    assert "IANA time zone" in str(caught.value)


def test_without_a_time_zone_check_any_zone_name_is_taken_as_written() -> None:
    # The functions run without a zone database check; synth already checked the value.
    plans = parse_plans({"p": [rule(timezone="Mars/Olympus_Mons")]})

    assert plans["p"].rules[0].timezone == "Mars/Olympus_Mons"


def test_the_error_names_the_key_it_was_given() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_plans({"p": [rule(minKeep=0)]}, key="TABLESAFE_PLANS")

    assert caught.value.key == "TABLESAFE_PLANS.p[0].minKeep"
    assert str(caught.value).startswith("TABLESAFE_PLANS.p[0].minKeep: 0 ")


def test_a_schedule_error_keeps_the_explanation_of_what_is_wrong() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_plans({"p": [rule(schedule="cron(0 3 30 2 ? *)")]})

    assert "never runs" in str(caught.value)


FULL = {
    "critical": {
        "rules": [
            rule(name="hourly", schedule="rate(1 hour)", retentionDays=2, minKeep=24),
            rule(name="daily", schedule="cron(15 3 * * ? *)", retentionDays=35, minKeep=7, timezone="Europe/Paris"),
        ],
        "pitr": {"enabled": True, "recoveryPeriodDays": 14},
    },
    "daily": [rule()],
    "archive": [rule(name="monthly", schedule="cron(0 4 L * ? *)", retentionDays=400, minKeep=12)],
}


def test_the_canonical_json_parses_back_to_the_same_plans() -> None:
    plans = parse_plans(FULL, check_timezone=known_zone)

    as_json = plans_as_json(plans)
    # The stack hands this to the functions through an environment variable, as JSON text.
    reparsed = parse_plans(json.loads(json.dumps(as_json)), check_timezone=known_zone)

    assert reparsed == plans
    assert plans_as_json(reparsed) == as_json
    assert list(as_json) == ["archive", "critical", "daily"]  # sorted: the same plans give the same template
    assert as_json["daily"] == {"rules": [{**rule(), "timezone": "UTC"}]}


names = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
schedules = st.sampled_from(
    [
        "cron(0 3 * * ? *)",
        "cron(0/15 * * * ? *)",
        "cron(0 2 ? * SUN *)",
        "rate(1 day)",
        "rate(6 hours)",
        "rate(5 minutes)",
    ]
)
raw_rules = st.fixed_dictionaries(
    {
        "schedule": schedules,
        "retentionDays": st.integers(1, 3650),
        "minKeep": st.integers(1, 100),
    },
    optional={"timezone": st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"])},
)
raw_plans = st.dictionaries(
    names,
    st.lists(st.tuples(names, raw_rules), min_size=1, max_size=3, unique_by=lambda pair: pair[0]).map(
        lambda pairs: [{"name": n, **body} for n, body in pairs]
    ),
    min_size=1,
    max_size=3,
).flatmap(
    lambda plans: st.fixed_dictionaries(
        {
            name: st.one_of(
                st.just(rules),
                st.builds(
                    lambda pitr, rules=rules: {"rules": rules, **({"pitr": pitr} if pitr is not None else {})},
                    st.none()
                    | st.fixed_dictionaries({"enabled": st.booleans(), "recoveryPeriodDays": st.integers(1, 35)}),
                ),
            )
            for name, rules in plans.items()
        }
    )
)


@settings(max_examples=60, deadline=None)
@given(raw=raw_plans)
def test_any_valid_plans_survive_the_trip_through_canonical_json(raw: dict[str, Any]) -> None:
    plans = parse_plans(raw, check_timezone=known_zone)

    reparsed = parse_plans(json.loads(json.dumps(plans_as_json(plans))), check_timezone=known_zone)

    assert reparsed == plans
    assert set(plans) == set(raw)
    for name, plan in plans.items():
        assert isinstance(plan, Plan)
        assert [r.name for r in plan.rules] == [
            r["name"] for r in (raw[name] if isinstance(raw[name], list) else raw[name]["rules"])
        ]
