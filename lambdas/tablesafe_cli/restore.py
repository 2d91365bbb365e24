"""Restores: a full restore into a new table with the settings a restore drops put back, and a partial restore.

A DynamoDB restore (from a backup or to a point in time) creates a table with the source's keys, indexes, items and
billing mode, but without its tags, TTL, point-in-time recovery, auto scaling, stream and deletion protection.
`restore_table` reads those settings from the source before it starts, restores, waits until the new table is ACTIVE
and applies them one by one, reporting each. It never touches an existing table. The restore call is sent once;
after a lost answer the new table's RestoreSummary tells this restore from someone else's table (`start_restore`).

`copy_items` is the partial restore: chosen items are read from a restored table and written into the live one.
With skip-existing (the default) each item is written by a conditional PutItem, so an item the application wrote
in the meantime is never overwritten: the existence check and the write are one atomic operation. A BatchGetItem of
the live table's keys first skips the items already there, which saves the write capacity a failed conditional put
would still consume; the condition, not this look-up, is the guard. With overwrite, items go in BatchWriteItem calls
of 25, and unprocessed items are retried with exponential backoff and full jitter.
"""

from __future__ import annotations

import base64
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from boto3.dynamodb.types import DYNAMODB_CONTEXT

from tablesafe.aws.dynamodb import (
    AmbiguousResult,
    Backup,
    DynamoDbGateway,
    GatewayError,
    TableInUse,
    TableNotFound,
    Throttled,
)
from tablesafe.aws.tables import (
    BATCH_GET_LIMIT,
    BATCH_WRITE_LIMIT,
    BackupNotFound,
    Item,
    PitrState,
    RestoredFrom,
    ScalingSetup,
    TableDetails,
    TableExists,
    TableGateway,
)

TYPE_TAGS = frozenset({"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"})
KEY_TYPES = frozenset({"S", "N", "B"})
RESTORABLE_TYPES = frozenset({"USER", "SYSTEM"})  # AWS_BACKUP backups are restored through AWS Backup
# Right after a table is created, UpdateContinuousBackups can answer this until the table's backups are set up.
PITR_NOT_READY = "ContinuousBackupsUnavailableException"
# botocore sends a point in time in whole seconds, so the RestoreDateTime AWS records may be up to 1 s earlier.
SENT_TIME_PRECISION = timedelta(seconds=1)


class RestoreError(Exception):
    """A restore or copy was refused or could not start; nothing was changed. The message says why."""


class SelectionError(ValueError):
    """The items to copy are described wrongly (a key that does not fit the table, bad JSON); nothing was read."""


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base * 2**n)) seconds."""

    base: float = 0.05
    cap: float = 5.0
    attempts: int = 10
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def pause(self, attempt: int) -> None:
        self.sleep(self.rng.uniform(0, min(self.cap, self.base * 2**attempt)))


# -- full restore ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceSettings:
    """What a restore drops, as the source table has it now."""

    tags: dict[str, str]
    ttl_attribute: str | None
    pitr: PitrState
    scaling: tuple[ScalingSetup, ...]
    stream_view_type: str | None
    deletion_protection: bool


class SettingOutcome(StrEnum):
    """What happened to one setting on the new table."""

    APPLIED = "applied"
    NOT_SET = "not set on source"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class SettingResult:
    """One setting re-applied (or not) on the restored table."""

    setting: str
    outcome: SettingOutcome
    detail: str = ""


@dataclass(frozen=True)
class RestoreRequest:
    """Restore `source` into the new table `target`, from a backup (ARN or 'latest') or to a point in time."""

    source: str
    target: str
    backup: str | None = None  # a backup ARN or "latest"; None with a point in time
    at: datetime | None = None  # a point in time; None with `latest_time` means the latest restorable time
    latest_time: bool = False
    keep_plan: bool = False


@dataclass
class RestoreReport:
    """What a restore did."""

    source: str
    target: str
    method: str  # "backup" | "point-in-time"
    backup_arn: str = ""
    backup_name: str = ""
    at: datetime | None = None
    seconds: float = 0.0
    settings: list[SettingResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. how a lost answer was resolved

    @property
    def failed(self) -> list[SettingResult]:
        return [s for s in self.settings if s.outcome is SettingOutcome.FAILED]

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "method": self.method,
            "backupArn": self.backup_arn or None,
            "backupName": self.backup_name or None,
            "pointInTime": self.at.isoformat() if self.at else None,
            "seconds": round(self.seconds, 1),
            "settings": [{"setting": s.setting, "outcome": s.outcome.value, "detail": s.detail} for s in self.settings],
            "notes": list(self.notes),
            "ok": not self.failed,
        }


@dataclass(frozen=True)
class RestoreOrigin:
    """What a restore restores from, as the new table's RestoreSummary names it (API_RestoreSummary)."""

    backup_arn: str | None = None  # a restore from this backup
    table_arn: str | None = None  # a point-in-time restore of this table ...
    at: datetime | None = None  # ... to this time
    not_before: datetime | None = None  # ... to its latest restorable time, at or after this one

    def matches(self, found: RestoredFrom | None) -> bool:
        """Whether a table restored from `found` is this restore (None: the table was not made by a restore)."""
        if found is None:
            return False
        if self.backup_arn is not None:
            return found.backup_arn == self.backup_arn
        if found.backup_arn is not None or found.table_arn != self.table_arn:
            return False
        if self.at is not None:
            return found.time is not None and abs(found.time - self.at) < SENT_TIME_PRECISION
        if self.not_before is not None:
            return found.time is not None and found.time > self.not_before - SENT_TIME_PRECISION
        return True

    def describe(self) -> str:
        if self.backup_arn is not None:
            return f"backup {self.backup_arn}"
        when = self.at.isoformat() if self.at is not None else "its latest restorable time"
        return f"table {self.table_arn} at {when}"


