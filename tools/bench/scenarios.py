"""The scenarios: seed the stand-in, run a use case in this process against it, check the result, return figures.

The use cases run in-process (run_backup, run_prune) with a gateway whose client-side rate limits equal the
stand-in's: AWS's documented ones, both scaled together when a scenario scales them. Every scenario checks what the
run did (each tagged table exactly one backup; exactly the expired backups gone) and records a problem otherwise.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config

from tablesafe.aws.clients import backup_clients, lease_client
from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.aws.lease_table import LeaseTable
from tablesafe.backup.run import BackupReport, BackupRequest, Outcome, run_backup
from tablesafe.config.plans import parse_plans
from tablesafe.config.settings import Settings
from tablesafe.constants import DEFAULT_PLANS
from tablesafe.observability import logger
from tablesafe.prune.report import PruneRequest
from tablesafe.prune.run import run_prune
from tablesafe.rules.naming import scheduled_name, to_slot
from tablesafe.slots.lease import SlotLeases
from tools.bench import model
from tools.bench.cloud import Cloud
from tools.bench.model import Figures
from tools.bench.naive import Phases, naive_backup, naive_prune

ACCOUNT = "123456789012"  # moto's account for the stand-in's fake credentials
TAG_KEY = "backup-plan"
PLAN = RULE = "daily"
PREFIX = "tablesafe"
PLANS = parse_plans(DEFAULT_PLANS)  # daily: 35 days' retention, minKeep 3
RETENTION_DAYS = PLANS[PLAN].rules[0].retention_days
MIN_KEEP = PLANS[PLAN].rules[0].min_keep
OTHER_TAGS = {"team": "analytics"}  # what the untagged tables carry: GetResources must filter them out
PRUNE_HOUR_OFFSET = timedelta(minutes=90)  # backups at 03:00, prune at 04:30, as the default schedules
DEPLOYED_REGIONS = ("us-east-1",)  # the default cdk.json's `tablesafe:regions`, the stand-in's region
LEASE_TABLE = "tablesafe-slot-leases"  # keyed by `pk`, as the stack's (infra/leases.py)


@dataclass
class Conditions:
    """How the stand-in answers: latency per call, and the documented rate limits times `scale` on both sides."""

    latency_ms: float = 20.0
    scale: float = 1.0


@dataclass
class Result:
    """A scenario's figures and what its checks found wrong (nothing, if the run did what it should)."""

    figures: Figures
    problems: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def quiet_logs() -> None:
    """Keep the functions' JSON log lines (one per table) off the terminal, still formatted as in Lambda."""
    handler = logger.registered_handler
    if hasattr(handler, "setStream"):
        handler.setStream(open(os.devnull, "w"))  # noqa: SIM115  # lives as long as the process


def settings(rate_limits: dict[str, float], reserve: float = 60.0) -> Settings:
    """The default deployment's settings (plan daily, home-region mode, one region), given limits and reserve."""
    return Settings(
        tag_key=TAG_KEY,
        plans=PLANS,
        backup_name_prefix=PREFIX,
        rate_limits=rate_limits,
        time_reserve_seconds=reserve,
        deployed_regions=DEPLOYED_REGIONS,
    )


def table_names(count: int) -> list[str]:
    return [f"t{i:05d}" for i in range(count)]


def tagged_subset(names: list[str], tagged: int) -> list[str]:
    """`tagged` of the names, spread evenly through them (so tagged and untagged tables interleave)."""
    count = len(names)
    return [name for i, name in enumerate(names) if (i * tagged) % count < tagged]


def seed_tables(cloud: Cloud, tables: int, tagged: int) -> list[str]:
    """`tables` tables of which `tagged` carry the plan's tag; returns the tagged ones."""
    names = table_names(tables)
    chosen = tagged_subset(names, tagged)
    wanted = set(chosen)
    cloud.create_tables([(name, {TAG_KEY: PLAN} if name in wanted else OTHER_TAGS) for name in names])
    return chosen


