"""`tablesafe`: the operator CLI (coverage, on-demand backup, restore with settings, partial restore, cost).

    tablesafe status --region eu-west-1
    tablesafe backup orders --plan daily --rule daily
    tablesafe restore orders --to orders-restored --backup latest
    tablesafe copy-items --from orders-restored --to orders --key '{"pk": "customer#42"}' --dry-run

Every command takes --region, --profile, --config (default ./cdk.json) and --json. Tables go to stdout, progress to
stderr. Exit codes: 0 done, 1 failed or something flagged, 2 the command line or the configuration is wrong.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import boto3
from botocore.exceptions import BotoCoreError, NoRegionError, ProfileNotFound
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from tablesafe.aws.clients import backup_clients, rate_limits_from_env, table_clients
from tablesafe.aws.dynamodb import (
    AmbiguousResult,
    Backup,
    BackupInUse,
    DynamoDbGateway,
    GatewayError,
    TableNotFound,
    Throttled,
)
from tablesafe.aws.tables import PitrState, TableDetails, TableGateway
from tablesafe.prune.recent import STORED_STATUSES
from tablesafe.prune.report import BYTES_PER_GB
from tablesafe.rules.home_region import EVERY_REGION, HOME_REGION_TAG, backup_region
from tablesafe.rules.incarnations import incarnations
from tablesafe.rules.naming import is_manual, manual_name, parse_scheduled, scheduled_name, to_slot
from tablesafe_cli import config as cli_config
from tablesafe_cli.config import CliConfig, ConfigFileError
from tablesafe_cli.copy_items import copy_items
from tablesafe_cli.copy_report import CopyProgress, CopyReport, Mode
from tablesafe_cli.copy_report import Selection as CopySelection
from tablesafe_cli.item_keys import SelectionError, plain_item, to_typed_values
from tablesafe_cli.restore import RestoreError, RestoreReport, RestoreRequest, restore_table
from tablesafe_cli.table_settings import SettingOutcome

STALE_FACTOR = 1.5  # a rule is stale when its last backup is older than 1.5x its interval (as the alarm)
CREDENTIAL_CODES = frozenset(
    {"UnrecognizedClientException", "InvalidClientTokenId", "ExpiredTokenException", "InvalidSignatureException"}
)


class UsageError(Exception):
    """The command line or the configuration is wrong (exit 2)."""


class Failure(Exception):
    """The command could not do its job (exit 1)."""


# -- configuration -----------------------------------------------------------------------------------------------


def load_config(path: Path, *, explicit: bool) -> CliConfig:
    """The cdk.json configuration, checked as synth checks it (tablesafe_cli.config); a wrong one exits 2."""
    try:
        return cli_config.load_config(path, explicit=explicit)
    except ConfigFileError as error:
        raise UsageError(str(error)) from None


# -- the command context -----------------------------------------------------------------------------------------


def utc_now() -> datetime:
    """The CLI's clock: what names a manual or on-demand backup and dates the status."""
    return datetime.now(UTC)


class Context:
    """One command's parsed arguments, configuration, gateways, consoles and clock."""

    def __init__(self, args: argparse.Namespace, clock: Callable[[], datetime] = utc_now) -> None:
        self.args = args
        self.clock = clock
        self.json: bool = args.json
        self.out = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160)
        self.err = Console(stderr=True)
        self.config = load_config(Path(args.config), explicit=args.config_given)
        try:
            rate_limits = rate_limits_from_env()
        except ValueError as error:
            raise UsageError(str(error)) from None
        try:
            session = boto3.Session(profile_name=args.profile, region_name=args.region)
            self.backups = DynamoDbGateway(backup_clients(session, rate_limits=rate_limits))
            self.tables = TableGateway(table_clients(session, rate_limits=rate_limits))
        except ProfileNotFound:
            raise UsageError(f"--profile {args.profile}: no such profile in the AWS config files") from None
        except NoRegionError:
            raise UsageError("no region: pass --region or set AWS_REGION") from None
        self.region = self.tables.region

    def require_table(self, name: str) -> TableDetails:
        """DescribeTable, or the one-line failure naming the table and the region."""
        try:
            return self.tables.describe(name)
        except TableNotFound:
            raise Failure(f"table {name} not found in {self.region}") from None

    @contextmanager
    def progress(self, *, bar: bool = True) -> Iterator[Progress]:
        """A progress display on stderr, shown only when stderr is a terminal."""
        columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
        if bar:
            columns += [BarColumn(), MofNCompleteColumn()]
        columns.append(TimeElapsedColumn())
        with Progress(*columns, console=self.err, transient=True, disable=not self.err.is_terminal) as progress:
            yield progress

    def emit(self, data: Any, render: Callable[[], None]) -> None:
        """JSON on stdout with --json, else the readable rendering."""
        if self.json:
            print(json.dumps(data, indent=2, default=_json_default))
        else:
            render()

    def note(self, message: str) -> None:
        """A remark for the operator, on stderr so that stdout stays parseable."""
        self.err.print(message, highlight=False, markup=False)


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# -- status ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleStatus:
    """A plan rule's last AVAILABLE backup of one table, and whether it is too old."""

    rule: str
    limit: timedelta
    last: Backup | None
    age: timedelta | None
    stale: bool


