"""Drill tables: their names, the tags that carry a drill's state, and the fence that guards their deletion.

A drill table is named `{prefix}-drill-{source}-{hash}`, the hash of (source table, backup ARN), so the name is the
same in every invocation that starts the drill of that backup: the second RestoreTableFromBackup meets the first's
table (TableAlreadyExistsException) and no drill runs twice. DynamoDB allows 3-255 characters of [a-zA-Z0-9_.-];
table names and our prefix use only those, so only the length needs care: a long source name is cut, and the hash
keeps cut names apart.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime

# The fence is rules/drill_tables.py's, shared with the backup run and `status`; importable here as before.
from tablesafe.rules.drill_tables import DRILL_INFIX as DRILL_INFIX
from tablesafe.rules.drill_tables import TAG_DRILL as TAG_DRILL
from tablesafe.rules.drill_tables import drill_prefix as drill_prefix
from tablesafe.rules.drill_tables import is_drill_table

MAX_TABLE_NAME = 255  # API_CreateTable: TableName, 3-255 characters
HASH_LENGTH = 12

# Tags on a drill table besides TAG_DRILL (the fence's): the drill's state, so any invocation can take it up.
TAG_BACKUP = "tablesafe:drill-backup"  # the backup's id (the ARN's last part; the full ARN is the RestoreSummary's)
TAG_PLAN = "tablesafe:drill-plan"
TAG_STARTED = "tablesafe:drill-started"  # ISO 8601, UTC: when RestoreTableFromBackup was sent
TAG_PHASE = "tablesafe:drill-phase"  # restoring | verifying | cleaning-up
TAG_ACTIVE = "tablesafe:drill-active"  # when a run first saw the table ACTIVE: the restore's end, at the latest
TAG_EXPECTED = "tablesafe:drill-expected-items"  # the backup's recorded ItemCount, kept in case the backup goes
TAG_VERDICT = "tablesafe:drill-verdict"  # passed | failed | abandoned, set when the drill ends
TAG_REASON = "tablesafe:drill-reason"
TAG_VALUE_MAX = 256  # AWS: a tag value is at most 256 characters
# ... of Unicode letters, digits, white space and _ . : / = + - @ (Tagging for DynamoDB, "Tagging restrictions").
_NOT_IN_TAG_VALUE = re.compile(r"[^\w\s.:/=+\-@]")


def drill_table_name(prefix: str, source: str, backup_arn: str) -> str:
    """The drill table of (source table, backup): the same name in every invocation, 255 characters at most."""
    digest = hashlib.sha256(f"{source}\n{backup_arn}".encode()).hexdigest()[:HASH_LENGTH]
    head = drill_prefix(prefix)
    room = MAX_TABLE_NAME - len(head) - 1 - HASH_LENGTH
    return f"{head}{source[:room]}-{digest}"


def is_ours(name: str, tags: Mapping[str, str], prefix: str) -> bool:
    """The deletion fence: the name has the drill prefix AND the table carries the drill tag. Both, always."""
    return is_drill_table(name, tags, prefix)


def backup_id(backup_arn: str) -> str:
    """The backup's id: arn:...:table/<table>/backup/<id> -> <id>."""
    return backup_arn.rpartition("/backup/")[2] or backup_arn[-TAG_VALUE_MAX:]


def stamp(moment: datetime) -> str:
    """A time as a tag value."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_stamp(text: str | None) -> datetime | None:
    """A tag value written by `stamp`; None when missing or not a time."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def tag_value(text: str) -> str:
    """Text as a tag value holds it: other characters as spaces, cut to 256."""
    clean = _NOT_IN_TAG_VALUE.sub(" ", text)
    return clean if len(clean) <= TAG_VALUE_MAX else clean[: TAG_VALUE_MAX - 3] + "..."
