"""`tablesafe status`: every table of the region, its plan, last backups and PITR; exit 1 when anything is flagged."""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime

from rich import box
from rich.markup import escape
from rich.table import Table

from tablesafe.aws.dynamodb import Backup, TableNotFound
from tablesafe.rules.home_region import HOME_REGION_TAG
from tablesafe_cli.context import Context
from tablesafe_cli.coverage import TableStatus, assess_table
from tablesafe_cli.formatting import format_age, format_size, pitr_text


def cmd_status(ctx: Context) -> int:
    """Every table of the region, its plan, last backups and PITR; exit 1 when anything is flagged."""
    now = ctx.clock()
    statuses = sorted(_statuses(ctx, now), key=lambda s: s.name)
    flagged = [s for s in statuses if s.flags]
    ctx.emit(
        {"region": ctx.region, "time": now, "tables": [s.as_dict() for s in statuses], "flagged": len(flagged)},
        lambda: _render(ctx, statuses, now),
    )
    return 1 if flagged else 0


def _statuses(ctx: Context, now: datetime) -> list[TableStatus]:
    """Each table's status, read eight tables at a time; a table deleted since the listing is left out."""
    with ctx.progress() as progress:
        task = progress.add_task("listing tables and backups", total=None)
        names = ctx.tables.list_tables()
        tagged = {t.name: t.tag_value for t in ctx.backups.find_tagged_tables(ctx.config.tag_key)}
        by_table: dict[str, list[Backup]] = defaultdict(list)
        for backup in ctx.backups.iter_backups(backup_type="ALL"):
            by_table[backup.table_name].append(backup)
        progress.update(task, description="reading tables", total=len(names), completed=0)

        def inspect(name: str) -> TableStatus | None:
            try:
                details = ctx.tables.describe(name)
                pitr = ctx.tables.pitr(name)
                home = ctx.tables.tags(details.arn).get(HOME_REGION_TAG) if details.replica_regions else None
            except TableNotFound:
                return None  # deleted since the listing
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
            )

        statuses: list[TableStatus] = []
        with ThreadPoolExecutor(max_workers=8) as pool:
            for future in as_completed([pool.submit(inspect, n) for n in names]):
                status = future.result()
                if status is not None:
                    statuses.append(status)
                progress.advance(task)
    return statuses


def _render(ctx: Context, statuses: list[TableStatus], now: datetime) -> None:
    table = Table(title=f"tablesafe status, {ctx.region}, {now:%Y-%m-%d %H:%M} UTC", box=box.SIMPLE_HEAD)
    for column in ("table", "plan", "rule", "last AVAILABLE backup", "age", "backups", "size", "PITR", "flags"):
        table.add_column(column)
    for s in statuses:
        pitr = pitr_text(s.pitr)
        extra = f" [dim](replicas {', '.join(s.replicas)}; backups in {s.backups_region})[/]" if s.replicas else ""
        if s.earlier_backups:
            extra += f" [dim](+{s.earlier_backups} backup(s) of {s.earlier_tables} earlier table(s))[/]"
        rows = s.rules or (None,)
        for index, r in enumerate(rows):
            first = index == 0
            table.add_row(
                s.name + extra if first else "",
                (escape(s.plan) if s.plan is not None else "-") if first else "",
                r.rule if r else "",
                r.last.created.strftime("%Y-%m-%d %H:%M") if r and r.last else ("none" if r else ""),
                format_age(r.age) if r and r.age is not None else "",
                str(s.backups) if first else "",
                format_size(s.backup_bytes) if first else "",
                pitr if first else "",
                "[red]" + escape("; ".join(s.flags)) + "[/]" if first and s.flags else "",
            )
    ctx.out.print(table)
    flagged = sum(1 for s in statuses if s.flags)
    summary = f"{len(statuses)} tables, {flagged} flagged"
    ctx.out.print(f"[red]{summary}[/]" if flagged else f"[green]{summary}[/]")
