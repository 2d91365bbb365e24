"""`tablesafe status`: every table of the region, its plan, last backups and PITR; exit 1 when anything is flagged."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from rich.markup import escape
from rich.progress import Progress

from tablesafe.aws.drill_records import DrillRecord
from tablesafe.config.plans import Plan
from tablesafe_cli.context import Context
from tablesafe_cli.coverage import FlagKind, Kind, RuleStatus, TableStatus
from tablesafe_cli.drills import drill_note, drill_records, record_json
from tablesafe_cli.formatting import format_age, format_size, pitr_text
from tablesafe_cli.layout import Column, print_table
from tablesafe_cli.status_scan import ScanGateways, scan_region

# Seven columns, so that at 80 columns a table name of 30 characters still leaves the others room to wrap in.
COLUMNS = (
    Column("table", identifier=True),
    Column("plan"),
    Column("rule"),
    Column("last backup"),
    Column("backups"),
    Column("PITR"),
    Column("flags"),
)


def cmd_status(ctx: Context) -> int:
    """Every table of the region, its plan, last backups and PITR; exit 1 when a flag of a --fail-on kind is raised."""
    fail_on: frozenset[FlagKind] = ctx.args.fail_on
    with ctx.progress() as bar:
        scan = scan_region(
            ScanGateways(tables=ctx.tables, backups=ctx.backups, drill_records=lambda: drill_records(ctx)),
            region=ctx.region,
            account=None,
            config=ctx.config,
            clock=ctx.clock,
            progress=_TableProgress(bar),
        )
    now, statuses, drills = scan.time, scan.statuses, scan.drills
    failing = [s for s in statuses if s.fails(fail_on)]
    data = {
        "region": ctx.region,
        "time": now,
        "tables": [{**s.as_dict(fail_on), "lastDrill": record_json(drills.get(s.name))} for s in statuses],
        "flagged": len(failing),
        "failOn": sorted(kind.value for kind in fail_on),
    }
    ctx.emit(data, lambda: _render(ctx, statuses, now, fail_on, drills))
    return 1 if failing else 0


class _TableProgress:
    """The one-account view's progress: a spinner while listing, then a bar of the tables read."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task = progress.add_task("listing tables and backups", total=None)

    def listed(self, tables: int) -> None:
        self._progress.update(self._task, description="reading tables", total=tables, completed=0)

    def advance(self) -> None:
        self._progress.advance(self._task)


def _render(
    ctx: Context,
    statuses: list[TableStatus],
    now: datetime,
    fail_on: frozenset[FlagKind],
    drills: Mapping[str, DrillRecord],
) -> None:
    rows = status_rows(statuses, now, fail_on, drills, ctx.config.plans)
    print_table(ctx.out, f"tablesafe status, {ctx.region}, {now:%Y-%m-%d %H:%M} UTC", COLUMNS, rows)
    failing = sum(1 for s in statuses if s.fails(fail_on))
    summary = f"{len(statuses)} tables, {failing} flagged"
    ctx.out.print(f"[red]{summary}[/]" if failing else f"[green]{summary}[/]")


def status_rows(
    statuses: list[TableStatus],
    now: datetime,
    fail_on: frozenset[FlagKind],
    drills: Mapping[str, DrillRecord] | None,
    plans: Mapping[str, Plan],
    notes: Mapping[str, list[str]] | None = None,
) -> list[list[str]]:
    """The rows of COLUMNS (rich markup): a line a rule. `drills` None: the last drills could not be read; `notes`
    adds markup to a table's flags."""
    rows: list[list[str]] = []
    for s in statuses:
        flags = [f"[{'red' if f.kind in fail_on else 'yellow'}]{escape(f.message)}[/]" for f in s.issues]
        if s.by_default:
            flags.append("[dim]by default (no plan tag)[/]")
        plan = plans.get(s.plan or "")
        if drills is None:
            if plan is not None and plan.drill is not None:
                flags.append("[yellow]last drill unknown[/]")
        elif (drill := drill_note(drills.get(s.name), plan, now)) is not None:
            flags.append(f"[dim]{escape(drill)}[/]")
        if s.kind is not Kind.TABLE and s.plan is not None:
            flags.append(f"[dim]a {s.kind.value} table[/]")
        if s.replicas:
            flags.append(f"[dim]replicas {', '.join(s.replicas)}; backups in {s.backups_region}[/]")
        if s.earlier_backups:
            flags.append(f"[dim]+{s.earlier_backups} backup(s) of {s.earlier_tables} earlier table(s)[/]")
        flags += (notes or {}).get(s.name, [])
        for index, r in enumerate(s.rules or (None,)):
            first = index == 0
            last = "" if r is None else _last_backup(r)
            rows.append(
                [
                    s.name if first else "",
                    (escape(s.plan) if s.plan is not None else "-") if first else "",
                    r.rule if r else "",
                    last,
                    f"{s.backups} ({format_size(s.backup_bytes)})" if first else "",
                    pitr_text(s.pitr) if first else "",
                    "; ".join(flags) if first else "",
                ]
            )
    return rows


def _last_backup(rule: RuleStatus) -> str:
    if rule.last is None or rule.age is None:
        return "none"
    return f"{rule.last.created:%Y-%m-%d %H:%M} ({format_age(rule.age)})"
