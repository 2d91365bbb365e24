"""`tablesafe restore TABLE --to NEW --export latest|ARN`: ImportTable of an export, then the settings re-applied."""

from __future__ import annotations

from tablesafe.aws.export_reads import ExportReads
from tablesafe_cli.commands.find_items import export_of
from tablesafe_cli.commands.restore import render_restore
from tablesafe_cli.context import Context
from tablesafe_cli.errors import Failure
from tablesafe_cli.export_restore import restore_from_export
from tablesafe_cli.restore import RestoreError


def cmd_restore_export(ctx: Context) -> int:
    args = ctx.args
    reads = ExportReads.from_session(args.profile, args.region)
    source = export_of(ctx, reads, args.table, args.export)
    with ctx.progress(bar=False) as progress:
        task = progress.add_task("checking", total=None)

        def phase(text: str) -> None:
            progress.update(task, description=f"{text} {args.to}")

        def imported(status: str, count: int) -> None:
            progress.update(task, description=f"importing into {args.to}: {status}, {count} items")

        try:
            report = restore_from_export(
                ctx.tables,
                reads,
                source,
                args.to,
                tag_key=ctx.config.tag_key,
                keep_plan=args.keep_plan,
                timeout=args.timeout,
                poll=args.poll,
                on_phase=phase,
                on_import=imported,
            )
        except RestoreError as error:
            raise Failure(str(error)) from None
    ctx.emit(report.as_dict(), lambda: render_restore(ctx, report))
    for note in report.notes:
        ctx.note(f"note: {note}")
    if report.failed:
        ctx.note(f"{len(report.failed)} setting(s) could not be re-applied on {args.to}: see the table above")
        return 1
    return 0
