"""What a prune run is asked to do and what it did: the request (from its event), each deletion, storage, the report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from tablesafe.config.events import (
    EventError,
    check_run_time,
    parse_continuation,
    parse_time,
    require_job,
)
from tablesafe.constants import JOB_PRUNE

# Re-exported: the CLI imports it from here until it takes it from rules.storage.
from tablesafe.rules.storage import BYTES_PER_GB as BYTES_PER_GB


class PruneRunFailed(RuntimeError):
    """Some tables or deletions failed; raised after everything else was done and the metrics were emitted."""


class Outcome(StrEnum):
    """What happened to one backup the rules said to delete."""

    DELETED = "deleted"
    ALREADY_GONE = "already_gone"  # BackupNotFoundException: someone (or our own retried call) deleted it first
    IN_USE = "in_use"  # BackupInUseException: skipped this run, the next run tries again
    FAILED = "failed"
    WOULD_DELETE = "would_delete"  # dry run


REMOVED = frozenset({Outcome.DELETED, Outcome.ALREADY_GONE, Outcome.WOULD_DELETE})


@dataclass(frozen=True)
class PruneRequest:
    """One prune run, from the schedule, a manual invoke or a continuation."""

    now: datetime  # the scheduled time: every decision is made as of this moment, so a retry decides the same
    expired_from: datetime | None = None  # the cursor: every expired backup created before it was decided already
    continuation: int = 0
    backlog_behind: int = 0  # backups the rules delete that earlier invocations of the run left (in use, failed)
    deleted_in_run: int = 0  # what earlier invocations of the run deleted (the rate the backlog clears at)

    @classmethod
    def from_event(cls, event: object, now: datetime, *, longest_retention: timedelta) -> PruneRequest:
        """Validate the event against the clock (`now`); EventError names the key that is wrong.

        A scheduledTime ahead of the clock, or older than the longest retention allows, is refused
        (events.check_run_time): the run would decide "expired" against a time that is not now. A continuation's
        expiredFrom must lie before its scheduledTime. `startAfter`, the cursor of continuations before the windowed
        listing, is still accepted and starts the walk from the oldest backup again (what is gone costs nothing).
        """
        event = require_job(event, JOB_PRUNE)
        scheduled = event.get("scheduledTime")
        moment = now if scheduled is None else parse_time("scheduledTime", scheduled)
        start_after = event.get("startAfter")
        if start_after is not None and (not isinstance(start_after, str) or not start_after):
            raise EventError(f"startAfter={start_after!r}: expected the name of the last table done")
        continuation = parse_continuation(event)
        check_run_time("scheduledTime", moment, now, longest_retention=longest_retention, continuation=continuation)
        expired_from = None
        if event.get("expiredFrom") is not None:
            expired_from = parse_time("expiredFrom", event["expiredFrom"]).astimezone(UTC)
            if expired_from > moment:
                raise EventError(
                    f"expiredFrom={event['expiredFrom']!r} is later than scheduledTime: expected the cursor of an"
                    " earlier invocation of the same run"
                )
        return cls(
            now=moment.astimezone(UTC),
            expired_from=expired_from,
            continuation=continuation,
            backlog_behind=_count(event, "backlogBehind"),
            deleted_in_run=_count(event, "deletedInRun"),
        )

    def following(self, report: PruneReport) -> PruneRequest:
        """The continuation of this invocation, from the cursor its report ends at."""
        return PruneRequest(
            self.now,
            report.cursor,
            self.continuation + 1,
            self.backlog_behind + report.left_behind,
            self.deleted_in_run + report.deleted,
        )

    def as_event(self) -> dict[str, Any]:
        """The event that runs this request (used for continuations)."""
        event: dict[str, Any] = {
            "job": JOB_PRUNE,
            "scheduledTime": _iso(self.now),
            "continuation": self.continuation,
        }
        if self.expired_from is not None:
            event["expiredFrom"] = _iso(self.expired_from)
        if self.backlog_behind:
            event["backlogBehind"] = self.backlog_behind
        if self.deleted_in_run:
            event["deletedInRun"] = self.deleted_in_run
        return event


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _count(event: Mapping[str, object], key: str) -> int:
    value = event.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise EventError(f"{key}={value!r}: expected a whole number >= 0")
    return value


@dataclass(frozen=True)
class Deletion:
    """One backup the rules said to delete, and what happened to it."""

    table: str
    backup_name: str
    backup_arn: str
    plan: str
    rule: str
    age_days: float
    reason: str
    outcome: Outcome
    detail: str = ""
    table_id: str | None = None  # which table of that name it was taken of (its TableId)


@dataclass
class PlanStorage:
    """What one plan's backups occupy, of those the run listed."""

    backups: int = 0
    bytes: int = 0
    estimated_backups: int = 0  # of `backups`: not listed, counted from the rule's schedule (see docs/cost.md)


