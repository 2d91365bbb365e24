"""`tablesafe backup TABLE`: an on-demand backup now, named as a rule's (and pruned by it) or manual."""

from __future__ import annotations

import itertools
import time
from typing import Any

from rich.markup import escape

from tablesafe.aws.dynamodb import AmbiguousResult, Backup, BackupInUse, TableNotFound, Throttled
from tablesafe.aws.retry import RetryPolicy
from tablesafe.rules.naming import manual_name, scheduled_name, to_slot
from tablesafe.rules.storage import STORED_STATUSES
from tablesafe_cli.context import Context
from tablesafe_cli.errors import Failure, Interrupted, UsageError


def cmd_backup(ctx: Context) -> int:
    """An on-demand backup now: named as the rule's (and pruned by it) with --plan/--rule, else manual."""
    args, config = ctx.args, ctx.config
    if (args.plan is None) != (args.rule is None):
        raise UsageError("--plan and --rule go together: give both (pruned by that rule) or neither (manual)")
    now = ctx.clock()
    rule = None
    if args.plan is not None:
        plan = config.plans.get(args.plan)
        if plan is None:
            raise UsageError(f"--plan {args.plan}: no such plan; configured: {', '.join(sorted(config.plans))}")
        rule = plan.rule(args.rule)
        if rule is None:
            raise UsageError(
                f"--rule {args.rule}: plan {args.plan} has no such rule; its rules: "
                f"{', '.join(r.name for r in plan.rules)}"
            )
        name = scheduled_name(config.prefix, args.plan, args.rule, now)
    else:
        name = manual_name(config.prefix, now)
    table = ctx.require_table(args.table)
    if args.plan is not None:
        tag = ctx.tables.tags(table.arn).get(config.tag_key)
        if tag is None:
            ctx.note(f"note: {args.table} has no {config.tag_key} tag; the backup is named for plan {args.plan}")
        elif tag != args.plan:
            ctx.note(f"note: {args.table} is tagged {config.tag_key}={tag}, the backup is named for plan {args.plan}")
        # The slot's backup may exist already (a scheduled run this minute, or this command run twice).
        existing = [
            b
            for b in ctx.backups.list_backups(table_name=args.table, created_from=to_slot(now))
            if b.name == name and b.status in STORED_STATUSES
        ]
        if existing:
            return _report_backup(ctx, existing[0], rule, already=True)
    backup: Backup | None = None
    try:
        with ctx.progress(bar=False) as progress:
            task = progress.add_task(f"creating backup {name}", total=None)
            backup = _create_backup(ctx, args.table, name)
            if args.wait:
                progress.update(task, description=f"waiting until {name} is AVAILABLE")
                backup = _wait_backup(ctx, backup, timeout=args.timeout)
    except KeyboardInterrupt:
        raise Interrupted(_left_behind(args.table, name, backup, rule is not None)) from None
    return _report_backup(ctx, backup, rule, already=False)


def _left_behind(table: str, name: str, backup: Backup | None, pruned: bool) -> str:
    """What an interrupted `backup` leaves: a backup that exists, or one that may, and how it goes away."""
    fate = "the rule's prune deletes it in time" if pruned else "a manual backup is never pruned"
    if backup is None:
        return (
            f"interrupted while CreateBackup was sent: backup {name} of {table} may have been created ({fate}); "
            f"'tablesafe backups {table}' lists it, 'aws dynamodb delete-backup --backup-arn ARN' deletes it"
        )
    return (
        f"interrupted: backup {name} of {table} was created and is kept ({fate}); "
        f"delete it with 'aws dynamodb delete-backup --backup-arn {backup.arn}' if it is not wanted"
    )


def create_retry() -> RetryPolicy:
    """CreateBackup's sends (its client does not retry): six, 1 s doubling to at most 10 s between them."""
    return RetryPolicy(attempts=6, base=1.0, cap=10.0)


def _create_backup(ctx: Context, table: str, name: str) -> Backup:
    """CreateBackup, sent again only when it surely had no effect (throttled) or was found not to have had one."""
    retry = create_retry()
    for _ in retry.tries():
        try:
            return ctx.backups.create_backup(table, name)
        except Throttled as error:
            if not retry.may_retry(error):
                raise
        except AmbiguousResult as error:
            if error.code == "NoCredentialsError":
                raise
            found = [b for b in ctx.backups.list_backups(table_name=table) if b.name == name]
            if found:
                return found[0]
            if not retry.may_retry(error):
                raise
        except BackupInUse:
            raise Failure(f"a backup of {table} is being created right now; try again in a minute") from None
        except TableNotFound:
            raise Failure(f"table {table} not found in {ctx.region}") from None
    raise Failure(
        f"CreateBackup of {table} was throttled or went unanswered {retry.attempts} times; nothing is known to be "
        "created"
    )


def _wait_backup(ctx: Context, backup: Backup, *, timeout: float) -> Backup:
    deadline = time.monotonic() + timeout
    for attempt in itertools.count():
        if backup.status != "CREATING":
            break
        if time.monotonic() > deadline:
            ctx.note(f"backup {backup.name} is still CREATING after {timeout:.0f} s; it continues in the background")
            return backup
        if attempt:
            time.sleep(min(5.0, 0.25 * 2**attempt))
        details = ctx.tables.describe_backup(backup.arn)
        backup = Backup(
            arn=backup.arn,
            name=backup.name,
            table_name=backup.table_name,
            created=backup.created,
            status=details.status,
            backup_type=backup.backup_type,
            size_bytes=backup.size_bytes,
        )
    return backup


def _report_backup(ctx: Context, backup: Backup, rule: Any, *, already: bool) -> int:
    pruned = (
        f"by rule {ctx.args.plan}/{rule.name}: after {rule.retention_days} days, keeping the newest {rule.min_keep}"
        if rule is not None
        else "never (manual backup)"
    )
    data = {
        "table": backup.table_name,
        "name": backup.name,
        "arn": backup.arn,
        "status": backup.status,
        "created": backup.created,
        "alreadyPresent": already,
        "pruned": pruned,
    }

    def render() -> None:
        # Label and value on one line, never wrapped by us: the ARN is what `restore --backup` takes.
        for label, value in (
            ("table", escape(backup.table_name)),
            (
                "backup",
                escape(backup.name) + ("  [yellow](this minute's backup existed already)[/]" if already else ""),
            ),
            ("ARN", escape(backup.arn)),
            ("status", backup.status),
            ("pruned", escape(pruned)),
        ):
            ctx.out.print(f" {label:<7} {value}", soft_wrap=True, highlight=False, emoji=False)

    ctx.emit(data, render)
    return 0
