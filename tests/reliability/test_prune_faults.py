"""The prune run under faults on every call, day after simulated day: it deletes only our backups past retention,
never a foreign one, never below minKeep, nothing of a table whose listing broke off, and nothing twice when it is
cut short or killed. Every check is against the oracle's own books, never the prune's report."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tablesafe.aws.clients import backup_clients
from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.backup.run import BackupRequest, run_backup
from tablesafe.prune.report import Outcome, PruneReport, PruneRequest
from tablesafe.prune.run import run_prune
from tablesafe.rules.retention import longest_retention
from tests.reliability.client_faults import before_every_call, server_error
from tests.reliability.support import (
    FAST,
    PREFIX,
    SIZES,
    TAG_KEY,
    Budget,
    LambdaTimedOut,
    Oracle,
    Size,
    Tally,
    all_backups,
    faults_on,
    faults_paused,
    gateway,
    no_sleep,
    settings,
    slot_name,
)
from tools.standin import StandIn
from tools.standin.support import create_table

START = datetime(2024, 6, 2, tzinfo=UTC)  # a Sunday: the weekly rule runs on days 0, 7, 14, ...
REMOVED = (Outcome.DELETED, Outcome.ALREADY_GONE)
OLD = START - timedelta(days=400)


def rules_due(day: datetime) -> list[tuple[str, str, datetime]]:
    """The backup runs of a simulated day, as the plans' schedules fire them (written out, not computed)."""
    runs = [("daily", "daily", day + timedelta(hours=3)), ("gfs", "daily", day + timedelta(hours=3))]
    if day.weekday() == 6:
        runs.append(("gfs", "weekly", day + timedelta(hours=4)))
    return runs


class Tables:
    """Two thirds of the tables on the daily plan, a third on gfs, and a few with a story."""

    def __init__(self, standin: StandIn, size: Size) -> None:
        third = size.tables // 3
        self.plan = {f"d{i:04d}": "daily" for i in range(size.tables - third)}
        self.plan |= {f"g{i:04d}": "gfs" for i in range(third)}
        self.archived = {"d0001", "g0001"}  # from day 3 on, no backup can be taken: minKeep holds their last ones
        self.dropped = {"d0002", "g0002"}  # deleted on day 4: their backups stay, minKeep of them for good
        self.reborn = {"g0002"}  # created again on day 6: a new table, whose backups never push the old one's out
        self.alive = set(self.plan)
        self.blocked: set[str] = set()  # tagged and alive, but no backup can be taken
        ddb = standin.client("dynamodb")
        with faults_paused(standin):
            for table, plan in self.plan.items():
                create_table(ddb, table, {TAG_KEY: plan})

    def targets(self, plan: str) -> set[str]:
        return {t for t in self.alive if self.plan[t] == plan}

    def advance(self, standin: StandIn, day: int) -> None:
        if day == 3:
            for table in self.archived:
                standin.set_table_status(table, "ARCHIVED")
            self.blocked |= self.archived
        if day == 4:
            with faults_paused(standin):
                for table in self.dropped:
                    standin.client("dynamodb").delete_table(TableName=table)
            self.alive -= self.dropped
        if day == 6:
            with faults_paused(standin):
                for table in self.reborn:
                    create_table(standin.client("dynamodb"), table, {TAG_KEY: self.plan[table]})
            self.alive |= self.reborn


def add_foreign_backups(standin: StandIn, tables: list[str]) -> None:
    """On each table, one backup of every kind the prune must leave alone, all long past any retention."""
    for i, table in enumerate(tables):
        when = OLD + timedelta(days=i)
        standin.add_foreign_backup(table, f"{PREFIX}.manual.{when:%Y%m%dT%H%M%SZ}", created=when)
        standin.add_foreign_backup(table, slot_name("daily", "daily", when).replace(PREFIX, "other"), created=when)
        standin.add_foreign_backup(table, "nightly-export", created=when)
        standin.add_foreign_backup(table, slot_name("daily", "daily", when), backup_type="AWS_BACKUP", created=when)
        standin.add_foreign_backup(table, f"{table}-restore-point", backup_type="SYSTEM", created=when)
        # ours, but of a plan and of a rule no longer configured: orphaned, kept and reported
        standin.add_foreign_backup(table, slot_name("legacy", "nightly", when), created=when)
        standin.add_foreign_backup(table, slot_name("daily", "hourly", when), created=when)


class BrokenListings(DynamoDbGateway):
    """A listing that breaks off at its second page, as one does once botocore's retries are spent."""

    def __init__(self) -> None:
        super().__init__(before_every_call(backup_clients(rate_limits=FAST), self.break_listings))
        self.table: str | None = None  # that table's own listing
        self.account_wide = False  # the listing of every expired backup
        self.recent_from: datetime | None = None  # the account-wide listing of recent backups (its first window)
        self.broken: list[str] = []

    def break_listings(self, operation: str, params: dict[str, Any]) -> None:
        lower = params.get("TimeRangeLowerBound")
        recent = self.recent_from is not None and lower is not None and lower >= self.recent_from
        if operation == "ListBackups" and recent and "TableName" not in params:
            self.broken.append("recent")
            raise server_error(operation)
        if operation == "ListBackups" and "ExclusiveStartBackupArn" in params:
            named = params.get("TableName")
            if (named is not None and named == self.table) or (
                self.account_wide and named is None and "TimeRangeUpperBound" in params
            ):
                self.broken.append(named or "account-wide")
                raise server_error(operation)


