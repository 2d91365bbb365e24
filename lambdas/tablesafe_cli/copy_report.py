"""What copy-items is asked to copy and what it did: the selection, per-item failures, the report and its progress."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tablesafe.aws.tables import (
    Item,
)
from tablesafe_cli.item_keys import plain_item


class Mode(StrEnum):
    """What copy-items does with an item that exists in the live table."""

    SKIP_EXISTING = "skip-existing"
    OVERWRITE = "overwrite"


class Action(StrEnum):
    """What a dry run says would happen to one item."""

    COPY = "copy"  # absent from the live table
    SKIP = "skip"  # present, and skip-existing keeps it
    OVERWRITE = "overwrite"  # present and different, and overwrite replaces it
    UNCHANGED = "unchanged"  # present and identical: overwriting changes nothing


@dataclass(frozen=True)
class Selection:
    """Which items of the restored table to copy: keys, or a Scan filter, or a Query."""

    keys: tuple[Item, ...] = ()
    filter_expression: str | None = None
    key_condition: str | None = None
    names: Mapping[str, str] | None = None
    values: Mapping[str, Any] | None = None
    segments: int = 8


@dataclass(frozen=True)
class FailedItem:
    """An item that could not be written, with why."""

    key: Item
    reason: str


@dataclass
class CopyReport:
    """What copy-items did (or, in a dry run, would do)."""

    source: str
    target: str
    mode: Mode
    dry_run: bool
    read: int = 0
    copied: int = 0
    skipped: int = 0
    failed: list[FailedItem] = field(default_factory=list)
    not_found: list[Item] = field(default_factory=list)  # requested keys absent from the restored table
    planned: list[tuple[Action, Item]] = field(default_factory=list)  # dry run: what would happen, per key
    duplicates: int = 0  # keys given more than once (as DynamoDB compares keys): each item is copied once
    stopped: str = ""  # why the copy stopped part-way ("" when it went through)
    not_attempted: list[Item] = field(default_factory=list)  # keys the copy never got to, when it stopped
    seconds: float = 0.0

    @property
    def items_per_second(self) -> float:
        """Items handled (written, skipped, failed; in a dry run, checked) per second of the whole run."""
        handled = len(self.planned) if self.dry_run else self.copied + self.skipped + len(self.failed)
        return handled / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {a.value: 0 for a in Action}
        for action, _ in self.planned:
            counts[action.value] += 1
        body: dict[str, Any] = {
            "from": self.source,
            "to": self.target,
            "mode": self.mode.value,
            "dryRun": self.dry_run,
            "read": self.read,
            "copied": self.copied,
            "skipped": self.skipped,
            "failed": [{"key": plain_item(f.key), "reason": f.reason} for f in self.failed],
            "notFound": [plain_item(k) for k in self.not_found],
            "duplicateKeys": self.duplicates,
            "complete": not self.stopped,
            "stopped": self.stopped or None,
            "notAttempted": [plain_item(k) for k in self.not_attempted],
            "seconds": round(self.seconds, 3),
            "itemsPerSecond": round(self.items_per_second, 1),
        }
        if self.dry_run:
            body["wouldDo"] = counts
            body["planned"] = [{"action": a.value, "key": plain_item(k)} for a, k in self.planned]
        return body


@dataclass
class CopyProgress:
    """Counts so far, handed to the progress callback."""

    read: int = 0
    done: int = 0
    total: int | None = None


class CopyStopped(Exception):
    """Reading (or a dry run's look-up) stopped part-way; `keys`: items read that were never handled."""

    def __init__(self, reason: str, keys: Sequence[Item] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.keys = list(keys)
