"""`tablesafe drill TABLE [--backup ARN|latest]`: one restore drill now, in the foreground, with its verification.

The same steps as the drill function (tablesafe.drill.steps): restore into the drill table, wait until it is ACTIVE
(measured to the poll), verify shape, count and validator, record the result, delete the drill table. The plan's
`drill` settings apply (tolerance, maxRestoreMinutes, validator); a table of a plan without one is drilled with the
defaults and no validator.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from rich.markup import escape

from tablesafe.aws.drill_records import CountProgress, DrillRecord
from tablesafe.aws.drills import DrillGateway
from tablesafe.config.drill import Drill
from tablesafe.config.plans import Plan
from tablesafe.constants import DEFAULT_DRILL_READ_UNITS
from tablesafe.drill import names
from tablesafe.drill.report import DrillReport, DrillResult, Verdict
from tablesafe.drill.steps import VALIDATOR_TIMEOUT_SECONDS, Steps
from tablesafe.drill.verification import UnitBudget
from tablesafe.rules.naming import parse_scheduled
from tablesafe_cli.context import Context
from tablesafe_cli.drills import drill_records, format_age_seconds
from tablesafe_cli.errors import Failure, Interrupted, UsageError

POLL_SECONDS = 5.0
COUNT_SECONDS = 3600.0  # the foreground count may take an hour; the function's is bounded by its invocation


class _NoRecords:
    """Where results go when the region has no drill records (drills not deployed): nowhere, with a note."""

    def put(self, record: DrillRecord) -> None:
        return None

    def load_count(self, drill_table: str) -> CountProgress | None:
        return None

    def save_count(self, drill_table: str, progress: CountProgress) -> None:
        return None


def cmd_drill(ctx: Context) -> int:
    """Restore TABLE's backup into a drill table, verify it, delete it; exit 0 when it passed, 1 otherwise."""
    args, config = ctx.args, ctx.config
    table = ctx.require_table(args.table)
    plan_name = ctx.tables.tags(table.arn).get(config.tag_key, "")
    configured = config.plans.get(plan_name)
    drill = configured.drill if configured is not None and configured.drill is not None else Drill(every_days=1)
    plan = replace(configured, drill=drill) if configured is not None else Plan(plan_name, (), drill=drill)
    backup_arn = _backup(ctx, args.table, args.backup)
    records = drill_records(ctx)
    if records is None:
        ctx.note("note: no drill records in this region (drills not deployed): the result is not recorded")
    steps = Steps(
        gateway=DrillGateway.from_session(ctx.session, validator_timeout=VALIDATOR_TIMEOUT_SECONDS),
        records=records or _NoRecords(),
        prefix=config.prefix,
        plans={plan_name: plan},
        now=ctx.clock,
        budget=UnitBudget(DEFAULT_DRILL_READ_UNITS),
        time_left=_deadline(COUNT_SECONDS),
    )
    report = DrillReport()
    target = names.drill_table_name(config.prefix, args.table, backup_arn)
    try:
        result = _run(ctx, steps, args.table, plan_name, backup_arn, target, report)
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted: drill table {target} may exist; the drill function deletes it once it is ACTIVE "
            f"(tagged {names.TAG_DRILL}), or delete it with 'aws dynamodb delete-table --table-name {target}'"
        ) from None
    _render(ctx, result, report)
    return 0 if result.verdict is Verdict.PASSED else 1


def _backup(ctx: Context, table: str, wanted: str) -> str:
    """The backup to drill: the ARN given (it must be of TABLE), or the newest AVAILABLE tablesafe backup."""
    if wanted != "latest":
        found = [b for b in ctx.backups.list_backups(table_name=table, backup_type="ALL") if b.arn == wanted]
        if not found:
            raise UsageError(f"--backup {wanted}: not a backup of {table} in {ctx.region}")
        return wanted
    ours = [
        b
        for b in ctx.backups.list_backups(table_name=table)
        if b.status == "AVAILABLE" and parse_scheduled(b.name, ctx.config.prefix) is not None
    ]
    if not ours:
        raise Failure(f"{table} has no AVAILABLE tablesafe backup to drill; pass --backup ARN for another")
    return max(ours, key=lambda b: (b.created, b.arn)).arn


def _run(
    ctx: Context, steps: Steps, table: str, plan: str, backup_arn: str, target: str, report: DrillReport
) -> DrillResult:
    gateway = steps.gateway
    with ctx.progress(bar=False) as progress:
        task = progress.add_task(f"restoring {table} into {target}", total=None)
        steps.start(table, plan, backup_arn, report)
        if report.results:  # refused: nothing was restored
            return report.results[0]
        if report.waiting:
            raise Failure(f"the drill of {table} cannot start now (restore limit reached, or the backup is busy)")
        tags = report.started_tags.get(target)
        while True:
            described = gateway.describe(target)
            if described is None:
                raise Failure(f"drill table {target} is gone: the restore ended without a table")
            if tags is None or not tags.get(names.TAG_DRILL):
                tags = gateway.tags(described.arn)  # started by another run: its tags, once readable
            progress.update(task, description=f"restoring {table} into {target}: {described.status}")
            if described.status != "CREATING" and not described.restore_in_progress:
                break
            started = names.parse_stamp(tags.get(names.TAG_STARTED)) or described.created
            if ctx.clock() - started > steps.plans[plan].drill.max_restore:  # type: ignore[union-attr]
                break  # advance() fails it as too slow
            time.sleep(POLL_SECONDS)
        progress.update(task, description=f"verifying {target}: shape, item count, validator")
        steps.advance(described, tags, report)
    if not report.results:
        raise Failure(f"the drill of {table} did not finish: {'; '.join(report.errors) or 'see the log'}")
    return report.results[0]


def _deadline(seconds: float) -> Any:
    end = time.monotonic() + seconds
    return lambda: end - time.monotonic()


def _render(ctx: Context, result: DrillResult, report: DrillReport) -> None:
    data = {**result.as_dict(), "deleted": result.drill_table in report.deleted}
    restore = format_age_seconds(result.restore_seconds) if result.restore_seconds is not None else "-"
    counts = (
        f"{result.counted_items} counted, {result.expected_items} recorded" if result.counted_items is not None else "-"
    )
    colour = "green" if result.verdict is Verdict.PASSED else "red"

    def render() -> None:
        for label, value in (
            ("table", result.table),
            ("backup", result.backup_arn),
            (
                "drill table",
                f"{result.drill_table} ({'deleted' if data['deleted'] else 'left: the drill function deletes it'})",
            ),
            ("restore time", restore),
            ("items", counts),
            ("verdict", f"[{colour}]{result.verdict.value}[/]: {escape(result.reason)}"),
        ):
            ctx.out.print(f"{label:>12}  {value}")

    ctx.emit(data, render)
