"""The prune's listing of recent backups: only as much as minKeep needs, whatever order AWS lists them in.

A table with a backup past its rule's retention (a *candidate*) can only have it deleted once the prune knows that
at least minKeep newer AVAILABLE slots of the same (table, plan, rule) exist, the table being the physical table the
candidate was taken of (its TableId): a newer table of the same name does not count. Every backup created since the
cutoff (now minus the shortest retention) is newer than every candidate, so once minKeep such slots have been seen
for each (table, plan, rule) with a candidate, nothing still unlisted can change the decision: the table name is
*released* with what was seen, all its tables at once.

The account's backups since the cutoff are listed in consecutive time windows ([start, start + window), each as long
as the longest interval between runs of the rules with candidates, so a window holds about one slot of each), oldest
window first, unless there are so few tables that a listing of each costs no more than the windows minKeep needs.
Each window's listing is complete in itself (ListBackups filters by time range; the order of its results is not
documented and not relied on). After each window the tables whose rules show minKeep slots are released. The tables
still waiting after that (deleted tables, rules that stopped or just started) get a listing of their own from the
cutoff (one call each, complete) once that costs fewer calls than the windows still to come, or when the windowed
listing breaks off. A table whose own listing breaks off fails; nothing of it is deleted.

Deciding on fewer backups than exist is never less safe: a backup missing from the input can only lower the rank of
an older one among the newest minKeep, so it keeps more, never less. Releasing at minKeep slots makes it exact.

With daily backups and minKeep 3, a prune lists about three days of backups (3 x tables / 100 pages) instead of
the whole retention, or one call per table.
"""

from __future__ import annotations

import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from tablesafe.aws.dynamodb import PAGE_SIZE, Backup, DynamoDbGateway, ListingIncomplete
from tablesafe.observability import logger
from tablesafe.rules.naming import parse_scheduled
from tablesafe.rules.retention import table_identity

# Re-exported: the CLI imports it from here until it takes it from rules.storage.
from tablesafe.rules.storage import STORED_STATUSES as STORED_STATUSES

FALLBACK_WORKERS = 2  # enough to keep ListBackups at its rate despite each call's latency

Group = tuple[str, str]  # (plan, rule)


class Need(NamedTuple):
    """A rule with a candidate, of one of the tables of a name: its minKeep newer slots must be seen."""

    table_id: str  # retention.table_identity: the TableId, or "" for backups whose answer gave none
    plan: str
    rule: str

    @property
    def group(self) -> Group:
        return (self.plan, self.rule)

    @classmethod
    def of(cls, backup: Backup, plan: str, rule: str) -> Need:
        return cls(table_identity(backup), plan, rule)


@dataclass
class GroupTally:
    """What one (table, plan, rule)'s listed backups hold, and its newest one (to estimate what was not listed)."""

    backups: int = 0
    bytes: int = 0
    newest: datetime | None = None
    newest_size: int = 0

    def add(self, backup: Backup) -> None:
        self.backups += 1
        self.bytes += backup.size_bytes or 0
        if self.newest is None or backup.created > self.newest:
            self.newest = backup.created
            self.newest_size = backup.size_bytes or 0


TableTally = dict[Group, GroupTally]


def tally(backups: list[Backup], prefix: str, into: dict[str, TableTally] | None = None) -> dict[str, TableTally]:
    """Add our stored (AVAILABLE or CREATING) scheduled backups to per-table, per-(plan, rule) sums."""
    result: dict[str, TableTally] = {} if into is None else into
    for backup in backups:
        name = parse_scheduled(backup.name, prefix)
        if name is None or backup.status not in STORED_STATUSES or backup.backup_type != "USER":
            continue
        result.setdefault(backup.table_name, {}).setdefault((name.plan, name.rule), GroupTally()).add(backup)
    return result


@dataclass(frozen=True)
class Release:
    """A table's recent backups, enough for minKeep (or complete); or why they could not be listed."""

    table: str
    backups: list[Backup]
    error: Exception | None = None


