"""What the functions' invocation events share: validation errors, times, continuation counters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

MAX_CONTINUATIONS = 50  # a run hands over at most this many times, then reports what is left as failed
# How far a run's time may be ahead of the function's clock. EventBridge Scheduler sends the time it was due, never a
# later one; the tolerance absorbs the clocks of two services and an operator who types the coming minute. A backup is
# at most this much younger than its retention when a run this early deletes it (docs/operations.md).
FUTURE_TOLERANCE = timedelta(minutes=5)
# How late a genuine first invocation can start: Scheduler retries for up to 24 h (infra/schedules.py), then Lambda
# keeps an asynchronous event for up to 6 h more (infra/functions.py, maximum event age).
LATE_DELIVERY = timedelta(hours=30)
# How much later each continuation can start than its predecessor: that invocation's 900 s, then up to 6 h in
# Lambda's asynchronous queue.
HANDOVER_DELAY = timedelta(hours=6, minutes=15)


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


def check_run_time(
    key: str, moment: datetime, clock: datetime, *, longest_retention: timedelta, continuation: int = 0
) -> None:
    """Refuse a run time no genuine event carries: ahead of `clock`, or older than the longest retention allows.

    A deleting job decides "expired" against this time, so a mistyped year would delete backups within their
    retention. A continuation carries its run's original time and starts later than the run did, so the check
    against its own clock still holds; the lower bound allows for the age its hand-overs may have added.
    """
    latest = clock + FUTURE_TOLERANCE
    if moment > latest:
        raise EventError(
            f"{key}={_iso(moment)} is later than the function's clock ({_iso(clock)}) plus {_minutes(FUTURE_TOLERANCE)}"
            ": a run dated in the future would take backups within their retention for expired; nothing was listed or"
            f" deleted (leave {key} out to run as of now)"
        )
    oldest = clock - longest_retention - LATE_DELIVERY - continuation * HANDOVER_DELAY
    if moment < oldest:
        raise EventError(
            f"{key}={_iso(moment)} is older than the longest retention ({longest_retention.days} days) allows"
            f" (earliest accepted: {_iso(oldest)}); nothing was listed or deleted (leave {key} out to run as of now)"
        )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _minutes(span: timedelta) -> str:
    return f"{int(span.total_seconds() // 60)} minutes"
