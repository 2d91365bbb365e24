"""Discovery: the tables tagged with the run's plan (the tagging API, page by page), and those whose tag names no
plan. With `tablesafe:defaultPlan`, every table of the region but those opted out and tablesafe's own drill tables."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from tablesafe.aws.dynamodb import DynamoDbGateway, TaggedTable
from tablesafe.backup.report import BackupReport, BackupRequest
from tablesafe.config.settings import Settings
from tablesafe.observability import logger
from tablesafe.rules.drill_tables import is_drill_table
from tablesafe.rules.opt_in import Assignment, assigned_plan


def assignment(table: TaggedTable, default_plan: str | None, prefix: str) -> Assignment:
    """The table's plan as rules/opt_in.py decides it; `prefix` (the backup name prefix) tells drill tables."""
    drill = is_drill_table(table.name, table.tags, prefix)
    return assigned_plan(table.tag_value if table.tagged else None, default_plan, drill_table=drill)


def select_tables(
    tables: Iterable[TaggedTable],
    plan: str,
    plans: Mapping[str, object],
    default_plan: str | None = None,
    *,
    prefix: str,
) -> tuple[list[TaggedTable], list[TaggedTable]]:
    """The tables of `plan`, and those whose tag value names no configured plan (reported, never backed up).

    Tag values are compared exactly: " daily" or "Daily" is not "daily", and is reported rather than guessed at.
    With a default plan, an untagged table is the default plan's, unless it is one of tablesafe's drill tables
    (name prefix AND drill tag); one tagged `none` is no plan's (opted out).
    """
    assigned = [(t, assignment(t, default_plan, prefix)) for t in tables]
    mine = [t for t, a in assigned if a.plan == plan]
    unknown = [t for t, a in assigned if not a.opted_out and a.plan is not None and a.plan not in plans]
    return mine, unknown


def opted_out(tables: Iterable[TaggedTable], default_plan: str | None) -> list[str]:
    """The tables that opt out of the default plan (tag value `none`), by name."""
    return [t.name for t in tables if t.tagged and assigned_plan(t.tag_value, default_plan).opted_out]


def drill_tables(tables: Iterable[TaggedTable], default_plan: str | None, prefix: str) -> list[str]:
    """tablesafe's drill tables the default plan leaves out (they carry no plan tag), by name."""
    return [t.name for t in tables if assignment(t, default_plan, prefix).drill_table]


class Discovery:
    """The plan's tables, a GetResources page at a time; tables of an unknown plan go into the report and the log.
    With a default plan every table of the region is a candidate (ListTables plus the tagging API): one page."""

    def __init__(
        self, gateway: DynamoDbGateway, settings: Settings, request: BackupRequest, report: BackupReport
    ) -> None:
        self.gateway = gateway
        self.settings = settings
        self.request = request
        self.report = report
        self.tags: dict[str, Mapping[str, str]] = {}  # the plan's tables found so far, with their tags
        self.tagged = 0
        self.opted_out = 0
        self.drill_tables = 0  # tablesafe's drill tables left out of the default plan

    def pages(self) -> Iterator[list[str]]:
        """The names of the plan's tables, page by page (each name once); raises GatewayError as the gateway does."""
        default_plan = self.settings.default_plan
        prefix = self.settings.backup_name_prefix
        if default_plan is None:
            found: Iterable[list[TaggedTable]] = self.gateway.tagged_table_pages(self.settings.tag_key)
        else:  # every table of the region: ListTables plus the tagging API
            found = iter([self.gateway.find_tables(self.settings.tag_key)])
        for page in found:
            self.tagged += sum(t.tagged for t in page)
            self.opted_out += len(opted_out(page, default_plan))
            for name in drill_tables(page, default_plan, prefix):
                self.drill_tables += 1
                # Not an error: a temporary restore that the drill function deletes, so never backed up by default.
                logger.info(
                    "restore-drill table left out of the default plan; it is not backed up",
                    table=name,
                    default_plan=default_plan,
                )
            mine, unknown = select_tables(page, self.request.plan, self.settings.plans, default_plan, prefix=prefix)
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
            default_plan=default_plan,
            opted_out=self.opted_out,
            drill_tables=self.drill_tables,
            unknown_plan=len(self.report.unknown_plan),
            backup_name=self.report.backup_name,
        )
