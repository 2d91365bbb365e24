"""The expired listing in bounded, resumable steps: time windows over the backups created before the cutoff.

The prune walks the expired range [oldest, cutoff) window by window, oldest first. Each window [start, end) is
listed completely (ListBackups filters by time range, lower bound inclusive, upper exclusive; the order of its
results is not documented and not relied on) before anything in it is decided, and holds about TARGET_BACKUPS
backups: the width adapts to the density just seen. A listing that grows past MAX_BACKUPS is dropped (nothing of it
is decided) and tried again at an eighth of the width, so that one window never outgrows an invocation however the
backups cluster. The walk starts, and goes on after an empty window, with a look-ahead: the first two pages from the
cursor to the cutoff, which are the last window when that is all there is (a small account lists its expired
backups in one call, as before), and otherwise say where the backups resume, so the gap is jumped.

The *cursor* is the start of the next window: every backup created before it was decided by this run. It travels
in the continuation event. The next day needs none: the walk starts again at the oldest backup, and what the days
before cleared is gone, so the windows over it are cheap (they hold only what is kept) -- the resume point is
derived from what remains, so no state is stored and none can go stale or be lost.

Bounds are whole seconds (ListBackups' time bounds travel as epoch seconds): adjacent windows share a bound, so no
backup falls between two windows or into both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tablesafe.aws.dynamodb import Backup, DynamoDbGateway
from tablesafe.prune.recent import whole_second

TARGET_BACKUPS = 1000  # ten pages: a few seconds of listing, a hundred seconds of deleting at 10/s
MAX_BACKUPS = 3000  # a window holding more is dropped and listed again narrower
FIRST_WIDTH = timedelta(hours=6)
MIN_WIDTH = timedelta(seconds=1)
MAX_GROWTH = 4.0  # a window is at most this many times as wide as the one before
PROBE_BACKUPS = 200  # the look-ahead after a gap: two pages, the whole rest when that is all there is


@dataclass(frozen=True)
class Window:
    """Every backup created in [start, end) (start None: from the very first), listed completely."""

    start: datetime | None
    end: datetime
    backups: list[Backup]

    def holds(self, backup: Backup) -> bool:
        return (self.start is None or backup.created >= self.start) and backup.created < self.end


class ExpiredWindows:
    """The windows over [cursor, cutoff) of one invocation; `dropped` counts the listings dropped as too large."""

    def __init__(self, gateway: DynamoDbGateway, cutoff: datetime, cursor: datetime | None) -> None:
        self.gateway = gateway
        self.cutoff = whole_second(cutoff)
        self.cursor = cursor  # None: the run starts at the oldest backup
        self.width = FIRST_WIDTH
        self.dropped = 0
        self.listed = 0  # windows listed completely
        self._anchor: datetime | None = None  # where the next window's end is measured from
        self.started_at: datetime | None = cursor  # where this invocation's first window began (for the backlog)

    @property
    def finished(self) -> bool:
        """The cursor reached the cutoff: every expired backup was decided by this run."""
        return self.cursor is not None and self.cursor >= self.cutoff

    def next(self) -> Window | None:
        """The next window from the cursor, complete; None once the cursor reached the cutoff.

        Raises ListingIncomplete when a listing broke off (the cursor stays: nothing of that window is decided).
        """
        if self.finished:
            return None
        if self._anchor is None:
            ahead = self._look_ahead()
            if ahead is not None:
                return ahead
        while True:
            assert self._anchor is not None
            # The anchor is at or after the cursor and a window at least a second wide: every window makes progress.
            end = min(self.cutoff, whole_second(self._anchor + self.width))
            backups = self._list(self.cursor, end)
            if backups is not None:
                break
            self.dropped += 1
            self.width = max(MIN_WIDTH, self.width / 8)
        return Window(self.cursor, end, backups)

    def advance(self, window: Window) -> None:
        """The window was decided: move the cursor past it and size the next one by what this one held."""
        self.cursor = window.end
        self.listed += 1
        held = len(window.backups)
        if held:
            self.width = min(self.width * MAX_GROWTH, max(MIN_WIDTH, self.width * TARGET_BACKUPS / held))
            self._anchor = window.end
        else:
            self.width = self.width * MAX_GROWTH
            self._anchor = None if window.end < self.cutoff else window.end  # look ahead for the next backup

    def _list(self, start: datetime | None, end: datetime) -> list[Backup] | None:
        """Every backup in [start, end); None when there are more than MAX_BACKUPS and the window can still shrink."""
        can_shrink = self.width > MIN_WIDTH
        backups: list[Backup] = []
        for backup in self.gateway.iter_backups(created_from=start, created_before=end):
            backups.append(backup)
            if can_shrink and len(backups) > MAX_BACKUPS:
                # What was seen says where the backups are: the narrower window starts its measure at the oldest.
                oldest = min(b.created for b in backups)
                if self._anchor is None or oldest < self._anchor:
                    self._anchor = oldest
                return None
        return backups

    def _look_ahead(self) -> Window | None:
        """List [cursor, cutoff) up to PROBE_BACKUPS: all of it, the last window, when it holds no more; else set
        the anchor at the oldest backup seen, where the next window is measured from (its bounds include the rest)."""
        seen: list[Backup] = []
        for backup in self.gateway.iter_backups(created_from=self.cursor, created_before=self.cutoff):
            seen.append(backup)
            if len(seen) > PROBE_BACKUPS:
                self._anchor = min(b.created for b in seen)
                if self.started_at is None:
                    self.started_at = self._anchor
                return None
        if self.started_at is None and seen:
            self.started_at = min(b.created for b in seen)
        return Window(self.cursor, self.cutoff, seen)
