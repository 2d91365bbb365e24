"""`make bench`: every scenario of issue 7, printed as it finishes, then a summary; figures also go to a JSON file.

python -m tools.bench                      # full sizes (about 20 minutes)
python -m tools.bench --quick              # smaller sizes (a few minutes)
python -m tools.bench --only backup-large --only coldstart
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.bench import export_items, model, scenarios, status
from tools.bench.cloud import Cloud, remote_cloud
from tools.bench.cut import retention_cut
from tools.bench.lambda_probe import ColdStart, MemoryRun, cold_start, invoke_measured, machine, scratch_dir
from tools.bench.scenarios import Conditions, PruneSeed, Result
from tools.lambda_runner import CloudAssembly, synthesize

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_JSON = ROOT / "build" / "bench-results.json"
DOCUMENTED = Conditions(latency_ms=20.0, scale=1.0)


@dataclass(frozen=True)
class Sizes:
    """The sizes of one mode (full: the issue's; quick: small enough for a few minutes)."""

    backup_small: tuple[int, int]  # (tables, tagged)
    backup_large: tuple[int, int]
    prune_small: PruneSeed
    prune_large: PruneSeed
    prune_daily: PruneSeed  # steady state: one expired backup per table
    scale_tables: int
    scale_factor: float
    scale_budget: float  # seconds per simulated invocation
    scale_reserve: float
    scale_budget_short: float  # the same run in shorter invocations (issue 18: 30 s)
    two_region: tuple[int, int, int]  # (tagged tables per region, of them global, regional ones named alike)
    coldstart_runs: int
    memory_backup: tuple[int, int]
    memory_prune: PruneSeed
    memory_prune_daily: PruneSeed  # how the prune's memory grows with the backups it lists
    memory_prune_scale: float
    cut: PruneSeed  # a retention cut: far more expired backups than one invocation takes
    cut_scale: float
    cut_budget: float
    cut_invocations_a_day: int


FULL = Sizes(
    backup_small=(500, 250),
    backup_large=(5000, 2500),
    prune_small=PruneSeed(60, 38),
    prune_large=PruneSeed(1000, 40),
    prune_daily=PruneSeed(300, 36),
    scale_tables=20_000,
    scale_factor=5.0,
    scale_budget=60.0,
    scale_reserve=4.0,
    scale_budget_short=30.0,
    two_region=(5000, 500, 0),
    coldstart_runs=11,
    memory_backup=(5000, 2500),
    memory_prune=PruneSeed(1000, 40),
    memory_prune_daily=PruneSeed(3000, 36),
    memory_prune_scale=10.0,
    cut=PruneSeed(500, 400),
    cut_scale=20.0,
    cut_budget=60.0,
    cut_invocations_a_day=8,
)
QUICK = Sizes(
    backup_small=(100, 50),
    backup_large=(500, 250),
    prune_small=PruneSeed(10, 38),
    prune_large=PruneSeed(60, 38),
    prune_daily=PruneSeed(50, 36),
    scale_tables=2_000,
    scale_factor=5.0,
    scale_budget=6.0,
    scale_reserve=2.0,
    scale_budget_short=4.0,
    two_region=(500, 50, 0),
    coldstart_runs=7,
    memory_backup=(500, 250),
    memory_prune=PruneSeed(60, 38),
    memory_prune_daily=PruneSeed(200, 36),
    memory_prune_scale=10.0,
    cut=PruneSeed(100, 120),
    cut_scale=10.0,
    cut_budget=6.0,
    cut_invocations_a_day=6,
)
CLOUD_SCENARIOS = (
    "backup-small",
    "backup-large",
    "prune-small",
    "prune-large",
    "prune-daily",
    "prune-cut",
    "scale",
    "scale-30s",
    "two-region",
    "naive-backup",
    "naive-prune",
    "memory",
    "find-items",
    *status.SCENARIOS,
)
SCENARIOS = (*CLOUD_SCENARIOS, "coldstart")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a few minutes instead of ~20)")
    parser.add_argument("--only", action="append", choices=SCENARIOS, metavar="NAME", help=f"one of {SCENARIOS}")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to write the figures ({DEFAULT_JSON})")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    chosen = [name for name in SCENARIOS if not args.only or name in args.only]
    started = time.monotonic()
    output: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "scenarios": {},
    }
    print("tablesafe benchmark", output["mode"], "-", ", ".join(f"{k}: {v}" for k, v in output["machine"].items()))
    scenarios.quiet_logs()
    problems: list[str] = []
    assembly_dir = Path(tempfile.mkdtemp(prefix="tablesafe-bench-cdk-"))
    assembly: CloudAssembly | None = None

    def the_assembly() -> CloudAssembly:
        nonlocal assembly
        if assembly is None:
            print("synthesizing the app (code asset, function settings) ...", flush=True)
            assembly = synthesize(assembly_dir, {"tablesafe:regions": ["us-east-1"]})
        return assembly

    if any(name in CLOUD_SCENARIOS for name in chosen):
        with remote_cloud() as cloud:
            os.environ.update({**cloud.env(), "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
            for name in (n for n in chosen if n in CLOUD_SCENARIOS):
                print(f"\n-- {name} ...", flush=True)
                scenario_started = time.monotonic()
                try:
                    if name == "memory":
                        output["memory"], found = run_memory(cloud, the_assembly(), sizes)
                        problems.extend(found)
                        continue
                    result = run_cloud_scenario(name, cloud, sizes, output)
                except Exception as error:  # one broken scenario must not hide the others' figures
                    problems.append(f"{name}: {type(error).__name__}: {error}")
                    print(f"   ERROR: {type(error).__name__}: {error}", flush=True)
                    continue
                finally:
                    print(f"   ({time.monotonic() - scenario_started:.0f} s with setup)", flush=True)
                print(result.figures.render(), flush=True)
                output["scenarios"][name] = result.figures.as_dict()
                problems.extend(f"{name}: {p}" for p in result.problems)
                if cloud.internal_errors():
                    problems.append(f"{name}: the stand-in crashed: {cloud.internal_errors()[:1]}")
    if "coldstart" in chosen:
        print("\n-- coldstart ...", flush=True)
        output["coldstart"] = run_cold_start(the_assembly(), sizes)
    output["seconds"] = round(time.monotonic() - started)
    output["problems"] = problems
    print_summary(output)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(output, indent=2, default=str))
    print(f"\nfigures written to {args.json} ({output['seconds']} s in all)")
    if problems:
        print("\nPROBLEMS (a run did not do what it should):\n  " + "\n  ".join(problems))
        return 1
    return 0


def run_cloud_scenario(name: str, cloud: Cloud, sizes: Sizes, output: dict[str, Any]) -> Result:
    runs: dict[str, Callable[[], Result]] = {
        "backup-small": lambda: scenarios.backup(
            cloud, name, tables=sizes.backup_small[0], tagged=sizes.backup_small[1], conditions=DOCUMENTED
        ),
        "backup-large": lambda: scenarios.backup(
            cloud, name, tables=sizes.backup_large[0], tagged=sizes.backup_large[1], conditions=DOCUMENTED
        ),
        "prune-small": lambda: scenarios.prune(cloud, name, seed=sizes.prune_small, conditions=DOCUMENTED),
        "prune-large": lambda: scenarios.prune(cloud, name, seed=sizes.prune_large, conditions=DOCUMENTED),
        "prune-daily": lambda: scenarios.prune(
            cloud,
            name,
            seed=sizes.prune_daily,
            conditions=DOCUMENTED,
            description=f"steady state: {sizes.prune_daily.tables} tables x {sizes.prune_daily.days} days, "
            "one expired backup per table (what every daily prune meets)",
        ),
        "scale": lambda: scenarios.backup(
            cloud,
            name,
            tables=sizes.scale_tables,
            tagged=sizes.scale_tables,
            conditions=Conditions(latency_ms=20.0, scale=sizes.scale_factor),
            budget=sizes.scale_budget,
            reserve=sizes.scale_reserve,
            description=f"{sizes.scale_tables} tagged tables, rate limits x{sizes.scale_factor:g}, invocations of "
            f"{sizes.scale_budget:g} s continued through continue_run",
            goals=scenarios.SCALE_TARGETS,
        ),
        "scale-30s": lambda: scenarios.backup(
            cloud,
            name,
            tables=sizes.scale_tables,
            tagged=sizes.scale_tables,
            conditions=Conditions(latency_ms=20.0, scale=sizes.scale_factor),
            budget=sizes.scale_budget_short,
            reserve=sizes.scale_reserve,
            description=f"{sizes.scale_tables} tagged tables, rate limits x{sizes.scale_factor:g}, invocations of "
            f"{sizes.scale_budget_short:g} s continued through continue_run",
            goals=scenarios.SCALE_TARGETS,
        ),
        "two-region": lambda: scenarios.two_region(
            cloud,
            name,
            tables=sizes.two_region[0],
            global_tables=sizes.two_region[1],
            shared_names=sizes.two_region[2],
            conditions=Conditions(latency_ms=20.0, scale=sizes.scale_factor),
        ),
        "prune-cut": lambda: retention_cut(
            cloud,
            name,
            seed=sizes.cut,
            conditions=Conditions(latency_ms=20.0, scale=sizes.cut_scale),
            budget=sizes.cut_budget,
            reserve=sizes.cut_budget / 15,
            invocations_a_day=sizes.cut_invocations_a_day,
        ),
        "naive-backup": lambda: naive_backup(cloud, name, sizes),
        "naive-prune": lambda: naive_prune(cloud, name, sizes),
        "find-items": lambda: export_items.find_items(cloud, name, items=1_000_000 if sizes is FULL else 50_000),
        **status.runs(cloud, "full" if sizes is FULL else "quick"),
    }
    return runs[name]()


def naive_backup(cloud: Cloud, name: str, sizes: Sizes) -> Result:
    """Measured at the small size; the larger sizes extrapolated from each phase's measured rate."""
    tables, tagged = sizes.backup_small
    result = scenarios.naive_backup_scenario(cloud, name, tables=tables, tagged=tagged, conditions=DOCUMENTED)
    phases = result.extra["phases"]
    for big_tables, big_tagged in (sizes.backup_large, (sizes.scale_tables, sizes.scale_tables)):
        seconds = scenarios.extrapolate(
            phases, {"ListTables": big_tables, "ListTagsOfResource": big_tables, "CreateBackup": big_tagged}
        )
        floor = model.backup_floor(big_tagged)
        result.figures.notes[f"extrapolated to {big_tagged} of {big_tables}"] = (
            f"{seconds:.0f} s (floor {floor:.0f} s, {seconds / floor:.1f}x) at AWS's documented rates"
        )
    return result


def naive_prune(cloud: Cloud, name: str, sizes: Sizes) -> Result:
    seed = sizes.prune_small
    result = scenarios.naive_prune_scenario(cloud, name, seed=seed, conditions=DOCUMENTED)
    phases = result.extra["phases"]
    for big, label in ((sizes.prune_large, "prune-large"), (PruneSeed(10_000, 36), "daily prune of 10,000 tables")):
        deletions = big.tables * big.expired_per_table
        seconds = scenarios.extrapolate(phases, {"ListBackups": big.tables * big.days, "DeleteBackup": deletions})
        floor = model.prune_floor(deletions)
        result.figures.notes[f"extrapolated to {label} ({big.tables} x {big.days} days)"] = (
            f"{seconds:.0f} s (floor {floor:.0f} s, {seconds / floor:.2f}x)"
        )
    return result


def run_memory(cloud: Cloud, assembly: CloudAssembly, sizes: Sizes) -> tuple[dict[str, Any], list[str]]:
    """Peak RSS and CPU of each handler run through LambdaRunner (fresh Python 3.13 process, template settings)."""
    workdir = scratch_dir()

    def backup_event() -> dict[str, Any]:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:00Z")
        return {"job": "backup", "plan": "daily", "rule": "daily", "scheduledTime": stamp}

    def backup(tables: int, tagged: int, scale: float) -> MemoryRun:
        cloud.reset()
        scenarios.seed_tables(cloud, tables, tagged)
        limits = cloud.configure(latency_ms=DOCUMENTED.latency_ms, rate_scale=scale)
        rates = f"rates x{scale:g}" if scale != 1 else "AWS's documented rates"
        return invoke_measured(
            assembly,
            {**cloud.env(), "TABLESAFE_RATE_LIMITS": json.dumps(limits)},
            "tablesafe-backup",
            backup_event(),
            f"backup of {tagged} tagged of {tables} tables, {rates}",
            workdir,
        )

    def prune(seed: PruneSeed, scale: float) -> MemoryRun:
        cloud.reset()
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        scenarios.seed_prune(cloud, seed, now)
        limits = cloud.configure(latency_ms=DOCUMENTED.latency_ms, rate_scale=scale)
        return invoke_measured(
            assembly,
            {**cloud.env(), "TABLESAFE_RATE_LIMITS": json.dumps(limits)},
            "tablesafe-prune",
            {"job": "prune", "scheduledTime": now.strftime("%Y-%m-%dT%H:%M:%SZ")},
            f"prune of {seed.tables} tables x {seed.days} days, rates x{scale:g}",
            workdir,
        )

    runs = [
        (backup(*sizes.memory_backup, 1.0), True),  # the target: under 128 MB at 2,500 tables
        (prune(sizes.memory_prune, sizes.memory_prune_scale), False),
        (prune(sizes.memory_prune_daily, sizes.memory_prune_scale), False),
        (backup(sizes.scale_tables, sizes.scale_tables, sizes.scale_factor), False),
    ]
    report: dict[str, Any] = {}
    problems = []
    for run, judged in runs:
        done = {k: v for k, v in (run.result or {}).items() if k in ("created", "deleted", "handedOver")}
        outcome = (
            f"ok {done}"
            if run.error is None
            else f"ERROR {run.error.get('errorType')}: {run.error.get('errorMessage')}"
        )
        if run.error is not None:
            problems.append(f"memory, {run.description}: the invocation failed: {outcome}")
        verdict = "PASS" if run.peak_rss_mb < model.MEMORY_TARGET_MB else "MISS"
        target = f"{verdict} (target < {model.MEMORY_TARGET_MB} MB at 2,500 tables)" if judged else "(no target)"
        print(
            f"== memory, {run.function}: {run.description}\n"
            f"   peak RSS {run.peak_rss_mb:.1f} MB  {target}\n"
            f"   CPU {run.cpu_seconds:.1f} s in {run.wall_seconds:.1f} s = {run.vcpu_share:.1%} of a vCPU "
            f"(Lambda allocates that share from {run.memory_for_cpu_mb:.0f} MB)\n   invocation: {outcome}",
            flush=True,
        )
        report[run.description] = {
            **asdict(run),
            "judged": judged,
            "vcpu_share": run.vcpu_share,
            "memory_for_cpu_mb": run.memory_for_cpu_mb,
        }
    return report, problems


def run_cold_start(assembly: CloudAssembly, sizes: Sizes) -> list[dict[str, Any]]:
    found: list[ColdStart] = cold_start(assembly, sizes.coldstart_runs, scratch_dir())
    report = []
    for variant in found:
        print(f"== cold start, {variant.variant}: median of {variant.runs} fresh processes each")
        for module in variant.cpu:
            wall, cpu = variant.wall[module] * 1000, variant.cpu[module] * 1000
            line = f"   import {module:28s} wall {wall:6.0f} ms  cpu {cpu:6.0f} ms"
            if module != "boto3":
                ratio = variant.ratio(module)
                verdict = "PASS" if ratio <= model.COLD_START_TARGET else "MISS"
                line += f"   ratio {ratio:.2f}x cpu, {variant.ratio(module, 'wall'):.2f}x wall  {verdict}"
            print(line)
        for module, packages in variant.breakdown_ms.items():
            top = ", ".join(f"{p} {ms:.0f} ms" for p, ms in list(packages.items())[:6])
            print(f"   {module} adds (self time by package): {top}")
        report.append({**asdict(variant), "ratios_cpu": {m: variant.ratio(m) for m in variant.cpu}})
    return report


def print_summary(output: dict[str, Any]) -> None:
    print("\n== summary")
    print(f"   {'scenario':14s} {'wall s':>8s} {'floor s':>8s} {'ratio':>6s}      {'calls':>7s} {'minimum':>7s} ratio")
    for name, f in output["scenarios"].items():
        print(
            f"   {name:14s} {f['wall_seconds']:8.1f} {f['floor_seconds']:8.1f} {f['time_ratio']:6.2f} "
            f"{f['time_verdict']:4s} {f['total_calls']:7d} {f['total_minimum']:7d} {f['calls_ratio']:6.2f} "
            f"{f['calls_verdict']:4s}"
        )


if __name__ == "__main__":
    sys.exit(main())
