"""The retention-cut scenario: far more expired backups than one invocation can take, cleared over invocations and
simulated days. Each invocation has `budget` seconds (a real clock against the stand-in's token buckets); a day's
run ends after `invocations_a_day` of them (the continuation limit, made small), and the next day's run starts
with a fresh event, as the schedule's would. Wall time counts the invocations only, not the simulated nights."""

from __future__ import annotations

import multiprocessing
import resource
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tablesafe.aws.clients import backup_clients
from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.prune.report import PruneRequest
from tablesafe.prune.run import run_prune
from tablesafe.rules.retention import longest_retention
from tools.bench import model
from tools.bench.cloud import Cloud
from tools.bench.model import Figures
from tools.bench.scenarios import (
    MIN_KEEP,
    RETENTION_DAYS,
    Conditions,
    PruneSeed,
    Result,
    _check_prune,
    quiet_logs,
    seed_prune,
)
from tools.bench.scenarios import settings as bench_settings

MEMORY_TARGET_MB = 256  # the prune's peak during a retention cut
TIME_TARGET = 1.10  # issue 18: the backlog cleared within 1.1x of the DeleteBackup floor


def retention_cut(
    cloud: Cloud,
    name: str,
    *,
    seed: PruneSeed,
    conditions: Conditions,
    budget: float,
    reserve: float,
    invocations_a_day: int,
    max_days: int = 10,
) -> Result:
    cloud.reset()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    seeded, doomed = seed_prune(cloud, seed, now)
    limits = cloud.configure(latency_ms=conditions.latency_ms, rate_scale=conditions.scale)
    run_settings = bench_settings(limits, reserve)
    cloud.reset_calls()
    # The prune runs in a process of its own, as in Lambda: its peak RSS (VmHWM) is the prune's (interpreter,
    # imports, clients and what the invocations hold), not the seed bookkeeping this process keeps to check the result.
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        days, busy, cpu, peak_mb = pool.apply(_prune_days, (run_settings, now, budget, invocations_a_day, max_days))
    calls = cloud.calls()
    problems = _check_prune(cloud, seeded, doomed)
    failed = [r.failure for day in days for r in day if r.failure]
    if failed:
        problems.append(f"{len(failed)} invocations failed: {failed[:2]}")
    if peak_mb >= MEMORY_TARGET_MB:
        problems.append(f"peak RSS {peak_mb:.0f} MB, target < {MEMORY_TARGET_MB} MB")
    deletions = len(doomed)
    listed = model.totals(calls).get("ListBackups", 0)
    invocations = sum(len(day) for day in days)
    figures = Figures(
        name=name,
        description=f"retention cut: {seed.tables} tables x {seed.days} days of daily backups, retention "
        f"{RETENTION_DAYS} days, minKeep {MIN_KEEP}; rates x{conditions.scale:g}, invocations of {budget:g} s "
        f"(reserve {reserve:g} s), {invocations_a_day} a day",
        wall_seconds=busy,
        floor_seconds=model.prune_floor(deletions, conditions.scale),
        floor_note=f"{deletions} DeleteBackup at {model.rate('DeleteBackup', conditions.scale):g}/s",
        calls=model.totals(calls),
        minimum=model.prune_minimum(deletions, seed.tables, deletions, MIN_KEEP),
        refused=model.refused(calls),
        client_cpu_seconds=cpu,
        time_target=TIME_TARGET,
        notes={
            "check": "FAILED: " + "; ".join(problems)
            if problems
            else f"exactly the {deletions} expired backups are gone, the other {len(seeded) - deletions} remain",
            "days and invocations": f"{len(days)} days, {invocations} invocations "
            f"({[len(day) for day in days]} a day); time counted: the invocations, not the nights",
            "backlog at each day's end": [day[-1].backlog for day in days],
            "days to clear, as reported": [day[-1].days_to_clear for day in days],
            "listing": f"{listed} ListBackups = {model.listing_seconds(listed, conditions.scale):.1f} s at "
            f"{model.rate('ListBackups', conditions.scale):g}/s, overlapped with the deletions",
            "peak memory": f"{peak_mb:.0f} MB peak RSS of the process that ran the prune and nothing else "
            f"(target < {MEMORY_TARGET_MB} MB)",
        },
    )
    return Result(figures, problems, {"peak_mb": peak_mb, "days": len(days)})


@dataclass(frozen=True)
class Invocation:
    """What the bench keeps of one invocation's report: the report itself (its deletions) is dropped, as Lambda's is."""

    backlog: int | None
    days_to_clear: float | None
    failure: str


def _prune_days(
    run_settings: Any, now: datetime, budget: float, invocations_a_day: int, max_days: int
) -> tuple[list[list[Invocation]], float, float, float]:
    """In the prune's own process: the days' invocations until the backlog is cleared, their time and the peak RSS."""
    quiet_logs()  # formatted as in Lambda, written nowhere: a spawned process starts with the logger's defaults
    gateway = DynamoDbGateway(backup_clients(rate_limits=run_settings.rate_limits))  # a warm container's clients
    days: list[list[Invocation]] = []
    busy = cpu = 0.0
    while len(days) < max_days:
        reports, seconds, used = _one_day(gateway, run_settings, now, budget, invocations_a_day)
        days.append(reports)
        busy, cpu = busy + seconds, cpu + used
        if reports[-1].backlog == 0 or any(r.failure for r in reports):
            break
    return days, busy, cpu, peak_rss_mb()


def peak_rss_mb() -> float:
    """This process's peak RSS. Linux's VmHWM is the peak of this program's own memory; getrusage's ru_maxrss is
    not, in a spawned process: it keeps the peak of the process it was forked from (a large pytest worker or the
    bench's seed bookkeeping) across the exec. ru_maxrss only where /proc is missing."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _one_day(
    gateway: DynamoDbGateway, run_settings: Any, now: datetime, budget: float, invocations: int
) -> tuple[list[Invocation], float, float]:
    queue: list[dict[str, Any]] = [PruneRequest(now).as_event()]
    reports: list[Invocation] = []
    busy = cpu = 0.0
    while queue:
        request = PruneRequest.from_event(queue.pop(), now, longest_retention=longest_retention(run_settings.plans))
        last = len(reports) + 1 == invocations  # the day's limit: what is left waits for tomorrow
        started, used = time.monotonic(), time.process_time()
        deadline = started + budget
        report = run_prune(
            gateway,
            run_settings,
            request,
            time_left=lambda d=deadline: d - time.monotonic(),  # type: ignore[misc]
            continue_run=None if last else queue.append,
        )
        failure = report.failure_summary() if report.failed else ""
        reports.append(Invocation(report.expired_backlog, report.days_to_clear, failure))
        busy += time.monotonic() - started
        cpu += time.process_time() - used
    return reports, busy, cpu