@dataclass(frozen=True)
class TableStatus:
    """One table's protection, and what is wrong with it."""

    name: str
    plan: str | None
    rules: tuple[RuleStatus, ...]
    backups: int
    backup_bytes: int
    pitr: PitrState | None
    replicas: tuple[str, ...] = ()
    backups_region: str | None = None  # for a global table: the region that keeps its backups
    flags: tuple[str, ...] = ()
    table_id: str | None = None
    earlier_tables: int = 0  # earlier tables of this name (deleted, then the name re-used) that have backups
    earlier_backups: int = 0  # their backups: not counted in `backups`, never a last backup of a rule here

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.name,
            "plan": self.plan,
            "rules": [
                {
                    "rule": r.rule,
                    "lastBackup": r.last.name if r.last else None,
                    "lastBackupArn": r.last.arn if r.last else None,
                    "lastBackupTime": r.last.created.isoformat() if r.last else None,
                    "ageSeconds": int(r.age.total_seconds()) if r.age is not None else None,
                    "limitSeconds": int(r.limit.total_seconds()),
                    "stale": r.stale,
                }
                for r in self.rules
            ],
            "backups": self.backups,
            "backupBytes": self.backup_bytes,
            "pitr": None
            if self.pitr is None
            else {"enabled": self.pitr.enabled, "recoveryPeriodDays": self.pitr.recovery_period_days},
            "replicas": list(self.replicas),
            "backupsRegion": self.backups_region,
            "flags": list(self.flags),
            "tableId": self.table_id,
            "earlierTables": self.earlier_tables,
            "earlierBackups": self.earlier_backups,
        }


def backups_region(
    region: str,
    replicas: Sequence[str],
    home_tag: str | None,
    mode: str,
    deployed_regions: Sequence[str] | None = None,
) -> str:
    """The region whose deployment backs a global table up, decided as the backup function decides it."""
    if not replicas or mode == EVERY_REGION:
        return region
    return backup_region(region, replicas, home_tag, deployed_regions)


def assess_table(
    name: str,
    tag_value: str | None,
    config: CliConfig,
    backups: Sequence[Backup],
    pitr: PitrState | None,
    now: datetime,
    *,
    region: str,
    replicas: Sequence[str] = (),
    home_tag: str | None = None,
    table_id: str | None = None,
) -> TableStatus:
    """One table's status and flags: unprotected, unknown plan, stale rule, PITR off although the plan asks for it.

    Backups of an earlier table of the same name (another TableId) are counted apart: they protect nothing now.
    """
    tables = incarnations(backups, table_id, exists=True)
    earlier = [b for b in backups if not tables.is_current(b) and b.status in STORED_STATUSES]
    stored = [b for b in backups if tables.is_current(b) and b.status in STORED_STATUSES]
    flags: list[str] = []
    rules: list[RuleStatus] = []
    kept_in = backups_region(region, replicas, home_tag, config.global_tables, config.regions) if replicas else None
    plan = config.plans.get(tag_value) if tag_value is not None else None
    if tag_value is None:
        flags.append("unprotected: no plan tag")
    elif plan is None:
        flags.append(f"unknown plan {tag_value!r}")
    else:
        for rule in plan.rules:
            limit = rule.schedule.interval * STALE_FACTOR
            ours = [
                b
                for b in stored
                if b.status == "AVAILABLE"
                and (parsed := parse_scheduled(b.name, config.prefix)) is not None
                and (parsed.plan, parsed.rule) == (plan.name, rule.name)
            ]
            last = max(ours, key=lambda b: b.created, default=None)
            age = now - last.created if last else None
            # A replica backed up in another region has no backups here, and that is by design.
            checked = kept_in in (None, region)
            stale = checked and (age is None or age > limit)
            if stale:
                flags.append(
                    f"rule {rule.name}: no AVAILABLE backup"
                    if age is None
                    else f"rule {rule.name}: last backup {format_age(age)} old (limit {format_age(limit)})"
                )
            rules.append(RuleStatus(rule=rule.name, limit=limit, last=last, age=age, stale=stale))
        if plan.pitr is not None and plan.pitr.enabled and pitr is not None and not pitr.enabled:
            flags.append("PITR off, the plan asks for it")
    return TableStatus(
        name=name,
        plan=tag_value,
        rules=tuple(rules),
        backups=len(stored),
        backup_bytes=sum(b.size_bytes or 0 for b in stored),
        pitr=pitr,
        replicas=tuple(replicas),
        backups_region=kept_in,
        flags=tuple(flags),
        table_id=table_id,
        earlier_tables=len({b.table_id for b in earlier}),
        earlier_backups=len(earlier),
    )


