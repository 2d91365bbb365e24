"""copy-items --from-export: the items of chosen keys, read from an export's files, written into the live table by
copy_items' writers (the same modes, dry run, retries and report)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

from tablesafe.aws.export_reads import ExportReads
from tablesafe.aws.retry import RetryPolicy
from tablesafe.aws.tables import Item, TableGateway
from tablesafe_cli.copy_items import Writer, check_same_key, copy_batches, copy_retry
from tablesafe_cli.copy_report import CopyProgress, CopyReport, CopyStopped, Mode
from tablesafe_cli.export_source import ExportSource, iter_items
from tablesafe_cli.item_keys import KeyIdentity, key_identity

BATCH = 100  # items handed to the writers at a time (a BatchGetItem look-up's worth)


# The arguments after `*` are keyword-only with defaults (copy-items' options and progress callbacks): PLR0913
# counts those too, and a parameter object would only rename them.
def copy_from_export(  # noqa: PLR0913
    tables: TableGateway,
    reads: ExportReads,
    source: ExportSource,
    target: str,
    keys: Sequence[Item],
    *,
    mode: Mode = Mode.SKIP_EXISTING,
    dry_run: bool = False,
    workers: int = 16,
    retry: RetryPolicy | None = None,
    on_progress: Callable[[CopyProgress], None] = lambda _: None,
    on_bytes: Callable[[int], None] = lambda _: None,
) -> CopyReport:
    """Copy the export's items of `keys` into `target` (which must have the exported table's key)."""
    started = time.monotonic()
    live = tables.describe(target)
    check_same_key(source.table, live)
    names = live.key_names
    report = CopyReport(source=source.info.arn, target=target, mode=mode, dry_run=dry_run)
    progress = CopyProgress(total=len(keys))
    wanted: dict[KeyIdentity, Item] = {key_identity(k, names): k for k in keys}
    read: set[KeyIdentity] = set()
    try:
        writer = Writer(tables, target, names, mode, retry or copy_retry(), dry_run=dry_run, workers=workers)
        copy_batches(writer, _matching(source, reads, wanted, names, on_bytes), report, progress, on_progress, read)
    except CopyStopped as stop:
        report.stopped = stop.reason
    report.not_found = list(wanted.values())
    if dry_run:
        report.skipped = sum(1 for a, _ in report.planned if a.value == "skip")
    report.seconds = time.monotonic() - started
    return report


def _matching(
    source: ExportSource,
    reads: ExportReads,
    wanted: dict[KeyIdentity, Item],
    names: Sequence[str],
    on_bytes: Callable[[int], None],
) -> Iterator[list[Item]]:
    """Batches of the export's items whose keys are wanted; `wanted` keeps those not (yet) found."""
    batch: list[Item] = []
    for item in iter_items(source, reads, on_bytes):
        identity = key_identity(item, names)
        if identity not in wanted:
            continue
        del wanted[identity]
        batch.append(item)
        if len(batch) == BATCH:
            yield batch
            batch = []
        if not wanted:
            break
    if batch:
        yield batch