def _measure(run: Callable[[], Any]) -> tuple[Any, float, float]:
    cpu, started = time.process_time(), time.monotonic()
    result = run()
    return result, time.monotonic() - started, time.process_time() - cpu


# -- backup ----------------------------------------------------------------------------------------------------------


def backup(
    cloud: Cloud,
    name: str,
    *,
    tables: int,
    tagged: int,
    conditions: Conditions,
    budget: float | None = None,
    reserve: float = 60.0,
    clock: Callable[[], float] = time.monotonic,
    description: str = "",
    goals: tuple[float, float] = (model.TIME_TARGET, model.CALLS_TARGET),
) -> Result:
    """run_backup over `tagged` of `tables` tables; with `budget`, each invocation has that many seconds and the run
    continues through continue_run (as the handler's self-invocation does) until done."""
    cloud.reset()
    targets = seed_tables(cloud, tables, tagged)
    cloud.create_tables([(LEASE_TABLE, {})])  # the slot-lease table, untagged: discovery never sees it
    limits = cloud.configure(latency_ms=conditions.latency_ms, rate_scale=conditions.scale)
    gateway = DynamoDbGateway(
        backup_clients(rate_limits=limits)
    )  # a warm container's: clients built before the clock starts
    leases = SlotLeases(LeaseTable(LEASE_TABLE, lease_client()))
    run_settings = settings(limits, reserve)
    slot = to_slot(datetime.now(UTC))
    backup_name = scheduled_name(PREFIX, PLAN, RULE, slot)
    cloud.reset_calls()
    server_cpu = cloud.cpu_seconds()

    stalled: list[str] = []

    def invoke_until_done() -> list[BackupReport]:
        queue = [BackupRequest(PLAN, RULE, slot).as_event()]
        reports = []
        while queue:
            request = BackupRequest.from_event(queue.pop(0), now=datetime.now(UTC))
            deadline = clock() + budget if budget is not None else math.inf
            report = run_backup(
                gateway,
                run_settings,
                request,
                time_left=lambda d=deadline: d - clock(),
                continue_run=queue.append,
                leases=leases,
            )
            reports.append(report)
            if report.handed_over and not report.tables(Outcome.CREATED):
                # Discovery and the slot listing took the whole budget: every continuation would do the same.
                stalled.append(f"invocation {len(reports)} created nothing and handed {len(report.handed_over)} on")
                break
        return reports

    reports, wall, cpu = _measure(invoke_until_done)
    server_cpu = cloud.cpu_seconds() - server_cpu
    calls = cloud.calls()
    per_table = cloud.backups_named(backup_name)
    problems = stalled + _check_backups(targets, per_table, reports)
    minimum = model.backup_minimum(len(targets))
    discovery = model.discovery_seconds(len(targets), conditions.scale)
    notes: dict[str, Any] = {
        "check": "FAILED: " + "; ".join(problems)
        if problems
        else f"each of the {len(targets)} tagged tables has exactly one backup of the slot, no other table has one",
        "discovery": f"{model.get_resources_pages(len(targets))} GetResources pages = {discovery:.2f} s at "
        f"{model.rate('GetResources', conditions.scale):g}/s, overlapped: the workers start on the first page",
        "stand-in CPU": f"{server_cpu:.1f} s ({server_cpu / wall:.0%} of one core)",
    }
    if "DescribeTable" in calls:
        describe = sum(calls["DescribeTable"].values())
        with_describe = sum(minimum.values()) + describe
        notes["DescribeTable"] = (
            f"{describe} calls: home-region mode (the default) asks each table for global-table replicas; "
            f"counted in the minimum, the ratio would be {sum(model.totals(calls).values()) / with_describe:.2f}x"
        )
    if budget is not None:
        totals = model.totals(calls)
        extra_pages = totals.get("GetResources", 0) - minimum["GetResources"]
        extra_lists = totals.get("ListBackups", 0) - minimum["ListBackups"]
        pages_seconds = extra_pages / model.rate("GetResources", conditions.scale)
        lists_seconds = extra_lists / model.rate("ListBackups", conditions.scale)
        extra_lease = totals.get("PutItem", 0) + totals.get("UpdateItem", 0) - 2
        notes["continuation overhead"] = (
            f"continuations carry their cursor and inherit the lease: {extra_pages} more GetResources "
            f"({pages_seconds:.1f} s) and {extra_lists} more ListBackups ({lists_seconds:.1f} s) than one invocation "
            f"needs, at the limits (x{conditions.scale:g} at AWS's own); each invocation takes the lease and hands it "
            f"on ({extra_lease} more lease writes)"
        )
        notes["invocations"] = (
            f"{len(reports)} (budget {budget:g} s each, reserve {reserve:g} s); created per invocation: "
            f"{[len(r.tables(Outcome.CREATED)) for r in reports]}"
        )
    figures = Figures(
        name=name,
        description=description or f"{len(targets)} tagged of {tables} tables",
        wall_seconds=wall,
        floor_seconds=model.backup_floor(len(targets), conditions.scale),
        floor_note=f"{len(targets)} CreateBackup at {model.rate('CreateBackup', conditions.scale):g}/s",
        calls=model.totals(calls),
        minimum=minimum,
        refused=model.refused(calls),
        client_cpu_seconds=cpu,
        notes=notes,
        time_target=goals[0],
        calls_target=goals[1],
    )
    return Result(figures, problems, {"invocations": len(reports)})


