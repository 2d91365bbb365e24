"""The status scenario (issue 17, "Scale"): `tablesafe status` over many tables, run as an operator runs it.

The CLI's own entry point (`tablesafe_cli.main.main`, `status --json`) runs in this process against the stand-in,
with the stand-in's rate limits passed to it as TABLESAFE_RATE_LIMITS (its clients pace themselves at those rates,
as they would at AWS's own), so the figures do not depend on where the scan's code lives. Every table of the
answer is checked against what was seeded: its plan, its backups and the last one, its PITR state, its replicas.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tablesafe.constants import ENV_RATE_LIMITS
from tablesafe.rules.naming import scheduled_name
from tablesafe_cli.main import main as cli_main
from tools.bench import model
from tools.bench.cloud import Cloud
from tools.bench.model import Figures
from tools.bench.scenarios import OTHER_TAGS, PLAN, PREFIX, RULE, TAG_KEY, Conditions, Result, table_names
from tools.bench.scenarios import tagged_subset as spread

OTHER_REGION = "eu-west-1"  # where the global tables' other replica is
# GetFunctionConfiguration of the drill function, where status finds the drill records; the stand-in counts REST
# calls by service and method. Its ResourceNotFoundException (no drills deployed) is an answer, not a refusal.
DRILL_LOOKUP = "lambda:GET"


@dataclass(frozen=True)
class StatusSeed:
    """`tables` tables, `tagged` of them carrying the plan tag with `days` daily backups each (the default plan
    keeps 35 days), every `pitr_every`th with PITR on, every `global_every`th a global table with a replica in
    OTHER_REGION (tagged and untagged alike: an untagged one needs its tags read for its home region)."""

    tables: int
    tagged: int
    days: int = 35
    pitr_every: int = 4
    global_every: int = 100

    def names(self) -> list[str]:
        return table_names(self.tables)

    def tagged_names(self) -> set[str]:
        return set(spread(self.names(), self.tagged))

    def pitr_names(self) -> set[str]:
        return {n for i, n in enumerate(self.names()) if i % self.pitr_every == 0}

    def global_names(self) -> set[str]:
        """One table in every `global_every`, at alternating offsets so that tagged and untagged ones take turns."""
        every = self.global_every
        return {n for i, n in enumerate(self.names()) if i % every == every // 2 + (i // every) % 2}

    @property
    def backups(self) -> int:
        return self.tagged * self.days

    @property
    def tag_reads(self) -> int:
        """Tables whose tags decide something (a global table's home region) that GetResources does not name."""
        return len(self.global_names() - self.tagged_names())

    def newest(self, now: datetime) -> datetime:
        """The newest backup's time: today's 03:00 slot, or yesterday's before 03:00 (the default schedule)."""
        slot = now.replace(hour=3, minute=0, second=0, microsecond=0)
        return slot if slot <= now else slot - timedelta(days=1)


def seed_status(cloud: Cloud, seed: StatusSeed, now: datetime, account: str | None = None) -> None:
    """The seed's tables, tags, backups, PITR and replicas, in `account` (or the stand-in's own)."""
    tagged = seed.tagged_names()
    cloud.create_tables([(n, {TAG_KEY: PLAN} if n in tagged else OTHER_TAGS) for n in seed.names()], account=account)
    newest = seed.newest(now)
    backups = [
        (table, scheduled_name(PREFIX, PLAN, RULE, newest - timedelta(days=age)), newest - timedelta(days=age))
        for age in range(seed.days)
        for table in sorted(tagged)
    ]
    for start in range(0, len(backups), 20_000):
        cloud.seed_listed_backups(backups[start : start + 20_000], account=account)
    cloud.enable_pitr(sorted(seed.pitr_names()), account=account)
    cloud.set_replicas(sorted(seed.global_names()), [cloud.region(), OTHER_REGION], account=account)


def check_status(data: dict[str, Any], seed: StatusSeed, now: datetime) -> list[str]:
    """What the status answer gets wrong about the seeded tables (nothing, if it is right)."""
    rows = {row["table"]: row for row in data.get("tables", [])}
    names = seed.names()
    problems = []
    missing, strays = sorted(set(names) - set(rows)), sorted(set(rows) - set(names))
    if missing:
        problems.append(f"{len(missing)} tables are missing from the answer (first: {missing[:3]})")
    if strays:
        problems.append(f"{len(strays)} tables in the answer were not seeded (first: {strays[:3]})")
    tagged, pitr, replicated = seed.tagged_names(), seed.pitr_names(), seed.global_names()
    newest = seed.newest(now)
    wrong: dict[str, list[str]] = {}
    for name in names:
        row = rows.get(name)
        if row is None:
            continue
        expected = _expected(name in tagged, name in pitr, name in replicated, seed.days, newest)
        for what, value in expected.items():
            if _actual(row, what) != value:
                wrong.setdefault(what, []).append(name)
    problems += [f"{what} wrong for {len(bad)} tables (first: {bad[:3]})" for what, bad in sorted(wrong.items())]
    return problems


def _expected(tagged: bool, pitr: bool, replicated: bool, days: int, newest: datetime) -> dict[str, Any]:
    return {
        "plan": PLAN if tagged else None,
        "backups": days if tagged else 0,
        "last backup": newest.isoformat() if tagged else None,
        "PITR": pitr,
        "replicas": [OTHER_REGION] if replicated else [],
        "unprotected flag": not tagged,
    }


def _actual(row: dict[str, Any], what: str) -> Any:
    rules = row.get("rules") or [{}]
    return {
        "plan": row.get("plan"),
        "backups": row.get("backups"),
        "last backup": rules[0].get("lastBackupTime"),
        "PITR": (row.get("pitr") or {}).get("enabled"),
        "replicas": row.get("replicas"),
        "unprotected flag": "unprotected" in row.get("flagKinds", []),
    }[what]


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """os.environ with `values` set, restored afterwards (the CLI reads its rate limits from it)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_cli(argv: list[str], limits: dict[str, float]) -> tuple[int, str]:
    """The CLI's exit code and stdout, its clients paced at `limits`."""
    out = io.StringIO()
    with environment({ENV_RATE_LIMITS: json.dumps(limits)}), contextlib.redirect_stdout(out):
        code = cli_main(argv)
    return code, out.getvalue()


def config_file(directory: Path) -> Path:
    """An explicit cdk.json with the defaults (tag backup-plan, plan daily, prefix tablesafe)."""
    path = directory / "cdk.json"
    path.write_text(json.dumps({"context": {}}))
    return path


def status(cloud: Cloud, name: str, *, seed: StatusSeed, conditions: Conditions, description: str = "") -> Result:
    """`tablesafe status --json` over the seed's tables in one account and region, checked table by table."""
    cloud.reset()
    now = datetime.now(UTC)
    started = time.monotonic()
    seed_status(cloud, seed, now)
    seeding = time.monotonic() - started
    limits = cloud.configure(latency_ms=conditions.latency_ms, rate_scale=conditions.scale)
    with tempfile.TemporaryDirectory(prefix="tablesafe-bench-status-") as scratch:
        argv = ["status", "--json", "--region", cloud.region(), "--config", str(config_file(Path(scratch)))]
        cloud.reset_calls()
        server_cpu = cloud.cpu_seconds()
        cpu, clock = time.process_time(), time.monotonic()
        code, output = run_cli(argv, limits)
        wall, cpu = time.monotonic() - clock, time.process_time() - cpu
        server_cpu = cloud.cpu_seconds() - server_cpu
    calls = cloud.calls()
    problems = [] if code in (0, 1) else [f"status exited {code}"]
    try:
        data = json.loads(output)
    except json.JSONDecodeError as error:
        data = {}
        problems.append(f"status printed no JSON ({error}): {output[:200]!r}")
    problems += check_status(data, seed, now)
    figures = status_figures(name, description, seed, conditions, wall, cpu, calls)
    figures.notes.update(
        {
            "check": "FAILED: " + "; ".join(problems)
            if problems
            else f"each of the {seed.tables} tables listed once with its plan, {seed.days} backups and the last one "
            "(tagged), PITR and replicas as seeded",
            "seeding": f"{seed.tables} tables, {seed.backups} backups in {seeding:.0f} s (not measured)",
            "stand-in CPU": f"{server_cpu:.1f} s ({server_cpu / wall:.0%} of one core)" if wall else "-",
        }
    )
    return Result(figures, problems, {"exit_code": code})


def bounds_rate(operation: str, scale: float) -> float:
    """The rate a bound of model.status_bounds is at: a documented one, or AWS Backup's list calls'."""
    return model.AWS_BACKUP_LIST_RATE * scale if operation == "AWS Backup's listings" else model.rate(operation, scale)


def status_figures(
    name: str,
    description: str,
    seed: StatusSeed,
    conditions: Conditions,
    wall: float,
    cpu: float,
    calls: dict[str, dict[str, int]],
) -> Figures:
    """The scenario's figures: wall against the largest rate bound, calls against the fewest status can make."""
    calls = dict(calls)
    if DRILL_LOOKUP in calls:  # the stand-in names REST calls by service and method
        calls["GetFunctionConfiguration"] = calls.pop(DRILL_LOOKUP)
    refused = model.refused({op: o for op, o in calls.items() if op != "GetFunctionConfiguration"})
    args = (seed.tables, seed.tagged, seed.backups, seed.tag_reads)
    floor, bound = model.status_floor(*args, scale=conditions.scale)
    bounds = model.status_bounds(*args, scale=conditions.scale)
    return Figures(
        name=name,
        description=description
        or f"{seed.tables} tables, {seed.tagged} tagged with {seed.days} daily backups each, "
        f"rates x{conditions.scale:g}",
        wall_seconds=wall,
        floor_seconds=floor,
        floor_note=f"{bound} at {bounds_rate(bound, conditions.scale):g}/s",
        calls=model.totals(calls),
        minimum=model.status_minimum(*args),
        refused=refused,
        client_cpu_seconds=cpu,
        time_target=model.STATUS_TIME_TARGET,
        notes={"bounds": ", ".join(f"{op} {seconds:.1f} s" for op, seconds in bounds.items())},
    )


# -- the scenarios as `python -m tools.bench --only NAME` runs them ----------------------------------------------------

SCENARIOS = ("status", "status-org")
# Sizes by mode: the 10,000 tables (full), a tenth of them (quick), rates x5 as the other scale scenarios (at
# AWS's own the full run's floor is 1,000 s of DescribeContinuousBackups at 10/s; at x5, 200 s). The organization:
# 20 accounts of 500 tables each at AWS's own rates (a floor of 50 s in each, the accounts side by side); quick, 20
# of 100 tables.
SIZES = {
    "full": (StatusSeed(tables=10_000, tagged=5_000), Conditions(latency_ms=20.0, scale=5.0)),
    "quick": (StatusSeed(tables=1_000, tagged=500), Conditions(latency_ms=20.0, scale=5.0)),
}
ORG_SIZES = {
    "full": (20, StatusSeed(tables=500, tagged=250), Conditions(latency_ms=20.0, scale=1.0)),
    "quick": (20, StatusSeed(tables=100, tagged=50), Conditions(latency_ms=20.0, scale=1.0)),
}


def runs(cloud: Cloud, mode: str) -> dict[str, Callable[[], Result]]:
    """Each scenario of this module and of status_org, ready to run at `mode`'s sizes."""
    from tools.bench.status_org import status_org  # it builds on this module

    seed, conditions = SIZES[mode]
    accounts, org_seed, org_conditions = ORG_SIZES[mode]
    return {
        "status": lambda: status(cloud, "status", seed=seed, conditions=conditions),
        "status-org": lambda: status_org(
            cloud, "status-org", accounts=accounts, seed=org_seed, conditions=org_conditions
        ),
    }
