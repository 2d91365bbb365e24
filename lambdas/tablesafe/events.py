"""What the functions' invocation events share: validation errors, times, continuation counters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

MAX_CONTINUATIONS = 50  # a run hands over at most this many times, then reports what is left as failed


class EventError(ValueError):
    """The invocation event is malformed; nothing was done."""


def require_job(event: object, job: str) -> Mapping[str, object]:
    """The event as a mapping whose `job` is `job`; EventError otherwise."""
    if not isinstance(event, Mapping):
        raise EventError(f"the event must be a JSON object like {{'job': {job!r}, ...}}, got {event!r}")
    if event.get("job") != job:
        raise EventError(f"job={event.get('job')!r}: this function runs the job {job!r} only")
    return event


def parse_time(key: str, value: object) -> datetime:
    """An ISO 8601 time (Scheduler sends 2026-11-27T03:00:00Z) as an aware datetime, UTC when no offset is given."""
    example = "2026-11-27T03:00:00Z"
    if not isinstance(value, str):
        raise EventError(f"{key}={value!r}: expected an ISO 8601 time such as {example}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise EventError(f"{key}={value!r}: expected an ISO 8601 time such as {example}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_continuation(event: Mapping[str, object]) -> int:
    """How many invocations came before this one in the same run (0 for a scheduled or manual run)."""
    continuation = event.get("continuation", 0)
    if isinstance(continuation, bool) or not isinstance(continuation, int) or continuation < 0:
        raise EventError(f"continuation={continuation!r}: expected a whole number >= 0")
    return continuation
