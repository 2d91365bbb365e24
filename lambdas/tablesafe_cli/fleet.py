"""The many-account status: the one-region scan (status_scan.py) of every account x region, in parallel, with what
could not be read said as such, and a summary per account.

Each target (an account and a region) is connected by `connect` (commands/status_accounts.py assumes the member's
read-only role; tests hand in the stand-in's clients), then scanned as the one-account view scans. A target whose
connection or scan fails (AssumeRole refused, no such role, an endpoint that does not answer, AccessDenied on a list
call) is unreachable: listed with its error, never left out. A target scanned whole whose last drills or exports could
not be read is incomplete: its tables are shown, those values as unknown, and the error with them. So is one whose
AWS Backup recovery points could not be read (the member role may read them: a failure there is an anomaly).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime

from botocore.exceptions import BotoCoreError

from tablesafe.aws.drill_records import DrillRecords
from tablesafe.aws.errors import GatewayError
from tablesafe.aws.export_reads import ExportReads
from tablesafe.aws.exports import ExportInfo
from tablesafe.rules.export_naming import parse_slot_prefix
from tablesafe_cli.config import CliConfig
from tablesafe_cli.coverage import FlagKind, TableStatus
from tablesafe_cli.drills import with_drills
from tablesafe_cli.errors import CREDENTIAL_CODES, explain
from tablesafe_cli.status_scan import RegionScan, ScanGateways, ScanProgress, scan_region

# Targets scanned at once; each scan reads its own tables SCAN_WORKERS at a time. AWS's rate limits are per account
# and region, so targets never slow each other down at AWS: 32 scan a 20-account organization all at once (8 took
# it in three waves, 3.8x one account's floor); what bounds more is this process's CPU (docs/performance.md).
TARGET_WORKERS = 32
AWS_BACKUP_PART = "AWS Backup recovery points"  # what an incomplete target could not read of AWS Backup


@dataclass(frozen=True)
class Target:
    """One account and region."""

    account: str
    region: str


@dataclass(frozen=True)
class Connection:
    """What a target is read through: the scan's gateways, its drill records (None: no drills deployed) and its
    exports' reads."""

    gateways: ScanGateways
    drill_records: Callable[[], DrillRecords | None] = lambda: None
    exports: ExportReads | None = None
    table_arn: Callable[[str], str] = str  # a table's ARN from its name (partition, region, account)


@dataclass(frozen=True)
class TargetError:
    """What could not be read of a target, in one line: all of it (unreachable) or a part (`what`)."""

    account: str
    region: str
    error: str
    what: str = ""  # "" the whole target; "last drills", "last exports"


@dataclass(frozen=True)
class TargetScan:
    """One target's scan; `drills_known` False when its drill records could not be read, `exports` the last
    COMPLETED tablesafe export of each table whose plan exports (None: they could not be read)."""

    scan: RegionScan
    drills_known: bool = True
    exports: Mapping[str, ExportInfo] | None = field(default_factory=dict)


@dataclass(frozen=True)
class AccountSummary:
    """One account's tables, counted once each: protected + unprotected + stale + opted out + copies = tables."""

    account: str
    tables: int = 0
    protected: int = 0  # a configured plan, every rule with a recent backup
    unprotected: int = 0  # no plan tag, or one naming no configured plan
    stale: int = 0  # a configured plan with a rule whose last backup is too old (or missing)
    opted_out: int = 0
    copies: int = 0  # restored or drill tables without a plan tag
    flagged: int = 0  # tables failing by --fail-on
    unreachable: int = 0  # regions that could not be read


@dataclass(frozen=True)
class FleetScan:
    """Every target's scan, what could not be read, and the time they were judged at."""

    time: datetime
    scans: list[TargetScan]
    errors: list[TargetError]

    @property
    def unreachable(self) -> list[TargetError]:
        return [e for e in self.errors if not e.what]

    @property
    def incomplete(self) -> list[TargetError]:
        return [e for e in self.errors if e.what]


class FleetProgress:
    """The progress of a fleet scan: targets done, and tables read of those found so far."""

    def __init__(self, on_targets: Callable[[int, int], None], on_tables: Callable[[int, int], None]) -> None:
        self._on_targets = on_targets
        self._on_tables = on_tables
        self._lock = threading.Lock()
        self._targets = [0, 0]
        self._tables = [0, 0]

    def start(self, targets: int) -> None:
        with self._lock:
            self._targets = [0, targets]
            self._on_targets(*self._targets)

    def target_done(self) -> None:
        with self._lock:
            self._targets[0] += 1
            self._on_targets(*self._targets)

    def listed(self, tables: int) -> None:
        with self._lock:
            self._tables[1] += tables
            self._on_tables(*self._tables)

    def advance(self) -> None:
        with self._lock:
            self._tables[0] += 1
            self._on_tables(*self._tables)