def _check_backups(targets: list[str], per_table: dict[str, int], reports: list[BackupReport]) -> list[str]:
    problems = []
    missing = sorted(set(targets) - set(per_table))
    twice = sorted(t for t, n in per_table.items() if n > 1)
    strays = sorted(set(per_table) - set(targets))
    failed = {t: why for r in reports for t, why in r.failed.items()}
    created = sum(len(r.tables(Outcome.CREATED)) for r in reports)
    if missing:
        problems.append(f"{len(missing)} tagged tables have no backup (first: {missing[:3]})")
    if twice:
        problems.append(f"{len(twice)} tables have more than one backup of the slot (first: {twice[:3]})")
    if strays:
        problems.append(f"{len(strays)} untagged tables were backed up (first: {strays[:3]})")
    if failed:
        problems.append(f"{len(failed)} tables failed: {dict(list(failed.items())[:3])}")
    if reports and created != len(targets):
        problems.append(f"the reports count {created} backups created, expected {len(targets)}")
    return problems


# -- two regions -----------------------------------------------------------------------------------------------------

FIRST_REGION, SECOND_REGION = "eu-west-1", "us-east-1"  # eu-west-1 sorts first: it never asks for replicas
SCALE_TARGETS = (1.05, 1.02)  # issue 18: within 1.05x of the floor, calls within 1.02x of the minimum
TWO_REGION_CALLS_TARGET = 1.05  # issue 18: the second region's calls within 1.05x of the first's


