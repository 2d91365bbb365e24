"""What a backup run is asked to do and what it did: the request (from its event), per-table results, the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from tablesafe.backup.cursor import RunCursor
from tablesafe.config.events import EventError, parse_continuation, parse_time, require_job
from tablesafe.constants import JOB_BACKUP
from tablesafe.rules.naming import to_slot
from tablesafe.slots.lease import ClaimState, parse_lease_holder


class BackupRunFailed(RuntimeError):
    """Some tables got no backup; raised after every table was tried and the metrics were emitted."""


class Outcome(StrEnum):
    """What happened to one table in a run."""

    CREATED = "created"
    ALREADY_PRESENT = "already_present"
    SKIPPED = "skipped"
    FAILED = "failed"
    DEFERRED = "deferred"  # BackupInUse or table busy: tried again later in the run


class Deferral(StrEnum):
    """Why a table was deferred: decides what it amounts to if it is still deferred at the end of the run."""

    BACKUP_IN_USE = "backup_in_use"  # another backup of the table is CREATING
    TABLE_CREATING = "table_creating"  # the table is being created: the next slot backs it up
    TABLE_UPDATING = "table_updating"  # AWS refused a backup while the table updates


@dataclass(frozen=True)
class BackupRequest:
    """One rule's run for one slot, from a schedule, a manual invoke or a continuation."""

    plan: str
    rule: str
    slot: datetime
    continuation: int = 0
    lease_holder: str | None = None  # a continuation: the invocation that handed the slot's lease on to it
    cursor: RunCursor | None = None  # a continuation: the tables left, so that it need not discover them again

    @classmethod
    def from_event(cls, event: object, now: datetime) -> BackupRequest:
        """Validate the event; EventError names the key that is wrong."""
        event = require_job(event, JOB_BACKUP)
        plan, rule = event.get("plan"), event.get("rule")
        for key, value in (("plan", plan), ("rule", rule)):
            if not isinstance(value, str) or not value:
                raise EventError(f"{key}={value!r}: the event must name the {key} as a non-empty string")
        scheduled = event.get("scheduledTime")
        moment = now if scheduled is None else parse_time("scheduledTime", scheduled)
        continuation = parse_continuation(event)
        assert isinstance(plan, str) and isinstance(rule, str)
        holder = parse_lease_holder(event)
        cursor = None if event.get("cursor") is None else RunCursor.decode(event["cursor"])
        return cls(plan, rule, to_slot(moment), continuation=continuation, lease_holder=holder, cursor=cursor)

    def as_event(self) -> dict[str, Any]:
        """The event that runs this request again (used for continuations)."""
        event: dict[str, Any] = {
            "job": JOB_BACKUP,
            "plan": self.plan,
            "rule": self.rule,
            "scheduledTime": self.slot.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "continuation": self.continuation,
        }
        if self.lease_holder is not None:
            event["leaseHolder"] = self.lease_holder
        if self.cursor is not None and self.cursor.encoded is not None:
            event["cursor"] = self.cursor.encoded
        return event


@dataclass(frozen=True)
class TableResult:
    """One table's result."""

    table: str
    outcome: Outcome
    detail: str = ""
    backup_arn: str = ""
    pitr_changed: bool = False  # PITR was off or had another recovery period, and the run set it
    replica_skipped: bool = False  # a global-table replica another region backs up
    deferral: Deferral | None = None  # why, when the outcome is DEFERRED


@dataclass
class BackupReport:
    """What a run did, table by table."""

    plan: str
    rule: str
    slot: datetime
    backup_name: str
    results: list[TableResult] = field(default_factory=list)
    unknown_plan: dict[str, str] = field(default_factory=dict)  # table -> tag value
    handed_over: list[str] = field(default_factory=list)  # left to a continuation
    duration_seconds: float = 0.0
    lease: str = ""  # the slot lease: held, unavailable (worked without it), busy (waited); "" when none is used
    duplicate_delivery: bool = False  # another run was working on the slot when this invocation came
    waiting_for: str = ""  # the run this invocation was still waiting for when it handed its wait on
    lease_problems: list[str] = field(default_factory=list)  # hand-off or release of the lease that failed
    problem: str = ""  # the slot could not be verified at all (a wait that could not go on)

    def tables(self, outcome: Outcome) -> dict[str, str]:
        return {r.table: r.detail for r in self.results if r.outcome is outcome}

    @property
    def failed(self) -> dict[str, str]:
        return self.tables(Outcome.FAILED)

    @property
    def finished(self) -> bool:
        """The slot is done as far as this invocation goes: no failure, nothing left to a continuation."""
        return not self.failed and not self.handed_over and not self.waiting_for and not self.problem

    @property
    def lease_unavailable(self) -> int:
        """Times the run could not take, hand on or release its lease."""
        return (self.lease == ClaimState.UNAVAILABLE.value) + len(self.lease_problems)

    def failure(self) -> str | None:
        """What the invocation must raise, or None."""
        parts = [f"{len(self.failed)} table(s) got no backup: {', '.join(sorted(self.failed))}"] if self.failed else []
        if self.problem:
            parts.append(self.problem)
        return "; ".join(parts) or None

    @property
    def replicas_skipped(self) -> int:
        return sum(r.replica_skipped for r in self.results)

    @property
    def pitr_changed(self) -> int:
        return sum(r.pitr_changed for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "rule": self.rule,
            "slot": self.slot.isoformat(),
            "backupName": self.backup_name,
            "created": len(self.tables(Outcome.CREATED)),
            "alreadyPresent": len(self.tables(Outcome.ALREADY_PRESENT)),
            "replicasSkipped": self.replicas_skipped,
            "pitrChanged": self.pitr_changed,
            "skipped": self.tables(Outcome.SKIPPED),
            "failed": self.failed,
            "unknownPlan": self.unknown_plan,
            "handedOver": len(self.handed_over),
            "durationSeconds": round(self.duration_seconds, 3),
            "lease": self.lease,
            "duplicateDelivery": self.duplicate_delivery,
            "waitingFor": self.waiting_for,
            "leaseProblems": self.lease_problems,
            "problem": self.problem,
        }
