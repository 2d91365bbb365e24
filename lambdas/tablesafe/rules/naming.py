"""Backup names: what a scheduled or manual backup is called, and how a name is read back.

A scheduled backup is named ``{prefix}.{plan}.{rule}.{slot}``, the slot being the scheduled time to the minute in
UTC (``20261127T0300Z``). Prefix, plan and rule names hold no dot, so the name splits back unambiguously. The table
is not part of the name: DynamoDB keeps it with the backup (TableName), and leaving it out keeps every name far below
DynamoDB's 255-character limit whatever the table is called.

A manual backup taken with the CLI is ``{prefix}.manual.{time to the second}``: three parts, so it never reads as a
scheduled backup and the prune function never deletes it.

The name is what makes a backup tablesafe's: a USER backup named by the scheduled scheme with our prefix is one of
its rule's backups and is pruned by it, whoever took it (by hand too); a backup under any other name never is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

SLOT_FORMAT = "%Y%m%dT%H%MZ"
MANUAL_FORMAT = "%Y%m%dT%H%M%SZ"
# \Z, not $: `$` also matches before a trailing newline, and `[0-9]`, not \d, which takes any Unicode digit.
PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}\Z")
_PART = r"[A-Za-z0-9_-]{1,64}"
_SCHEDULED = re.compile(
    rf"^(?P<prefix>{_PART})\.(?P<plan>{_PART})\.(?P<rule>{_PART})\.(?P<slot>[0-9]{{8}}T[0-9]{{4}}Z)\Z"
)
_MANUAL = re.compile(rf"^(?P<prefix>{_PART})\.manual\.(?P<time>[0-9]{{8}}T[0-9]{{6}}Z)\Z")
MIN_NAME_LENGTH = 3
MAX_NAME_LENGTH = 255


@dataclass(frozen=True)
class ScheduledName:
    """What a scheduled backup's name says."""

    prefix: str
    plan: str
    rule: str
    slot: datetime


def to_slot(moment: datetime) -> datetime:
    """The slot a scheduled time falls in: the minute, in UTC."""
    if moment.tzinfo is None:
        raise ValueError(f"scheduled time {moment.isoformat()} has no time zone")
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def scheduled_name(prefix: str, plan: str, rule: str, slot: datetime) -> str:
    """The name of the backup a rule takes in a slot."""
    name = f"{prefix}.{plan}.{rule}.{_stamp(to_slot(slot), seconds=False)}"
    if not PREFIX_PATTERN.match(prefix) or not _SCHEDULED.match(name):
        raise ValueError(f"cannot name a backup from prefix={prefix!r}, plan={plan!r}, rule={rule!r}")
    return name


def manual_name(prefix: str, moment: datetime) -> str:
    """The name of an on-demand backup that belongs to no rule (never pruned)."""
    if not PREFIX_PATTERN.match(prefix):
        raise ValueError(f"backup name prefix {prefix!r} must be 1-32 letters, digits, '_' or '-'")
    if moment.tzinfo is None:
        # astimezone() would silently take a naive time as the machine's local time.
        raise ValueError(f"backup time {moment.isoformat()} has no time zone")
    return f"{prefix}.manual.{_stamp(moment.astimezone(UTC), seconds=True)}"


def _stamp(moment: datetime, *, seconds: bool) -> str:
    """SLOT_FORMAT or MANUAL_FORMAT, always zero-padded (strftime's %Y is not below year 1000 on Linux)."""
    m = moment
    stamp = f"{m.year:04d}{m.month:02d}{m.day:02d}T{m.hour:02d}{m.minute:02d}"
    return f"{stamp}{m.second:02d}Z" if seconds else f"{stamp}Z"


def parse_scheduled(name: str, prefix: str) -> ScheduledName | None:
    """Read a scheduled backup's name; None when it is not one of ours (other prefix, manual, foreign)."""
    match = _SCHEDULED.match(name)
    if match is None or match["prefix"] != prefix:
        return None
    try:
        slot = datetime.strptime(match["slot"], SLOT_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
    return ScheduledName(prefix=prefix, plan=match["plan"], rule=match["rule"], slot=slot)


def is_manual(name: str, prefix: str) -> bool:
    """True for an on-demand backup the CLI took without a rule."""
    match = _MANUAL.match(name)
    return match is not None and match["prefix"] == prefix
