"""What the fault-injection suite shares: sizes, plans, the faults, an account to back up, and an oracle.

The oracle reads the stand-in's own full listing (every backup type, faults paused) and keeps its own books: which
ARN it saw first when, made by which rule. It never reads the use cases' reports to decide what is true; the reports
are checked against it.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tablesafe.aws.clients import backup_clients
from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.config.settings import Settings
from tablesafe.constants import DEFAULT_RATE_LIMITS
from tablesafe.slots.lease import SlotLeases, WaitPolicy
from tests.lease_support import LEASE_TABLE, create_lease_table, slot_leases
from tools.standin import StandIn
from tools.standin.support import create_table, list_all_backups


@dataclass(frozen=True)
class Size:
    """How big a run of the suite is."""

    tables: int
    days: int


SMALL = Size(tables=60, days=10)  # `make test`: seconds
FULL = Size(tables=500, days=30)  # the figures: `make test-full`, or `pytest tests/reliability -m slow`
# The full size takes about three minutes on two cores; the timeout leaves room for a slow machine.
SIZES = [
    pytest.param(SMALL, id="60-tables"),
    pytest.param(FULL, id="500-tables", marks=[pytest.mark.slow, pytest.mark.timeout(1800)]),
]

# Every call of every operation: 10% throttled (no effect), 2% answered 500 (no effect), 2% taken into account and
# then its answer lost (500, 503 or the connection dropped). The stand-in draws them from a fixed seed.
FAULTS: dict[str, Any] = {"throttle": 0.10, "server_error": 0.02, "lost": 0.02}
SEED = 20240602

PREFIX = "tablesafe"
TAG_KEY = "backup-plan"
PLANS: dict[str, Any] = {
    "daily": [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 7, "minKeep": 3}],
    "gfs": [
        # minKeep above what retention keeps: the newest four stay although only two are within two days.
        {"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 2, "minKeep": 4},
        {"name": "weekly", "schedule": "cron(0 4 ? * SUN *)", "retentionDays": 14, "minKeep": 2},
    ],
}
# The oracle's own copy of the rules (retention, minKeep), not read through tablesafe.config.plans.
RULES: dict[tuple[str, str], tuple[timedelta, int]] = {
    (plan, rule["name"]): (timedelta(days=rule["retentionDays"]), rule["minKeep"])
    for plan, rules in PLANS.items()
    for rule in rules
}
ENV = {
    "TABLESAFE_TAG_KEY": TAG_KEY,
    "TABLESAFE_PLANS": json.dumps(PLANS),
    "TABLESAFE_BACKUP_NAME_PREFIX": PREFIX,
    "TABLESAFE_TIME_RESERVE_SECONDS": "5",
    "TABLESAFE_LEASE_TABLE": LEASE_TABLE,  # build_account makes it, as the stack does
}
# The client-side pacing is tested elsewhere (tests/integration); here it would only make the suite slow.
FAST = {operation: 5000.0 for operation in DEFAULT_RATE_LIMITS}
# How long the stand-in keeps a new backup CREATING. AWS documents no such window (backups "become available for
# restore within minutes"), and the guarantee must hold for any: 0 s (a small table's backup that is AVAILABLE at
# once, after which AWS accepts a second CreateBackup), 0.2 s (the figure for small tables) and 10 s.
CREATING_TIMES = [
    pytest.param(0.0, id="creating-0s"),
    pytest.param(0.2, id="creating-0.2s"),
    pytest.param(10.0, id="creating-10s"),
]


def settings() -> Settings:
    return Settings.from_env(ENV)


def gateway() -> DynamoDbGateway:
    return DynamoDbGateway(backup_clients(rate_limits=FAST))


# A waiting delivery polls the lease five times as often as the handler's does (1 s doubling to 15 s): how soon it
# notices a release changes only how long the suite takes, not what it checks.
QUICK_POLLS = WaitPolicy(first_poll=0.2, max_poll=3.0)


def leases(**kwargs: Any) -> SlotLeases:
    """The slot leases in the account's lease table (build_account makes it), as the handler builds them."""
    kwargs.setdefault("policy", QUICK_POLLS)
    return slot_leases(**kwargs)


def no_sleep(_: float) -> None:
    """The use case's own backoff between attempts, skipped: the stand-in's faults do not depend on time."""


