"""What a drill checks of a restored table: its shape, its item count within a read budget, the user's validator.

The shape is compared with what DescribeBackup recorded: the key schema, the secondary indexes (name, keys,
projection) and the encryption. DescribeBackup records no AttributeDefinitions, so the restored table's must define
exactly the attributes those keys name (what DynamoDB requires of any table). The count is exact: a parallel Scan
with Select=COUNT, eventually consistent, paced so the scan consumes at most `read_units` read units a second; one
cut short by the invocation's end is saved and goes on in the next invocation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from tablesafe.aws.drill_records import SegmentProgress
from tablesafe.aws.drills import CountPage, DrillTable, RecordedBackup, ValidatorAnswer, ValidatorTimedOut
from tablesafe.aws.errors import GatewayError

COUNT_SEGMENTS = 4  # parallel Scan segments: enough to reach the read budget on a large table from one function
PAGE_LIMIT = 10_000  # items a page at most (a page also ends at 1 MB): keeps each page's units, and pacing, small


class CountGateway(Protocol):
    def count_page(self, table: str, segment: int, segments: int, start_key: Any, limit: int) -> CountPage: ...


class ValidatorGateway(Protocol):
    def invoke_validator(self, function: str, payload: Mapping[str, Any]) -> ValidatorAnswer: ...


def shape_problems(table: DrillTable, recorded: RecordedBackup) -> list[str]:
    """Where the restored table differs from what the backup recorded; empty when it matches."""
    expected, got = recorded.shape, table.shape
    problems = []
    if got.key_schema != expected.key_schema:
        problems.append(f"key schema {list(got.key_schema)} != recorded {list(expected.key_schema)}")
    if table.attribute_names != expected.key_attributes():
        problems.append(
            f"attribute definitions {sorted(table.attribute_names)}"
            f" != the key attributes {sorted(expected.key_attributes())}"
        )
    if got.local_indexes != expected.local_indexes:
        problems.append(
            f"local secondary indexes {_names(got.local_indexes)} != recorded {_names(expected.local_indexes)}"
        )
    if got.global_indexes != expected.global_indexes:
        problems.append(
            f"global secondary indexes {_names(got.global_indexes)} != recorded {_names(expected.global_indexes)}"
        )
    if got.sse != expected.sse:
        problems.append(f"encryption {got.sse} != recorded {expected.sse}")
    return problems


def _names(indexes: tuple[Any, ...]) -> list[str]:
    return [f"{i.name}{list(i.key_schema)}:{i.projection[0]}" for i in indexes]


def within_tolerance(expected: int, counted: int, tolerance_percent: float) -> bool:
    """|counted - expected| <= tolerance% of expected. A recorded 0 compares nothing (ItemCount lags by hours)."""
    if expected == 0:
        return True
    return abs(counted - expected) <= expected * tolerance_percent / 100


class UnitBudget:
    """Spaces scan pages so that, across threads, at most `rate` read units are consumed per second."""

    def __init__(
        self, rate: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        if rate <= 0:
            raise ValueError(f"read budget must be > 0 units/s, got {rate}")
        self._rate = rate
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def spend(self, units: float) -> None:
        """Account for a page's units; wait until the budget allows the next page."""
        with self._lock:
            now = self._clock()
            self._next = max(self._next, now) + units / self._rate
            pause = self._next - now
        if pause > 0:
            self._sleep(pause)


@dataclass(frozen=True)
class Count:
    """An exact count, or as far as it got before the deadline (`segments`: where to go on from)."""

    items: int
    complete: bool
    read_units: float
    seconds: float
    segments: tuple[SegmentProgress, ...] = ()


def count_items(
    gateway: CountGateway,
    table: str,
    *,
    budget: UnitBudget,
    time_left: Callable[[], float],
    clock: Callable[[], float] = time.monotonic,
    segments: int = COUNT_SEGMENTS,
    resume: Sequence[SegmentProgress] | None = None,
    page_limit: int = PAGE_LIMIT,
) -> Count:
    """Count every item of `table`, going on from `resume` (an earlier count's segments, if it had as many); stops,
    incomplete, when `time_left()` reaches 0."""
    started = clock()
    stop = threading.Event()
    begin = list(resume) if resume is not None and len(resume) == segments else [SegmentProgress()] * segments

    def segment(number: int) -> SegmentProgress:
        progress = begin[number]
        items, units, start = progress.items, progress.units, progress.start_key
        if progress.done:
            return progress
        while not stop.is_set():
            if time_left() <= 0:
                stop.set()
                break
            page = gateway.count_page(table, number, segments, start, page_limit)
            items += page.count
            units += page.consumed_units
            if not page.last_key:
                return SegmentProgress(items, units, None, done=True)
            start = page.last_key
            budget.spend(page.consumed_units)
        return SegmentProgress(items, units, start, done=False)

    with ThreadPoolExecutor(max_workers=segments, thread_name_prefix="drill-count") as pool:
        parts = tuple(pool.map(segment, range(segments)))
    return Count(
        items=sum(p.items for p in parts),
        complete=all(p.done for p in parts),
        read_units=sum(p.units for p in parts),
        seconds=clock() - started,
        segments=parts,
    )


def run_validator(gateway: ValidatorGateway, function: str, payload: Mapping[str, Any], timeout: int) -> str | None:
    """The user's verdict: None when it passed, else why not (its error, its reason, or no answer in time).

    The validator answers {"passed": true} or {"passed": false, "reason": "..."}; anything else fails the drill.
    """
    try:
        answer = gateway.invoke_validator(function, payload)
    except ValidatorTimedOut:
        return f"validator {function} did not answer within {timeout} s"
    except GatewayError as error:
        return f"validator {function} could not be invoked: {error.code}: {error.message}"
    if answer.function_error is not None:
        message = answer.payload.get("errorMessage", "") if isinstance(answer.payload, dict) else answer.payload
        return f"validator {function} raised ({answer.function_error}): {message}"
    body = answer.payload
    if not isinstance(body, dict) or not isinstance(body.get("passed"), bool):
        return f'validator {function} answered {body!r}; expected {{"passed": true|false, "reason": "..."}}'
    if body["passed"]:
        return None
    return f"validator {function} failed the drill: {body.get('reason', 'no reason given')}"