@dataclass
class PruneReport:
    """What a prune run (one invocation) did."""

    now: datetime
    dry_run: bool
    price_per_gb_month: float
    deletions: list[Deletion] = field(default_factory=list)
    orphaned: int = 0
    failed_tables: dict[str, str] = field(default_factory=dict)  # table -> why
    listing_error: str = ""  # a listing the decisions needed broke off: nothing listed in it was decided
    handoff_error: str = ""  # the rest could not be handed to a continuation
    tables_done: set[str] = field(default_factory=set)  # tables with backups in the windows this invocation finished
    handed_over: bool = False  # time ran out before the cursor reached the cutoff
    continued: bool = False  # ... and a continuation takes over from the cursor
    cursor: datetime | None = None  # where the next invocation starts (None: at the oldest backup)
    covered_from: datetime | None = None  # where this invocation's first window started
    windows: int = 0  # expired windows finished
    listed_until: datetime | None = None  # the end of the last window listed (finished or not)
    pending: int = 0  # what the rules delete in the window time ran out in, not started
    pending_estimated: bool = False
    expired_backlog: int | None = None  # at the end of a run: backups the rules delete, still stored
    backlog_estimated: bool = False  # part of the backlog lies beyond the cursor, counted from what was seen
    days_to_clear: float | None = None  # the backlog over what this run deleted (None: nothing deleted)
    storage: dict[str, PlanStorage] = field(default_factory=dict)  # plan -> what its listed backups hold
    duration_seconds: float = 0.0

    def count(self, *outcomes: Outcome) -> int:
        return sum(d.outcome in outcomes for d in self.deletions)

    @property
    def deleted(self) -> int:
        """Backups this run removed (or, in a dry run, would remove)."""
        return self.count(*REMOVED)

    @property
    def left_behind(self) -> int:
        """Backups the rules said to delete that are still stored after this invocation (in use, failed)."""
        return self.count(Outcome.IN_USE, Outcome.FAILED)

    @property
    def failed_deletions(self) -> list[Deletion]:
        return [d for d in self.deletions if d.outcome is Outcome.FAILED]

    @property
    def failed(self) -> bool:
        return bool(self.listing_error or self.handoff_error or self.failed_tables or self.failed_deletions)

    def estimated_monthly_cost(self, plan: str) -> float:
        return self.storage[plan].bytes / BYTES_PER_GB * self.price_per_gb_month

    def failure_summary(self) -> str:
        parts = []
        if self.listing_error:
            parts.append(f"a listing failed part-way, nothing listed in it was decided ({self.listing_error})")
        if self.handoff_error:
            parts.append(f"the expired backups from {self.cursor} on were not handed on ({self.handoff_error})")
        if self.failed_tables:
            parts.append(f"{len(self.failed_tables)} table(s) failed: {', '.join(sorted(self.failed_tables))}")
        failed = self.failed_deletions
        if failed:
            named = ", ".join(f"{d.backup_name} of {d.table} ({d.detail})" for d in failed[:20])
            more = f" and {len(failed) - 20} more" if len(failed) > 20 else ""
            parts.append(f"{len(failed)} deletion(s) failed: {named}{more}")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "dryRun": self.dry_run,
            "deleted": self.count(Outcome.DELETED),
            "alreadyGone": self.count(Outcome.ALREADY_GONE),
            "wouldDelete": self.count(Outcome.WOULD_DELETE),
            "inUseSkipped": self.count(Outcome.IN_USE),
            "deleteFailed": {d.backup_arn: f"{d.table}: {d.detail}" for d in self.failed_deletions},
            "orphaned": self.orphaned,
            "failedTables": self.failed_tables,
            "listingError": self.listing_error,
            "tablesDone": len(self.tables_done),
            "handedOver": int(self.handed_over),
            "expiredFrom": None if self.cursor is None else _iso(self.cursor),
            "windows": self.windows,
            "expiredBacklog": self.expired_backlog,
            "backlogEstimated": self.backlog_estimated,
            "backlogDaysToClear": self.days_to_clear,
            "storage": {
                plan: {
                    "backups": s.backups,
                    "bytes": s.bytes,
                    "estimatedBackups": s.estimated_backups,
                    "estimatedMonthlyCost": round(self.estimated_monthly_cost(plan), 4),
                }
                for plan, s in sorted(self.storage.items())
            },
            "durationSeconds": round(self.duration_seconds, 3),
        }
