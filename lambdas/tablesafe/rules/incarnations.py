"""The tables one name has had: a table deleted and created again under its name is another table (TableId).

The prune counts minKeep per table (retention.decide); the CLI labels a backup with the table it was taken of,
where a name's backups come from more than one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tablesafe.rules.retention import BackupLike, table_identity

UNKNOWN = "unknown table"  # a backup whose answer named no TableId


@dataclass(frozen=True)
class Incarnations:
    """The tables a name's backups were taken of, oldest first, and which of them exists now."""

    labels: dict[str, str]  # table identity (TableId, "" when unknown) -> "table 1 (deleted)", ...; {} if only one
    current: str | None  # the TableId of the table that has the name now; None when none does or it is unknown

    @property
    def several(self) -> bool:
        return bool(self.labels)

    def label(self, backup: BackupLike) -> str | None:
        """The table a backup was taken of, where the name has had several; None otherwise."""
        return self.labels.get(table_identity(backup)) if self.labels else None

    def is_current(self, backup: BackupLike) -> bool:
        """Taken of the table that has the name now (True for all when that cannot be told)."""
        return not self.labels or self.current is None or backup.table_id == self.current


def incarnations(backups: Sequence[BackupLike], current: str | None, *, exists: bool) -> Incarnations:
    """Label the tables `backups` (all of one name) were taken of, given the TableId of the table now holding the
    name (`current`, None if unknown) and whether one does (`exists`)."""
    first: dict[str, datetime] = {}
    for backup in backups:
        identity = table_identity(backup)
        if identity not in first or backup.created < first[identity]:
            first[identity] = backup.created
    tables = sorted(first, key=lambda identity: (first[identity], identity))
    if current and current not in first:
        tables.append(current)  # re-created and not backed up yet: its backups of the earlier table are not its own
    if len(tables) <= 1:
        return Incarnations({}, current)
    labels: dict[str, str] = {"": UNKNOWN} if "" in tables else {}
    for number, identity in enumerate((t for t in tables if t), start=1):
        if identity == current:
            labels[identity] = f"table {number} (current)"
        elif current or not exists:
            labels[identity] = f"table {number} (deleted)"
        else:
            labels[identity] = f"table {number}"
    return Incarnations(labels, current)
