"""`tablesafe status --accounts ID,ID... | --organization`: every table of many accounts and regions, through a
read-only role assumed in each, with a summary per account; exit 1 when a table is flagged or a target is unreachable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from rich.markup import escape
from rich.progress import Progress

from tablesafe.aws.accounts import (
    ACTIVE,
    Identity,
    OrganizationAccount,
    assumed_session,
    caller_identity,
    organization_accounts,
    role_arn,
)
from tablesafe.aws.clients import backup_clients, client_config, table_clients
from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.aws.export_reads import ExportReads
from tablesafe.aws.exports import ExportInfo
from tablesafe.aws.tables import TableGateway
from tablesafe.constants import READ_ONLY_ROLE_NAME
from tablesafe.rules.export_naming import parse_slot_prefix
from tablesafe_cli.commands.status import COLUMNS, cmd_status, status_rows
from tablesafe_cli.context import Context, give_up_unreachable
from tablesafe_cli.coverage import FlagKind
from tablesafe_cli.drills import find_drill_records, record_json
from tablesafe_cli.errors import UsageError
from tablesafe_cli.fleet import (
    AccountSummary,
    Connection,
    FleetProgress,
    FleetScan,
    Target,
    TargetScan,
    scan_targets,
    summaries,
)
from tablesafe_cli.formatting import format_age
from tablesafe_cli.layout import Column, print_table
from tablesafe_cli.status_scan import ScanGateways

SUMMARY_COLUMNS = (
    Column("account", identifier=True),
    Column("tables", justify="right"),
    Column("protected", justify="right"),
    Column("unprotected", justify="right"),
    Column("stale", justify="right"),
    Column("flagged", justify="right"),
    Column("unreachable", justify="right"),
)


def cmd_status_any(ctx: Context) -> int:
    """`status`: the many-account view with --accounts or --organization, else the one-account view."""
    if ctx.args.accounts or ctx.args.organization:
        return cmd_status_accounts(ctx)
    if ctx.args.role_name or ctx.args.regions:
        raise UsageError("--role-name and --regions go with --accounts or --organization")
    return cmd_status(ctx)


def cmd_status_accounts(ctx: Context) -> int:
    """Every account x region scanned through the role; exit 1 when a table fails --fail-on or a target is
    unreachable or incomplete."""
    if getattr(ctx.args, "lease_table", None):
        raise UsageError(
            "--lease-table names one region's table; with --accounts/--organization each account's drill function "
            "tells its own"
        )
    fail_on: frozenset[FlagKind] = ctx.args.fail_on
    sts = ctx.session.client("sts", config=client_config(max_attempts=8, max_connections=16, agent="tablesafe-cli"))
    identity = caller_identity(sts)
    accounts, skipped = _accounts(ctx)
    regions: tuple[str, ...] = ctx.args.regions or (ctx.region,)
    role_name: str = ctx.args.role_name or READ_ONLY_ROLE_NAME
    targets = [Target(account, region) for account in accounts for region in regions]
    now = ctx.clock()
    with ctx.progress() as bar:
        fleet = scan_targets(
            targets, _connector(ctx, sts, identity, role_name), config=ctx.config, now=now, progress=_bar(bar)
        )
    counts = summaries(fleet, accounts, fail_on)
    failing = sum(1 for t in fleet.scans for s in t.scan.statuses if s.fails(fail_on))
    data = {
        "time": now,
        "roleName": role_name,
        "accounts": list(accounts),
        "regions": list(regions),
        "tables": [_table_json(t, s.name, s.as_dict(fail_on)) for t in fleet.scans for s in t.scan.statuses],
        "summary": [_summary_json(c) for c in counts],
        "unreachable": [{"account": e.account, "region": e.region, "error": e.error} for e in fleet.unreachable],
        "incomplete": [
            {"account": e.account, "region": e.region, "what": e.what, "error": e.error} for e in fleet.incomplete
        ],
        "skipped": [{"account": a.account, "name": a.name, "state": a.state} for a in skipped],
        "flagged": failing,
        "failOn": sorted(kind.value for kind in fail_on),
    }
    ctx.emit(data, lambda: _render(ctx, fleet, counts, skipped, fail_on, role_name))
    return 1 if failing or fleet.errors else 0


def _accounts(ctx: Context) -> tuple[tuple[str, ...], list[OrganizationAccount]]:
    """--accounts as given, or the Organization's ACTIVE accounts and the others (skipped: they cannot be read)."""
    if ctx.args.accounts:
        return tuple(ctx.args.accounts), []
    found = organization_accounts(ctx.session.client("organizations"))
    active = tuple(a.account for a in found if a.state == ACTIVE)
    return active, [a for a in found if a.state != ACTIVE]