def cmd_status(ctx: Context) -> int:
    """Every table of the region, its plan, last backups and PITR; exit 1 when anything is flagged."""
    now = ctx.clock()
    with ctx.progress() as progress:
        task = progress.add_task("listing tables and backups", total=None)
        names = ctx.tables.list_tables()
        tagged = {t.name: t.tag_value for t in ctx.backups.find_tagged_tables(ctx.config.tag_key)}
        by_table: dict[str, list[Backup]] = defaultdict(list)
        for backup in ctx.backups.iter_backups(backup_type="ALL"):
            by_table[backup.table_name].append(backup)
        progress.update(task, description="reading tables", total=len(names), completed=0)

        def inspect(name: str) -> TableStatus | None:
            try:
                details = ctx.tables.describe(name)
                pitr = ctx.tables.pitr(name)
                home = ctx.tables.tags(details.arn).get(HOME_REGION_TAG) if details.replica_regions else None
            except TableNotFound:
                return None  # deleted since the listing
            return assess_table(
                name,
                tagged.get(name),
                ctx.config,
                by_table.get(name, []),
                pitr,
                now,
                region=ctx.region,
                replicas=details.replica_regions,
                home_tag=home,
                table_id=details.table_id,
            )

        statuses: list[TableStatus] = []
        with ThreadPoolExecutor(max_workers=8) as pool:
            for future in as_completed([pool.submit(inspect, n) for n in names]):
                status = future.result()
                if status is not None:
                    statuses.append(status)
                progress.advance(task)
    statuses.sort(key=lambda s: s.name)
    flagged = [s for s in statuses if s.flags]

    def render() -> None:
        table = Table(title=f"tablesafe status, {ctx.region}, {now:%Y-%m-%d %H:%M} UTC", box=box.SIMPLE_HEAD)
        for column in ("table", "plan", "rule", "last AVAILABLE backup", "age", "backups", "size", "PITR", "flags"):
            table.add_column(column)
        for s in statuses:
            pitr = _pitr_text(s.pitr)
            extra = f" [dim](replicas {', '.join(s.replicas)}; backups in {s.backups_region})[/]" if s.replicas else ""
            if s.earlier_backups:
                extra += f" [dim](+{s.earlier_backups} backup(s) of {s.earlier_tables} earlier table(s))[/]"
            rows = s.rules or (None,)
            for index, r in enumerate(rows):
                first = index == 0
                table.add_row(
                    s.name + extra if first else "",
                    (escape(s.plan) if s.plan is not None else "-") if first else "",
                    r.rule if r else "",
                    r.last.created.strftime("%Y-%m-%d %H:%M") if r and r.last else ("none" if r else ""),
                    format_age(r.age) if r and r.age is not None else "",
                    str(s.backups) if first else "",
                    format_size(s.backup_bytes) if first else "",
                    pitr if first else "",
                    "[red]" + escape("; ".join(s.flags)) + "[/]" if first and s.flags else "",
                )
        ctx.out.print(table)
        summary = f"{len(statuses)} tables, {len(flagged)} flagged"
        ctx.out.print(f"[red]{summary}[/]" if flagged else f"[green]{summary}[/]")

    ctx.emit(
        {"region": ctx.region, "time": now, "tables": [s.as_dict() for s in statuses], "flagged": len(flagged)}, render
    )
    return 1 if flagged else 0


# -- backups -----------------------------------------------------------------------------------------------------


def owner_of(backup: Backup, prefix: str) -> str:
    """Whose a backup is, as the prune sees it: 'plan/rule' for a USER backup named by the scheme (whoever took it),
    'manual', or 'other' (not tablesafe's: never deleted; AWS Backup's and SYSTEM ones whatever their name)."""
    if backup.backup_type != "USER":
        return "other"
    parsed = parse_scheduled(backup.name, prefix)
    if parsed is not None:
        return f"{parsed.plan}/{parsed.rule}"
    if is_manual(backup.name, prefix):
        return "manual"
    return "other"


