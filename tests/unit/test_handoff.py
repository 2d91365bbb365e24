"""The one continuation hand-off policy that backup and prune share."""

from __future__ import annotations

from tablesafe.config.events import MAX_CONTINUATIONS
from tablesafe.runtime.handoff import hand_on


def test_a_continuation_starts_with_the_event_after_the_lease_is_extended():
    calls: list[object] = []
    refused = hand_on(calls.append, {"job": "backup"}, continuation=3, before_invoking=lambda: calls.append("extended"))
    assert refused is None
    assert calls == ["extended", {"job": "backup"}]


def test_without_a_way_to_continue_the_work_left_is_out_of_time():
    refused = hand_on(None, {}, continuation=0)
    assert refused is not None
    assert refused.detail() == "ran out of time (no continuation available)"


def test_an_invocation_that_did_nothing_does_not_hand_the_same_work_on():
    calls: list[object] = []
    refused = hand_on(calls.append, {}, continuation=0, progressed=False, idle_reason="no time to start any table")
    assert calls == []
    assert (
        refused is not None and refused.detail("; next run") == "ran out of time (no time to start any table); next run"
    )


def test_the_continuation_limit_stops_the_chain():
    calls: list[object] = []
    refused = hand_on(calls.append, {}, continuation=MAX_CONTINUATIONS)
    assert calls == []
    assert refused is not None and refused.reason == "continuation limit reached"
    assert hand_on(calls.append, {}, continuation=MAX_CONTINUATIONS - 1) is None


def test_a_continuation_that_cannot_start_is_named_not_dropped():
    def broken(event: object) -> None:
        raise RuntimeError("TooManyRequestsException")

    refused = hand_on(broken, {}, continuation=0)
    assert refused is not None and refused.invoke_failed
    assert refused.detail("; ignored for a failed start") == "could not start a continuation: TooManyRequestsException"