def _connector(ctx: Context, sts: Any, identity: Identity, role_name: str) -> Callable[[Target], Connection]:
    """A target's connection: the role assumed in its account, every client built on that session in its region."""

    def connect(target: Target) -> Connection:
        arn = role_arn(identity.partition, target.account, role_name)
        session = assumed_session(sts, arn, region=target.region)
        session.events.register("needs-retry", give_up_unreachable)
        gateways = ScanGateways(
            tables=TableGateway(table_clients(session, rate_limits=ctx.rate_limits)),
            backups=DynamoDbGateway(backup_clients(session, rate_limits=ctx.rate_limits)),
        )
        config = client_config(max_attempts=8, max_connections=4, agent="tablesafe-cli")
        prefix = f"arn:{identity.partition}:dynamodb:{target.region}:{target.account}:table/"
        return Connection(
            gateways=gateways,
            drill_records=lambda: find_drill_records(session, target.region, None),
            exports=ExportReads(dynamodb=session.client("dynamodb", config=config), s3=None),
            table_arn=lambda name: prefix + name,
        )

    return connect


def _bar(progress: Progress) -> FleetProgress:
    targets = progress.add_task("accounts x regions", total=None)
    tables = progress.add_task("tables", total=None)
    return FleetProgress(
        lambda done, total: progress.update(targets, completed=done, total=total),
        lambda done, total: progress.update(tables, completed=done, total=total),
    )


def _table_json(target: TargetScan, name: str, status: dict[str, Any]) -> dict[str, Any]:
    scan = target.scan
    drill = record_json(scan.drills.get(name)) if target.drills_known else "unknown"
    if target.exports is None:
        export: Any = "unknown"
    else:
        export = _export_json(target.exports.get(name))
    return {"account": scan.account, "region": scan.region, **status, "lastDrill": drill, "lastExport": export}


def _export_json(info: ExportInfo | None) -> dict[str, Any] | None:
    if info is None:
        return None
    slot = parse_slot_prefix(info.prefix)
    return {
        "exportArn": info.arn,
        "plan": slot.plan if slot else None,
        "rule": slot.rule if slot else None,
        "slot": slot.slot.isoformat() if slot else None,
        "ended": info.ended.isoformat() if info.ended else None,
        "bytes": info.billed_bytes,
    }


def _summary_json(summary: AccountSummary) -> dict[str, Any]:
    return {
        "account": summary.account,
        "tables": summary.tables,
        "protected": summary.protected,
        "unprotected": summary.unprotected,
        "stale": summary.stale,
        "optedOut": summary.opted_out,
        "copies": summary.copies,
        "flagged": summary.flagged,
        "unreachableRegions": summary.unreachable,
    }


def _render(
    ctx: Context,
    fleet: FleetScan,
    counts: list[AccountSummary],
    skipped: list[OrganizationAccount],
    fail_on: frozenset[FlagKind],
    role_name: str,
) -> None:
    out = ctx.out
    out.print(f"tablesafe status, role {role_name}, {fleet.time:%Y-%m-%d %H:%M} UTC", soft_wrap=True, highlight=False)
    for target in fleet.scans:
        scan = target.scan
        notes = _export_notes(target, ctx, fleet.time)
        drills = scan.drills if target.drills_known else None
        rows = status_rows(scan.statuses, fleet.time, fail_on, drills, ctx.config.plans, notes)
        title = f"account {scan.account}, {scan.region}"
        out.print()
        if rows:
            print_table(out, title, COLUMNS, rows)
        else:
            out.print(f"{title}: no tables", highlight=False)
    out.print()
    for error in fleet.unreachable:
        ctx.line(f"unreachable: {error.account} {error.region}: {error.error}")
    for error in fleet.incomplete:
        ctx.line(f"incomplete: {error.account} {error.region}: {error.what} unknown: {error.error}")
    for account in skipped:
        ctx.line(f"skipped: {account.account} ({account.name}): {account.state}, not ACTIVE")
    out.print()
    rows = [
        [c.account, *(str(n) for n in (c.tables, c.protected, c.unprotected, c.stale, c.flagged, c.unreachable))]
        for c in counts
    ]
    print_table(out, "summary per account", SUMMARY_COLUMNS, rows)
    tables = sum(c.tables for c in counts)
    flagged = sum(c.flagged for c in counts)
    line = f"{tables} tables in {len(counts)} accounts, {flagged} flagged, {len(fleet.unreachable)} unreachable"
    out.print(f"[red]{line}[/]" if flagged or fleet.errors else f"[green]{line}[/]")


def _export_notes(target: TargetScan, ctx: Context, now: datetime) -> dict[str, list[str]]:
    """The last export of each table whose plan exports, for the flags column."""
    notes: dict[str, list[str]] = {}
    for status in target.scan.statuses:
        plan = ctx.config.plans.get(status.plan or "")
        if plan is None or not any(rule.exports for rule in plan.rules):
            continue
        if target.exports is None:
            notes[status.name] = ["[yellow]last export unknown[/]"]
        elif (info := target.exports.get(status.name)) is None:
            notes[status.name] = ["[dim]no completed export[/]"]
        else:
            slot = parse_slot_prefix(info.prefix)
            when = f"{slot.slot:%Y-%m-%d %H:%M} ({format_age(now - slot.slot)})" if slot else info.arn
            notes[status.name] = [f"[dim]last export {escape(when)}[/]"]
    return notes