def cmd_backups(ctx: Context) -> int:
    """The table's backups, newest first; backups not made by tablesafe are marked."""
    name = ctx.args.table
    with ctx.progress(bar=False) as progress:
        progress.add_task(f"listing backups of {name}", total=None)
        backups = sorted(
            ctx.backups.list_backups(table_name=name, backup_type="ALL"), key=lambda b: b.created, reverse=True
        )
    try:
        current: str | None = ctx.tables.describe(name).table_id
        exists = True
    except TableNotFound:
        current, exists = None, False
    if not backups and not exists:
        raise Failure(f"table {name} not found in {ctx.region}, and it has no backups")
    if not exists:
        ctx.note(f"table {name} no longer exists; its backups are listed")
    tables = incarnations(backups, current, exists=exists)
    if tables.several:
        ctx.note(f"the name {name} has belonged to {len(tables.labels)} tables; the column 'table' says whose")
    rows: list[dict[str, Any]] = [
        {
            "table": tables.label(b),
            "tableId": b.table_id,
            "name": b.name,
            "arn": b.arn,
            "created": b.created,
            "status": b.status,
            "type": b.backup_type,
            "sizeBytes": b.size_bytes,
            "owner": owner_of(b, ctx.config.prefix),
            "tablesafe": owner_of(b, ctx.config.prefix) != "other",
        }
        for b in backups
    ]

    def render() -> None:
        table = Table(title=f"backups of {name} ({ctx.region}), newest first", box=box.SIMPLE_HEAD)
        columns = ("created (UTC)", "table", "name", "made by", "status", "type", "size", "ARN")
        for column in columns if tables.several else tuple(c for c in columns if c != "table"):
            table.add_column(column, overflow="fold" if column in ("name", "ARN") else "ellipsis")
        for row in rows:
            made_by = f"tablesafe {row['owner']}" if row["tablesafe"] else "[yellow]* not tablesafe[/]"
            table.add_row(
                row["created"].strftime("%Y-%m-%d %H:%M:%S"),
                *((row["table"],) if tables.several else ()),
                row["name"],
                made_by,
                row["status"],
                row["type"],
                format_size(row["sizeBytes"]) if row["sizeBytes"] is not None else "",
                row["arn"],
            )
        ctx.out.print(table)
        others = sum(1 for r in rows if not r["tablesafe"])
        ctx.out.print(f"{len(rows)} backups, {others} not made by tablesafe (marked *)")

    ctx.emit({"table": name, "region": ctx.region, "backups": rows}, render)
    return 0


# -- backup ------------------------------------------------------------------------------------------------------


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
        if tag != args.plan:
            ctx.note(f"note: {args.table} is tagged {config.tag_key}={tag}, the backup is named for plan {args.plan}")
        # The slot's backup may exist already (a scheduled run this minute, or this command run twice).
        existing = [
            b
            for b in ctx.backups.list_backups(table_name=args.table, created_from=to_slot(now))
            if b.name == name and b.status in STORED_STATUSES
        ]
        if existing:
            return _report_backup(ctx, existing[0], rule, already=True)
    with ctx.progress(bar=False) as progress:
        task = progress.add_task(f"creating backup {name}", total=None)
        backup = _create_backup(ctx, args.table, name)
        if args.wait:
            progress.update(task, description=f"waiting until {name} is AVAILABLE")
            backup = _wait_backup(ctx, backup, timeout=args.timeout)
    return _report_backup(ctx, backup, rule, already=False)


def _create_backup(ctx: Context, table: str, name: str) -> Backup:
    """CreateBackup, sent again only when it surely had no effect (throttled) or was found not to have had one."""
    for attempt in range(6):
        try:
            return ctx.backups.create_backup(table, name)
        except Throttled:
            time.sleep(min(10.0, 0.5 * 2**attempt))
        except AmbiguousResult as error:
            if error.code == "NoCredentialsError":
                raise
            found = [b for b in ctx.backups.list_backups(table_name=table) if b.name == name]
            if found:
                return found[0]
            time.sleep(min(10.0, 0.5 * 2**attempt))
        except BackupInUse:
            raise Failure(f"a backup of {table} is being created right now; try again in a minute") from None
        except TableNotFound:
            raise Failure(f"table {table} not found in {ctx.region}") from None
    raise Failure(f"CreateBackup of {table} was throttled or went unanswered 6 times; nothing is known to be created")


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
        table = Table(box=box.SIMPLE, show_header=False)
        table.add_column()
        table.add_column(overflow="fold")
        for label, value in (
            ("table", backup.table_name),
            ("backup", backup.name + ("  [yellow](this minute's backup existed already)[/]" if already else "")),
            ("ARN", backup.arn),
            ("status", backup.status),
            ("pruned", pruned),
        ):
            table.add_row(label, value)
        ctx.out.print(table)

    ctx.emit(data, render)
    return 0


# -- restore -----------------------------------------------------------------------------------------------------


