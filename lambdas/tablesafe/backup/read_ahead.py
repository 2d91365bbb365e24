"""Discovery's pages read ahead on a thread of their own, so that discovery runs at its own rate beside the backups.

Pulled only as the worker pass needs tables, discovery would go at the backups' pace (one page of 100 per two
seconds at CreateBackup's 50/s), and an invocation out of time would then read every page left, one after another,
before it could hand the rest on: at 150,000 tables, over 1,000 pages, longer than the 60 s reserve. Read ahead at
GetResources' 15/s, discovery is done within the first minutes of any run, and the hand-off finds the tables left
already known.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_END = object()


def read_ahead(pages: Iterator[T], *, name: str = "discovery") -> Iterator[T]:
    """The same items in the same order, produced on a daemon thread as fast as `pages` gives them. An exception of
    `pages` is raised where it happened, after the items before it."""
    found: queue.SimpleQueue[object] = queue.SimpleQueue()

    def produce() -> None:
        try:
            for page in pages:
                found.put(page)
        except Exception as error:  # handed to the consumer, which raises it in its own thread
            found.put(_Raised(error))
        finally:  # whatever ends the thread, the consumer is never left waiting for a page that will not come
            found.put(_END)

    threading.Thread(target=produce, name=f"{name}-read-ahead", daemon=True).start()
    return _consume(found)


class _Raised:
    def __init__(self, error: Exception) -> None:
        self.error = error


def _consume(found: queue.SimpleQueue[object]) -> Iterator[T]:
    while True:
        item = found.get()
        if item is _END:
            return
        if isinstance(item, _Raised):
            raise item.error
        yield item  # type: ignore[misc]
