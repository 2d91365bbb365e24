"""`tablesafe cost`: backup storage and its estimated monthly cost, by plan and by table; and, with an export rule
configured, the exports the archive holds (archive_cost.py), at `tablesafe:archive`'s pricePerGbMonth."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tablesafe.aws.dynamodb import Backup
from tablesafe.aws.errors import GatewayError
from tablesafe.aws.export_reads import ExportReads
from tablesafe.rules.naming import is_manual, parse_scheduled
from tablesafe.rules.storage import BYTES_PER_GB, STORED_STATUSES
from tablesafe_cli.archive_cost import archive_slots, archive_storage_by
from tablesafe_cli.context import Context
from tablesafe_cli.errors import Failure
from tablesafe_cli.formatting import format_size
from tablesafe_cli.layout import Column, print_table


@dataclass
class Storage:
    """Backups and bytes of one group."""

    backups: int = 0
    bytes: int = 0

    def cost(self, price: float) -> float:
        return self.bytes / BYTES_PER_GB * price


def storage_by(backups: Sequence[Backup], prefix: str) -> tuple[dict[str, Storage], dict[str, Storage]]:
    """Stored backups grouped by plan (from the name; 'manual' and 'not tablesafe' too) and by table."""
    by_plan: dict[str, Storage] = defaultdict(Storage)
    by_table: dict[str, Storage] = defaultdict(Storage)
    for backup in backups:
        if backup.status not in STORED_STATUSES:
            continue
        parsed = parse_scheduled(backup.name, prefix)
        plan = parsed.plan if parsed else ("manual" if is_manual(backup.name, prefix) else "not tablesafe")
        for group in (by_plan[plan], by_table[backup.table_name]):
            group.backups += 1
            group.bytes += backup.size_bytes or 0
    return dict(by_plan), dict(by_table)


def cmd_cost(ctx: Context) -> int:
    """Backup storage and its estimated monthly cost, by plan and by table."""
    price = ctx.config.price_per_gb_month
    with ctx.progress(bar=False) as progress:
        progress.add_task("listing backups", total=None)
        backups = ctx.backups.list_backups(backup_type="ALL")
    by_plan, by_table = storage_by(backups, ctx.config.prefix)
    total = Storage(sum(s.backups for s in by_plan.values()), sum(s.bytes for s in by_plan.values()))

    def rows(groups: dict[str, Storage]) -> list[dict[str, Any]]:
        return [
            {"name": k, "backups": s.backups, "bytes": s.bytes, "monthlyCost": s.cost(price)}
            for k, s in sorted(groups.items(), key=lambda kv: (-kv[1].bytes, kv[0]))
        ]

    archive = _archive(ctx) if any(r.exports for p in ctx.config.plans.values() for r in p.rules) else None

    data: dict[str, Any] = {
        "region": ctx.region,
        "pricePerGbMonth": price,
        "byPlan": rows(by_plan),
        "byTable": rows(by_table),
        "total": {"backups": total.backups, "bytes": total.bytes, "monthlyCost": total.cost(price)},
    }
    if archive is not None:
        data["archive"] = archive
        data["monthlyCost"] = total.cost(price) + archive["total"]["monthlyCost"]
    ctx.emit(data, lambda: _render(ctx, data, total, price))
    return 0


def _render(ctx: Context, data: dict[str, Any], total: Storage, price: float) -> None:
    for title, key, first in (("by plan", "byPlan", "plan"), ("by table", "byTable", "table")):
        columns = [
            Column(first, identifier=True),
            Column("backups", justify="right"),
            Column("size", justify="right"),
            Column("USD / month", justify="right"),
        ]
        rows = [
            [row["name"], str(row["backups"]), format_size(row["bytes"]), f"{row['monthlyCost']:.2f}"]
            for row in data[key]
        ]
        rows.append(["[bold]total[/]", str(total.backups), format_size(total.bytes), f"{total.cost(price):.2f}"])
        print_table(ctx.out, f"backup storage {title}, {ctx.region}", columns, rows)
    archive = data.get("archive")
    if archive is not None:
        _render_archive(ctx, archive)
        ctx.out.print(f"backups and archive: {data['monthlyCost']:.2f} USD / month", style="bold")
    ctx.out.print(
        f"at {price} USD per GB-month of backup storage"
        + ("" if archive is None else f", {archive['pricePerGbMonth']} of archive")
        + " (docs/cost.md explains the estimate and its limits)",
        style="dim",
    )


def _archive(ctx: Context) -> dict[str, Any]:
    """The exports in the archive, by plan and by table, at the archive's price."""
    price = ctx.config.archive.price_per_gb_month
    reads = ExportReads.from_session(ctx.args.profile, ctx.args.region)
    try:
        with ctx.progress(bar=False) as progress:
            progress.add_task("listing exports", total=None)
            slots = archive_slots(reads, ctx.config.archive.bucket_owner)
    except GatewayError as error:
        raise Failure(f"cannot list the archive's exports: {error}") from None
    by_plan, by_table = archive_storage_by(slots)

    def rows(groups: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"name": k, "exports": s.exports, "bytes": s.bytes, "monthlyCost": s.cost(price)}
            for k, s in sorted(groups.items(), key=lambda kv: (-kv[1].bytes, kv[0]))
        ]

    exports, size = sum(s.exports for s in by_plan.values()), sum(s.bytes for s in by_plan.values())
    return {
        "pricePerGbMonth": price,
        "byPlan": rows(by_plan),
        "byTable": rows(by_table),
        "total": {"exports": exports, "bytes": size, "monthlyCost": size / BYTES_PER_GB * price},
    }


def _render_archive(ctx: Context, archive: dict[str, Any]) -> None:
    total = archive["total"]
    for title, key, first in (("by plan", "byPlan", "plan"), ("by table", "byTable", "table")):
        columns = [
            Column(first, identifier=True),
            Column("exports", justify="right"),
            Column("size", justify="right"),
            Column("USD / month", justify="right"),
        ]
        rows = [
            [row["name"], str(row["exports"]), format_size(row["bytes"]), f"{row['monthlyCost']:.2f}"]
            for row in archive[key]
        ]
        rows.append(
            ["[bold]total[/]", str(total["exports"]), format_size(total["bytes"]), f"{total['monthlyCost']:.2f}"]
        )
        print_table(ctx.out, f"archive (exports) {title}, {ctx.region}", columns, rows)