@dataclass
class RecentListing:
    """Lists the recent backups the candidates' minKeep needs and hands each table over as soon as it is known."""

    gateway: DynamoDbGateway
    prefix: str
    cutoff: datetime
    now: datetime
    needs: Mapping[str, Mapping[Need, int]]  # table name -> minKeep of each Need, for the tables with candidates
    interval: Callable[[Group], timedelta]  # the longest gap between runs of a rule
    released: queue.SimpleQueue[Release | None] = field(default_factory=queue.SimpleQueue)  # None: nothing more
    stop: threading.Event = field(default_factory=threading.Event)
    windows: int = 0  # windows listed completely
    listed_until: datetime | None = None  # the windows hold every backup created in [cutoff, listed_until)
    complete: bool = False  # the windows reached now: nothing since the cutoff is missing from `recent`
    recent: dict[str, TableTally] = field(default_factory=dict)  # what the complete windows hold, every table
    own_listing: dict[str, TableTally] = field(default_factory=dict)  # tables listed on their own: all they hold
    fallbacks: int = 0
    window: timedelta = field(init=False)
    _done: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        # The longest interval between runs of the rules with candidates: a window then holds about one slot of each.
        self.window = max(
            (self.interval(need.group) for needs in self.needs.values() for need in needs), default=timedelta(days=1)
        )

    def run(self) -> None:
        """List and release (on a thread of its own); every table with needs is released exactly once."""
        try:
            waiting = self._windows(set(self.needs))
            if waiting and not self.stop.is_set():
                self._own_listings(waiting)
        except Exception as error:  # a bug must not leave tables waiting forever: they fail, named, and are raised
            logger.exception("listing recent backups failed")
            for table in sorted(self.needs):
                self._release(Release(table, [], error))
        finally:
            self.released.put(None)

    def _release(self, release: Release) -> None:
        with self._lock:
            if release.table in self._done:
                return
            self._done.add(release.table)
        self.released.put(release)

    def _windows(self, waiting: set[str]) -> set[str]:
        """List window after window until every table is released or own listings are cheaper; returns the rest."""
        buffers: dict[str, list[Backup]] = {table: [] for table in waiting}
        slots: dict[str, dict[Need, set[str]]] = {table: defaultdict(set) for table in waiting}
        start = self.cutoff
        fewest = max(
            -(-keep * self.interval(need.group) // self.window)
            for needs in self.needs.values()
            for need, keep in needs.items()
        )
        if len(waiting) <= fewest:
            return waiting  # the windows would take at least a call per table: list each table on its own at once
        while waiting and not self.stop.is_set():
            end: datetime | None = start + self.window
            if end is not None and end >= self.now:
                end = None  # the last window: everything since its start, including backups made during the run
            backups: list[Backup] = []
            try:
                for backup in self.gateway.iter_backups(created_from=start, created_before=end):
                    if self.stop.is_set():
                        return waiting  # the run stopped: the tables still waiting are handed over
                    backups.append(backup)
                    table = backup.table_name
                    if table in waiting and self._offer(backup, buffers[table], slots[table]):
                        # minKeep slots seen, however much of the window is still to come: released at once
                        waiting.discard(table)
                        self._release(Release(table, buffers.pop(table)))
            except ListingIncomplete as error:  # AWS's answer: the tables' own listings take over
                logger.warning(
                    "the listing of recent backups broke off; the tables still waiting are listed one by one",
                    window_start=start.isoformat(),
                    tables=len(waiting),
                    error=str(error),
                )
                return waiting
            self.windows += 1
            self.listed_until = end
            tally(backups, self.prefix, into=self.recent)
            if end is None:  # the listing reached now: what each table has is all it has
                self.complete = True
                for table in sorted(waiting):
                    self._release(Release(table, buffers.pop(table)))
                return set()
            start = end
            windows_left = -(-(self.now - start) // self.window)
            if len(waiting) <= (len(backups) // PAGE_SIZE + 1) * windows_left:
                return waiting  # one call per table is now fewer calls than listing the windows still to come
        return waiting

    def _offer(self, backup: Backup, buffer: list[Backup], slots: dict[Need, set[str]]) -> bool:
        """Keep a waiting table's backup; True once every rule it deletes from, of each of its tables (TableIds),
        shows minKeep AVAILABLE slots of that table."""
        buffer.append(backup)
        name = parse_scheduled(backup.name, self.prefix)
        needs = self.needs[backup.table_name]
        need = None if name is None else Need.of(backup, name.plan, name.rule)
        if need is None or need not in needs:
            return False
        if backup.status == "AVAILABLE" and backup.backup_type == "USER":
            slots[need].add(backup.name)
        return all(len(slots[n]) >= keep for n, keep in needs.items())

    def _own_listings(self, tables: set[str]) -> None:
        self.fallbacks = len(tables)
        logger.info("listing the recent backups of the tables still waiting one by one", tables=len(tables))
        with ThreadPoolExecutor(FALLBACK_WORKERS, thread_name_prefix="prune-list") as pool:
            for table in sorted(tables):
                pool.submit(self._own_listing, table)

    def _own_listing(self, table: str) -> None:
        if self.stop.is_set():
            return  # the run stopped: the table is handed over, unlisted
        try:
            backups = self.gateway.list_backups(table_name=table, created_from=self.cutoff)
            self.own_listing[table] = tally(backups, self.prefix).get(table, {})
        except Exception as error:  # ListingIncomplete, or anything else: the table fails, named
            self._release(Release(table, [], error))
            return
        self._release(Release(table, backups))
