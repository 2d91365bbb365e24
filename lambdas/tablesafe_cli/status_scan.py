"""The scan behind `tablesafe status`: every table of one account and region, its plan, backups, PITR and last drill.

One function, `scan_region`, for the one-account view (commands/status.py) and the many-account view
(commands/status_accounts.py): it receives the gateways of the account and region (built on the CLI's own
credentials, or on a role assumed in a member account), reads the clock once, and returns a RegionScan.

    scan = scan_region(gateways, region="eu-west-1", account="111122223333", config=config, clock=utc_now)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from tablesafe.aws.drill_records import DrillRecord, DrillRecords
from tablesafe.aws.dynamodb import Backup, DynamoDbGateway, TableNotFound
from tablesafe.aws.tables import TableGateway
from tablesafe.rules.home_region import HOME_REGION_TAG
from tablesafe_cli.config import CliConfig
from tablesafe_cli.coverage import TableStatus, assess_table, may_be_drill, table_origin
from tablesafe_cli.drills import with_drills

SCAN_WORKERS = 8  # tables read at once: DescribeTable, DescribeContinuousBackups and (some) ListTagsOfResource each


class ScanProgress(Protocol):
    """What a scan tells its progress display: how many tables it found, and each table read."""

    def listed(self, tables: int) -> None: ...

    def advance(self) -> None: ...


class NoProgress:
    """A ScanProgress that shows nothing."""

    def listed(self, tables: int) -> None:
        pass

    def advance(self) -> None:
        pass


@dataclass(frozen=True)
class ScanGateways:
    """What a scan reads through: the tables, the backups and tags, and where the last drills are kept.

    `drill_records` is called once, after the tables are read: None when the region has no drills deployed."""

    tables: TableGateway
    backups: DynamoDbGateway
    drill_records: Callable[[], DrillRecords | None] = lambda: None


@dataclass(frozen=True)
class RegionScan:
    """One account and region as status reports it: every table's status (drill flags included), sorted by name,
    and each table's last drill."""

    account: str | None
    region: str
    time: datetime
    statuses: list[TableStatus]
    drills: Mapping[str, DrillRecord] = field(default_factory=dict)


def scan_region(
    gateways: ScanGateways,
    *,
    region: str,
    account: str | None,
    config: CliConfig,
    clock: Callable[[], datetime],
    progress: ScanProgress | None = None,
) -> RegionScan:
    """Every table of the region, read SCAN_WORKERS at a time, with the last drills of the planned ones."""
    now = clock()
    statuses = sorted(_statuses(gateways, region, config, now, progress or NoProgress()), key=lambda s: s.name)
    found = gateways.drill_records()
    drills = found.get([s.name for s in statuses if s.plan is not None]) if found is not None else {}
    statuses = with_drills(statuses, drills, config.plans, now)
    return RegionScan(account=account, region=region, time=now, statuses=statuses, drills=drills)


def _statuses(
    gateways: ScanGateways, region: str, config: CliConfig, now: datetime, progress: ScanProgress
) -> list[TableStatus]:
    """Each table's status; a table deleted since the listing is left out."""
    tables, backups = gateways.tables, gateways.backups
    names = tables.list_tables()
    tagged = {t.name: t.tag_value for t in backups.find_tagged_tables(config.tag_key)}
    by_table: dict[str, list[Backup]] = defaultdict(list)
    for backup in backups.iter_backups(backup_type="ALL"):
        by_table[backup.table_name].append(backup)
    progress.listed(len(names))

    def inspect(name: str) -> TableStatus | None:
        try:
            details = tables.describe(name)
            pitr = tables.pitr(name)
            # Tags only where they decide something: a global table's home region, a drill table's mark.
            wanted = details.replica_regions or may_be_drill(name, config.prefix)
            tags = tables.tags(details.arn) if wanted else None
        except TableNotFound:
            return None  # deleted since the listing
        home = tags.get(HOME_REGION_TAG) if tags is not None and details.replica_regions else None
        return assess_table(
            name,
            tagged.get(name),
            config,
            by_table.get(name, []),
            pitr,
            now,
            region=region,
            replicas=details.replica_regions,
            home_tag=home,
            table_id=details.table_id,
            origin=table_origin(name, config.prefix, tags, details.restored_from),
        )

    statuses: list[TableStatus] = []
    with ThreadPoolExecutor(max_workers=SCAN_WORKERS) as pool:
        for future in as_completed([pool.submit(inspect, n) for n in names]):
            status = future.result()
            if status is not None:
                statuses.append(status)
            progress.advance()
    return statuses
