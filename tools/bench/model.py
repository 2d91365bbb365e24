"""Floors, minimum call counts and the figures a scenario reports: pure arithmetic on AWS's documented limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from tablesafe.constants import DEFAULT_RATE_LIMITS

PAGE = 100  # ListBackups and GetResources: at most 100 items a page
TIME_TARGET = 1.15  # a run within 1.15x of its floor
CALLS_TARGET = 1.10  # API calls within 1.1x of the minimum
COLD_START_TARGET = 1.3  # handler import within 1.3x of `import boto3`
MEMORY_TARGET_MB = 128  # peak memory at 2,500 tables
# AWS Backup's list calls (ListProtectedResources, ListRecoveryPointsByResource): 20 calls/s each ("AWS Backup
# endpoints and quotas"; all of AWS Backup's calls together 50/s), 1,000 items a page. REST calls: the stand-in does
# not limit them and the CLI does not pace them (the Pacer reads X-Amz-Target).
AWS_BACKUP_LIST_RATE = 20.0
AWS_BACKUP_PAGE = 1000
STATUS_TIME_TARGET = 2.0  # issue 17: status of 10,000 tables in under 2x the floor its calls' rates set


def rate(operation: str, scale: float = 1.0) -> float:
    """AWS's documented calls per second for `operation`, times `scale`."""
    return DEFAULT_RATE_LIMITS[operation] * scale


