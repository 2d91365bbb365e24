"""`tablesafe restore TABLE --to NEW`: restore into a new table, wait until ACTIVE, re-apply the dropped settings."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.markup import escape

from tablesafe.aws.tables import TableDetails
from tablesafe_cli.context import Context
from tablesafe_cli.errors import UsageError
from tablesafe_cli.layout import Column, print_table
from tablesafe_cli.restore import RestoreReport, RestoreRequest, restore_table
from tablesafe_cli.table_settings import SettingOutcome


def parse_time(text: str, option: str) -> datetime:
    """An ISO 8601 time with a time zone (a trailing Z means UTC)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(f"{option} {text}: expected an ISO 8601 time such as 2026-11-27T03:00:00Z") from None
    if moment.tzinfo is None:
        raise UsageError(f"{option} {text}: give a time zone, such as 2026-11-27T03:00:00Z or +01:00")
    return moment.astimezone(UTC)


def cmd_restore(ctx: Context) -> int:
    """Restore into a new table, wait until ACTIVE, re-apply the settings a restore drops; print them."""
    args = ctx.args
    if args.export is not None:
        if args.backup is not None or args.at is not None:
            raise UsageError("give one of --backup, --at or --export")
        from tablesafe_cli.commands.restore_export import cmd_restore_export

        return cmd_restore_export(ctx)
    if args.backup is not None and args.at is not None:
        raise UsageError("give --backup or --at, not both")
    at, latest_time = None, False
    if args.at is not None:
        latest_time = args.at == "latest"
        at = None if latest_time else parse_time(args.at, "--at")
        if at is not None and at > datetime.now(UTC):
            raise UsageError(f"--at {args.at}: that time is in the future")
    backup = args.backup if args.backup is not None else (None if args.at is not None else "latest")
    request = RestoreRequest(
        source=args.table, target=args.to, backup=backup, at=at, latest_time=latest_time, keep_plan=args.keep_plan
    )
    with ctx.progress(bar=False) as progress:
        task = progress.add_task("checking", total=None)

        def phase(text: str) -> None:
            progress.update(task, description=f"{text} {args.to}")

        def polled(details: TableDetails) -> None:
            progress.update(task, description=f"waiting for {args.to}: {details.status}")

        report = restore_table(
            ctx.backups,
            ctx.tables,
            request,
            tag_key=ctx.config.tag_key,
            timeout=args.timeout,
            poll=args.poll,
            on_phase=phase,
            on_poll=polled,
        )
    ctx.emit(report.as_dict(), lambda: render_restore(ctx, report))
    for note in report.notes:
        ctx.note(f"note: {note}")
    if report.failed:
        ctx.note(f"{len(report.failed)} setting(s) could not be re-applied on {args.to}: see the table above")
        return 1
    return 0


def render_restore(ctx: Context, report: RestoreReport) -> None:
    source = (
        f"backup {report.backup_name} ({report.backup_arn})"
        if report.method == "backup"
        else f"export {report.backup_arn}"
        if report.method == "export"
        else f"point in time {report.at.isoformat() if report.at else 'latest restorable'}"
    )
    # One line, never wrapped by us: it names both tables and the backup's ARN.
    ctx.out.print(
        f"restored {report.source} into [bold]{report.target}[/] from {source} in {report.seconds:.0f} s",
        highlight=False,
        soft_wrap=True,
        emoji=False,
    )
    colours = {SettingOutcome.APPLIED: "green", SettingOutcome.FAILED: "red", SettingOutcome.SKIPPED: "yellow"}
    rows = []
    for s in report.settings:
        colour = colours.get(s.outcome)
        outcome = f"[{colour}]{s.outcome.value}[/]" if colour else s.outcome.value
        rows.append([s.setting, outcome, escape(s.detail)])
    print_table(ctx.out, "settings re-applied", (Column("setting"), Column("outcome"), Column("detail")), rows)
    ctx.out.print(
        "Not carried over by a restore and not re-applied: IAM policies, CloudWatch alarms, a resource-based "
        "policy, Kinesis streaming, Contributor Insights, stream consumers, global-table replicas.",
        style="dim",
    )
