"""A parallel Scan: every segment read by a thread of its own, pages handed over as they arrive."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from tablesafe.aws.tables import Item, TableGateway
from tablesafe_cli.copy_report import Selection


def parallel_scan(tables: TableGateway, source: str, selection: Selection) -> Iterator[list[Item]]:
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
    try:
        yield from _drain(pages, segments)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)


def _drain(pages: queue.Queue[list[Item] | BaseException | None], segments: int) -> Iterator[list[Item]]:
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
