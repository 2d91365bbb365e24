"""tablesafe:defaultPlan: which plan a table is backed up under, and how it opts out."""

from __future__ import annotations

import json

import pytest

from tablesafe.aws.dynamodb import TaggedTable
from tablesafe.backup.discovery import drill_tables, select_tables
from tablesafe.config import values
from tablesafe.config.context import parse_context
from tablesafe.config.plans import ConfigError
from tablesafe.config.settings import Settings, SettingsError
from tablesafe.rules.drill_tables import TAG_DRILL
from tablesafe.rules.opt_in import Assignment, assigned_plan

PLANS = {"daily": [{"name": "daily", "schedule": "rate(1 day)", "retentionDays": 7, "minKeep": 1}]}


def test_without_a_default_plan_only_the_tag_decides_and_none_is_a_value_like_any_other() -> None:
    assert assigned_plan(None, None) == Assignment(None)
    assert assigned_plan("daily", None) == Assignment("daily")
    assert assigned_plan("none", None) == Assignment("none")


def test_with_a_default_plan_an_untagged_table_takes_it_and_none_opts_out() -> None:
    assert assigned_plan(None, "daily") == Assignment("daily", by_default=True)
    assert assigned_plan("none", "daily") == Assignment(None, opted_out=True)
    assert assigned_plan("weekly", "daily") == Assignment("weekly")  # its own tag wins, known plan or not
    assert assigned_plan("None", "daily") == Assignment("None")  # compared exactly, as every tag value


def test_a_drill_table_without_the_plan_tag_is_left_out_of_the_default_plan_but_its_own_tag_still_decides() -> None:
    assert assigned_plan(None, "daily", drill_table=True) == Assignment(None, drill_table=True)
    assert assigned_plan("daily", "daily", drill_table=True) == Assignment("daily")
    assert assigned_plan("none", "daily", drill_table=True) == Assignment(None, opted_out=True)
    assert assigned_plan(None, None, drill_table=True) == Assignment(None)  # no default plan: untagged is no plan's


def table(name: str, tags: dict[str, str]) -> TaggedTable:
    arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{name}"
    return TaggedTable(name, arn, tags.get("backup-plan", ""), tags, tagged="backup-plan" in tags)


def test_the_default_plan_leaves_out_only_tables_behind_the_drill_fence_name_prefix_and_drill_tag() -> None:
    drill = table("tablesafe-drill-orders-0123456789ab", {TAG_DRILL: "orders"})
    lookalike = table("tablesafe-drill-mine", {"team": "shop"})  # named like one, without our tag: a user's
    tag_only = table("copied", {TAG_DRILL: "orders"})  # our tag, not our name: a user's
    other_prefix = table("other-drill-orders-0123456789ab", {TAG_DRILL: "orders"})  # another deployment's prefix
    tagged_drill = table("tablesafe-drill-carts-0123456789ab", {TAG_DRILL: "carts", "backup-plan": "daily"})
    tables = [drill, lookalike, tag_only, other_prefix, tagged_drill]

    mine, unknown = select_tables(tables, "daily", {"daily": object()}, "daily", prefix="tablesafe")

    assert [t.name for t in mine] == [lookalike.name, "copied", other_prefix.name, tagged_drill.name]
    assert unknown == []
    assert drill_tables(tables, "daily", "tablesafe") == [drill.name]
    assert drill_tables(tables, None, "tablesafe") == []  # without a default plan no untagged table is a candidate


def test_the_default_plan_must_be_a_configured_plan() -> None:
    assert (
        parse_context({"tablesafe:plans": PLANS, "tablesafe:defaultPlan": "daily"}, regions_required=False).default_plan
        == "daily"
    )
    with pytest.raises(ConfigError, match=r"^tablesafe:defaultPlan: 'weekly' is not allowed; names no configured plan"):
        parse_context({"tablesafe:plans": PLANS, "tablesafe:defaultPlan": "weekly"}, regions_required=False)


def test_a_plan_named_none_cannot_sit_beside_a_default_plan() -> None:
    plans = {**PLANS, "none": PLANS["daily"]}
    with pytest.raises(ConfigError, match="cannot be told from the opt-out"):
        values.default_plan("tablesafe:defaultPlan", "daily", values.plans("p", plans))


def test_the_functions_read_the_default_plan_with_the_same_check() -> None:
    env = {
        "TABLESAFE_TAG_KEY": "backup-plan",
        "TABLESAFE_PLANS": json.dumps(PLANS),
        "TABLESAFE_BACKUP_NAME_PREFIX": "tablesafe",
    }
    assert Settings.from_env(env).default_plan is None
    assert Settings.from_env({**env, "TABLESAFE_DEFAULT_PLAN": "daily"}).default_plan == "daily"
    with pytest.raises(SettingsError, match="TABLESAFE_DEFAULT_PLAN"):
        Settings.from_env({**env, "TABLESAFE_DEFAULT_PLAN": "hourly"})