def read_settings(tables: TableGateway, name: str) -> SourceSettings:
    """The source's current settings that a restore drops; TableNotFound when it is gone."""
    details = tables.describe(name)
    return SourceSettings(
        tags=tables.tags(details.arn),
        ttl_attribute=tables.ttl_attribute(name),
        pitr=tables.pitr(name),
        scaling=tuple(tables.scaling(name)),
        stream_view_type=details.stream_view_type,
        deletion_protection=details.deletion_protection,
    )


def latest_backup(backups: Iterable[Backup]) -> Backup | None:
    """The newest AVAILABLE backup that RestoreTableFromBackup can restore."""
    usable = [b for b in backups if b.status == "AVAILABLE" and b.backup_type in RESTORABLE_TYPES]
    return max(usable, key=lambda b: b.created, default=None)


def restore_table(
    backups: DynamoDbGateway,
    tables: TableGateway,
    request: RestoreRequest,
    *,
    tag_key: str,
    timeout: float = 4 * 3600,
    poll: float = 5.0,
    on_phase: Callable[[str], None] = lambda _: None,
    on_poll: Callable[[TableDetails], None] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
    backoff: Backoff | None = None,
) -> RestoreReport:
    """Restore into a new table, wait until it is ACTIVE, re-apply the source's settings; RestoreError if refused."""
    started = time.monotonic()
    if request.target == request.source:
        raise RestoreError(f"the new table must have another name than {request.source}")
    on_phase("checking")
    if tables.exists(request.target):
        raise RestoreError(
            f"table {request.target} exists already; a restore never touches an existing table: choose a new name"
        )
    source_table = _describe_or_none(tables, request.source)
    report = RestoreReport(source=request.source, target=request.target, method="backup")
    origin = _choose_origin(backups, tables, request, source_table, report, now())
    settings = read_settings(tables, request.source) if source_table is not None else None

    on_phase("restoring")
    note = start_restore(tables, request, origin, backoff or Backoff(base=1.0, cap=20.0, attempts=6))
    if note:
        report.notes.append(note)
    on_phase("waiting")
    try:
        target = tables.wait_active(request.target, timeout=timeout, poll=poll, on_poll=on_poll, sleep=sleep)
    except TimeoutError as error:
        raise RestoreError(
            f"{error}; the restore goes on in AWS, but no setting was re-applied: apply them by hand once it is ACTIVE"
        ) from None

    on_phase("re-applying settings")
    if settings is None:
        report.settings.append(
            SettingResult("all settings", SettingOutcome.SKIPPED, f"table {request.source} no longer exists")
        )
    else:
        report.settings.extend(
            reapply_settings(
                tables,
                target,
                settings,
                tag_key=tag_key,
                keep_plan=request.keep_plan,
                timeout=timeout,
                poll=poll,
                sleep=sleep,
            )
        )
    report.seconds = time.monotonic() - started
    return report


def _describe_or_none(tables: TableGateway, name: str) -> TableDetails | None:
    try:
        return tables.describe(name)
    except TableNotFound:
        return None


def _choose_origin(
    backups: DynamoDbGateway,
    tables: TableGateway,
    request: RestoreRequest,
    source_table: TableDetails | None,
    report: RestoreReport,
    now: datetime,
) -> RestoreOrigin:
    """What the restore restores from (checked: the backup exists and is AVAILABLE, the time is restorable)."""
    if request.backup is not None:
        backup = _choose_backup(backups, tables, request)
        report.backup_arn, report.backup_name = backup.arn, backup.name
        return RestoreOrigin(backup_arn=backup.arn)
    if source_table is None:
        raise RestoreError(f"table {request.source} not found: a point-in-time restore needs the source table")
    pitr = _check_point_in_time(tables, request, now)
    report.method, report.at = "point-in-time", request.at
    if request.latest_time or request.at is None:
        # AWS's latest restorable time only moves forward: ours is at or after the one seen before the call.
        return RestoreOrigin(table_arn=source_table.arn, not_before=pitr.latest)
    return RestoreOrigin(table_arn=source_table.arn, at=request.at)


def _choose_backup(backups: DynamoDbGateway, tables: TableGateway, request: RestoreRequest) -> Backup:
    if request.backup == "latest":
        backup = latest_backup(backups.list_backups(table_name=request.source, backup_type="ALL"))
        if backup is None:
            raise RestoreError(f"table {request.source} has no AVAILABLE backup to restore")
        return backup
    assert request.backup is not None
    try:
        details = tables.describe_backup(request.backup)
    except BackupNotFound:
        raise RestoreError(f"backup {request.backup} not found") from None
    if details.table_name != request.source:
        raise RestoreError(f"backup {request.backup} is of table {details.table_name}, not {request.source}")
    if details.status != "AVAILABLE":
        raise RestoreError(f"backup {request.backup} is {details.status}, not AVAILABLE")
    return Backup(
        arn=details.arn,
        name=details.name,
        table_name=details.table_name,
        created=details.created,
        status=details.status,
        backup_type="USER",
    )


