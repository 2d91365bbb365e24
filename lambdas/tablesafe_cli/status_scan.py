"""The scan behind `tablesafe status`: every table of one account and region, its plan, backups, PITR and last drill.

One function, `scan_region`, for the one-account view (commands/status.py) and the many-account view
(commands/status_accounts.py): it receives the gateways of the account and region (built on the CLI's own
credentials, or on a role assumed in a member account), reads the clock once, and returns a RegionScan.

    scan = scan_region(gateways, region="eu-west-1", account="111122223333", config=config, clock=utc_now)
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from tablesafe.aws.drill_records import DrillRecord, DrillRecords
from tablesafe.aws.dynamodb import Backup, DynamoDbGateway, TableNotFound, TaggedTable
from tablesafe.aws.recovery_points import RecoveryPoint
from tablesafe.aws.tables import PitrState, TableDetails, TableGateway
from tablesafe.rules.home_region import HOME_REGION_TAG
from tablesafe_cli.aws_backup import AwsBackupReader
from tablesafe_cli.config import CliConfig
from tablesafe_cli.coverage import TableStatus, assess_table, may_be_drill, table_origin
from tablesafe_cli.drills import with_drills

# Tables read at once: DescribeTable and DescribeContinuousBackups each (and ListTagsOfResource of a few). PITR's
# 10 calls/s set the pace: 8 workers keep it up while a table's two calls take up to 0.8 s (docs/performance.md).
SCAN_WORKERS = 8


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

    `drill_records` is called once, after the tables are read: None when the region has no drills deployed.
    `aws_backup`: AWS Backup's recovery points, read for this scan (None: not read, every table's shown unknown)."""

    tables: TableGateway
    backups: DynamoDbGateway
    drill_records: Callable[[], DrillRecords | None] = lambda: None
    aws_backup: AwsBackupReader | None = None


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


# What a table's own calls read: its description, its PITR state, and its tags where they were needed.
Reading = tuple[TableDetails, PitrState, dict[str, str] | None]


def _statuses(
    gateways: ScanGateways, region: str, config: CliConfig, now: datetime, progress: ScanProgress
) -> list[TableStatus]:
    """Each table's status; a table deleted since the listing is left out.

    The account-wide listings (every backup, the plan tags) run beside the per-table reads: each call has a rate
    limit of its own (ListBackups 5/s, GetResources 15/s, DescribeContinuousBackups 10/s), so the scan takes about
    as long as its slowest call needs, not their sum (docs/performance.md, Status)."""
    tables, backups = gateways.tables, gateways.backups
    pool = ThreadPoolExecutor(max_workers=SCAN_WORKERS + 3)  # the per-table reads, and the three listings
    stop = threading.Event()  # set when the scan fails or is interrupted: the backups' listing stops at once
    try:
        listed_backups = pool.submit(_backups_by_table, backups, stop)
        listed_tags = pool.submit(backups.find_tagged_tables, config.tag_key)
        aws_backup = gateways.aws_backup
        protected = pool.submit(aws_backup.load) if aws_backup is not None else None
        names = tables.list_tables()
        progress.listed(len(names))
        reads = [pool.submit(_read, tables, name) for name in names]
        tagged = {t.name: t for t in listed_tags.result()}
        found: list[Reading] = []
        tag_reads: list[tuple[TableDetails, PitrState, Future[dict[str, str] | None]]] = []
        for future in as_completed(reads):
            read = future.result()
            progress.advance()
            if read is None:
                continue  # deleted since the listing
            details, pitr = read
            # Tags only where they decide something (a global table's home region, a drill table's mark), and
            # read only where GetResources did not give them already (a table carrying the plan tag).
            if not (details.replica_regions or may_be_drill(details.name, config.prefix)):
                found.append((details, pitr, None))
            elif details.name in tagged:
                found.append((details, pitr, dict(tagged[details.name].tags)))
            else:
                tag_reads.append((details, pitr, pool.submit(_tags, tables, details.arn)))
        for details, pitr, tags_read in tag_reads:
            tags = tags_read.result()
            if tags is not None:  # None: deleted since the listing
                found.append((details, pitr, tags))
        by_table = listed_backups.result()
        points = _recovery_points(pool, aws_backup, protected, [reading[0].name for reading in found])
    finally:
        stop.set()  # after a failure or Ctrl-C: the listing ends, and the reads not yet started are not made
        pool.shutdown(cancel_futures=True)
    return [_assess(reading, tagged, by_table, points, region, config, now) for reading in found]


def _recovery_points(
    pool: ThreadPoolExecutor,
    aws_backup: AwsBackupReader | None,
    protected: Future[None] | None,
    names: list[str],
) -> dict[str, Sequence[RecoveryPoint] | None]:
    """Each table's AWS Backup recovery points, once ListProtectedResources is in: read on the pool, one
    ListRecoveryPointsByResource per table AWS Backup protects (none for the others)."""
    if aws_backup is None or protected is None:
        return {}
    protected.result()
    reads = {name: pool.submit(aws_backup.points, name) for name in names}
    return {name: read.result() for name, read in reads.items()}


def _backups_by_table(backups: DynamoDbGateway, stop: threading.Event) -> dict[str, list[Backup]]:
    """Every backup of the account and region (ListBackups of ALL types), by table name; what was listed so far
    once `stop` is set (the scan has failed: nobody reads it)."""
    by_table: dict[str, list[Backup]] = defaultdict(list)
    for backup in backups.iter_backups(backup_type="ALL"):
        if stop.is_set():
            break
        by_table[backup.table_name].append(backup)
    return by_table


def _read(tables: TableGateway, name: str) -> tuple[TableDetails, PitrState] | None:
    """DescribeTable and DescribeContinuousBackups of one table; None when it was deleted since the listing."""
    try:
        return tables.describe(name), tables.pitr(name)
    except TableNotFound:
        return None


def _tags(tables: TableGateway, arn: str) -> dict[str, str] | None:
    """ListTagsOfResource of one table; None when it was deleted since the listing."""
    try:
        return tables.tags(arn)
    except TableNotFound:
        return None


def _assess(
    reading: Reading,
    tagged: Mapping[str, TaggedTable],
    by_table: Mapping[str, list[Backup]],
    points: Mapping[str, Sequence[RecoveryPoint] | None],
    region: str,
    config: CliConfig,
    now: datetime,
) -> TableStatus:
    """One table's status from its readings, as coverage.assess_table judges it."""
    details, pitr, tags = reading
    name = details.name
    home = tags.get(HOME_REGION_TAG) if tags is not None and details.replica_regions else None
    plan_tag = tagged.get(name)
    return assess_table(
        name,
        plan_tag.tag_value if plan_tag is not None else None,
        config,
        by_table.get(name, []),
        pitr,
        now,
        region=region,
        replicas=details.replica_regions,
        home_tag=home,
        table_id=details.table_id,
        origin=table_origin(name, config.prefix, tags, details.restored_from),
        recovery_points=points.get(name),
    )