def parse_time(text: str, option: str) -> datetime:
    """An ISO 8601 time with a time zone (a trailing Z means UTC)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(f"{option} {text}: expected an ISO 8601 time such as 2026-11-27T03:00:00Z") from None
    if moment.tzinfo is None:
        raise UsageError(f"{option} {text}: give a time zone, such as 2026-11-27T03:00:00Z or +01:00")
    return moment.astimezone(UTC)


def cmd_restore(ctx: Context) -> int:
    """Restore into a new table, wait until ACTIVE, re-apply the settings a restore drops; print them."""
    args = ctx.args
    if args.backup is not None and args.at is not None:
        raise UsageError("give --backup or --at, not both")
    at, latest_time = None, False
    if args.at is not None:
        latest_time = args.at == "latest"
        at = None if latest_time else parse_time(args.at, "--at")
        if at is not None and at > datetime.now(UTC):
            raise UsageError(f"--at {args.at}: that time is in the future")
    backup = args.backup if args.backup is not None else (None if args.at is not None else "latest")
    request = RestoreRequest(
        source=args.table, target=args.to, backup=backup, at=at, latest_time=latest_time, keep_plan=args.keep_plan
    )
    with ctx.progress(bar=False) as progress:
        task = progress.add_task("checking", total=None)

        def phase(text: str) -> None:
            progress.update(task, description=f"{text} {args.to}")

        def polled(details: TableDetails) -> None:
            progress.update(task, description=f"waiting for {args.to}: {details.status}")

        report = restore_table(
            ctx.backups,
            ctx.tables,
            request,
            tag_key=ctx.config.tag_key,
            timeout=args.timeout,
            poll=args.poll,
            on_phase=phase,
            on_poll=polled,
        )
    _render_restore(ctx, report)
    for note in report.notes:
        ctx.note(f"note: {note}")
    if report.failed:
        ctx.note(f"{len(report.failed)} setting(s) could not be re-applied on {args.to}: see the table above")
        return 1
    return 0


def _render_restore(ctx: Context, report: RestoreReport) -> None:
    def render() -> None:
        source = (
            f"backup {report.backup_name} ({report.backup_arn})"
            if report.method == "backup"
            else f"point in time {report.at.isoformat() if report.at else 'latest restorable'}"
        )
        ctx.out.print(
            f"restored {report.source} into [bold]{report.target}[/] from {source} in {report.seconds:.0f} s",
            highlight=False,
        )
        table = Table(title="settings re-applied", box=box.SIMPLE_HEAD)
        for column in ("setting", "outcome", "detail"):
            table.add_column(column)
        colours = {SettingOutcome.APPLIED: "green", SettingOutcome.FAILED: "red", SettingOutcome.SKIPPED: "yellow"}
        for s in report.settings:
            colour = colours.get(s.outcome)
            outcome = f"[{colour}]{s.outcome.value}[/]" if colour else s.outcome.value
            table.add_row(s.setting, outcome, escape(s.detail))
        ctx.out.print(table)
        ctx.out.print(
            "Not carried over by a restore and not re-applied: IAM policies, CloudWatch alarms, a resource-based "
            "policy, Kinesis streaming, Contributor Insights, stream consumers, global-table replicas.",
            style="dim",
        )

    ctx.emit(report.as_dict(), render)


# -- copy-items --------------------------------------------------------------------------------------------------


def _json_argument(text: str, option: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{option} {text}: not JSON ({error.msg})") from None


def read_keys_file(path: str) -> list[Any]:
    """Keys from a file ('-' is stdin): a JSON array, or one JSON object a line."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as error:
        raise UsageError(f"--keys-file {path}: {error.strerror}") from None
    stripped = text.strip()
    if stripped.startswith("["):
        keys = _json_argument(stripped, f"--keys-file {path}:")
        if not isinstance(keys, list):
            raise UsageError(f"--keys-file {path}: expected a JSON array of keys")
        return keys
    keys = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            keys.append(_json_argument(line, f"--keys-file {path} line {number}:"))
    if not keys:
        raise UsageError(f"--keys-file {path}: no keys in it")
    return keys


