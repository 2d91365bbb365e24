"""Discovery: the tables tagged with the run's plan (the tagging API, page by page), and those whose tag names no
plan."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

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


class Discovery:
    """The plan's tables, a GetResources page at a time; tables of an unknown plan go into the report and the log."""

    def __init__(
        self, gateway: DynamoDbGateway, settings: Settings, request: BackupRequest, report: BackupReport
    ) -> None:
        self.gateway = gateway
        self.settings = settings
        self.request = request
        self.report = report
        self.tags: dict[str, Mapping[str, str]] = {}  # the plan's tables found so far, with their tags
        self.tagged = 0

    def pages(self) -> Iterator[list[str]]:
        """The names of the plan's tables, page by page (each name once); raises GatewayError as the gateway does."""
        for page in self.gateway.tagged_table_pages(self.settings.tag_key):
            self.tagged += len(page)
            mine, unknown = select_tables(page, self.request.plan, self.settings.plans)
            for table in unknown:
                self.report.unknown_plan[table.name] = table.tag_value
                logger.error(
                    "table tagged with an unknown plan; it is not backed up",
                    table=table.name,
                    tag_key=self.settings.tag_key,
                    tag_value=table.tag_value,
                    configured_plans=sorted(self.settings.plans),
                )
            names = [table.name for table in mine if table.name not in self.tags]
            self.tags.update((table.name, table.tags) for table in mine)
            yield names
        logger.info(
            "tables discovered",
            plan=self.request.plan,
            rule=self.request.rule,
            tagged=self.tagged,
            targets=len(self.tags),
            unknown_plan=len(self.report.unknown_plan),
            backup_name=self.report.backup_name,
        )
