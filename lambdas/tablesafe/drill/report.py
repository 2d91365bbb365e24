"""What a drill invocation did: one result per drill that ended, the steps taken, and the failure that raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    """How a drill ended."""

    PASSED = "passed"
    FAILED = "failed"
    # The backup was deleted before the drill could compare with it: no proof either way, not a failure; the table
    # stays due and the next invocation drills its newest backup.
    ABANDONED = "abandoned"


class DrillRunFailed(RuntimeError):
    """Raised at the end of an invocation in which a drill failed, naming the tables, so Lambda's Errors fire."""


@dataclass(frozen=True)
class DrillResult:
    """One drill that ended in this invocation."""

    table: str
    plan: str
    drill_table: str
    backup_arn: str
    verdict: Verdict
    reason: str
    restore_seconds: float | None = None
    expected_items: int | None = None
    counted_items: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "plan": self.plan,
            "drill_table": self.drill_table,
            "backup_arn": self.backup_arn,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "restore_seconds": self.restore_seconds,
            "expected_items": self.expected_items,
            "counted_items": self.counted_items,
        }


@dataclass
class DrillReport:
    """Everything one invocation did."""

    started: list[str] = field(default_factory=list)  # drill tables whose restore this invocation began
    started_tags: dict[str, dict[str, str]] = field(default_factory=dict)  # their tags, as written
    waiting: list[str] = field(default_factory=list)  # tables due but not started (restore limit, no backup)
    results: list[DrillResult] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # drill tables this invocation deleted
    errors: list[str] = field(default_factory=list)  # steps that failed on AWS's side (the run raises)
    in_flight: int = 0  # drills still restoring, verifying or cleaning up at the end
    overdue: dict[str, int] = field(default_factory=dict)  # plan -> tables with no passing drill in 1.5 x everyDays
    lease_busy: bool = False  # another drill invocation held the drill lease: this one did nothing

    def count(self, verdict: Verdict, plan: str | None = None) -> int:
        return sum(1 for r in self.results if r.verdict is verdict and (plan is None or r.plan == plan))

    @property
    def failed(self) -> list[DrillResult]:
        return [r for r in self.results if r.verdict is Verdict.FAILED]

    def failure(self) -> str | None:
        """The message the invocation raises with, or None when nothing failed."""
        parts = [f"{r.table}: {r.reason}" for r in self.failed] + self.errors
        if not parts:
            return None
        return f"{len(self.failed)} drill(s) failed, {len(self.errors)} step error(s): " + "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "waiting": self.waiting,
            "results": [r.as_dict() for r in self.results],
            "deleted": self.deleted,
            "errors": self.errors,
            "in_flight": self.in_flight,
            "overdue": self.overdue,
            "passed": self.count(Verdict.PASSED),
            "failed": self.count(Verdict.FAILED),
            "lease_busy": self.lease_busy,
        }
