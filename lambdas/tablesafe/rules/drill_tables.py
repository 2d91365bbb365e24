"""What makes a table one of tablesafe's restore-drill tables: the fence every part of tablesafe tells one by.

A drill table is a temporary restore that the drill function makes and deletes. It is ours only when its name has
the drill prefix AND it carries the drill tag: a name or a tag alone proves nothing (a user may name a table like
one, or copy tags). The drill deletes only such tables (drill/names.py), the backup run leaves them out of
`tablesafe:defaultPlan` (backup/discovery.py), and `status` reports them as drill copies: one test for all three.
Pure: the tags are a parameter.
"""

from __future__ import annotations

from collections.abc import Mapping

DRILL_INFIX = "-drill-"
# Marks a drill table as tablesafe's (its value: the source table); with the name prefix, what the fence checks.
TAG_DRILL = "tablesafe:drill"


def drill_prefix(prefix: str) -> str:
    """What every drill table's name starts with (IAM's DeleteTable resource is `table/{this}*`)."""
    return f"{prefix}{DRILL_INFIX}"


def is_drill_table(name: str, tags: Mapping[str, str], prefix: str) -> bool:
    """The fence: the name has the drill prefix AND the table carries the drill tag. Both, always."""
    return name.startswith(drill_prefix(prefix)) and bool(tags.get(TAG_DRILL))
