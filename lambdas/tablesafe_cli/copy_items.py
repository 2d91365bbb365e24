"""The partial restore: chosen items are read from a restored table and written into the live one.

With skip-existing (the default) each item is written by a conditional PutItem, so an item the application wrote
in the meantime is never overwritten: the existence check and the write are one atomic operation. A BatchGetItem of
the live table's keys first skips the items already there, which saves the write capacity a failed conditional put
would still consume; the condition, not this look-up, is the guard. With overwrite, items go in BatchWriteItem calls
of 25. Unprocessed keys and items, and what botocore did not already resend, are sent again under the one retry
policy (tablesafe.aws.retry); a throttle or a lost answer botocore already retried is reported, not resent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from tablesafe.aws.dynamodb import AmbiguousResult, GatewayError, Throttled
from tablesafe.aws.retry import RetryPolicy
from tablesafe.aws.tables import (
    BATCH_GET_LIMIT,
    BATCH_WRITE_LIMIT,
    Item,
    TableDetails,
    TableGateway,
)
from tablesafe_cli.copy_report import Action, CopyProgress, CopyReport, CopyStopped, FailedItem, Mode, Selection
from tablesafe_cli.item_keys import KeyIdentity, canonical, key_identity, key_of, parse_key, unique_keys
from tablesafe_cli.parallel_scan import parallel_scan
from tablesafe_cli.restore import RestoreError


def copy_retry(sleep: Callable[[float], None] = time.sleep) -> RetryPolicy:
    """The retry policy of a copy: ten sends, 0.05 s doubling to at most 5 s between them, full jitter."""
    return RetryPolicy(attempts=10, base=0.05, cap=5.0, sleep=sleep)


def check_same_key(source: TableDetails, target: TableDetails) -> None:
    """RestoreError unless both tables have the same key attributes, roles and types."""
    if source.key != target.key:
        raise RestoreError(
            f"key schemas differ: {source.name} has {_describe_key(source)}, {target.name} has {_describe_key(target)}"
        )


def _describe_key(table: TableDetails) -> str:
    return " + ".join(f"{k.name} ({k.type}, {k.role})" for k in table.key)


# The arguments after `*` are keyword-only with defaults (options and injected clocks): PLR0913
# counts those too, and a parameter object would only rename them.
def copy_items(  # noqa: PLR0913
    tables: TableGateway,
    source: str,
    target: str,
    selection: Selection,
    *,
    mode: Mode = Mode.SKIP_EXISTING,
    dry_run: bool = False,
    workers: int = 16,
    retry: RetryPolicy | None = None,
    on_progress: Callable[[CopyProgress], None] = lambda _: None,
) -> CopyReport:
    """Copy the selected items from `source` into `target`; see the module docstring for the write modes.

    If reading stops part-way (keys still unprocessed after the retries, a Scan or Query page that fails), what is
    in flight is finished and the report says what was written, skipped and failed, and `stopped` why."""
    retry = retry or copy_retry()
    started = time.monotonic()
    if source == target:
        raise RestoreError("--from and --to name the same table")
    source_table, target_table = tables.describe(source), tables.describe(target)
    check_same_key(source_table, target_table)
    key_names = source_table.key_names
    keys = unique_keys([parse_key(k, source_table) for k in selection.keys], key_names)
    report = CopyReport(source=source, target=target, mode=mode, dry_run=dry_run)
    report.duplicates = len(selection.keys) - len(keys)
    progress = CopyProgress(total=len(keys) or None)
    if not keys and selection.key_condition is None:
        progress.total = source_table.item_count or None  # an estimate (AWS refreshes it about every six hours)
    read: set[KeyIdentity] = set()  # keys read so far, to tell which were never attempted if the copy stops
    batches = _batches(tables, source, selection, keys, key_names, retry, report)
    try:
        writer = Writer(tables, target, key_names, mode, retry, dry_run=dry_run, workers=workers)
        copy_batches(writer, batches, report, progress, on_progress, read if keys else None)
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
    retry: RetryPolicy,
    report: CopyReport,
) -> Iterator[list[Item]]:
    """The selected items of `source`, a batch at a time; CopyStopped when reading stops part-way."""
    if keys:
        yield from _read_keys(tables, source, keys, key_names, retry, report)
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
        pages = parallel_scan(tables, source, selection)
    started = False
    try:
        for page in pages:
            started = True
            yield page
    except GatewayError as error:  # after botocore's retries
        if not started:
            raise  # nothing read yet (a bad filter, say): the error itself is the answer
        raise CopyStopped(f"{operation} of {source} failed part-way, the rest was not read: {error}") from error


@dataclass(frozen=True)
class Writer:
    """Where and how the items are written: the target table, its key, the write mode and its retries."""

    tables: TableGateway
    target: str
    key_names: Sequence[str]
    mode: Mode
    retry: RetryPolicy
    dry_run: bool
    workers: int


def copy_batches(
    writer: Writer,
    batches: Iterable[list[Item]],
    report: CopyReport,
    progress: CopyProgress,
    on_progress: Callable[[CopyProgress], None],
    read: set[KeyIdentity] | None,
) -> None:
    """Write (or in a dry run, plan) each batch; writes in flight are finished even when reading stops."""
    tables, target, key_names, mode, retry, workers = (
        writer.tables, writer.target, writer.key_names, writer.mode, writer.retry, writer.workers
    )  # fmt: skip
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
                if writer.dry_run:
                    _plan(tables, target, batch, key_names, mode, retry, report.planned)
                    progress.done = len(report.planned)
                    on_progress(progress)
                    continue
                for unit in _write_units(batch, mode):
                    pending.add(pool.submit(_write, tables, target, unit, key_names, mode, retry))
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
    tables: TableGateway, target: str, items: list[Item], key_names: Sequence[str], mode: Mode, retry: RetryPolicy
) -> tuple[int, int, list[FailedItem]]:
    """Write one unit; returns (copied, skipped, failed)."""
    if mode is Mode.SKIP_EXISTING:
        return _copy_absent(tables, target, items, key_names, retry)
    return _batch_put(tables, target, items, key_names, retry)


def _copy_absent(
    tables: TableGateway, target: str, items: list[Item], key_names: Sequence[str], retry: RetryPolicy
) -> tuple[int, int, list[FailedItem]]:
    """Skip the items the live table has, then put each other one on the condition that it is still absent."""
    # The look-up (keys only) saves a write per present item: a conditional put that fails still costs capacity.
    # It is an optimisation, not the guard: the condition on each put is what keeps an item written meanwhile.
    # Keys it could not read count as absent: their put's condition still keeps an existing item.
    try:
        found, _, _ = _batch_get_all(tables, target, [key_of(i, key_names) for i in items], retry, only=key_names)
    except GatewayError:
        found = []  # the puts meet the same error, if it is real, and report it per item
    present = {key_identity(i, key_names) for i in found}
    copied, skipped, failed = 0, 0, []
    for item in items:
        if key_identity(item, key_names) in present:
            skipped += 1
            continue
        c, s, f = _put_if_absent(tables, target, item, key_names, retry)
        copied, skipped = copied + c, skipped + s
        failed.extend(f)
    return copied, skipped, failed


def _put_if_absent(
    tables: TableGateway, target: str, item: Item, key_names: Sequence[str], retry: RetryPolicy
) -> tuple[int, int, list[FailedItem]]:
    last = ""
    for _ in retry.tries():
        try:
            written = tables.put_if_absent(target, item, key_names[0])
        except GatewayError as error:
            # Safe to send again: if the lost attempt did write, the retry finds the item and counts it skipped.
            if not _resendable(error, retry):
                return 0, 0, [FailedItem(key_of(item, key_names), str(error))]
            last = str(error)
            continue
        return (1, 0, []) if written else (0, 1, [])
    return 0, 0, [FailedItem(key_of(item, key_names), f"gave up after {retry.attempts} attempts: {last}")]


def _batch_put(
    tables: TableGateway, target: str, items: list[Item], key_names: Sequence[str], retry: RetryPolicy
) -> tuple[int, int, list[FailedItem]]:
    remaining = items
    last = "unprocessed"
    for _ in retry.tries():
        try:
            remaining = tables.batch_put(target, remaining)
        except GatewayError as error:
            if not _resendable(error, retry):
                return len(items) - len(remaining), 0, [FailedItem(key_of(i, key_names), str(error)) for i in remaining]
            last = str(error)  # nothing (or, if ambiguous, the same puts again) was written: send it all again
        else:
            last = "still unprocessed"
        if not remaining:
            return len(items), 0, []
    reason = f"{last} after {retry.attempts} attempts"
    return len(items) - len(remaining), 0, [FailedItem(key_of(i, key_names), reason) for i in remaining]


def _plan(
    tables: TableGateway,
    target: str,
    batch: Sequence[Item],
    key_names: Sequence[str],
    mode: Mode,
    retry: RetryPolicy,
    planned: list[tuple[Action, Item]],
) -> None:
    """Add to `planned` what writing `batch` would do, from one look at the live table (nothing is written)."""
    for start in range(0, len(batch), BATCH_GET_LIMIT):
        chunk = batch[start : start + BATCH_GET_LIMIT]
        try:
            found, unread, why = _batch_get_all(tables, target, [key_of(i, key_names) for i in chunk], retry)
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
                same = canonical({"M": live}) == canonical({"M": item})
                planned.append((Action.UNCHANGED if same else Action.OVERWRITE, key))


def _read_keys(
    tables: TableGateway,
    source: str,
    keys: Sequence[Item],
    key_names: Sequence[str],
    retry: RetryPolicy,
    report: CopyReport,
) -> Iterator[list[Item]]:
    """The items of distinct `keys`, 100 a BatchGetItem; CopyStopped once keys stay unread after the retries."""
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        chunk = keys[start : start + BATCH_GET_LIMIT]
        try:
            found, unread, why = _batch_get_all(tables, source, chunk, retry)
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
    tables: TableGateway, table: str, keys: Sequence[Item], retry: RetryPolicy, *, only: Sequence[str] = ()
) -> tuple[list[Item], list[Item], str]:
    """BatchGetItem of up to 100 keys, retrying unprocessed keys with retry: (found, still unread, why unread).

    A throttled or ambiguous call botocore did not resend is sent again (a read); any other GatewayError, and one
    botocore already resent, is raised."""
    found: list[Item] = []
    remaining = list(keys)
    why = "unprocessed"
    for _ in retry.tries():
        try:
            items, remaining = tables.batch_get(table, remaining, only=only)
            found.extend(items)
            why = "unprocessed"
        except GatewayError as error:
            if not _resendable(error, retry):
                raise
            why = str(error)
        if not remaining:
            return found, [], ""
    return found, remaining, f"{why} after {retry.attempts} tries"


def _resendable(error: GatewayError, retry: RetryPolicy) -> bool:
    """A throttle or a lost answer that botocore did not already resend; never anything else."""
    return isinstance(error, Throttled | AmbiguousResult) and retry.may_retry(error)
