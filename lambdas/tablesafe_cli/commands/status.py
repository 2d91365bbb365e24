"""`tablesafe status`: every table of the region, its plan, last backups and PITR; exit 1 when anything is flagged."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime

from rich.markup import escape

from tablesafe.aws.drill_records import DrillRecord
from tablesafe.aws.dynamodb import Backup, TableNotFound
from tablesafe.rules.home_region import HOME_REGION_TAG
from tablesafe_cli.aws_backup import AwsBackupReader, aws_backup_reader
from tablesafe_cli.context import Context
from tablesafe_cli.coverage import FlagKind, Kind, RuleStatus, TableStatus, assess_table, may_be_drill, table_origin
from tablesafe_cli.drills import drill_note, drill_records, record_json, with_drills
from tablesafe_cli.formatting import format_age, format_size, pitr_text
from tablesafe_cli.layout import Column, print_table

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
    now = ctx.clock()
    fail_on: frozenset[FlagKind] = ctx.args.fail_on
    aws_backup = aws_backup_reader(ctx.session, ctx.region)
    statuses = sorted(_statuses(ctx, now, aws_backup), key=lambda s: s.name)
    found = drill_records(ctx)
    drills = found.get([s.name for s in statuses if s.plan is not None]) if found is not None else {}
    statuses = with_drills(statuses, drills, ctx.config.plans, now)
    failing = [s for s in statuses if s.fails(fail_on)]
    data = {
        "region": ctx.region,
        "time": now,
        "tables": [{**s.as_dict(fail_on), "lastDrill": record_json(drills.get(s.name))} for s in statuses],
        "flagged": len(failing),
        "failOn": sorted(kind.value for kind in fail_on),
        "awsBackup": aws_backup.as_dict(),
    }
    for problem in aws_backup.problems():
        ctx.note(problem)
    ctx.emit(data, lambda: _render(ctx, statuses, now, fail_on, drills))
    return 1 if failing else 0


def _statuses(ctx: Context, now: datetime, aws_backup: AwsBackupReader) -> list[TableStatus]:
    """Each table's status, read eight tables at a time; a table deleted since the listing is left out."""
    with ctx.progress() as progress:
        task = progress.add_task("listing tables and backups", total=None)
        names = ctx.tables.list_tables()
        tagged = {t.name: t.tag_value for t in ctx.backups.find_tagged_tables(ctx.config.tag_key)}
        by_table: dict[str, list[Backup]] = defaultdict(list)
        for backup in ctx.backups.iter_backups(backup_type="ALL"):
            by_table[backup.table_name].append(backup)
        aws_backup.load()
        progress.update(task, description="reading tables", total=len(names), completed=0)

        def inspect(name: str) -> TableStatus | None:
            try:
                details = ctx.tables.describe(name)
                pitr = ctx.tables.pitr(name)
                # Tags only where they decide something: a global table's home region, a drill table's mark.
                wanted = details.replica_regions or may_be_drill(name, ctx.config.prefix)
                tags = ctx.tables.tags(details.arn) if wanted else None
            except TableNotFound:
                return None  # deleted since the listing
            home = tags.get(HOME_REGION_TAG) if tags is not None and details.replica_regions else None
            return assess_table(
                name,
                tagged.get(name),
                ctx.config,
                by_table.get(name, []),
                pitr,
                now,
                region=ctx.region,
                replicas=details.replica_regions,
                home_tag=home,
                table_id=details.table_id,
                origin=table_origin(name, ctx.config.prefix, tags, details.restored_from),
                recovery_points=aws_backup.points(name),
            )

        statuses: list[TableStatus] = []
        with ThreadPoolExecutor(max_workers=8) as pool:
            for future in as_completed([pool.submit(inspect, n) for n in names]):
                status = future.result()
                if status is not None:
                    statuses.append(status)
                progress.advance(task)
    return statuses


def _render(
    ctx: Context,
    statuses: list[TableStatus],
    now: datetime,
    fail_on: frozenset[FlagKind],
    drills: Mapping[str, DrillRecord],
) -> None:
    rows: list[list[str]] = []
    for s in statuses:
        notes = [f"[{'red' if f.kind in fail_on else 'yellow'}]{escape(f.message)}[/]" for f in s.issues]
        if s.by_default:
            notes.append("[dim]by default (no plan tag)[/]")
        if (drill := drill_note(drills.get(s.name), ctx.config.plans.get(s.plan or ""), now)) is not None:
            notes.append(f"[dim]{escape(drill)}[/]")
        if s.kind is not Kind.TABLE and s.plan is not None:
            notes.append(f"[dim]a {s.kind.value} table[/]")
        if s.replicas:
            notes.append(f"[dim]replicas {', '.join(s.replicas)}; backups in {s.backups_region}[/]")
        if s.aws_backup is not None and (note := s.aws_backup.note()) is not None:
            notes.append(f"[dim]{escape(note)}[/]")
        if s.earlier_backups:
            notes.append(f"[dim]+{s.earlier_backups} backup(s) of {s.earlier_tables} earlier table(s)[/]")
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
                    "; ".join(notes) if first else "",
                ]
            )
    print_table(ctx.out, f"tablesafe status, {ctx.region}, {now:%Y-%m-%d %H:%M} UTC", COLUMNS, rows)
    failing = sum(1 for s in statuses if s.fails(fail_on))
    summary = f"{len(statuses)} tables, {failing} flagged"
    ctx.out.print(f"[red]{summary}[/]" if failing else f"[green]{summary}[/]")


def _last_backup(rule: RuleStatus) -> str:
    if rule.last is None or rule.age is None:
        return "none"
    return f"{rule.last.created:%Y-%m-%d %H:%M} ({format_age(rule.age)})"
