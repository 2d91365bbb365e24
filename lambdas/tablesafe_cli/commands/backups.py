"""`tablesafe backups TABLE`: the table's backups, newest first; backups not made by tablesafe are marked."""

from __future__ import annotations

from typing import Any

from tablesafe.aws.dynamodb import Backup, TableNotFound
from tablesafe.rules.incarnations import incarnations
from tablesafe.rules.naming import is_manual, parse_scheduled
from tablesafe_cli.context import Context
from tablesafe_cli.errors import Failure
from tablesafe_cli.formatting import format_size
from tablesafe_cli.layout import Column, print_table


def owner_of(backup: Backup, prefix: str) -> str:
    """Whose a backup is, as the prune sees it: 'plan/rule' for a USER backup named by the scheme (whoever took it),
    'manual', or 'other' (not tablesafe's: never deleted; AWS Backup's and SYSTEM ones whatever their name)."""
    if backup.backup_type != "USER":
        return "other"
    parsed = parse_scheduled(backup.name, prefix)
    if parsed is not None:
        return f"{parsed.plan}/{parsed.rule}"
    if is_manual(backup.name, prefix):
        return "manual"
    return "other"


def cmd_backups(ctx: Context) -> int:
    """The table's backups, newest first; backups not made by tablesafe are marked."""
    name = ctx.args.table
    with ctx.progress(bar=False) as progress:
        progress.add_task(f"listing backups of {name}", total=None)
        backups = sorted(
            ctx.backups.list_backups(table_name=name, backup_type="ALL"), key=lambda b: b.created, reverse=True
        )
    try:
        current: str | None = ctx.tables.describe(name).table_id
        exists = True
    except TableNotFound:
        current, exists = None, False
    if not backups and not exists:
        raise Failure(f"table {name} not found in {ctx.region}, and it has no backups")
    if not exists:
        ctx.note(f"table {name} no longer exists; its backups are listed")
    tables = incarnations(backups, current, exists=exists)
    if tables.several:
        ctx.note(f"the name {name} has belonged to {len(tables.labels)} tables; the column 'table' says whose")
    rows: list[dict[str, Any]] = [
        {
            "table": tables.label(b),
            "tableId": b.table_id,
            "name": b.name,
            "arn": b.arn,
            "created": b.created,
            "status": b.status,
            "type": b.backup_type,
            "sizeBytes": b.size_bytes,
            "owner": owner_of(b, ctx.config.prefix),
            "tablesafe": owner_of(b, ctx.config.prefix) != "other",
        }
        for b in backups
    ]
    ctx.emit(
        {"table": name, "region": ctx.region, "backups": rows}, lambda: _render(ctx, name, rows, several=tables.several)
    )
    return 0


def _render(ctx: Context, name: str, rows: list[dict[str, Any]], *, several: bool) -> None:
    columns = [
        Column("created (UTC)"),
        *((Column("table"),) if several else ()),
        Column("name", identifier=True),
        Column("made by"),
        Column("status"),
        Column("type"),
        Column("size", justify="right"),
        Column("ARN", identifier=True),
    ]
    cells = [
        [
            row["created"].strftime("%Y-%m-%d %H:%M:%S"),
            *((row["table"] or "",) if several else ()),
            row["name"],
            f"tablesafe {row['owner']}" if row["tablesafe"] else "[yellow]* not tablesafe[/]",
            row["status"],
            row["type"],
            format_size(row["sizeBytes"]) if row["sizeBytes"] is not None else "",
            row["arn"],
        ]
        for row in rows
    ]
    print_table(ctx.out, f"backups of {name} ({ctx.region}), newest first", columns, cells)
    others = sum(1 for r in rows if not r["tablesafe"])
    ctx.out.print(f"{len(rows)} backups, {others} not made by tablesafe (marked *)")