def two_region(
    cloud: Cloud, name: str, *, tables: int, global_tables: int, shared_names: int, conditions: Conditions
) -> Result:
    """A deployment to two regions, `tables` tagged tables in each: `global_tables` of them global (a replica in
    both), `shared_names` regional tables named as a regional table of the other region, the rest named for their
    region. Each region's run backs up what is its own; the second's calls are judged against the first's."""
    cloud.reset()
    regional = tables - global_tables
    shared = [f"g{i:05d}" for i in range(global_tables)] + [f"s{i:05d}" for i in range(min(shared_names, regional))]
    only = {
        region: [f"{region}-{i:05d}" for i in range(regional - min(shared_names, regional))]
        for region in (FIRST_REGION, SECOND_REGION)
    }
    regions = [FIRST_REGION, SECOND_REGION]
    for region in regions:
        cloud.create_tables([(t, {TAG_KEY: PLAN}) for t in (*shared, *only[region])], region=region)
    cloud.set_global_tables(shared[:global_tables], regions)
    limits = cloud.configure(latency_ms=conditions.latency_ms, rate_scale=conditions.scale)
    run_settings = Settings(
        tag_key=TAG_KEY,
        plans=PLANS,
        backup_name_prefix=PREFIX,
        rate_limits=limits,
        deployed_regions=tuple(regions),
    )
    slot = to_slot(datetime.now(UTC))
    backup_name = scheduled_name(PREFIX, PLAN, RULE, slot)
    calls: dict[str, dict[str, int]] = {}
    walls: dict[str, float] = {}
    cpu = 0.0
    problems: list[str] = []
    for region in regions:
        gateway = DynamoDbGateway(backup_clients(rate_limits=limits, region_name=region, other_regions=regions))
        cloud.reset_calls()
        report, walls[region], used = _measure(
            lambda g=gateway: run_backup(g, run_settings, BackupRequest(PLAN, RULE, slot))
        )
        cpu += used
        calls[region] = model.totals(cloud.calls())
        # Global tables: backed up in the first region only; every regional table in its own region.
        wanted = [*shared[global_tables:], *only[region]] + (shared[:global_tables] if region == FIRST_REGION else [])
        problems += [
            f"{region}: {p}" for p in _check_backups(wanted, cloud.backups_named(backup_name, region), [report])
        ]
    first, second = calls[FIRST_REGION], calls[SECOND_REGION]
    created = tables - global_tables
    figures = Figures(
        name=name,
        description=f"two regions, {tables} tagged tables each ({global_tables} global, {shared_names} regional "
        "named as in the other region); the second region's run against the first's",
        wall_seconds=walls[SECOND_REGION],
        floor_seconds=model.backup_floor(created, conditions.scale),
        floor_note=f"{created} CreateBackup at {model.rate('CreateBackup', conditions.scale):g}/s",
        calls=second,
        minimum=first,  # the target: the second region's calls within 1.05x of the first's
        client_cpu_seconds=cpu,
        calls_target=TWO_REGION_CALLS_TARGET,
        notes={
            "check": "FAILED: " + "; ".join(problems)
            if problems
            else f"each global table backed up once (in {FIRST_REGION}), each regional table in its own region",
            "first region": f"{FIRST_REGION}: {sum(first.values())} calls {first}, {walls[FIRST_REGION]:.1f} s",
            "second region": f"{SECOND_REGION}: {sum(second.values())} calls = "
            f"{sum(second.values()) / sum(first.values()):.3f}x the first's (target 1.05x); DescribeTable only for "
            f"the {len(shared)} tables named in {FIRST_REGION} too, ListTables of {FIRST_REGION} in pages of 100",
        },
    )
    return Result(figures, problems, {"ratio": sum(second.values()) / sum(first.values())})


# -- prune -----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PruneSeed:
    """Daily backups of `tables` tables for `days` days (the newest made 90 minutes before the prune runs)."""

    tables: int
    days: int

    def backups(self, now: datetime) -> list[tuple[str, str, datetime, int]]:
        """(table, name, created, days old) of every backup."""
        newest = now - PRUNE_HOUR_OFFSET
        rows = []
        for table in table_names(self.tables):
            for age in range(self.days):
                created = newest - timedelta(days=age)
                rows.append((table, scheduled_name(PREFIX, PLAN, RULE, created), created, age))
        return rows

    @staticmethod
    def expires(age_days: int) -> bool:
        """Past 35 days' retention (age + 90 min > 35 days) and not among the newest minKeep."""
        return age_days >= RETENTION_DAYS and age_days >= MIN_KEEP

    @property
    def expired_per_table(self) -> int:
        return sum(self.expires(age) for age in range(self.days))