def cmd_copy_items(ctx: Context) -> int:
    """The partial restore: copy chosen items from a restored table into the live one."""
    args = ctx.args
    sources = [bool(args.key), args.keys_file is not None, args.filter is not None or args.key_condition is not None]
    if sum(sources) != 1:
        raise UsageError(
            "choose the items with exactly one of --key (repeatable), --keys-file, --filter/--key-condition"
        )
    if (args.names or args.values) and args.filter is None and args.key_condition is None:
        raise UsageError("--names and --values go with --filter or --key-condition")
    if args.segments < 1 or args.workers < 1:
        raise UsageError("--segments and --workers must be at least 1")
    keys = [_json_argument(k, "--key") for k in args.key] if args.key else []
    if args.keys_file is not None:
        keys = read_keys_file(args.keys_file)
    names = _json_argument(args.names, "--names") if args.names else None
    if names is not None and (not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values())):
        raise UsageError('--names: expected a JSON object such as {"#s": "status"}')
    try:
        values = to_typed_values(_json_argument(args.values, "--values"), "--values") if args.values else None
    except SelectionError as error:
        raise UsageError(str(error)) from None
    selection = CopySelection(
        keys=tuple(keys),
        filter_expression=args.filter,
        key_condition=args.key_condition,
        names=names,
        values=values,
        segments=args.segments,
    )
    for name in (args.source, args.target):
        ctx.require_table(name)
    verb = "checking" if args.dry_run else "copying"
    with ctx.progress() as progress:
        task = progress.add_task(f"{verb} {args.source} -> {args.target}", total=None)

        def advance(p: CopyProgress) -> None:
            progress.update(task, completed=p.done, total=p.total if p.total and p.total >= p.read else None)

        try:
            report = copy_items(
                ctx.tables,
                args.source,
                args.target,
                selection,
                mode=Mode(args.mode),
                dry_run=args.dry_run,
                workers=args.workers,
                on_progress=advance,
            )
        except SelectionError as error:
            raise UsageError(str(error)) from None
    _render_copy(ctx, report)
    if report.stopped:
        left = f"; {len(report.not_attempted)} keys not attempted" if report.not_attempted else ""
        done = (
            "a dry run: nothing was written"
            if report.dry_run
            else f"what it wrote stays written ({report.copied} copied, {report.skipped} skipped, "
            f"{len(report.failed)} failed)"
        )
        raise Failure(f"copy-items stopped part-way: {report.stopped}; {done}{left}; run it again to finish")
    return 1 if report.failed else 0


def _render_copy(ctx: Context, report: CopyReport) -> None:
    def render() -> None:
        if report.dry_run:
            # print(), not rich: a key may hold '[...]', which rich would take as markup; and it is faster.
            for action, key in report.planned:
                print(f"would {action.value:<9} {json.dumps(plain_item(key), default=str)}")
        table = Table(
            title=f"{'dry run: ' if report.dry_run else ''}{report.source} -> {report.target} ({report.mode.value})",
            box=box.SIMPLE_HEAD,
        )
        columns = ["read", "copied", "skipped", "failed", "not found", "seconds", "items/s"]
        if report.stopped:
            columns.insert(5, "not attempted")
        for column in columns:
            table.add_column(column, justify="right")
        copied = report.copied
        if report.dry_run:
            copied = sum(1 for a, _ in report.planned if a.value in ("copy", "overwrite"))
        row = [
            str(report.read),
            f"{copied} (would)" if report.dry_run else str(copied),
            str(report.skipped),
            str(len(report.failed)),
            str(len(report.not_found)),
            f"{report.seconds:.1f}",
            f"{report.items_per_second:.0f}",
        ]
        if report.stopped:
            # A Scan or Query that stopped leaves the rest of the table unread: no keys to count.
            row.insert(5, str(len(report.not_attempted)) if report.not_attempted else "the rest")
        table.add_row(*row)
        ctx.out.print(table)
        for key in report.not_found[:50]:
            print(f"not in {report.source}: {json.dumps(plain_item(key), default=str)}")
        for failed in report.failed[:50]:
            print(f"failed {json.dumps(plain_item(failed.key), default=str)}: {failed.reason}")
        for key in report.not_attempted[:50]:
            print(f"not attempted (the copy stopped first): {json.dumps(plain_item(key), default=str)}")
        if report.duplicates:
            print(f"{report.duplicates} key(s) given more than once: each item was handled once")
        hidden = sum(max(0, len(found) - 50) for found in (report.failed, report.not_found, report.not_attempted))
        if hidden:
            ctx.out.print(f"... and {hidden} more (use --json for all)")

    ctx.emit(report.as_dict(), render)


# -- cost --------------------------------------------------------------------------------------------------------


@dataclass
class Storage:
    """Backups and bytes of one group."""

    backups: int = 0
    bytes: int = 0

    def cost(self, price: float) -> float:
        return self.bytes / BYTES_PER_GB * price


def storage_by(backups: Sequence[Backup], prefix: str) -> tuple[dict[str, Storage], dict[str, Storage]]:
    """Stored backups grouped by plan (from the name; 'manual' and 'not tablesafe' too) and by table."""
    by_plan: dict[str, Storage] = defaultdict(Storage)
    by_table: dict[str, Storage] = defaultdict(Storage)
    for backup in backups:
        if backup.status not in STORED_STATUSES:
            continue
        parsed = parse_scheduled(backup.name, prefix)
        plan = parsed.plan if parsed else ("manual" if is_manual(backup.name, prefix) else "not tablesafe")
        for group in (by_plan[plan], by_table[backup.table_name]):
            group.backups += 1
            group.bytes += backup.size_bytes or 0
    return dict(by_plan), dict(by_table)