def scan_targets(
    targets: Sequence[Target],
    connect: Callable[[Target], Connection],
    *,
    config: CliConfig,
    now: datetime,
    progress: FleetProgress | None = None,
) -> FleetScan:
    """Every target scanned, TARGET_WORKERS at a time; the scans and errors in target order."""
    progress = progress or FleetProgress(lambda *_: None, lambda *_: None)
    progress.start(len(targets))

    def one(target: Target) -> tuple[TargetScan | None, list[TargetError]]:
        try:
            return _scan_one(target, connect, config, now, progress)
        finally:
            progress.target_done()

    with ThreadPoolExecutor(max_workers=TARGET_WORKERS) as pool:
        results = list(pool.map(one, targets))
    scans = [scan for scan, _ in results if scan is not None]
    errors = [error for _, found in results for error in found]
    return FleetScan(time=now, scans=scans, errors=errors)


def _scan_one(
    target: Target, connect: Callable[[Target], Connection], config: CliConfig, now: datetime, progress: ScanProgress
) -> tuple[TargetScan | None, list[TargetError]]:
    """One target: connect, scan; unreachable on any AWS error of those, incomplete on one of drills or exports."""
    try:
        connection = connect(target)
        scan = scan_region(
            connection.gateways,
            region=target.region,
            account=target.account,
            config=config,
            clock=lambda: now,
            progress=progress,
        )
    except (GatewayError, BotoCoreError) as error:
        return None, [TargetError(target.account, target.region, _one_line(error))]
    errors: list[TargetError] = []
    if (aws_backup := connection.gateways.aws_backup) is not None:
        errors += [TargetError(target.account, target.region, line, AWS_BACKUP_PART) for line in aws_backup.failures()]
    drills_known = True
    try:
        records = connection.drill_records()
        drills = records.get([s.name for s in scan.statuses if s.plan is not None]) if records is not None else {}
        scan = replace(scan, statuses=with_drills(scan.statuses, drills, config.plans, now), drills=drills)
    except (GatewayError, BotoCoreError) as error:
        drills_known = False
        errors.append(TargetError(target.account, target.region, _one_line(error), "last drills"))
    exports: Mapping[str, ExportInfo] | None = {}
    if connection.exports is not None:
        try:
            exports = last_exports(connection.exports, scan.statuses, config, connection.table_arn)
        except (GatewayError, BotoCoreError) as error:
            exports = None
            errors.append(TargetError(target.account, target.region, _one_line(error), "last exports"))
    return TargetScan(scan, drills_known, exports), errors


def last_exports(
    reads: ExportReads, statuses: Iterable[TableStatus], config: CliConfig, table_arn: Callable[[str], str]
) -> dict[str, ExportInfo]:
    """The newest COMPLETED export tablesafe made (by its slot) of each table whose plan has an export rule."""
    found: dict[str, ExportInfo] = {}
    for status in statuses:
        plan = config.plans.get(status.plan or "")
        if plan is None or not any(rule.exports for rule in plan.rules):
            continue
        best = None
        for arn in reads.table_exports(table_arn(status.name)):
            info = reads.describe(arn)
            slot = parse_slot_prefix(info.prefix)
            if info.status == "COMPLETED" and slot is not None and (best is None or slot.slot > best[0]):
                best = (slot.slot, info)
        if best is not None:
            found[status.name] = best[1]
    return found


def summaries(fleet: FleetScan, accounts: Sequence[str], fail_on: frozenset[FlagKind]) -> list[AccountSummary]:
    """One summary per account, in the order given, unreachable ones included."""
    counts = {account: AccountSummary(account) for account in accounts}
    for target in fleet.scans:
        account = target.scan.account or ""
        summary = counts.get(account, AccountSummary(account))
        for status in target.scan.statuses:
            summary = _count(summary, status, fail_on)
        counts[account] = summary
    for error in fleet.unreachable:
        summary = counts.get(error.account, AccountSummary(error.account))
        counts[error.account] = replace(summary, unreachable=summary.unreachable + 1)
    return list(counts.values())


def _count(summary: AccountSummary, status: TableStatus, fail_on: frozenset[FlagKind]) -> AccountSummary:
    kinds = {flag.kind for flag in status.issues}
    if FlagKind.OPTED_OUT in kinds:
        bucket = "opted_out"
    elif FlagKind.UNTAGGED_COPY in kinds:
        bucket = "copies"
    elif kinds & {FlagKind.UNPROTECTED, FlagKind.UNKNOWN_PLAN}:
        bucket = "unprotected"
    elif FlagKind.STALE in kinds:
        bucket = "stale"
    else:
        bucket = "protected"
    return replace(
        summary,
        tables=summary.tables + 1,
        flagged=summary.flagged + (1 if status.fails(fail_on) else 0),
        **{bucket: getattr(summary, bucket) + 1},
    )


def _one_line(error: GatewayError | BotoCoreError) -> str:
    """The error in one line; a refused credential names the call, not --profile (they are the role's)."""
    if isinstance(error, GatewayError) and error.code in CREDENTIAL_CODES:
        text = f"{error.operation} failed: {error.code}: {error.message}"
    else:
        text = explain(error) if isinstance(error, GatewayError) else f"AWS: {error}"
    return " ".join(text.split())
