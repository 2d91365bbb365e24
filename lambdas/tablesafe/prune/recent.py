"""The prune's proof listing: which (table, plan, rule) groups have minKeep newer slots than anything expired.

A backup past its rule's retention (a *candidate*) can only be deleted once the prune knows that at least minKeep
newer AVAILABLE slots of the same (table, plan, rule) exist, the table being the physical table the candidate was
taken of (its TableId): a newer table of the same name does not count. Every backup created since the cutoff (now
minus the shortest retention) is newer than every candidate, so minKeep such slots *prove* every candidate of the
group may go, however many other backups of it exist: the group is *proven*, and the expired windows
(tablesafe.prune.expired) can be decided window by window, in any order, without listing the rest of the table.

The account's backups since the cutoff are listed in consecutive time windows ([start, start + window), oldest
first), only as far as a candidate's rule needs: when a group is not yet proven, windows as long as its rule's
interval (so each holds about one slot) are added until they span minKeep of its intervals; the last one is open
ended when it reaches now. A daily rule's candidates need three days; a weekly one's list on to two weeks. Each
window's listing is complete in itself (ListBackups filters by time range; the order of its results is not
documented and not relied on). A listing that breaks off raises ListingIncomplete and nothing of the expired window
waiting on it is decided (the retry lists again). A group still not proven (a deleted table, a rule that stopped)
is decided on a listing of its table's own backups instead (tablesafe.prune.run).

Deciding on fewer backups than exist is never less safe: a backup missing from the input can only lower the rank of
an older one among the newest minKeep, so it keeps more, never less. A proof is made of backups seen, so it holds.

With daily backups and minKeep 3, the proof lists three days of backups (3 x tables / 100 pages) a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tablesafe.aws.dynamodb import Backup, DynamoDbGateway
from tablesafe.config.plans import Plan, Rule
from tablesafe.rules.naming import parse_scheduled
from tablesafe.rules.retention import AVAILABLE, USER, table_identity
from tablesafe.rules.retention import Group as RetentionGroup

# Re-exported: the CLI imports it from here until it takes it from rules.storage.
from tablesafe.rules.storage import STORED_STATUSES as STORED_STATUSES

Group = tuple[str, str]  # (plan, rule)


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


def group_of(backup: Backup, prefix: str) -> RetentionGroup | None:
    """The (table name, table identity, plan, rule) whose minKeep the backup counts towards, for scheduled names."""
    name = parse_scheduled(backup.name, prefix)
    return None if name is None else (backup.table_name, table_identity(backup), name.plan, name.rule)


def whole_second(moment: datetime) -> datetime:
    """ListBackups' time bounds travel as whole epoch seconds: every bound the prune sets is one, so none moves."""
    return moment.replace(microsecond=0)


@dataclass
class RecentProof:
    """Lists the backups since the cutoff that prove groups, as far as the candidates' rules need, and what they hold
    (for the cost report)."""

    gateway: DynamoDbGateway
    prefix: str
    plans: dict[str, Plan]
    cutoff: datetime  # a whole second: the expired windows end here, the proof starts here
    now: datetime
    windows: int = 0  # windows listed completely
    listed_until: datetime | None = None  # the windows hold every backup created in [cutoff, listed_until)
    complete: bool = False  # the windows reached now: nothing since the cutoff is missing from `recent`
    recent: dict[str, TableTally] = field(default_factory=dict)  # what the complete windows hold, every table
    window: timedelta = timedelta(days=1)  # the last window's width
    _slots: dict[RetentionGroup, dict[str, Backup]] = field(default_factory=dict)

    def proof(self, group: RetentionGroup) -> list[Backup] | None:
        """minKeep newer AVAILABLE slots of the group (none needed for minKeep 0), or None: not proven.

        Lists further windows first when the group's rule needs more (ListingIncomplete if one broke off).
        """
        rule = self._rule(group)
        if rule is None:
            return None
        slots = self._slots.get(group, {})
        if len(slots) < rule.min_keep:
            self._extend(rule)
            slots = self._slots.get(group, {})
        return list(slots.values()) if len(slots) >= rule.min_keep else None

    def list_for_every_rule(self) -> None:
        """List as far as every configured rule needs (the cost report of a run whose last invocation decided none)."""
        for plan in self.plans.values():
            for rule in plan.rules:
                self._extend(rule)

    def _extend(self, rule: Rule) -> None:
        """List windows as long as the rule's interval until they span minKeep of its intervals (or reach now)."""
        span = rule.min_keep * rule.schedule.interval
        start = self.listed_until or self.cutoff
        while not self.complete and start - self.cutoff < span:
            end: datetime | None = whole_second(start + rule.schedule.interval)
            if end is not None and end >= self.now:
                end = None  # the last window: everything since its start, including backups made during the run
            backups = self.gateway.list_backups(created_from=start, created_before=end)
            for backup in backups:
                self._offer(backup)
            tally(backups, self.prefix, into=self.recent)
            self.windows += 1
            self.window = rule.schedule.interval
            self.listed_until = end
            if end is None:
                self.complete = True
                return
            start = end

    def _offer(self, backup: Backup) -> None:
        if backup.status != AVAILABLE or backup.backup_type != USER:
            return
        group = group_of(backup, self.prefix)
        rule = None if group is None else self._rule(group)
        if group is None or rule is None:
            return
        slots = self._slots.setdefault(group, {})
        if len(slots) < rule.min_keep:  # only minKeep of each are kept: memory grows with groups, not backups
            slots.setdefault(backup.name, backup)

    def _rule(self, group: RetentionGroup) -> Rule | None:
        plan = self.plans.get(group[2])
        return None if plan is None else plan.rule(group[3])
