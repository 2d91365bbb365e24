"""Discovery: the tables tagged with the run's plan (the tagging API), and those whose tag names no plan."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from tablesafe.aws.dynamodb import DynamoDbGateway, TaggedTable
from tablesafe.backup.report import BackupReport, BackupRequest
from tablesafe.config.settings import Settings
from tablesafe.observability import logger
from tablesafe.rules.opt_in import assigned_plan


def select_tables(
    tables: Iterable[TaggedTable], plan: str, plans: Mapping[str, object], default_plan: str | None = None
) -> tuple[list[TaggedTable], list[TaggedTable]]:
    """The tables of `plan`, and those whose tag value names no configured plan (reported, never backed up).

    Tag values are compared exactly: " daily" or "Daily" is not "daily", and is reported rather than guessed at.
    With a default plan, an untagged table is the default plan's and one tagged `none` is no plan's (opted out).
    """
    assigned = [(t, assigned_plan(t.tag_value if t.tagged else None, default_plan)) for t in tables]
    mine = [t for t, a in assigned if a.plan == plan]
    unknown = [t for t, a in assigned if not a.opted_out and a.plan is not None and a.plan not in plans]
    return mine, unknown


def opted_out(tables: Iterable[TaggedTable], default_plan: str | None) -> list[str]:
    """The tables that opt out of the default plan (tag value `none`), by name."""
    return [t.name for t in tables if t.tagged and assigned_plan(t.tag_value, default_plan).opted_out]


def discover(
    gateway: DynamoDbGateway, settings: Settings, request: BackupRequest, report: BackupReport
) -> dict[str, Mapping[str, str]]:
    """The plan's tables, by name, with their tags; tables of an unknown plan go into the report and the log."""
    if settings.default_plan is None:
        tables = gateway.find_tagged_tables(settings.tag_key)
    else:  # every table of the region: ListTables plus the tagging API
        tables = gateway.find_tables(settings.tag_key)
    mine, unknown = select_tables(tables, request.plan, settings.plans, settings.default_plan)
    for table in unknown:
        report.unknown_plan[table.name] = table.tag_value
        logger.error(
            "table tagged with an unknown plan; it is not backed up",
            table=table.name,
            tag_key=settings.tag_key,
            tag_value=table.tag_value,
            configured_plans=sorted(settings.plans),
        )
    logger.info(
        "tables discovered",
        plan=request.plan,
        rule=request.rule,
        tagged=len([t for t in tables if t.tagged]),
        targets=len(mine),
        default_plan=settings.default_plan,
        opted_out=len(opted_out(tables, settings.default_plan)),
        unknown_plan=len(report.unknown_plan),
        backup_name=report.backup_name,
    )
    return {table.name: table.tags for table in mine}