def seed_prune(cloud: Cloud, seed: PruneSeed, now: datetime) -> tuple[dict[str, str], set[str]]:
    """Tables and their backups; returns ARN -> table of every backup and the ARNs the prune must delete."""
    cloud.create_tables([(name, {TAG_KEY: PLAN}) for name in table_names(seed.tables)])
    rows = seed.backups(now)
    arns: list[str] = []
    for start in range(0, len(rows), 5000):
        chunk = rows[start : start + 5000]
        arns.extend(cloud.seed_backups([(table, name, created) for table, name, created, _ in chunk]))
    tables = {arn: row[0] for arn, row in zip(arns, rows, strict=True)}
    doomed = {arn for arn, row in zip(arns, rows, strict=True) if seed.expires(row[3])}
    return tables, doomed


def _check_prune(cloud: Cloud, seeded: dict[str, str], doomed: set[str]) -> list[str]:
    live = {arn for _, _, arn in cloud.live_backups()}
    problems = []
    kept_wrongly = doomed & live
    deleted_wrongly = (set(seeded) - doomed) - live
    if kept_wrongly:
        problems.append(f"{len(kept_wrongly)} expired backups were not deleted")
    if deleted_wrongly:
        problems.append(f"{len(deleted_wrongly)} backups that must be kept were deleted")
    return problems


def prune(cloud: Cloud, name: str, *, seed: PruneSeed, conditions: Conditions, description: str = "") -> Result:
    """run_prune over `seed`'s backups in one invocation (no time limit: the run fits Lambda's 900 s)."""
    cloud.reset()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    seeded, doomed = seed_prune(cloud, seed, now)
    limits = cloud.configure(latency_ms=conditions.latency_ms, rate_scale=conditions.scale)
    gateway = DynamoDbGateway(backup_clients(rate_limits=limits))
    run_settings = settings(limits)
    cloud.reset_calls()
    server_cpu = cloud.cpu_seconds()
    report, wall, cpu = _measure(lambda: run_prune(gateway, run_settings, PruneRequest(now=now)))
    server_cpu = cloud.cpu_seconds() - server_cpu
    calls = cloud.calls()
    problems = _check_prune(cloud, seeded, doomed)
    if report.failed:
        problems.append(f"the run reports failures: {report.failure_summary()}")
    deletions = len(doomed)
    tables_with_deletions = seed.tables if seed.expired_per_table else 0
    minimum = model.prune_minimum(deletions, tables_with_deletions, deletions, MIN_KEEP)
    listed = model.totals(calls).get("ListBackups", 0)
    listing = model.listing_seconds(listed, conditions.scale)
    per_table = model.prune_per_table_listing(deletions, tables_with_deletions, deletions)
    per_table_seconds = model.listing_seconds(per_table - deletions, conditions.scale)
    floor = model.prune_floor(deletions, conditions.scale)
    figures = Figures(
        name=name,
        description=description
        or f"{seed.tables} tables x {seed.days} days of daily backups, {RETENTION_DAYS} days' retention, "
        f"minKeep {MIN_KEEP}",
        wall_seconds=wall,
        floor_seconds=floor,
        floor_note=f"{deletions} DeleteBackup at {model.rate('DeleteBackup', conditions.scale):g}/s",
        calls=model.totals(calls),
        minimum=minimum,
        refused=model.refused(calls),
        client_cpu_seconds=cpu,
        notes={
            "check": "FAILED: " + "; ".join(problems)
            if problems
            else f"exactly the {deletions} expired backups are gone, the other {len(seeded) - deletions} remain",
            "listing bound": f"{listed} ListBackups at {model.rate('ListBackups', conditions.scale):g}"
            f"/s = {listing:.1f} s ({'above' if listing > floor else 'below'} the deletion floor; the two overlap)",
            "one listing per table": f"{per_table} calls if each table with deletions listed all its newer backups "
            f"(the design before the windowed listing): {per_table_seconds:.1f} s of listing",
            "stand-in CPU": f"{server_cpu:.1f} s ({server_cpu / wall:.0%} of one core)",
        },
    )
    return Result(figures, problems, {"listing_bound_seconds": listing})


