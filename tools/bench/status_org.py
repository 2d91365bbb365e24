"""The organization's status scenario (issue 17, "Scale"): `tablesafe status --accounts` over many accounts at once.

Each member account holds the same seeded tables as the one-account scenario (tools/bench/status.py) and the
read-only role the hub assumes; the CLI runs from the stand-in's own account, as a hub would, and assumes the role
in each member. AWS's rate limits are per account (the stand-in keeps a bucket per account), so the accounts can be
read side by side: the floor is one account's, and what the run takes beyond it is the price of reading them all
from one process.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tablesafe.constants import READ_ONLY_ROLE_NAME
from tools.bench import model
from tools.bench.cloud import Cloud
from tools.bench.scenarios import ACCOUNT, Conditions, Result
from tools.bench.status import StatusSeed, check_status, config_file, run_cli, seed_status, status_figures


def member_accounts(count: int) -> list[str]:
    """`count` member account ids (none of them the stand-in's own, which the CLI runs as)."""
    return [f"{100_000_000_001 + i:012d}" for i in range(count)]


def status_org(cloud: Cloud, name: str, *, accounts: int, seed: StatusSeed, conditions: Conditions) -> Result:
    """`tablesafe status --accounts ... --json` over `accounts` members holding `seed` each, checked per account."""
    cloud.reset()
    now = datetime.now(UTC)
    members = member_accounts(accounts)
    started = time.monotonic()
    for account in members:
        seed_status(cloud, seed, now, account=account)
        cloud.create_role(account, READ_ONLY_ROLE_NAME, ACCOUNT)
    seeding = time.monotonic() - started
    limits = cloud.configure(latency_ms=conditions.latency_ms, rate_scale=conditions.scale)
    with tempfile.TemporaryDirectory(prefix="tablesafe-bench-status-org-") as scratch:
        argv = ["status", "--json", "--accounts", ",".join(members), "--region", cloud.region()]
        argv += ["--config", str(config_file(Path(scratch)))]
        cloud.reset_calls()
        server_cpu = cloud.cpu_seconds()
        cpu, clock = time.process_time(), time.monotonic()
        code, output = run_cli(argv, limits)
        wall, cpu = time.monotonic() - clock, time.process_time() - cpu
        server_cpu = cloud.cpu_seconds() - server_cpu
    problems = [] if code in (0, 1) else [f"status exited {code}"]
    try:
        data: dict[str, Any] = json.loads(output)
    except json.JSONDecodeError as error:
        data = {}
        problems.append(f"status printed no JSON ({error}): {output[:200]!r}")
    found = check_accounts(data, members, seed, now)
    problems += found[:5] + ([f"... and {len(found) - 5} more"] if len(found) > 5 else [])
    calls = cloud.calls()
    one = status_figures(name, "", seed, conditions, wall, cpu, calls)
    minimum = {operation: count * accounts for operation, count in one.minimum.items()}
    figures = model.Figures(
        name=name,
        description=f"{accounts} accounts in parallel, each {seed.tables} tables ({seed.tagged} tagged with "
        f"{seed.days} daily backups each), rates x{conditions.scale:g} in each account",
        wall_seconds=wall,
        floor_seconds=one.floor_seconds,
        floor_note=f"{one.floor_note} in each account, the accounts side by side",
        calls=one.calls,
        minimum={**minimum, "GetCallerIdentity": 1, "AssumeRole": accounts},  # the caller's partition, once
        refused=one.refused,
        client_cpu_seconds=cpu,
        time_target=model.STATUS_TIME_TARGET,
        notes={
            "check": "FAILED: " + "; ".join(problems)
            if problems
            else f"each of the {accounts} accounts reached, each of its {seed.tables} tables listed as seeded",
            "seeding": f"{accounts} x ({seed.tables} tables, {seed.backups} backups) in {seeding:.0f} s",
            "stand-in CPU": f"{server_cpu:.1f} s ({server_cpu / wall:.0%} of one core)" if wall else "-",
        },
    )
    return Result(figures, problems, {"exit_code": code})


def check_accounts(data: dict[str, Any], members: list[str], seed: StatusSeed, now: datetime) -> list[str]:
    """What the many-account answer gets wrong: an account unreachable or missing, a table wrong in one."""
    unreachable = data.get("unreachable", [])
    problems = [f"{u.get('account')} {u.get('region')} unreachable: {u.get('error')}" for u in unreachable]
    rows: dict[str, list[dict[str, Any]]] = {}
    for row in data.get("tables", []):
        rows.setdefault(str(row.get("account")), []).append(row)
    for account in members:
        problems += [f"{account}: {p}" for p in check_status({"tables": rows.get(account, [])}, seed, now)]
    strays = sorted(set(rows) - set(members))
    if strays:
        problems.append(f"tables of accounts not asked for: {strays[:3]}")
    return problems
