"""Restores: a full restore into a new table with the settings a restore drops put back.

A DynamoDB restore (from a backup or to a point in time) creates a table with the source's keys, indexes, items and
billing mode, but without its tags, TTL, point-in-time recovery, auto scaling, stream and deletion protection.
`restore_table` reads those settings from the source before it starts, restores, waits until the new table is ACTIVE
and applies them one by one, reporting each. It never touches an existing table. The restore call is sent once;
after a lost answer the new table's RestoreSummary tells this restore from someone else's table (`start_restore`).
The partial restore is `tablesafe_cli.copy_items`; item and key helpers are in `tablesafe_cli.item_keys`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tablesafe.aws.dynamodb import (
    AmbiguousResult,
    Backup,
    DynamoDbGateway,
    GatewayError,
    TableInUse,
    TableNotFound,
    Throttled,
)
from tablesafe.aws.retry import RetryPolicy
from tablesafe.aws.tables import (
    BackupNotFound,
    PitrState,
    RestoredFrom,
    TableDetails,
    TableExists,
    TableGateway,
)
from tablesafe_cli.table_settings import SettingOutcome, SettingResult, read_settings, reapply_settings

RESTORABLE_TYPES = frozenset({"USER", "SYSTEM"})  # AWS_BACKUP backups are restored through AWS Backup
# botocore sends a point in time in whole seconds, so the RestoreDateTime AWS records may be up to 1 s earlier.
SENT_TIME_PRECISION = timedelta(seconds=1)


class RestoreError(Exception):
    """A restore or copy was refused or could not start; nothing was changed. The message says why."""


def restore_retry(sleep: Callable[[float], None] = time.sleep) -> RetryPolicy:
    """The sends of a restore call (its client does not retry): six, 2 s doubling to at most 20 s between them."""
    return RetryPolicy(attempts=6, base=2.0, cap=20.0, sleep=sleep)


# -- full restore ------------------------------------------------------------------------------------------------


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


def latest_backup(backups: Iterable[Backup]) -> Backup | None:
    """The newest AVAILABLE backup that RestoreTableFromBackup can restore."""
    usable = [b for b in backups if b.status == "AVAILABLE" and b.backup_type in RESTORABLE_TYPES]
    return max(usable, key=lambda b: b.created, default=None)


# The arguments after `*` are keyword-only with defaults (options and injected clocks): PLR0913
# counts those too, and a parameter object would only rename them.
def restore_table(  # noqa: PLR0913
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
    retry: RetryPolicy | None = None,
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
    note = start_restore(tables, request, origin, retry or restore_retry())
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


def start_restore(tables: TableGateway, request: RestoreRequest, origin: RestoreOrigin, retry: RetryPolicy) -> str:
    """Send the restore, never blindly twice; returns a note when an answer was lost ('' when none was).

    The call goes out once. Throttled: it had no effect, send it again after a pause. An ambiguous answer (5xx,
    timeout, lost connection): it may have started the restore, so the target is described before anything else.
    A target whose RestoreSummary names our origin is our restore; any other target is someone else's and is
    refused. No target yet: it is sent again, which is safe because a table name is taken once: if the lost attempt
    did start the restore (and DescribeTable, eventually consistent, did not show it yet), the resend meets
    TableAlreadyExistsException and the target is described again. An error botocore already resent is not sent
    again (RetryPolicy.may_retry); the restore clients do not retry, so that is a guard, not a path.
    """
    operation = "RestoreTableFromBackup" if origin.backup_arn is not None else "RestoreTableToPointInTime"
    target = request.target
    lost: GatewayError | None = None  # the first ambiguous answer: an attempt may have taken effect
    last: GatewayError | None = None
    sent = 0
    for _ in retry.tries():
        if last is not None and not retry.may_retry(last):
            break
        if lost is not None:
            found = _describe_after_lost_answer(tables, target, operation, lost)
            if found is not None:
                return _claim(found, origin, operation, lost)
        sent += 1
        try:
            _send_restore(tables, request, origin)
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
    raise _gave_up(operation, target, sent, last, lost)


def _gave_up(
    operation: str, target: str, sent: int, last: GatewayError | None, lost: GatewayError | None
) -> RestoreError:
    """Why the restore was not started, or may have been: only a lost answer leaves the target in doubt."""
    if lost is None:
        return RestoreError(f"{operation} into {target} was throttled {sent} times ({last}); nothing restored")
    return RestoreError(
        f"{operation} into {target} went unanswered or was refused {sent} times (last: {last}), and "
        f"{target} has not appeared; the restore may still have started: check {target} (aws dynamodb "
        f"describe-table) before restoring again"
    )


def _send_restore(tables: TableGateway, request: RestoreRequest, origin: RestoreOrigin) -> None:
    if origin.backup_arn is not None:
        tables.restore_from_backup(request.target, origin.backup_arn)
    else:
        tables.restore_to_time(request.source, request.target, origin.at)


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
