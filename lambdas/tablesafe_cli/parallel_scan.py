"""A parallel Scan: every segment read by a thread of its own, pages handed over as they arrive."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from tablesafe.aws.tables import Item, TableGateway
from tablesafe_cli.copy_report import Selection

Pages = queue.Queue[list[Item] | BaseException | None]


def parallel_scan(tables: TableGateway, source: str, selection: Selection) -> Iterator[list[Item]]:
    """Scan all segments at once; pages are yielded as they arrive, and an error in any segment is raised."""
    segments = max(1, selection.segments)
    pages: Pages = queue.Queue(maxsize=segments * 4)
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=_scan_segment, args=(tables, source, selection, s, pages, stop), daemon=True, name=f"scan-{s}"
        )
        for s in range(segments)
    ]
    for thread in threads:
        thread.start()
    try:
        yield from _drain(pages, segments)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)


def _put(pages: Pages, stop: threading.Event, value: list[Item] | BaseException | None) -> bool:
    """Hand a page (or an error, or None for done) to the consumer; False once the consumer has stopped."""
    while not stop.is_set():
        try:
            pages.put(value, timeout=0.2)
            return True
        except queue.Full:
            continue
    return False


def _scan_segment(
    tables: TableGateway, source: str, selection: Selection, segment: int, pages: Pages, stop: threading.Event
) -> None:
    """One segment's pages into the queue, then None; an error is handed over for the consumer to raise."""
    try:
        for page in tables.scan(
            source,
            segment=segment,
            total_segments=max(1, selection.segments),
            filter_expression=selection.filter_expression,
            names=selection.names,
            values=selection.values,
        ):
            if page.items and not _put(pages, stop, page.items):
                return
    except BaseException as error:  # handed to the consumer, which raises it
        _put(pages, stop, error)
    finally:
        _put(pages, stop, None)


def _drain(pages: Pages, segments: int) -> Iterator[list[Item]]:
    """The pages as they arrive, until every segment has said it is done (None); a segment's error is raised."""
    finished = 0
    while finished < segments:
        value = pages.get()
        if value is None:
            finished += 1
        elif isinstance(value, BaseException):
            raise value
        else:
            yield value