def _check_point_in_time(tables: TableGateway, request: RestoreRequest, now: datetime) -> PitrState:
    pitr = tables.pitr(request.source)
    if not pitr.enabled:
        raise RestoreError(
            f"point-in-time recovery is off for {request.source}: restore from a backup instead (--backup latest)"
        )
    if request.at is None:
        return pitr
    if request.at > now:
        raise RestoreError(f"{request.at.isoformat()} is in the future")
    if pitr.earliest is not None and request.at < pitr.earliest:
        raise RestoreError(
            f"{request.at.isoformat()} is before the earliest restorable time of {request.source}, "
            f"{pitr.earliest.isoformat()}"
        )
    return pitr


def start_restore(tables: TableGateway, request: RestoreRequest, origin: RestoreOrigin, backoff: Backoff) -> str:
    """Send the restore, never blindly twice; returns a note when an answer was lost ('' when none was).

    The call goes out once. Throttled: it had no effect, send it again after a pause. An ambiguous answer (5xx,
    timeout, lost connection): it may have started the restore, so the target is described before anything else.
    A target whose RestoreSummary names our origin is our restore; any other target is someone else's and is
    refused. No target yet: it is sent again, which is safe because a table name is taken once: if the lost attempt
    did start the restore (and DescribeTable, eventually consistent, did not show it yet), the resend meets
    TableAlreadyExistsException and the target is described again.
    """
    operation = "RestoreTableFromBackup" if origin.backup_arn is not None else "RestoreTableToPointInTime"
    target = request.target
    lost: GatewayError | None = None  # the first ambiguous answer: an attempt may have taken effect
    last: GatewayError | None = None
    for attempt in range(backoff.attempts):
        if attempt:
            backoff.pause(attempt)
        if lost is not None:
            found = _describe_after_lost_answer(tables, target, operation, lost)
            if found is not None:
                return _claim(found, origin, operation, lost)
        try:
            if origin.backup_arn is not None:
                tables.restore_from_backup(target, origin.backup_arn)
            else:
                tables.restore_to_time(request.source, target, origin.at)
        except (TableExists, TableInUse) as error:
            if lost is None:
                raise RestoreError(f"table {target} was created meanwhile by someone else; nothing restored") from None
            last = error  # the lost attempt's table, not yet shown by DescribeTable: describe it again
        except Throttled as error:
            last = error
        except AmbiguousResult as error:
            last, lost = error, lost or error
        else:
            if lost is None:
                return ""
            return f"{operation}'s answer was lost ({lost.code}) and {target} did not exist, so it was sent again"
    if lost is None:
        raise RestoreError(
            f"{operation} into {target} was throttled {backoff.attempts} times ({last}); nothing restored"
        )
    raise RestoreError(
        f"{operation} into {target} went unanswered or was refused {backoff.attempts} times (last: {last}), and "
        f"{target} has not appeared; the restore may still have started: check {target} (aws dynamodb "
        f"describe-table) before restoring again"
    )


def _describe_after_lost_answer(
    tables: TableGateway, target: str, operation: str, lost: GatewayError
) -> TableDetails | None:
    try:
        return tables.describe(target)
    except TableNotFound:
        return None
    except GatewayError as error:
        raise RestoreError(
            f"{operation}'s answer was lost ({lost.code}) and {target} could not be described ({error}): the restore "
            f"may have started; check {target} before restoring again"
        ) from None


def _claim(found: TableDetails, origin: RestoreOrigin, operation: str, lost: GatewayError) -> str:
    """Our restore's note if `found` is restored from `origin`; else RestoreError (someone else's table)."""
    if origin.matches(found.restored_from):
        return (
            f"{operation}'s answer was lost ({lost.code}); {found.name} is restored from {origin.describe()}, "
            "so it is this restore: waited for it and re-applied the settings"
        )
    source = found.restored_from
    if source is None:
        what = "it was not made by a restore"
    elif source.backup_arn is not None:
        what = f"it is restored from backup {source.backup_arn}"
    else:
        when = source.time.isoformat() if source.time is not None else "an unknown time"
        what = f"it is restored from table {source.table_arn} at {when}"
    raise RestoreError(
        f"table {found.name} was created meanwhile by someone else ({what}, not from {origin.describe()}); "
        f"nothing restored, and {found.name} was not touched"
    )