def get_resources_pages(tag_carriers: int) -> int:
    """GetResources calls to see every table carrying the tag key: the last page says "no more" itself."""
    return max(1, -(-tag_carriers // PAGE))


def list_backups_pages(backups: int) -> int:
    """ListBackups calls to list `backups`: a full page always carries LastEvaluatedBackupArn, even the last one
    ("may or may not indicate that there is more data"), so a multiple of 100 costs one more, empty, page."""
    return backups // PAGE + 1


def backup_minimum(tagged: int, tag_carriers: int | None = None) -> dict[str, int]:
    """Fewest calls a backup run can make: its slot lease taken (PutItem) and released (UpdateItem), discovery in
    pages, one look at the slot, one CreateBackup a table."""
    return {
        "PutItem": 1,
        "GetResources": get_resources_pages(tagged if tag_carriers is None else tag_carriers),
        "ListBackups": 1,
        "CreateBackup": tagged,
        "UpdateItem": 1,
    }


def backup_floor(tagged: int, scale: float = 1.0) -> float:
    """Seconds a backup run cannot beat: CreateBackup's rate (the issue's floor, tagged / 50 s)."""
    return tagged / rate("CreateBackup", scale)


def discovery_seconds(tag_carriers: int, scale: float = 1.0) -> float:
    """Seconds the discovery pages take at GetResources' rate (added to the floor when not overlapped)."""
    return (get_resources_pages(tag_carriers) - 1) / rate("GetResources", scale)


def prune_minimum(expired: int, tables_with_deletions: int, deletions: int, min_keep: int) -> dict[str, int]:
    """Fewest calls a prune can make listing only what can expire plus what minKeep needs (the issue's minimum): the
    account-wide listing of what can expire, the backups since the cutoff until each table with deletions shows
    minKeep newer ones (daily backups: minKeep a table), one DeleteBackup per deletion."""
    needed = min_keep * tables_with_deletions
    return {
        "ListBackups": list_backups_pages(expired) + (-(-needed // PAGE) if needed else 0),
        "DeleteBackup": deletions,
    }


def prune_per_table_listing(expired: int, tables_with_deletions: int, deletions: int) -> int:
    """Calls of the earlier design, for comparison: the expired listing, one listing per table with deletions (all
    its newer backups), one DeleteBackup per deletion."""
    return list_backups_pages(expired) + tables_with_deletions + deletions


def prune_floor(deletions: int, scale: float = 1.0) -> float:
    """Seconds a prune cannot beat: DeleteBackup's rate (deletions / 10 s)."""
    return deletions / rate("DeleteBackup", scale)


def listing_seconds(list_calls: int, scale: float = 1.0) -> float:
    """Seconds `list_calls` ListBackups take at ListBackups' rate (5/s): the prune's other bound."""
    return list_calls / rate("ListBackups", scale)


def list_tables_pages(tables: int) -> int:
    """ListTables calls to name `tables` tables, 100 a page (the stand-in's moto gives no token after a full last
    page; AWS does not promise that either way, so a real account may take one more, empty, page)."""
    return max(1, -(-tables // PAGE))


def status_minimum(tables: int, tagged: int, backups: int, tag_reads: int, protected: int = 0) -> dict[str, int]:
    """Fewest calls `tablesafe status` can make for one account and region: the table names, the plan tags (one
    GetResources listing), every backup of the account (ListBackups of ALL types: each table's count, size and last
    backup per rule), per table its description (replicas, TableId, restore) and PITR state, the tags of the tables
    that need them and that GetResources did not give (`tag_reads`), the drill function's configuration, and AWS
    Backup's: its protected resources (1,000 a page), the recovery points of the `protected` tables among them."""
    return {
        "ListTables": list_tables_pages(tables),
        "GetResources": get_resources_pages(tagged),
        "ListBackups": list_backups_pages(backups),
        "DescribeTable": tables,
        "DescribeContinuousBackups": tables,
        "ListTagsOfResource": tag_reads,
        "GetFunctionConfiguration": 1,
        "ListProtectedResources": max(1, -(-protected // AWS_BACKUP_PAGE)),
        "ListRecoveryPointsByResource": protected,
    }


def status_bounds(
    tables: int, tagged: int, backups: int, tag_reads: int, scale: float = 1.0, protected: int = 0
) -> dict[str, float]:
    """Seconds each rate-limited call of a status scan needs at its rate; they can all run side by side, so the
    floor is the largest. DescribeTable and ListTables have no documented rate of their own (the control plane as
    a whole throttles at 2,500 requests/s): they bound nothing."""
    return {
        "DescribeContinuousBackups": tables / rate("DescribeContinuousBackups", scale),
        "ListBackups": list_backups_pages(backups) / rate("ListBackups", scale),
        "GetResources": get_resources_pages(tagged) / rate("GetResources", scale),
        "ListTagsOfResource": tag_reads / rate("ListTagsOfResource", scale),
        "AWS Backup's listings": (max(1, -(-protected // AWS_BACKUP_PAGE)) + protected)
        / (AWS_BACKUP_LIST_RATE * scale),
    }


def status_floor(tables: int, tagged: int, backups: int, tag_reads: int, scale: float = 1.0) -> tuple[float, str]:
    """Seconds a status scan cannot beat, and the operation that sets them."""
    bounds = status_bounds(tables, tagged, backups, tag_reads, scale)
    operation = max(bounds, key=lambda op: bounds[op])
    return bounds[operation], operation


def totals(calls: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    """Operation -> calls, whatever their outcome."""
    return {operation: sum(outcomes.values()) for operation, outcomes in sorted(calls.items())}


def refused(calls: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    """Operation -> calls that did not succeed (throttled, rate-limited, errors): should be none."""
    found = {op: sum(n for outcome, n in o.items() if outcome != "ok") for op, o in calls.items()}
    return {op: n for op, n in sorted(found.items()) if n}


@dataclass
class Figures:
    """What one scenario measured, and how it compares with its floor and minimum."""

    name: str
    description: str
    wall_seconds: float
    floor_seconds: float
    floor_note: str
    calls: dict[str, int]
    minimum: dict[str, int]
    refused: dict[str, int] = field(default_factory=dict)
    client_cpu_seconds: float = 0.0
    judged: bool = True  # False for the naive comparison: no target applies
    time_target: float = TIME_TARGET  # issue 18's scale and two-region scenarios have stricter ones
    calls_target: float = CALLS_TARGET
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def total_minimum(self) -> int:
        return sum(self.minimum.values())

    @property
    def time_ratio(self) -> float:
        return self.wall_seconds / self.floor_seconds if self.floor_seconds else float("inf")

    @property
    def calls_ratio(self) -> float:
        return self.total_calls / self.total_minimum if self.total_minimum else float("inf")

    @property
    def cpu_per_call_ms(self) -> float:
        return 1000 * self.client_cpu_seconds / self.total_calls if self.total_calls else 0.0

    def verdict(self, ratio: float, target: float) -> str:
        if not self.judged:
            return "-"
        return "PASS" if ratio <= target else "MISS"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            total_calls=self.total_calls,
            total_minimum=self.total_minimum,
            time_ratio=round(self.time_ratio, 3),
            calls_ratio=round(self.calls_ratio, 3),
            cpu_per_call_ms=round(self.cpu_per_call_ms, 3),
            time_verdict=self.verdict(self.time_ratio, self.time_target),
            calls_verdict=self.verdict(self.calls_ratio, self.calls_target),
        )
        return data

    def render(self) -> str:
        """The scenario's block of the printed report."""
        lines = [f"== {self.name}: {self.description}"]
        lines.append(
            f"   wall {self.wall_seconds:8.2f} s   floor {self.floor_seconds:8.2f} s ({self.floor_note})   "
            f"ratio {self.time_ratio:5.2f}x  {self.verdict(self.time_ratio, self.time_target)} "
            f"(target {self.time_target}x)"
        )
        lines.append(
            f"   calls {self.total_calls:7d}   minimum {self.total_minimum:7d}   "
            f"ratio {self.calls_ratio:5.3f}x  {self.verdict(self.calls_ratio, self.calls_target)} "
            f"(target {self.calls_target}x)"
        )
        lines.append("   operation            calls   minimum")
        for operation in sorted(set(self.calls) | set(self.minimum)):
            minimum = self.minimum.get(operation)
            shown = "" if minimum is None else f"{minimum:9d}"
            lines.append(f"   {operation:18s} {self.calls.get(operation, 0):7d} {shown}")
        if self.refused:
            lines.append(f"   refused calls (throttled, rate-limited, errors): {self.refused}")
        lines.append(
            f"   client CPU {self.client_cpu_seconds:.2f} s ({self.cpu_per_call_ms:.2f} ms a call, "
            f"{self.client_cpu_seconds / self.wall_seconds:.0%} of one core)"
            if self.wall_seconds
            else "   client CPU -"
        )
        for key, value in self.notes.items():
            lines.append(f"   {key}: {value}")
        return "\n".join(lines)