def removed(*reports: PruneReport) -> Counter[str]:
    return Counter(d.backup_arn for r in reports for d in r.deletions if d.outcome in REMOVED)


@pytest.mark.parametrize("size", SIZES)
def test_prune_under_faults_day_after_day_keeps_every_promise(
    standin: StandIn, size: Size, fast_retries: None, record_property: Any
) -> None:
    tables = Tables(standin, size)
    foreign_on = sorted(tables.plan)[:: max(1, size.tables // 25)]
    add_foreign_backups(standin, foreign_on)
    oracle = Oracle()
    oracle.see(all_backups(standin), lambda _: None)
    # On day 6 a gfs table's own listing breaks off (gfs' daily rule keeps more than its retention, so its tables
    # are decided on their own listings); on day 8 the listing of expired backups does, on day 9 that of the recent
    # backups minKeep needs.
    victim, victim_day, blackout_day, unproven_day = "g0003", 6, 8, 9
    cfg, backups, pruning = settings(), gateway(), BrokenListings()
    tally, deletions_per_day, started = Tally(), [], time.monotonic()
    faults_on(standin)

    for day in range(size.days):
        today = START + timedelta(days=day)
        tables.advance(standin, day)
        for plan, rule, slot in rules_due(today):
            with tally.measure(standin):
                report = run_backup(backups, cfg, BackupRequest(plan, rule, slot), sleep=no_sleep)
            listing = all_backups(standin)
            fresh = oracle.see(listing, lambda _, made=(plan, rule): made)
            made_for = Counter(listing[arn]["TableName"] for arn in fresh)
            assert {listing[arn]["BackupName"] for arn in fresh} <= {slot_name(plan, rule, slot)}
            assert set(made_for) == tables.targets(plan) - tables.blocked and max(made_for.values()) == 1
            assert set(report.failed) == tables.targets(plan) - set(made_for)
            for arn in fresh:  # the day passes: the backup was taken at its slot
                standin.set_backup_created(arn, slot)
                oracle.age(arn, slot)

        now = today + timedelta(hours=4, minutes=30)
        if day == victim_day:
            for minute in range(120):  # manual backups enough for a second page of the victim's own listing
                when = now - timedelta(minutes=minute + 1)
                standin.add_foreign_backup(victim, f"{PREFIX}.manual.{when:%Y%m%dT%H%M%SZ}", created=when)
            oracle.see(all_backups(standin), lambda _: None)
        pruning.table = victim if day == victim_day else None
        pruning.recent_from = now - timedelta(days=2) if day == unproven_day else None  # the cutoff: gfs' 2 days
        pruning.account_wide = day == blackout_day
        pruning.broken.clear()

        before = all_backups(standin)
        due = oracle.due(before, now)
        with tally.measure(standin):
            report = run_prune(pruning, cfg, PruneRequest(now))
        after = all_backups(standin)
        gone = oracle.check(before, after, now)  # retention, foreign backups, minKeep

        assert gone <= due, "deleted something a correct prune keeps"
        # The report is honest: what it counts deleted is gone, and whatever was due and is still there it names
        # (a deletion or a table that failed, a backup in use). Faults that outlast botocore's eight attempts are
        # rare but possible; the next day deletes what they left.
        failed = {d.backup_arn for d in report.deletions if d.outcome in (Outcome.FAILED, Outcome.IN_USE)}
        assert set(removed(report)) <= gone and gone - set(removed(report)) <= failed
        named = failed | {arn for arn in due if before[arn]["TableName"] in report.failed_tables}
        left = due - gone
        if day == blackout_day:
            assert pruning.broken == ["account-wide"] and report.listing_error
            assert gone == set() and due, "an account-wide listing that broke off deletes nothing at all"
        elif day == unproven_day:
            assert pruning.broken == ["recent"] and report.listing_error
            assert gone == set() and due, "without the recent backups minKeep needs nothing is deleted"
        else:
            assert not report.listing_error
            assert left <= named, f"due, still there, and not reported: {sorted(left - named)[:5]}"
        if day == victim_day:
            withheld = {arn for arn in due if before[arn]["TableName"] == victim}
            assert pruning.broken == [victim] and list(report.failed_tables) == [victim]
            assert withheld and withheld <= left, "nothing of a table whose listing broke off is deleted"
        deletions_per_day.append(len(gone))

    kinds = Counter("ours" if k.rule else "other" for k in oracle.known.values())
    record_property(
        "figures",
        {
            "tables": size.tables,
            "days": size.days,
            "backupsMade": kinds["ours"],
            "foreignAndOrphaned": kinds["other"],
            "deleted": len(oracle.deleted_on),
            "deletedWithinRetention": 0,
            "foreignDeleted": 0,
            "groupsBelowMinKeep": 0,
            "deletionsPerDay": deletions_per_day,
            "callsByOutcome": tally.by_outcome(),
            "calls": tally.as_dict(),
            "seconds": round(time.monotonic() - started, 1),
        },
    )
    assert sum(deletions_per_day) > 0


def seed_history(standin: StandIn, size: Size, days: int) -> tuple[Oracle, datetime]:
    """`days` days of backups of every rule for `size.tables` tables, made as the rules name them and aged to their
    slots; returns the oracle that saw them and the prune time of the last day."""
    tables = Tables(standin, size)
    ddb = standin.client("dynamodb")
    jobs = [
        (table, plan, rule, slot)
        for day in range(days)
        for plan, rule, slot in rules_due(START + timedelta(days=day))
        for table in tables.targets(plan)
    ]

    def make(job: tuple[str, str, str, datetime]) -> tuple[str, tuple[str, str], datetime]:
        table, plan, rule, slot = job
        arn = ddb.create_backup(TableName=table, BackupName=slot_name(plan, rule, slot))["BackupDetails"]["BackupArn"]
        standin.set_backup_created(arn, slot)
        return arn, (plan, rule), slot

    with faults_paused(standin), ThreadPoolExecutor(16) as pool:
        made = {arn: (rule, slot) for arn, rule, slot in pool.map(make, jobs)}
    oracle = Oracle()
    oracle.see(all_backups(standin), lambda summary: made[summary["BackupArn"]][0])
    for arn, (_, slot) in made.items():
        oracle.age(arn, slot)
    return oracle, START + timedelta(days=days - 1, hours=4, minutes=30)


def assert_no_double_delete(standin: StandIn) -> None:
    """A BackupNotFoundException only ever answers the retry of a deletion whose answer was lost."""
    not_found = standin.calls.codes("DeleteBackup").get("BackupNotFoundException", 0)
    assert not_found <= standin.calls.count("DeleteBackup", "lost")


@pytest.mark.parametrize("size", SIZES)
def test_a_prune_out_of_time_is_finished_by_its_continuations_each_backup_once(
    standin: StandIn, size: Size, fast_retries: None, record_property: Any
) -> None:
    oracle, now = seed_history(standin, size, days=10)
    before = all_backups(standin)
    due = oracle.due(before, now)
    faults_on(standin)
    queued: list[dict[str, Any]] = []
    reports: list[PruneReport] = []
    event: dict[str, Any] | None = PruneRequest(now).as_event()

    while event is not None:
        # each invocation's clock is the simulated run's time, which the event's scheduledTime is checked against
        request = PruneRequest.from_event(event, now=now, longest_retention=longest_retention(settings().plans))
        budget = Budget(len(due) // 5)  # about a fifth of the deletions per invocation, then the reserve is reached
        reports.append(run_prune(gateway(), settings(), request, time_left=budget, continue_run=queued.append))
        event = queued.pop() if queued else None
        assert queued == []

    after = all_backups(standin)
    assert oracle.check(before, after, now) == due, "everything due deleted, nothing else"
    assert len(reports) >= 4 and all(not r.failed for r in reports)
    assert removed(*reports) == Counter(due), "each backup deleted by exactly one invocation"
    assert_no_double_delete(standin)
    record_property("figures", {"invocations": len(reports), "deleted": len(due)})


class DyingGateway(DynamoDbGateway):
    """Lambda's timeout as the prune sees it: once `after` deletions took effect, every call dies."""

    def __init__(self, after: int) -> None:
        super().__init__(before_every_call(backup_clients(rate_limits=FAST), self.die_if_dead))
        self.after = after
        self.deleted = 0
        self.dead = False
        self._lock = threading.Lock()

    def delete_backup(self, backup_arn: str) -> Any:
        outcome = super().delete_backup(backup_arn)
        with self._lock:
            self.deleted += 1
            self.dead = self.dead or self.deleted >= self.after
        if self.dead:
            raise LambdaTimedOut(f"killed after deleting {backup_arn}")
        return outcome

    def die_if_dead(self, operation: str, _: dict[str, Any]) -> None:
        if self.dead:
            raise LambdaTimedOut(f"killed before {operation}")


@pytest.mark.parametrize("size", SIZES)
def test_a_killed_prune_is_finished_by_the_next_run_without_deleting_anything_twice(
    standin: StandIn, size: Size, fast_retries: None
) -> None:
    oracle, now = seed_history(standin, size, days=10)
    before = all_backups(standin)
    due = oracle.due(before, now)
    faults_on(standin)

    with pytest.raises(LambdaTimedOut):
        run_prune(DyingGateway(after=len(due) // 3), settings(), PruneRequest(now))
    halfway = all_backups(standin)
    first = oracle.check(before, halfway, now)
    assert first < due and len(first) >= len(due) // 3
    report = run_prune(gateway(), settings(), PruneRequest(now))

    after = all_backups(standin)
    assert oracle.check(before, after, now) == due
    assert set(removed(report)) == due - first and not report.failed
    assert_no_double_delete(standin)