def reapply_settings(
    tables: TableGateway,
    target: TableDetails,
    settings: SourceSettings,
    *,
    tag_key: str,
    keep_plan: bool,
    timeout: float = 3600,
    poll: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[SettingResult]:
    """Apply each setting the source has; a failure is reported and the others are still applied."""
    name = target.name

    def pitr() -> SettingResult:
        if not settings.pitr.enabled:
            return SettingResult("point-in-time recovery", SettingOutcome.NOT_SET)
        for attempt in range(8):
            try:
                tables.enable_pitr(name, settings.pitr.recovery_period_days)
                break
            except GatewayError as error:
                if error.code != PITR_NOT_READY or attempt == 7:
                    raise
                sleep(min(30.0, 2.0 * 2**attempt))
        days = settings.pitr.recovery_period_days
        return SettingResult("point-in-time recovery", SettingOutcome.APPLIED, f"on, {days or 35} days")

    def ttl() -> SettingResult:
        if settings.ttl_attribute is None:
            return SettingResult("time to live", SettingOutcome.NOT_SET)
        tables.enable_ttl(name, settings.ttl_attribute)
        return SettingResult("time to live", SettingOutcome.APPLIED, f"attribute {settings.ttl_attribute}")

    def tags() -> SettingResult:
        # aws: tags belong to AWS (CloudFormation and others) and cannot be set by a user.
        wanted = {k: v for k, v in settings.tags.items() if not k.startswith("aws:")}
        dropped = ""
        if not keep_plan and tag_key in wanted:
            dropped = f"; left out {tag_key}={wanted.pop(tag_key)} (so the copy gets no backups; --keep-plan keeps it)"
        if not wanted:
            return SettingResult("tags", SettingOutcome.NOT_SET, dropped.lstrip("; "))
        tables.tag(target.arn, wanted)
        return SettingResult("tags", SettingOutcome.APPLIED, f"{len(wanted)}: {', '.join(sorted(wanted))}{dropped}")

    def scaling() -> SettingResult:
        if not settings.scaling:
            return SettingResult("auto scaling", SettingOutcome.NOT_SET)
        if target.billing_mode == "PAY_PER_REQUEST":
            return SettingResult("auto scaling", SettingOutcome.SKIPPED, "the restored table is on-demand")
        applied, policies = 0, 0
        for setup in settings.scaling:
            index = setup.suffix.removeprefix("/index/")
            if setup.suffix and index not in target.index_names:
                continue  # an index the backup did not have
            tables.apply_scaling(name, setup)
            applied += 1
            policies += len(setup.policies)
        return SettingResult("auto scaling", SettingOutcome.APPLIED, f"{applied} targets, {policies} policies")

    def stream() -> SettingResult:
        if settings.stream_view_type is None:
            return SettingResult("stream", SettingOutcome.NOT_SET)
        tables.enable_stream(name, settings.stream_view_type)
        tables.wait_active(name, timeout=timeout, poll=poll, sleep=sleep)
        return SettingResult(
            "stream", SettingOutcome.APPLIED, f"{settings.stream_view_type} (a new stream ARN: re-point its consumers)"
        )

    def deletion_protection() -> SettingResult:
        if not settings.deletion_protection:
            return SettingResult("deletion protection", SettingOutcome.NOT_SET)
        tables.enable_deletion_protection(name)
        tables.wait_active(name, timeout=timeout, poll=poll, sleep=sleep)
        return SettingResult("deletion protection", SettingOutcome.APPLIED, "on")

    # PITR first, so the new table's own history starts as early as possible; deletion protection last.
    steps: list[tuple[str, Callable[[], SettingResult]]] = [
        ("point-in-time recovery", pitr),
        ("time to live", ttl),
        ("tags", tags),
        ("auto scaling", scaling),
        ("stream", stream),
        ("deletion protection", deletion_protection),
    ]
    results: list[SettingResult] = []
    for setting, step in steps:
        try:
            results.append(step())
        except (GatewayError, TimeoutError) as error:
            results.append(SettingResult(setting, SettingOutcome.FAILED, str(error)))
    return results


# -- partial restore ---------------------------------------------------------------------------------------------


class Mode(StrEnum):
    """What copy-items does with an item that exists in the live table."""

    SKIP_EXISTING = "skip-existing"
    OVERWRITE = "overwrite"


class Action(StrEnum):
    """What a dry run says would happen to one item."""

    COPY = "copy"  # absent from the live table
    SKIP = "skip"  # present, and skip-existing keeps it
    OVERWRITE = "overwrite"  # present and different, and overwrite replaces it
    UNCHANGED = "unchanged"  # present and identical: overwriting changes nothing


@dataclass(frozen=True)
class Selection:
    """Which items of the restored table to copy: keys, or a Scan filter, or a Query."""

    keys: tuple[Item, ...] = ()
    filter_expression: str | None = None
    key_condition: str | None = None
    names: Mapping[str, str] | None = None
    values: Mapping[str, Any] | None = None
    segments: int = 8


@dataclass(frozen=True)
class FailedItem:
    """An item that could not be written, with why."""

    key: Item
    reason: str


@dataclass
class CopyReport:
    """What copy-items did (or, in a dry run, would do)."""

    source: str
    target: str
    mode: Mode
    dry_run: bool
    read: int = 0
    copied: int = 0
    skipped: int = 0
    failed: list[FailedItem] = field(default_factory=list)
    not_found: list[Item] = field(default_factory=list)  # requested keys absent from the restored table
    planned: list[tuple[Action, Item]] = field(default_factory=list)  # dry run: what would happen, per key
    duplicates: int = 0  # keys given more than once (as DynamoDB compares keys): each item is copied once
    stopped: str = ""  # why the copy stopped part-way ("" when it went through)
    not_attempted: list[Item] = field(default_factory=list)  # keys the copy never got to, when it stopped
    seconds: float = 0.0

    @property
    def items_per_second(self) -> float:
        """Items handled (written, skipped, failed; in a dry run, checked) per second of the whole run."""
        handled = len(self.planned) if self.dry_run else self.copied + self.skipped + len(self.failed)
        return handled / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {a.value: 0 for a in Action}
        for action, _ in self.planned:
            counts[action.value] += 1
        body: dict[str, Any] = {
            "from": self.source,
            "to": self.target,
            "mode": self.mode.value,
            "dryRun": self.dry_run,
            "read": self.read,
            "copied": self.copied,
            "skipped": self.skipped,
            "failed": [{"key": plain_item(f.key), "reason": f.reason} for f in self.failed],
            "notFound": [plain_item(k) for k in self.not_found],
            "duplicateKeys": self.duplicates,
            "complete": not self.stopped,
            "stopped": self.stopped or None,
            "notAttempted": [plain_item(k) for k in self.not_attempted],
            "seconds": round(self.seconds, 3),
            "itemsPerSecond": round(self.items_per_second, 1),
        }
        if self.dry_run:
            body["wouldDo"] = counts
            body["planned"] = [{"action": a.value, "key": plain_item(k)} for a, k in self.planned]
        return body


@dataclass
class CopyProgress:
    """Counts so far, handed to the progress callback."""

    read: int = 0
    done: int = 0
    total: int | None = None


def check_same_key(source: TableDetails, target: TableDetails) -> None:
    """RestoreError unless both tables have the same key attributes, roles and types."""
    if source.key != target.key:
        raise RestoreError(
            f"key schemas differ: {source.name} has {_describe_key(source)}, {target.name} has {_describe_key(target)}"
        )


def _describe_key(table: TableDetails) -> str:
    return " + ".join(f"{k.name} ({k.type}, {k.role})" for k in table.key)


class CopyStopped(Exception):
    """Reading (or a dry run's look-up) stopped part-way; `keys`: items read that were never handled."""

    def __init__(self, reason: str, keys: Sequence[Item] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.keys = list(keys)


def copy_items(
    tables: TableGateway,
    source: str,
    target: str,
    selection: Selection,
    *,
    mode: Mode = Mode.SKIP_EXISTING,
    dry_run: bool = False,
    workers: int = 16,
    backoff: Backoff | None = None,
    on_progress: Callable[[CopyProgress], None] = lambda _: None,
) -> CopyReport:
    """Copy the selected items from `source` into `target`; see the module docstring for the write modes.

    If reading stops part-way (keys still unprocessed after the retries, a Scan or Query page that fails), what is
    in flight is finished and the report says what was written, skipped and failed, and `stopped` why."""
    backoff = backoff or Backoff()
    started = time.monotonic()
    if source == target:
        raise RestoreError("--from and --to name the same table")
    source_table, target_table = tables.describe(source), tables.describe(target)
    check_same_key(source_table, target_table)
    key_names = source_table.key_names
    keys = _unique([parse_key(k, source_table) for k in selection.keys], key_names)
    report = CopyReport(source=source, target=target, mode=mode, dry_run=dry_run)
    report.duplicates = len(selection.keys) - len(keys)
    progress = CopyProgress(total=len(keys) or None)
    if not keys and selection.key_condition is None:
        progress.total = source_table.item_count or None  # an estimate (AWS refreshes it about every six hours)
    read: set[KeyIdentity] = set()  # keys read so far, to tell which were never attempted if the copy stops
    batches = _batches(tables, source, selection, keys, key_names, backoff, report)
    try:
        _copy_batches(tables, target, batches, key_names, mode, dry_run, workers, backoff, report, progress,
                      on_progress, read if keys else None)  # fmt: skip
    except CopyStopped as stop:
        report.stopped = stop.reason
        handled = read | {key_identity(k, key_names) for k in report.not_found}
        report.not_attempted = [*stop.keys, *(k for k in keys if key_identity(k, key_names) not in handled)]
    if dry_run:
        report.skipped = sum(1 for a, _ in report.planned if a is Action.SKIP)
    report.seconds = time.monotonic() - started
    return report


def _batches(
    tables: TableGateway,
    source: str,
    selection: Selection,
    keys: Sequence[Item],
    key_names: Sequence[str],
    backoff: Backoff,
    report: CopyReport,
) -> Iterator[list[Item]]:
    """The selected items of `source`, a batch at a time; CopyStopped when reading stops part-way."""
    if keys:
        yield from _read_keys(tables, source, keys, key_names, backoff, report)
        return
    operation = "Query" if selection.key_condition is not None else "Scan"
    if selection.key_condition is not None:
        pages: Iterator[list[Item]] = (
            p.items
            for p in tables.query(
                source,
                key_condition=selection.key_condition,
                filter_expression=selection.filter_expression,
                names=selection.names,
                values=selection.values,
            )
        )
    else:
        pages = _parallel_scan(tables, source, selection)
    started = False
    try:
        for page in pages:
            started = True
            yield page
    except GatewayError as error:  # after botocore's retries
        if not started:
            raise  # nothing read yet (a bad filter, say): the error itself is the answer
        raise CopyStopped(f"{operation} of {source} failed part-way, the rest was not read: {error}") from error


def _copy_batches(
    tables: TableGateway,
    target: str,
    batches: Iterable[list[Item]],
    key_names: Sequence[str],
    mode: Mode,
    dry_run: bool,
    workers: int,
    backoff: Backoff,
    report: CopyReport,
    progress: CopyProgress,
    on_progress: Callable[[CopyProgress], None],
    read: set[KeyIdentity] | None,
) -> None:
    """Write (or in a dry run, plan) each batch; writes in flight are finished even when reading stops."""
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="copy") as pool:
        pending: set[Future[tuple[int, int, list[FailedItem]]]] = set()

        def collect(done: Iterable[Future[tuple[int, int, list[FailedItem]]]]) -> None:
            for future in done:
                copied, skipped, failed = future.result()
                report.copied += copied
                report.skipped += skipped
                report.failed.extend(failed)
            progress.done = report.copied + report.skipped + len(report.failed) + len(report.not_found)
            on_progress(progress)

        try:
            for batch in batches:
                report.read += len(batch)
                progress.read = report.read
                if read is not None:
                    read.update(key_identity(i, key_names) for i in batch)
                if dry_run:
                    _plan(tables, target, batch, key_names, mode, backoff, report.planned)
                    progress.done = len(report.planned)
                    on_progress(progress)
                    continue
                for unit in _write_units(batch, mode):
                    pending.add(pool.submit(_write, tables, target, unit, key_names, mode, backoff))
                while len(pending) >= workers * 2:  # bounded: the reader never runs far ahead of the writers
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    collect(done)
        finally:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                collect(done)


def _write_units(batch: Sequence[Item], mode: Mode) -> Iterator[list[Item]]:
    # overwrite: one BatchWriteItem (25); skip-existing: one BatchGetItem look-up (100), then a put per absent item.
    size = BATCH_WRITE_LIMIT if mode is Mode.OVERWRITE else BATCH_GET_LIMIT
    for start in range(0, len(batch), size):
        yield list(batch[start : start + size])


def _write(
    tables: TableGateway, target: str, items: list[Item], key_names: Sequence[str], mode: Mode, backoff: Backoff
) -> tuple[int, int, list[FailedItem]]:
    """Write one unit; returns (copied, skipped, failed)."""
    if mode is Mode.SKIP_EXISTING:
        return _copy_absent(tables, target, items, key_names, backoff)
    return _batch_put(tables, target, items, key_names, backoff)


def _copy_absent(
    tables: TableGateway, target: str, items: list[Item], key_names: Sequence[str], backoff: Backoff
) -> tuple[int, int, list[FailedItem]]:
    """Skip the items the live table has, then put each other one on the condition that it is still absent."""
    # The look-up (keys only) saves a write per present item: a conditional put that fails still costs capacity.
    # It is an optimisation, not the guard: the condition on each put is what keeps an item written meanwhile.
    # Keys it could not read count as absent: their put's condition still keeps an existing item.
    try:
        found, _, _ = _batch_get_all(tables, target, [key_of(i, key_names) for i in items], backoff, only=key_names)
    except GatewayError:
        found = []  # the puts meet the same error, if it is real, and report it per item
    present = {key_identity(i, key_names) for i in found}
    copied, skipped, failed = 0, 0, []
    for item in items:
        if key_identity(item, key_names) in present:
            skipped += 1
            continue
        c, s, f = _put_if_absent(tables, target, item, key_names, backoff)
        copied, skipped = copied + c, skipped + s
        failed.extend(f)
    return copied, skipped, failed


def _put_if_absent(
    tables: TableGateway, target: str, item: Item, key_names: Sequence[str], backoff: Backoff
) -> tuple[int, int, list[FailedItem]]:
    last = ""
    for attempt in range(backoff.attempts):
        try:
            written = tables.put_if_absent(target, item, key_names[0])
        except (Throttled, AmbiguousResult) as error:
            # Safe to send again: if the lost attempt did write, the retry finds the item and counts it skipped.
            last = str(error)
            backoff.pause(attempt)
            continue
        except GatewayError as error:
            return 0, 0, [FailedItem(key_of(item, key_names), str(error))]
        return (1, 0, []) if written else (0, 1, [])
    return 0, 0, [FailedItem(key_of(item, key_names), f"gave up after {backoff.attempts} attempts: {last}")]


def _batch_put(
    tables: TableGateway, target: str, items: list[Item], key_names: Sequence[str], backoff: Backoff
) -> tuple[int, int, list[FailedItem]]:
    remaining = items
    last = "unprocessed"
    for attempt in range(backoff.attempts):
        try:
            remaining = tables.batch_put(target, remaining)
        except (Throttled, AmbiguousResult) as error:
            last = str(error)  # nothing (or, if ambiguous, the same puts again) was written: send it all again
        except GatewayError as error:
            return len(items) - len(remaining), 0, [FailedItem(key_of(i, key_names), str(error)) for i in remaining]
        else:
            last = "still unprocessed"
        if not remaining:
            return len(items), 0, []
        backoff.pause(attempt)
    reason = f"{last} after {backoff.attempts} attempts"
    return len(items) - len(remaining), 0, [FailedItem(key_of(i, key_names), reason) for i in remaining]


def _plan(
    tables: TableGateway,
    target: str,
    batch: Sequence[Item],
    key_names: Sequence[str],
    mode: Mode,
    backoff: Backoff,
    planned: list[tuple[Action, Item]],
) -> None:
    """Add to `planned` what writing `batch` would do, from one look at the live table (nothing is written)."""
    for start in range(0, len(batch), BATCH_GET_LIMIT):
        chunk = batch[start : start + BATCH_GET_LIMIT]
        try:
            found, unread, why = _batch_get_all(tables, target, [key_of(i, key_names) for i in chunk], backoff)
        except GatewayError as error:
            found, unread, why = [], list(chunk), str(error)
        if unread:
            raise CopyStopped(
                f"BatchGetItem on {target}: {len(unread)} keys unread ({why})",
                [key_of(i, key_names) for i in batch[start:]],
            )
        existing = {key_identity(i, key_names): i for i in found}
        for item in chunk:
            key = key_of(item, key_names)
            live = existing.get(key_identity(item, key_names))
            if live is None:
                planned.append((Action.COPY, key))
            elif mode is Mode.SKIP_EXISTING:
                planned.append((Action.SKIP, key))
            else:
                same = _canonical({"M": live}) == _canonical({"M": item})
                planned.append((Action.UNCHANGED if same else Action.OVERWRITE, key))


def _read_keys(
    tables: TableGateway,
    source: str,
    keys: Sequence[Item],
    key_names: Sequence[str],
    backoff: Backoff,
    report: CopyReport,
) -> Iterator[list[Item]]:
    """The items of distinct `keys`, 100 a BatchGetItem; CopyStopped once keys stay unread after the retries."""
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        chunk = keys[start : start + BATCH_GET_LIMIT]
        try:
            found, unread, why = _batch_get_all(tables, source, chunk, backoff)
        except GatewayError as error:
            if not start:
                raise  # nothing read yet: the error itself is the answer
            raise CopyStopped(f"BatchGetItem on {source}: {error}") from error
        seen = {key_identity(i, key_names) for i in [*found, *unread]}
        report.not_found.extend(k for k in chunk if key_identity(k, key_names) not in seen)
        if found:
            yield found
        if unread:
            raise CopyStopped(f"BatchGetItem on {source}: {len(unread)} keys unread ({why})")


def _batch_get_all(
    tables: TableGateway, table: str, keys: Sequence[Item], backoff: Backoff, *, only: Sequence[str] = ()
) -> tuple[list[Item], list[Item], str]:
    """BatchGetItem of up to 100 keys, retrying unprocessed keys with backoff: (found, still unread, why unread).

    Throttled and ambiguous calls are sent again (a read); any other GatewayError is raised."""
    found: list[Item] = []
    remaining = list(keys)
    why = "unprocessed"
    for attempt in range(backoff.attempts):
        try:
            items, remaining = tables.batch_get(table, remaining, only=only)
            found.extend(items)
            why = "unprocessed"
        except (Throttled, AmbiguousResult) as error:
            why = str(error)
        if not remaining:
            return found, [], ""
        if attempt + 1 < backoff.attempts:
            backoff.pause(attempt)
    return found, remaining, f"{why} after {backoff.attempts} tries"


def _parallel_scan(tables: TableGateway, source: str, selection: Selection) -> Iterator[list[Item]]:
    """Scan all segments at once; pages are yielded as they arrive, and an error in any segment is raised."""
    segments = max(1, selection.segments)
    pages: queue.Queue[list[Item] | BaseException | None] = queue.Queue(maxsize=segments * 4)
    stop = threading.Event()

    def put(value: list[Item] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                pages.put(value, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def scan(segment: int) -> None:
        try:
            for page in tables.scan(
                source,
                segment=segment,
                total_segments=segments,
                filter_expression=selection.filter_expression,
                names=selection.names,
                values=selection.values,
            ):
                if page.items and not put(page.items):
                    return
        except BaseException as error:  # handed to the consumer, which raises it
            put(error)
        finally:
            put(None)

    threads = [threading.Thread(target=scan, args=(s,), daemon=True, name=f"scan-{s}") for s in range(segments)]
    for thread in threads:
        thread.start()
    finished = 0
    try:
        while finished < segments:
            value = pages.get()
            if value is None:
                finished += 1
            elif isinstance(value, BaseException):
                raise value
            else:
                yield value
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)


# -- item and key helpers ----------------------------------------------------------------------------------------


def key_of(item: Item, key_names: Sequence[str]) -> Item:
    """The primary key of an item."""
    return {name: item[name] for name in key_names}


KeyIdentity = tuple[tuple[str, object], ...]


def key_identity(item: Item, key_names: Sequence[str]) -> KeyIdentity:
    """An item's key as DynamoDB compares keys: S by text, N by numeric value (7 and 7.0 are one key), B by bytes."""
    return tuple(_key_part(item[name]) for name in key_names)


def _key_part(value: Mapping[str, Any]) -> tuple[str, object]:
    ((tag, inner),) = value.items()
    if tag == "N":
        return ("N", DYNAMODB_CONTEXT.create_decimal(inner))  # compares and hashes by value
    if tag == "B":
        return ("B", bytes(inner) if isinstance(inner, bytes | bytearray) else base64.b64decode(inner))
    return (tag, inner)


def _unique(keys: Sequence[Item], key_names: Sequence[str]) -> list[Item]:
    # BatchGetItem rejects a request that names the same key twice, however its numbers are written.
    seen: dict[KeyIdentity, Item] = {}
    for key in keys:
        seen.setdefault(key_identity(key, key_names), key)
    return list(seen.values())


def _canonical(value: Any) -> Any:
    """A comparable form of a typed value: sets sorted, numbers as Decimal, maps as sorted pairs."""
    if not isinstance(value, Mapping) or len(value) != 1:
        return value
    ((tag, inner),) = value.items()
    if tag == "N":
        return ("N", Decimal(inner))
    if tag == "NS":
        return ("NS", tuple(sorted(Decimal(v) for v in inner)))
    if tag in ("SS", "BS"):
        return (tag, tuple(sorted(inner)))
    if tag == "M":
        return ("M", tuple(sorted((k, _canonical(v)) for k, v in inner.items())))
    if tag == "L":
        return ("L", tuple(_canonical(v) for v in inner))
    return (tag, inner)


def parse_key(raw: object, table: TableDetails) -> Item:
    """A key given as JSON (plain `{"pk": "a"}` or typed `{"pk": {"S": "a"}}`) as the table's typed key."""
    if not isinstance(raw, Mapping):
        raise SelectionError(f"key {raw!r}: expected a JSON object of {', '.join(table.key_names)}")
    names = set(raw)
    wanted = set(table.key_names)
    if names != wanted:
        missing, extra = sorted(wanted - names), sorted(names - wanted)
        parts = [
            f"missing {', '.join(missing)}" if missing else "",
            f"not key attributes: {', '.join(extra)}" if extra else "",
        ]
        raise SelectionError(f"key {dict(raw)!r} does not fit {table.name}: {'; '.join(p for p in parts if p)}")
    key: Item = {}
    for attribute in table.key:
        value = to_typed(raw[attribute.name])
        (tag,) = value
        if tag != attribute.type:
            raise SelectionError(
                f"key {dict(raw)!r}: {attribute.name} is of type {attribute.type} in {table.name}, got {tag}"
            )
        key[attribute.name] = value
    return key


def to_typed(value: object) -> dict[str, Any]:
    """A JSON value as a DynamoDB typed value; `{"S": "x"}`-style objects are taken as typed already."""
    if isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in TYPE_TAGS:
        ((tag, inner),) = value.items()
        return _typed(tag, inner)
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | float | Decimal):
        return _typed("N", value)
    if value is None:
        return {"NULL": True}
    if isinstance(value, list):
        return {"L": [to_typed(v) for v in value]}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_typed(v) for k, v in value.items()}}
    raise SelectionError(f"{value!r} cannot be given to DynamoDB")