# -- the naive approach ----------------------------------------------------------------------------------------------


def _plain_client(cloud: Cloud) -> Any:
    config = Config(retries={"mode": "standard", "max_attempts": 8}, max_pool_connections=4)
    return boto3.session.Session().client("dynamodb", config=config)


def naive_backup_scenario(cloud: Cloud, name: str, *, tables: int, tagged: int, conditions: Conditions) -> Result:
    """The naive backup on the same tables as the backup scenario of that size."""
    cloud.reset()
    targets = seed_tables(cloud, tables, tagged)
    limits = cloud.configure(latency_ms=conditions.latency_ms, rate_scale=conditions.scale)
    ddb = _plain_client(cloud)
    backup_name = scheduled_name(PREFIX, PLAN, RULE, to_slot(datetime.now(UTC)))
    cloud.reset_calls()
    (done, phases), wall, cpu = _measure(
        lambda: naive_backup(ddb, limits, account=ACCOUNT, tag_key=TAG_KEY, plan=PLAN, backup_name=backup_name)
    )
    calls = cloud.calls()
    per_table = cloud.backups_named(backup_name)
    problems = _check_backups(targets, per_table, [])
    figures = Figures(
        name=name,
        description=f"naive: ListTables, ListTagsOfResource per table, sequential CreateBackup; {tagged} of {tables}",
        wall_seconds=wall,
        floor_seconds=model.backup_floor(tagged, conditions.scale),
        floor_note="the same floor as the backup run",
        calls=model.totals(calls),
        minimum=model.backup_minimum(tagged),
        refused=model.refused(calls),
        client_cpu_seconds=cpu,
        judged=False,
        notes={
            "check": "FAILED: " + "; ".join(problems) if problems else "each tagged table has exactly one backup",
            "phases": _phase_text(phases),
            "backed up": f"{len(done)} tables",
        },
    )
    return Result(figures, problems, {"phases": phases})


def naive_prune_scenario(cloud: Cloud, name: str, *, seed: PruneSeed, conditions: Conditions) -> Result:
    """The naive prune on the same backups as the prune scenario of that size."""
    cloud.reset()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    seeded, doomed = seed_prune(cloud, seed, now)
    limits = cloud.configure(latency_ms=conditions.latency_ms, rate_scale=conditions.scale)
    ddb = _plain_client(cloud)
    cloud.reset_calls()
    (deleted, phases), wall, cpu = _measure(lambda: naive_prune(ddb, limits, plans=PLANS, prefix=PREFIX, now=now))
    calls = cloud.calls()
    problems = _check_prune(cloud, seeded, doomed)
    deletions = len(doomed)
    figures = Figures(
        name=name,
        description=f"naive: list every backup, then delete one by one; {seed.tables} tables x {seed.days} days",
        wall_seconds=wall,
        floor_seconds=model.prune_floor(deletions, conditions.scale),
        floor_note="the same floor as the prune run",
        calls=model.totals(calls),
        minimum=model.prune_minimum(deletions, seed.tables if deletions else 0, deletions, MIN_KEEP),
        refused=model.refused(calls),
        client_cpu_seconds=cpu,
        judged=False,
        notes={
            "check": "FAILED: " + "; ".join(problems) if problems else "exactly the expired backups are gone",
            "phases": _phase_text(phases),
            "deleted": f"{len(deleted)} backups of {len(seeded)}",
        },
    )
    return Result(figures, problems, {"phases": phases})


def _phase_text(phases: Phases) -> str:
    return ", ".join(f"{p} {phases.seconds[p]:.1f} s for {phases.items[p]}" for p in phases.seconds)


def extrapolate(phases: Phases, items: dict[str, int]) -> float:
    """Seconds the naive run would take with `items` per phase, at the per-item rate each phase measured."""
    total = 0.0
    for phase, seconds in phases.seconds.items():
        measured = phases.items[phase] or 1
        total += seconds / measured * items.get(phase, measured)
    return total
