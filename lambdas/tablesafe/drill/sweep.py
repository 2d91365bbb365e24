"""Drill tables left behind, and restored tables the drill may take up: the rules, pure.

Every invocation advances every drill table it finds, so a crashed invocation's drill is taken up by the next one.
What the sweep adds: a drill still unfinished `maxRestoreMinutes` plus a margin after its start, and not counting
(an invocation that always dies while verifying) ends as failed and its table is deleted; and a table whose
restore was sent but whose tags were never written (an invocation that died in between, or TagResource refused
while the table was CREATING) is recognised by its deterministic name and tagged, so that it can be cleaned up.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from tablesafe.aws.drill_records import CountProgress
from tablesafe.aws.drills import DrillTable
from tablesafe.config.plans import Plan
from tablesafe.drill import names

SWEEP_MARGIN = timedelta(hours=1)  # beyond maxRestoreMinutes: time to verify and clean up
DEFAULT_MAX_RESTORE = timedelta(minutes=240)  # for a drill table whose plan is gone or no longer drilled


def max_restore(plans: Mapping[str, Plan], plan: str | None) -> timedelta:
    """The plan's maxRestoreMinutes, or the default when the plan is gone or not drilled any more."""
    found = plans.get(plan or "")
    return found.drill.max_restore if found is not None and found.drill is not None else DEFAULT_MAX_RESTORE


def left_behind(started: datetime, now: datetime, limit: timedelta) -> bool:
    """True when a drill has run past its restore limit plus the margin, whatever its phase."""
    return now - started > limit + SWEEP_MARGIN


def counting(progress: CountProgress | None, now: datetime) -> bool:
    """A count that saved progress within the margin is going on, however long the drill has taken: not left behind.
    (A large table's count may take many invocations; one that dies before it saves makes no progress.)"""
    return progress is not None and now - progress.saved_at <= SWEEP_MARGIN


def adoption_tags(table: DrillTable, prefix: str, plan_of: Mapping[str, str]) -> dict[str, str] | None:
    """The tags an untagged table gets when it is this drill's own restore, else None (and it is left alone).

    Ours means: a restore made it (RestoreSummary), and its name is exactly the drill name of the backup and source
    table that restore names. A user's table, even one named like a drill table, has another name or no summary.
    """
    if not table.source_backup_arn or not table.source_table_arn:
        return None
    source = table.source_table_arn.partition(":table/")[2]
    if not source or names.drill_table_name(prefix, source, table.source_backup_arn) != table.name:
        return None
    return {
        names.TAG_DRILL: source,
        names.TAG_BACKUP: names.backup_id(table.source_backup_arn),
        names.TAG_PLAN: plan_of.get(source, ""),
        names.TAG_STARTED: names.stamp(table.created),
        names.TAG_PHASE: "restoring",
    }
