"""What the CLI needs of restore drills: where the last drills are kept, and what status says about them.

Each table's last drill is an item in the stack's lease table (aws/drill_records.py). The CLI finds that table by
`--lease-table`, or else in the environment of the deployed drill function (`tablesafe-drill`,
GetFunctionConfiguration): a region without drills has neither, and status then shows no drills.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import boto3

from tablesafe.aws.drill_records import DrillRecord, DrillRecords
from tablesafe.aws.errors import GatewayError, call
from tablesafe.config.plans import Plan
from tablesafe.constants import ENV_LEASE_TABLE
from tablesafe.drill.selection import OVERDUE_FACTOR, is_overdue
from tablesafe_cli.context import Context
from tablesafe_cli.coverage import Flag, FlagKind, TableStatus
from tablesafe_cli.formatting import format_age

DRILL_FUNCTION_NAME = "tablesafe-drill"  # infra/drills.py names it so


def drill_records(ctx: Context) -> DrillRecords | None:
    """The drill records of the region: --lease-table, or the drill function's; None when drills are not deployed."""
    return find_drill_records(ctx.session, ctx.region, getattr(ctx.args, "lease_table", None))


def find_drill_records(session: boto3.Session, region: str, lease_table: str | None) -> DrillRecords | None:
    """The drill records in `lease_table`, or in the drill function's lease table (GetFunctionConfiguration, with
    the session's credentials); None when the region has no drill function."""
    name = lease_table
    if not name:
        client = session.client("lambda", region_name=region)
        try:
            answer = call(
                "GetFunctionConfiguration",
                client,
                lambda: client.get_function_configuration(FunctionName=DRILL_FUNCTION_NAME),
            )
        except GatewayError as error:
            if error.code in ("ResourceNotFoundException", "TableNotFound"):
                return None
            raise
        name = answer.get("Environment", {}).get("Variables", {}).get(ENV_LEASE_TABLE)
        if not name:
            return None
    return DrillRecords(str(name), client=session.client("dynamodb", region_name=region))


def with_drills(
    statuses: list[TableStatus], records: Mapping[str, DrillRecord], plans: Mapping[str, Plan], now: datetime
) -> list[TableStatus]:
    """Each status with a `drill` flag where its plan is drilled and no drill passed within 1.5 x everyDays."""
    updated = []
    for status in statuses:
        plan = plans.get(status.plan or "")
        record = records.get(status.name)
        if plan is not None and plan.drill is not None and is_overdue(record, plan, now):
            assert record is not None  # is_overdue is False without a record
            passed = record.last_passed_at
            since = f"last passed {format_age(now - passed)} ago" if passed else "never passed"
            limit = format_age(plan.drill.interval * OVERDUE_FACTOR)
            message = f"drill overdue: {since} (limit {limit}); last drill {record.verdict}: {record.reason}"
            status = replace(status, issues=(*status.issues, Flag(FlagKind.DRILL, message)))
        updated.append(status)
    return updated


def drill_note(record: DrillRecord | None, plan: Plan | None, now: datetime) -> str | None:
    """The last drill in a few words, for status's flags column."""
    if record is None:
        return "not drilled yet" if plan is not None and plan.drill is not None else None
    restore = f", restore {format_age_seconds(record.restore_seconds)}" if record.restore_seconds is not None else ""
    return f"drill {record.verdict} {format_age(now - record.finished_at)} ago{restore}"


def format_age_seconds(seconds: float) -> str:
    """A restore time: 42 s, 12 min, 3 h 05 min."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60:02d} min"


def record_json(record: DrillRecord | None) -> dict[str, Any] | None:
    """A table's last drill in status --json."""
    if record is None:
        return None
    return {
        "verdict": record.verdict,
        "finished": record.finished_at.isoformat(),
        "reason": record.reason,
        "restoreSeconds": record.restore_seconds,
        "backupArn": record.backup_arn,
        "lastPassed": record.last_passed_at.isoformat() if record.last_passed_at else None,
    }
