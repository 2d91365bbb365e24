"""Which plan a table is backed up under: its plan tag, or with `tablesafe:defaultPlan` the default plan.

With a default plan every table of the region is protected unless it opts out with the tag value `none`, or is one
of tablesafe's own restore-drill tables (rules/drill_tables.py: a temporary copy the drill deletes, never backed up
by default); without one, only the tagged tables are (and `none` is a tag value like any other). Pure: the tags are
a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

OPT_OUT_VALUE = "none"


@dataclass(frozen=True)
class Assignment:
    """A table's plan (None: none, opted out, or a drill table left out of the default plan) and why."""

    plan: str | None
    opted_out: bool = False
    by_default: bool = False
    drill_table: bool = False  # a drill table without the plan tag: not the default plan's


def assigned_plan(tag_value: str | None, default_plan: str | None, *, drill_table: bool = False) -> Assignment:
    """`tag_value` is None for a table without the plan tag; the plan returned may still name no configured plan.

    `drill_table`: the table passes the drill fence (rules/drill_tables.is_drill_table); its own plan tag, if it
    carries one, still decides, as for any table.
    """
    if default_plan is None:
        return Assignment(tag_value)
    if tag_value is None:
        if drill_table:
            return Assignment(None, drill_table=True)
        return Assignment(default_plan, by_default=True)
    if tag_value == OPT_OUT_VALUE:
        return Assignment(None, opted_out=True)
    return Assignment(tag_value)
