"""What an export run and an in-flight check did: per-table results, the reports and what they raise."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class ExportRunFailed(RuntimeError):
    """Some tables got no export, or an export failed; raised after everything was tried and counted."""


class ExportOutcome(StrEnum):
    """What happened to one table of an export rule's run."""

    STARTED = "started"
    ALREADY_PRESENT = "already_present"  # the slot's export exists (a retry, a re-run, a duplicate delivery)
    SKIPPED = "skipped"  # the table was deleted after discovery
    FAILED = "failed"


@dataclass(frozen=True)
class ExportRequest:
    """One export rule's run for one slot (the backup run's request, for a rule whose target is export)."""

    plan: str
    rule: str
    slot: datetime  # aware, UTC, to the minute


@dataclass(frozen=True)
class TableExport:
    """One table's result."""

    table: str
    outcome: ExportOutcome
    detail: str = ""
    export_arn: str = ""
    prefix: str = ""


@dataclass
class ExportReport:
    """What one export run did, table by table."""

    plan: str
    rule: str
    slot: datetime
    results: list[TableExport] = field(default_factory=list)
    duration_seconds: float = 0.0
    problem: str = ""  # the slot could not be worked on at all (its lease held by another run to the end)
    lease_problem: str = ""  # the lease could not be released (it lapses by itself)

    def tables(self, outcome: ExportOutcome) -> dict[str, str]:
        return {r.table: r.detail for r in self.results if r.outcome is outcome}

    @property
    def failed(self) -> dict[str, str]:
        return self.tables(ExportOutcome.FAILED)

    @property
    def finished(self) -> bool:
        return not self.failed and not self.problem

    def failure(self) -> str | None:
        parts = [f"{len(self.failed)} table(s) got no export: {', '.join(sorted(self.failed))}"] if self.failed else []
        if self.problem:
            parts.append(self.problem)
        return "; ".join(parts) or None

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "rule": self.rule,
            "slot": self.slot.isoformat(),
            "exportsStarted": len(self.tables(ExportOutcome.STARTED)),
            "exportsAlreadyPresent": len(self.tables(ExportOutcome.ALREADY_PRESENT)),
            "skipped": self.tables(ExportOutcome.SKIPPED),
            "failed": self.failed,
            "exports": {r.table: r.export_arn for r in self.results if r.export_arn},
            "durationSeconds": round(self.duration_seconds, 3),
            "problem": self.problem,
            "leaseProblem": self.lease_problem,
        }


@dataclass(frozen=True)
class EndedExport:
    """An export the check saw end, and reported (only one check reports each)."""

    table: str
    plan: str
    rule: str
    slot: str
    export_arn: str
    billed_bytes: int = 0
    item_count: int = 0
    failure: str = ""


@dataclass
class CheckReport:
    """What one check of the exports in flight found."""

    completed: list[EndedExport] = field(default_factory=list)
    failed: list[EndedExport] = field(default_factory=list)
    in_progress: int = 0
    problems: list[str] = field(default_factory=list)  # exports the check could not look at this time

    @property
    def exported_bytes(self) -> int:
        return sum(e.billed_bytes for e in self.completed)

    def failure(self) -> str | None:
        parts = []
        if self.failed:
            names = ", ".join(sorted(f"{e.table} ({e.failure})" for e in self.failed))
            parts.append(f"{len(self.failed)} export(s) failed: {names}")
        if self.problems:
            parts.append(f"{len(self.problems)} export(s) could not be checked: {'; '.join(self.problems)}")
        return "; ".join(parts) or None

    def as_dict(self) -> dict[str, Any]:
        return {
            "completed": [e.export_arn for e in self.completed],
            "failed": {e.export_arn: e.failure for e in self.failed},
            "inProgress": self.in_progress,
            "exportedBytes": self.exported_bytes,
            "problems": self.problems,
        }
