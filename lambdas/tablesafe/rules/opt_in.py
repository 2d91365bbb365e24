"""Which plan a table is backed up under: its plan tag, or with `tablesafe:defaultPlan` the default plan.

With a default plan every table of the region is protected unless it opts out with the tag value `none`; without
one, only the tagged tables are (and `none` is a tag value like any other). Pure: the tags are a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

OPT_OUT_VALUE = "none"


@dataclass(frozen=True)
class Assignment:
    """A table's plan (None: none, or opted out) and why."""

    plan: str | None
    opted_out: bool = False
    by_default: bool = False


def assigned_plan(tag_value: str | None, default_plan: str | None) -> Assignment:
    """`tag_value` is None for a table without the plan tag; the plan returned may still name no configured plan."""
    if default_plan is None:
        return Assignment(tag_value)
    if tag_value is None:
        return Assignment(default_plan, by_default=True)
    if tag_value == OPT_OUT_VALUE:
        return Assignment(None, opted_out=True)
    return Assignment(tag_value)