def cmd_cost(ctx: Context) -> int:
    """Backup storage and its estimated monthly cost, by plan and by table."""
    price = ctx.config.price_per_gb_month
    with ctx.progress(bar=False) as progress:
        progress.add_task("listing backups", total=None)
        backups = ctx.backups.list_backups(backup_type="ALL")
    by_plan, by_table = storage_by(backups, ctx.config.prefix)
    total = Storage(sum(s.backups for s in by_plan.values()), sum(s.bytes for s in by_plan.values()))

    def rows(groups: dict[str, Storage]) -> list[dict[str, Any]]:
        return [
            {"name": k, "backups": s.backups, "bytes": s.bytes, "monthlyCost": round(s.cost(price), 4)}
            for k, s in sorted(groups.items(), key=lambda kv: (-kv[1].bytes, kv[0]))
        ]

    data: dict[str, Any] = {
        "region": ctx.region,
        "pricePerGbMonth": price,
        "byPlan": rows(by_plan),
        "byTable": rows(by_table),
        "total": {"backups": total.backups, "bytes": total.bytes, "monthlyCost": round(total.cost(price), 4)},
    }

    def render() -> None:
        for title, key, first in (("by plan", "byPlan", "plan"), ("by table", "byTable", "table")):
            table = Table(title=f"backup storage {title}, {ctx.region}", box=box.SIMPLE_HEAD)
            for column in (first, "backups", "size", "USD / month"):
                table.add_column(column, justify="left" if column == first else "right")
            for row in data[key]:
                table.add_row(row["name"], str(row["backups"]), format_size(row["bytes"]), f"{row['monthlyCost']:.2f}")
            table.add_row("[bold]total[/]", str(total.backups), format_size(total.bytes), f"{total.cost(price):.2f}")
            ctx.out.print(table)
        ctx.out.print(
            f"at {price} USD per GB-month of backup storage (docs/cost.md explains the estimate and its limits)",
            style="dim",
        )

    ctx.emit(data, render)
    return 0


# -- formatting --------------------------------------------------------------------------------------------------


def _pitr_text(pitr: PitrState | None) -> str:
    if pitr is None:
        return "?"
    return f"on ({pitr.recovery_period_days or 35} d)" if pitr.enabled else "off"


