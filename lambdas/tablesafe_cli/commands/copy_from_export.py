"""`tablesafe copy-items --from-export latest|ARN --to LIVE (--key ... | --keys-file ...)`: items from an export."""

from __future__ import annotations

from tablesafe.aws.export_reads import ExportReads
from tablesafe_cli.commands.copy_items import render_report  # the same summary as copy-items --from
from tablesafe_cli.commands.find_items import export_of, requested_keys
from tablesafe_cli.context import Context
from tablesafe_cli.copy_report import CopyProgress, Mode
from tablesafe_cli.errors import Failure, UsageError
from tablesafe_cli.export_copy import copy_from_export


def cmd_copy_from_export(ctx: Context) -> int:
    """Read LIVE's export (latest: the newest completed one of LIVE's own table) and write the chosen items back."""
    args = ctx.args
    if args.filter is not None or args.key_condition is not None or args.names or args.values:
        raise UsageError("--from-export takes keys only (--key or --keys-file): an export cannot be queried")
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    ctx.require_table(args.target)
    reads = ExportReads.from_session(args.profile, args.region)
    source = export_of(ctx, reads, args.target, args.from_export)
    keys = requested_keys(ctx, source)
    verb = "checking" if args.dry_run else "copying"
    with ctx.progress(bar=False) as progress:
        task = progress.add_task(f"{verb} {source.info.arn} -> {args.target}", total=None)
        state = {"bytes": 0, "done": 0}

        def show() -> None:
            progress.update(
                task,
                description=f"{verb} -> {args.target}: {state['bytes'] / 1e6:.1f} MB read, "
                f"{state['done']} of {len(keys)} items",
            )

        def on_bytes(count: int) -> None:
            state["bytes"] += count
            show()

        def on_progress(p: CopyProgress) -> None:
            state["done"] = p.done
            show()

        report = copy_from_export(
            ctx.tables,
            reads,
            source,
            args.target,
            keys,
            mode=Mode(args.mode),
            dry_run=args.dry_run,
            workers=args.workers,
            on_progress=on_progress,
            on_bytes=on_bytes,
        )
    ctx.emit(report.as_dict(), lambda: render_report(ctx, report))
    if report.stopped:
        raise Failure(f"copy-items stopped part-way: {report.stopped}; run it again to finish")
    return 1 if report.failed or report.not_found else 0