def slot_name(plan: str, rule: str, slot: datetime) -> str:
    """The name a rule's backup for `slot` must have (written out here, not taken from tablesafe.rules.naming)."""
    return f"{PREFIX}.{plan}.{rule}.{slot.astimezone(UTC):%Y%m%dT%H%MZ}"


# -- faults --------------------------------------------------------------------------------------------------------


def faults_on(standin: StandIn) -> None:
    standin.faults.set_all(**FAULTS)


@contextmanager
def faults_paused(standin: StandIn) -> Iterator[None]:
    """The test's own look at the account, or its set-up, goes through without faults."""
    standin.faults.clear()
    try:
        yield
    finally:
        faults_on(standin)


class Tally:
    """Calls the use cases made, per operation and outcome; the test's own looks at the account are left out."""

    def __init__(self) -> None:
        self.calls: dict[str, Counter[str]] = {}

    @contextmanager
    def measure(self, standin: StandIn) -> Iterator[None]:
        before = standin.calls.snapshot()
        try:
            yield
        finally:
            for operation, outcomes in standin.calls.snapshot().items():
                for outcome, count in outcomes.items():
                    added = count - before.get(operation, {}).get(outcome, 0)
                    if added:
                        self.calls.setdefault(operation, Counter())[outcome] += added

    def by_outcome(self) -> dict[str, int]:
        """Calls per outcome over every operation."""
        total: Counter[str] = Counter()
        for outcomes in self.calls.values():
            total.update(outcomes)
        return dict(sorted(total.items()))

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {operation: dict(sorted(c.items())) for operation, c in sorted(self.calls.items())}


def all_backups(standin: StandIn) -> dict[str, dict[str, Any]]:
    """Every backup the stand-in lists (USER, SYSTEM and AWS_BACKUP; DELETED ones are not listed), by ARN."""
    with faults_paused(standin):
        summaries, _ = list_all_backups(standin.client("dynamodb"), BackupType="ALL")
    return {s["BackupArn"]: s for s in summaries}


def slot_backups_by_table(standin: StandIn, name: str) -> Counter[str]:
    """How many live backups carry `name`, per table."""
    return Counter(s["TableName"] for s in all_backups(standin).values() if s["BackupName"] == name)


# -- an account to back up -----------------------------------------------------------------------------------------

MALFORMED_TAGS = ["dialy", "", " daily", "DAILY", "daily,gfs", "dáily"]
BROKEN_STATUSES = ["ARCHIVED", "INACCESSIBLE_ENCRYPTION_CREDENTIALS", "ARCHIVING"]


@dataclass
class Account:
    """Tables of one plan that must each get a backup, and around them every kind that must not or cannot."""

    healthy: list[str]
    broken: dict[str, str]  # tagged with the plan, in a state no backup can be taken in: table -> status
    malformed: dict[str, str]  # tag value names no plan: table -> value
    bystanders: list[str]  # another plan's tables, and untagged ones

    @property
    def targets(self) -> set[str]:
        return set(self.healthy) | set(self.broken)


def build_account(standin: StandIn, size: Size, plan: str = "daily", *, broken: bool = True) -> Account:
    """`size.tables` healthy tables of `plan`, three broken ones, six with a malformed tag value, four others."""
    ddb = standin.client("dynamodb")
    healthy = [f"t{i:04d}" for i in range(size.tables)]
    unusable = {f"broken-{i}": status for i, status in enumerate(BROKEN_STATUSES)} if broken else {}
    malformed = {f"typo-{i}": value for i, value in enumerate(MALFORMED_TAGS)}
    other = "gfs" if plan != "gfs" else "daily"
    bystanders = {"other-plan-0": other, "other-plan-1": other, "untagged-0": None, "untagged-1": None}
    with faults_paused(standin):
        create_lease_table(ddb)
        for name in [*healthy, *unusable]:
            create_table(ddb, name, {TAG_KEY: plan})
        for name, value in malformed.items():
            create_table(ddb, name, {TAG_KEY: value})
        for name, tag in bystanders.items():
            create_table(ddb, name, {TAG_KEY: tag} if tag else None)
        for name, status in unusable.items():
            standin.set_table_status(name, status)
    return Account(healthy, unusable, malformed, list(bystanders))


