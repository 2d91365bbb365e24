"""Discovery: the tables tagged with the run's plan (the tagging API), and those whose tag names no plan."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from tablesafe.aws.dynamodb import DynamoDbGateway, TaggedTable
from tablesafe.backup.report import BackupReport, BackupRequest
from tablesafe.config.settings import Settings
from tablesafe.observability import logger


def select_tables(
    tables: Iterable[TaggedTable], plan: str, plans: Mapping[str, object]
) -> tuple[list[TaggedTable], list[TaggedTable]]:
    """The tables of `plan`, and those whose tag value names no configured plan (reported, never backed up).

    Tag values are compared exactly: " daily" or "Daily" is not "daily", and is reported rather than guessed at.
    """
    tables = list(tables)
    mine = [t for t in tables if t.tag_value == plan]
    unknown = [t for t in tables if t.tag_value not in plans]
    return mine, unknown


def discover(
    gateway: DynamoDbGateway, settings: Settings, request: BackupRequest, report: BackupReport
) -> dict[str, Mapping[str, str]]:
    """The plan's tables, by name, with their tags; tables of an unknown plan go into the report and the log."""
    tables = gateway.find_tagged_tables(settings.tag_key)
    mine, unknown = select_tables(tables, request.plan, settings.plans)
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
        tagged=len(tables),
        targets=len(mine),
        unknown_plan=len(report.unknown_plan),
        backup_name=report.backup_name,
    )
    return {table.name: table.tags for table in mine}