def format_age(age: timedelta) -> str:
    """A duration in its two largest units: '3d 4h', '5h 12m', '42m', '30s'."""
    seconds = max(0, int(age.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m"
    return f"{seconds}s"


def format_size(size: int) -> str:
    """Bytes in decimal units, as AWS bills them."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


# -- the command line --------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors become UsageError (one line, exit 2) instead of usage text and exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    """The `tablesafe` command line."""
    common = _Parser(add_help=False)
    common.add_argument("--region", help="AWS region (default: the profile's or AWS_REGION)")
    common.add_argument("--profile", help="AWS named profile (default: the usual credential chain)")
    common.add_argument("--config", help="cdk.json whose context holds the configuration (default: ./cdk.json)")
    common.add_argument("--json", action="store_true", help="print JSON on stdout instead of tables")

    parser = _Parser(
        prog="tablesafe",
        description="Backup coverage, on-demand backups, restores and partial restores of DynamoDB tables.",
        epilog="Exit codes: 0 ok, 1 failure or something flagged, 2 bad command line or configuration.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    status = commands.add_parser(
        "status", parents=[common], help="every table, its plan, last backups and PITR; exit 1 if any is flagged"
    )
    status.set_defaults(handler=cmd_status)

    backups = commands.add_parser("backups", parents=[common], help="a table's backups, newest first")
    backups.add_argument("table")
    backups.set_defaults(handler=cmd_backups)

    backup = commands.add_parser(
        "backup",
        parents=[common],
        help="an on-demand backup now",
        description="With --plan and --rule the backup is named like the rule's scheduled one (slot = this minute) "
        "and pruned by that rule; without them it is a manual backup that is never pruned.",
    )
    backup.add_argument("table")
    backup.add_argument("--plan", help="name the backup for this plan (with --rule)")
    backup.add_argument("--rule", help="name the backup for this rule of the plan (with --plan)")
    backup.add_argument("--no-wait", dest="wait", action="store_false", help="do not wait until it is AVAILABLE")
    backup.add_argument("--timeout", type=float, default=900, help="seconds to wait for AVAILABLE (default 900)")
    backup.set_defaults(handler=cmd_backup)

    restore = commands.add_parser(
        "restore",
        parents=[common],
        help="restore into a new table and re-apply its settings",
        description="Restore TABLE into the new table --to from a backup (an ARN, or 'latest', the default) or to a "
        "point in time (--at ISO-TIME or --at latest, with PITR); wait until it is ACTIVE; re-apply tags (without "
        "the plan tag unless --keep-plan), TTL, PITR, auto scaling, stream and deletion protection.",
    )
    restore.add_argument("table", help="the table whose backup or history is restored")
    restore.add_argument("--to", required=True, help="the new table (must not exist)")
    restore.add_argument("--backup", metavar="ARN|latest", help="the backup to restore (default: latest)")
    restore.add_argument("--at", metavar="ISO-TIME|latest", help="restore to this point in time (needs PITR)")
    restore.add_argument("--keep-plan", action="store_true", help="keep the plan tag, so the new table is backed up")
    restore.add_argument("--timeout", type=float, default=4 * 3600, help="seconds to wait for ACTIVE (default 4 h)")
    restore.add_argument("--poll", type=float, default=5.0, help=argparse.SUPPRESS)
    restore.set_defaults(handler=cmd_restore)

    copy = commands.add_parser(
        "copy-items",
        parents=[common],
        help="partial restore: copy chosen items from a restored table into the live one",
        description="Copy items chosen by key (--key, repeatable, or --keys-file: a JSON array or JSON lines), or "
        "by a Scan filter (--filter) or a Query (--key-condition, with an optional --filter). Keys and --values take "
        'plain JSON ({"pk": "a"}) or DynamoDB JSON ({"pk": {"S": "a"}}).',
    )
    copy.add_argument("--from", dest="source", required=True, metavar="RESTORED", help="the table to copy from")
    copy.add_argument("--to", dest="target", required=True, metavar="LIVE", help="the table to copy into")
    copy.add_argument("--key", action="append", metavar="JSON", help="the key of an item to copy (repeatable)")
    copy.add_argument("--keys-file", metavar="FILE", help="a JSON array of keys, or a key a line; - is stdin")
    copy.add_argument("--filter", metavar="EXPRESSION", help="a FilterExpression: copy the items it matches")
    copy.add_argument("--key-condition", metavar="EXPRESSION", help="a KeyConditionExpression: Query instead of Scan")
    copy.add_argument("--values", metavar="JSON", help='ExpressionAttributeValues, e.g. \'{":s": "open"}\'')
    copy.add_argument("--names", metavar="JSON", help='ExpressionAttributeNames, e.g. \'{"#s": "status"}\'')
    copy.add_argument(
        "--mode",
        choices=[m.value for m in Mode],
        default=Mode.SKIP_EXISTING.value,
        help="skip-existing (default): never overwrite an item LIVE has; overwrite: replace it",
    )
    copy.add_argument("--dry-run", action="store_true", help="list what would change and change nothing")
    copy.add_argument("--segments", type=int, default=8, help="parallel Scan segments (default 8)")
    copy.add_argument("--workers", type=int, default=16, help="parallel writers (default 16)")
    copy.set_defaults(handler=cmd_copy_items)

    cost = commands.add_parser("cost", parents=[common], help="backup storage estimate by plan and by table")
    cost.set_defaults(handler=cmd_cost)
    return parser


def main(argv: Sequence[str] | None = None, *, clock: Callable[[], datetime] = utc_now) -> int:
    """Run one command; returns the exit code (the console script passes it to sys.exit). Tests pass `clock`."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as error:
        return _fail(str(error), 2)
    except SystemExit as exit_:  # --help
        return exit_.code if isinstance(exit_.code, int) else 0
    args.config_given = args.config is not None
    if args.config is None:
        args.config = "cdk.json"
    try:
        return int(args.handler(Context(args, clock)))
    except UsageError as error:
        return _fail(str(error), 2)
    except (Failure, RestoreError) as error:
        return _fail(str(error), 1)
    except SelectionError as error:
        return _fail(str(error), 2)
    except GatewayError as error:
        # botocore rejects a malformed parameter (a table name too short, say) before sending anything.
        return _fail(_explain(error), 2 if error.code == "ParamValidationError" else 1)
    except BotoCoreError as error:
        return _fail(f"AWS: {error}", 1)
    except TimeoutError as error:
        return _fail(str(error), 1)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


def _explain(error: GatewayError) -> str:
    """One line for an AWS error the operator can act on."""
    if error.code == "NoCredentialsError":
        return "no AWS credentials found: pass --profile, or set AWS_PROFILE or AWS_ACCESS_KEY_ID"
    if error.code in CREDENTIAL_CODES:
        return f"AWS does not accept these credentials ({error.code}): check --profile or AWS_PROFILE"
    if error.code in ("AccessDeniedException", "AccessDenied"):
        return f"{error.operation}: access denied: {error.message}"
    if error.code == "ParamValidationError":
        return error.message
    if error.code == "EndpointConnectionError":
        return f"cannot reach AWS: {error.message}"
    if isinstance(error, TableNotFound):
        return f"{error.operation}: table not found ({error.message})"
    return f"{error.operation} failed: {error.code}: {error.message}"


def _fail(message: str, code: int) -> int:
    line = " ".join(message.split())  # one line, whatever AWS or botocore put in the message
    print(f"tablesafe: error: {line}", file=sys.stderr)
    return code