def _typed(tag: str, inner: Any) -> dict[str, Any]:
    # The client takes binary values as bytes; JSON carries them as base64 (as the AWS CLI does).
    try:
        if tag == "B":
            return {"B": inner if isinstance(inner, bytes) else base64.b64decode(inner, validate=True)}
        if tag == "BS":
            return {"BS": [v if isinstance(v, bytes) else base64.b64decode(v, validate=True) for v in inner]}
        if tag == "N":
            return {"N": _number(inner)}
        if tag == "M":
            return {"M": {k: to_typed(v) for k, v in inner.items()}}
        if tag == "L":
            return {"L": [to_typed(v) for v in inner]}
    except (ValueError, TypeError, AttributeError, ArithmeticError) as error:
        raise SelectionError(f"{{{tag!r}: {inner!r}}} is not a valid {tag} value ({error})") from None
    return {tag: inner}


def _number(value: Any) -> str:
    """A DynamoDB number as text; ArithmeticError beyond what DynamoDB stores (38 digits, 1E-130 to 1E+126)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise TypeError(f"expected a number or its text, got {type(value).__name__}")
    number = DYNAMODB_CONTEXT.create_decimal(str(value))
    if not number.is_finite():
        raise ArithmeticError("DynamoDB has no infinity or NaN")
    return str(value)


def to_typed_values(raw: object, what: str) -> dict[str, Any]:
    """ExpressionAttributeValues from JSON: each value plain or typed."""
    if not isinstance(raw, Mapping) or not all(isinstance(k, str) and k.startswith(":") for k in raw):
        raise SelectionError(f'{what}: expected a JSON object whose keys start with \':\' such as {{":s": "x"}}')
    return {k: to_typed(v) for k, v in raw.items()}


def plain(value: Mapping[str, Any]) -> Any:
    """A typed value as plain JSON (numbers as int or float, binary as base64) for display."""
    ((tag, inner),) = value.items()
    if tag == "N":
        number = Decimal(inner)
        return int(number) if number == number.to_integral_value() else float(number)
    if tag == "B":
        return base64.b64encode(inner).decode() if isinstance(inner, bytes) else inner
    if tag == "NULL":
        return None
    if tag == "M":
        return {k: plain(v) for k, v in inner.items()}
    if tag == "L":
        return [plain(v) for v in inner]
    if tag in ("SS", "NS", "BS"):
        return [plain({tag[0]: v}) for v in inner]
    return inner


def plain_item(item: Item) -> dict[str, Any]:
    """A typed item or key as plain JSON."""
    return {k: plain(v) for k, v in item.items()}