class Budget:
    """A Lambda's remaining time as the run sees it: ample for the first `calls` looks, then only the reserve."""

    def __init__(self, calls: int) -> None:
        self.left = calls

    def __call__(self) -> float:
        self.left -= 1
        return 900.0 if self.left >= 0 else 1.0


class LambdaTimedOut(BaseException):
    """The invocation is killed: not an Exception, so nothing in the use case can catch it and carry on."""


# -- the prune oracle ----------------------------------------------------------------------------------------------

_OURS = re.compile(rf"^{PREFIX}\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([0-9]{{8}}T[0-9]{{4}}Z)$")


@dataclass
class Known:
    """A backup the oracle has seen: what it is and when it was made."""

    table: str
    name: str
    created: datetime
    rule: tuple[str, str] | None  # (plan, rule) of a backup a configured rule made; None for anything else
    table_id: str | None = None  # which table of that name: a re-created table keeps its own minKeep


@dataclass
class Oracle:
    """Every backup ever seen, and the promises the prune must keep about them."""

    known: dict[str, Known] = field(default_factory=dict)
    deleted_on: dict[str, datetime] = field(default_factory=dict)

    def see(self, listing: dict[str, dict[str, Any]], made_by: Callable[[dict[str, Any]], tuple[str, str] | None]):
        """Record backups not seen before; `made_by` says which rule made one (None: foreign, orphaned, manual)."""
        fresh = [arn for arn in listing if arn not in self.known]
        for arn in fresh:
            summary = listing[arn]
            self.known[arn] = Known(
                summary["TableName"],
                summary["BackupName"],
                _utc(summary["BackupCreationDateTime"]),
                made_by(summary),
                summary.get("TableId"),
            )
        return fresh

    def age(self, arn: str, when: datetime) -> None:
        self.known[arn].created = when

    def groups(self) -> dict[tuple[str, str | None, str, str], list[str]]:
        """ARNs a rule made, per (table, TableId, plan, rule), newest first."""
        found: dict[tuple[str, str | None, str, str], list[str]] = defaultdict(list)
        for arn, known in self.known.items():
            if known.rule is not None:
                found[(known.table, known.table_id, *known.rule)].append(arn)
        for arns in found.values():
            arns.sort(key=lambda a: (self.known[a].created, a), reverse=True)
        return found

    def due(self, listing: dict[str, dict[str, Any]], now: datetime) -> set[str]:
        """What a correct prune deletes at `now` given this listing: per group, the AVAILABLE ones past retention
        that are not among the newest minKeep AVAILABLE ones."""
        due: set[str] = set()
        for (_, _, plan, rule), arns in self.groups().items():
            retention, min_keep = RULES[(plan, rule)]
            available = [a for a in arns if a in listing and listing[a]["BackupStatus"] == "AVAILABLE"]
            due.update(a for a in available[min_keep:] if now - self.known[a].created > retention)
        return due

    def check(self, before: dict[str, Any], after: dict[str, Any], now: datetime) -> set[str]:
        """The prune's promises after a run at `now`; returns what it deleted."""
        gone = set(before) - set(after)
        for arn in gone:
            self.deleted_on.setdefault(arn, now)
        for arn, when in self.deleted_on.items():
            known = self.known[arn]
            assert known.rule is not None, f"deleted a backup no rule of ours made: {known}"
            assert _OURS.match(known.name), f"deleted a backup whose name is not ours: {known}"
            retention, _ = RULES[known.rule]
            assert when - known.created > retention, f"deleted within retention ({when - known.created}): {known}"
        for arn, known in self.known.items():
            if known.rule is None:
                assert arn in after, f"a backup that is not ours was deleted: {known}"
        for (table, _, plan, rule), arns in self.groups().items():
            _, min_keep = RULES[(plan, rule)]
            newest = arns[:min_keep]
            missing = [self.known[a].name for a in newest if a not in after]
            assert not missing, f"{table} {plan}.{rule}: fewer than minKeep={min_keep} kept, lost {missing}"
            kept = sum(1 for a in arns if a in after and after[a]["BackupStatus"] == "AVAILABLE")
            assert kept >= min(min_keep, len(arns)), (table, plan, rule, kept)
        return gone


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
