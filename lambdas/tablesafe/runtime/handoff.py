"""The continuation hand-off: a run with work left starts its next invocation, or says why it cannot.

One policy for every job (backup and prune call it): at most MAX_CONTINUATIONS hand-offs; an invocation that made
no progress does not hand the same work on and on; a continuation that could not be started is a reason, never a
silent drop. The caller reports the work it could not hand on as failed, in its own words.

This module imports nothing of the use cases (only the event's limit), so the use cases may call it: it is the
runtime's policy for continuing, and the Lambda-invoke gateway that carries it out is aws/continuation.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tablesafe.config.events import MAX_CONTINUATIONS

ContinueRun = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class NotHandedOn:
    """Why the work left could not go to a continuation."""

    reason: str
    invoke_failed: bool = False  # the continuation was asked for and could not be started

    def detail(self, out_of_time_note: str = "") -> str:
        """The words for each piece of work left over: a failed start as it was, else 'ran out of time (...)'."""
        if self.invoke_failed:
            return self.reason
        return f"ran out of time ({self.reason}){out_of_time_note}"


def hand_on(
    continue_run: ContinueRun | None,
    event: dict[str, Any],
    *,
    continuation: int,
    progressed: bool = True,
    idle_reason: str = "the invocation had no time to start any work (timeout below the reserve?)",
    before_invoking: Callable[[], None] = lambda: None,
) -> NotHandedOn | None:
    """Start the continuation with `event` (invocation number `continuation` + 1 is in it); None when it started.

    `progressed` False (this invocation did nothing) refuses with `idle_reason`; `before_invoking` runs just before
    the invoke (the backup extends its slot lease there, so the continuation finds it handed on).
    """
    if continue_run is None:
        return NotHandedOn("no continuation available")
    if not progressed:
        return NotHandedOn(idle_reason)
    if continuation >= MAX_CONTINUATIONS:
        return NotHandedOn("continuation limit reached")
    before_invoking()
    try:
        continue_run(event)
    except Exception as error:  # the work it should have taken over must not vanish silently
        return NotHandedOn(f"could not start a continuation: {error}", invoke_failed=True)
    return None
