"""The slot lease's rules: who may take it when, how a duplicate delivery waits, how it is handed on and released.

The store here keeps DynamoDB's conditional-write semantics in a dict; the clock and the sleeps are the test's, so
every expiry and every clock skew is exact. tests/integration/test_lease_table.py runs the same writes on the
stand-in.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tablesafe.config.events import EventError
from tablesafe.slots.lease import (
    HANDOFF_GRACE_SECONDS,
    SKEW_MARGIN_SECONDS,
    ClaimState,
    LeaseKey,
    LeaseRecord,
    LeaseState,
    LeaseStoreError,
    SlotLeases,
    WaitPolicy,
    parse_lease_holder,
)

KEY = LeaseKey("backup", "daily", "daily", datetime(2026, 11, 27, 3, 0, tzinfo=UTC))
RESERVE = 60.0
T0 = 1_800_000_000.0
DEFAULT_POLICY = WaitPolicy()


class Clock:
    """Wall time as one invocation sees it (two clocks apart by a skew: two hosts)."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class MemoryStore:
    """The lease table's conditions, in memory; `failing` makes every call fail as an unreachable table would."""

    def __init__(self) -> None:
        self.items: dict[str, LeaseRecord] = {}
        self.failing = False
        self.writes = 0

    def take(self, key: str, holder: str, expires_at: float, now: float, predecessor: str | None) -> LeaseRecord:
        self._check()
        current = self.items.get(key)
        if current is None or current.expires_at < now or current.holder in (holder, predecessor):
            self.items[key] = LeaseRecord(holder, expires_at)
            return LeaseRecord(holder, expires_at, taken_from="" if current is None else current.holder)
        return self.items[key]

    def update(self, key: str, holder: str, expires_at: float, state: LeaseState, now: float) -> bool:
        self._check()
        current = self.items.get(key)
        if current is None or current.holder != holder:
            return False
        self.items[key] = LeaseRecord(holder, expires_at, state)
        return True

    def _check(self) -> None:
        self.writes += 1
        if self.failing:
            raise LeaseStoreError("PutItem on the lease table: ThrottlingException: rate exceeded")


def leases(store: MemoryStore, clock: Clock, name: str, sleep=None, policy: WaitPolicy = DEFAULT_POLICY) -> SlotLeases:
    def advance(seconds: float) -> None:
        clock.now += seconds

    return SlotLeases(store, clock=clock, sleep=sleep or advance, new_holder=lambda: name, policy=policy)


def seconds(value: float):
    return lambda: value


def test_the_first_delivery_takes_the_lease_until_its_deadline_plus_the_skew_margin():
    store, clock = MemoryStore(), Clock()

    claim = leases(store, clock, "a").claim(KEY, predecessor=None, time_left=seconds(840.0), reserve=RESERVE)

    assert (claim.state, claim.holder, claim.waited) == (ClaimState.HELD, "a", False)
    assert store.items[str(KEY)] == LeaseRecord("a", T0 + 840.0 + SKEW_MARGIN_SECONDS)
    assert str(KEY) == "backup#daily#daily#20261127T0300Z"


def test_a_holder_without_a_deadline_holds_for_lambdas_longest_invocation():
    store, clock = MemoryStore(), Clock()

    leases(store, clock, "a").claim(KEY, predecessor=None, time_left=seconds(float("inf")), reserve=RESERVE)

    assert store.items[str(KEY)].expires_at == T0 + 900.0 + SKEW_MARGIN_SECONDS


def test_a_second_delivery_waits_until_the_holder_releases_then_takes_the_lease():
    store, clock = MemoryStore(), Clock()
    holder = leases(store, clock, "a")
    held = holder.claim(KEY, predecessor=None, time_left=seconds(840.0), reserve=RESERVE)
    pauses: list[float] = []

    def holder_finishes_during_the_third_pause(pause: float) -> None:
        pauses.append(pause)
        clock.now += pause
        if len(pauses) == 3:
            assert holder.release(held) is None

    claim = leases(store, clock, "b", holder_finishes_during_the_third_pause).claim(
        KEY, predecessor=None, time_left=seconds(840.0), reserve=RESERVE
    )

    assert (claim.state, claim.holder, claim.waited) == (ClaimState.HELD, "b", True)
    assert pauses == [1.0, 2.0, 4.0]  # polls double from 1 s
    assert claim.waited_seconds == 7.0


def test_a_killed_holder_blocks_the_slot_until_its_deadline_and_not_a_moment_longer():
    store, clock = MemoryStore(), Clock()
    leases(store, clock, "a").claim(KEY, predecessor=None, time_left=seconds(100.0), reserve=RESERVE)
    deadline = T0 + 100.0
    # "a" is killed at its deadline and never releases. Lambda's retry of its event comes a minute later.
    clock.now = deadline + 60.0

    claim = leases(store, clock, "retry").claim(KEY, predecessor=None, time_left=seconds(900.0), reserve=RESERVE)

    assert (claim.state, claim.waited) == (ClaimState.HELD, False)


def test_a_delivery_that_comes_before_the_killed_holders_expiry_waits_for_it_then_takes_it():
    store, clock = MemoryStore(), Clock()
    leases(store, clock, "a").claim(KEY, predecessor=None, time_left=seconds(100.0), reserve=RESERVE)
    clock.now = T0 + 50.0  # "a" died early (out of memory); its lease runs to its deadline plus the margin
    pauses: list[float] = []

    def wait(pause: float) -> None:
        pauses.append(pause)
        clock.now += pause

    claim = leases(store, clock, "b", wait, WaitPolicy(max_poll=15.0)).claim(
        KEY, predecessor=None, time_left=seconds(900.0), reserve=RESERVE
    )

    assert claim.state is ClaimState.HELD and claim.waited
    assert clock.now >= T0 + 100.0 + SKEW_MARGIN_SECONDS  # never before the expiry...
    assert clock.now - (T0 + 100.0 + SKEW_MARGIN_SECONDS) < 1.0  # ...and polled right at it
    assert max(pauses) == 15.0


def test_a_taker_whose_clock_runs_ahead_by_less_than_the_margin_cannot_take_before_the_holders_deadline():
    store, holder_clock = MemoryStore(), Clock()
    leases(store, holder_clock, "a").claim(KEY, predecessor=None, time_left=seconds(100.0), reserve=RESERVE)
    skew = SKEW_MARGIN_SECONDS - 1.0
    taker_clock = Clock(T0 + 100.0 + skew)  # the holder's deadline on the holder's clock, seen from a clock ahead

    claim = leases(store, taker_clock, "b", sleep=lambda _: None, policy=WaitPolicy(min_work_seconds=1e9)).claim(
        KEY, predecessor=None, time_left=seconds(900.0), reserve=RESERVE
    )

    assert (claim.state, claim.holder) == (ClaimState.BUSY, "a")


def test_a_delivery_without_time_to_wait_hands_the_wait_on_and_names_the_holder():
    store, clock = MemoryStore(), Clock()
    leases(store, clock, "a").claim(KEY, predecessor=None, time_left=seconds(840.0), reserve=RESERVE)
    slept: list[float] = []

    claim = leases(store, clock, "b", slept.append).claim(
        KEY, predecessor=None, time_left=seconds(RESERVE + 60.0), reserve=RESERVE
    )

    assert (claim.state, claim.holder, claim.waited) == (ClaimState.BUSY, "a", True)
    assert slept == []
    assert store.items[str(KEY)].holder == "a"


def test_a_continuation_inherits_the_lease_from_the_invocation_that_handed_it_on():
    store, clock = MemoryStore(), Clock()
    first = leases(store, clock, "a")
    held = first.claim(KEY, predecessor=None, time_left=seconds(840.0), reserve=RESERVE)
    assert first.hand_off(held, seconds(55.0)) is None
    assert store.items[str(KEY)] == LeaseRecord(
        "a", T0 + 55.0 + SKEW_MARGIN_SECONDS + HANDOFF_GRACE_SECONDS, LeaseState.HANDED_OVER
    )
    clock.now += 56.0

    claim = leases(store, clock, "c1").claim(KEY, predecessor="a", time_left=seconds(900.0), reserve=RESERVE)

    assert (claim.state, claim.waited) == (ClaimState.HELD, False)
    assert store.items[str(KEY)].holder == "c1"


def test_a_second_delivery_of_the_same_continuation_event_does_not_share_the_lease():
    store, clock = MemoryStore(), Clock()
    leases(store, clock, "a").claim(KEY, predecessor=None, time_left=seconds(840.0), reserve=RESERVE)
    leases(store, clock, "c1").claim(KEY, predecessor="a", time_left=seconds(900.0), reserve=RESERVE)

    twin = leases(store, clock, "c1-twin", sleep=lambda _: None).claim(
        KEY, predecessor="a", time_left=seconds(RESERVE + 60.0), reserve=RESERVE
    )

    assert (twin.state, twin.holder) == (ClaimState.BUSY, "c1")


def test_a_continuation_that_starts_after_its_lease_lapsed_and_was_taken_waits_for_the_new_holder():
    store, clock = MemoryStore(), Clock()
    first = leases(store, clock, "a")
    first.hand_off(first.claim(KEY, predecessor=None, time_left=seconds(840.0), reserve=RESERVE), seconds(55.0))
    clock.now += 55.0 + SKEW_MARGIN_SECONDS + HANDOFF_GRACE_SECONDS + 1.0  # the continuation sat in Lambda's queue
    other = leases(store, clock, "b")
    taken = other.claim(KEY, predecessor=None, time_left=seconds(840.0), reserve=RESERVE)
    assert taken.state is ClaimState.HELD

    def other_finishes(pause: float) -> None:
        clock.now += pause
        other.release(taken)

    late = leases(store, clock, "c1", other_finishes).claim(
        KEY, predecessor="a", time_left=seconds(900.0), reserve=RESERVE
    )

    assert (late.state, late.waited) == (ClaimState.HELD, True)


def test_an_unreachable_store_lets_the_run_go_on_without_a_lease_and_says_so():
    store, clock = MemoryStore(), Clock()
    store.failing = True

    claim = leases(store, clock, "a").claim(KEY, predecessor=None, time_left=seconds(840.0), reserve=RESERVE)

    assert claim.state is ClaimState.UNAVAILABLE and "ThrottlingException" in claim.error
    assert leases(store, clock, "a").release(claim) is None  # nothing to release, no second error


def test_a_store_that_fails_while_another_run_holds_the_lease_keeps_the_wait_until_that_lease_lapses():
    store, clock = MemoryStore(), Clock()
    leases(store, clock, "a").claim(KEY, predecessor=None, time_left=seconds(100.0), reserve=RESERVE)
    expiry = store.items[str(KEY)].expires_at
    seen: list[float] = []

    def store_goes_down(pause: float) -> None:
        clock.now += pause
        store.failing = True
        seen.append(clock.now)

    claim = leases(store, clock, "b", store_goes_down).claim(
        KEY, predecessor=None, time_left=seconds(900.0), reserve=RESERVE
    )

    assert claim.state is ClaimState.UNAVAILABLE and claim.waited
    assert clock.now >= expiry  # it never went on without a lease while the other run's lease could hold


def test_hand_off_and_release_report_a_lease_another_run_took_meanwhile():
    store, clock = MemoryStore(), Clock()
    first = leases(store, clock, "a")
    held = first.claim(KEY, predecessor=None, time_left=seconds(10.0), reserve=RESERVE)
    clock.now += 10.0 + SKEW_MARGIN_SECONDS + 1.0  # a clock that jumped: the lease lapsed under its holder
    leases(store, clock, "b").claim(KEY, predecessor=None, time_left=seconds(840.0), reserve=RESERVE)

    assert "another run took it" in (first.release(held) or "")
    assert "another run took it" in (first.hand_off(held, seconds(50.0)) or "")
    assert store.items[str(KEY)].holder == "b"


def test_a_release_the_store_refuses_is_reported_and_the_lease_lapses_at_its_expiry():
    store, clock = MemoryStore(), Clock()
    first = leases(store, clock, "a")
    held = first.claim(KEY, predecessor=None, time_left=seconds(840.0), reserve=RESERVE)
    store.failing = True

    problem = first.release(held)

    assert problem is not None and "released" in problem and "ThrottlingException" in problem


@pytest.mark.parametrize("holder", ["", "a" * 65, "has space", 7, ["x"]])
def test_a_lease_holder_in_an_event_must_be_an_id(holder):
    with pytest.raises(EventError, match="leaseHolder"):
        parse_lease_holder({"leaseHolder": holder})


def test_an_event_without_a_lease_holder_has_none():
    assert parse_lease_holder({}) is None
    assert parse_lease_holder({"leaseHolder": "0f3a9c"}) == "0f3a9c"


def test_only_a_continuation_that_takes_the_lease_straight_from_its_predecessor_inherits_it():
    # Inherited: nothing ran on the slot since the hand-off, so the continuation may trust the cursor it carries.
    store, clock = MemoryStore(), Clock()
    first = leases(store, clock, "a")
    assert not first.claim(KEY, predecessor=None, time_left=seconds(840.0), reserve=RESERVE).inherited
    first.hand_off(first.claim(KEY, predecessor=None, time_left=seconds(840.0), reserve=RESERVE), seconds(55.0))

    continuation = leases(store, clock, "c1").claim(KEY, predecessor="a", time_left=seconds(900.0), reserve=RESERVE)
    assert continuation.inherited

    # Lambda retries the same continuation event: its first attempt holds the slot now, so the retry is not inherited.
    clock.now += 900.0 + SKEW_MARGIN_SECONDS + 1.0
    retry = leases(store, clock, "c1-retry").claim(KEY, predecessor="a", time_left=seconds(900.0), reserve=RESERVE)
    assert (retry.state, retry.inherited) == (ClaimState.HELD, False)


def test_a_continuation_whose_lease_another_run_took_meanwhile_is_not_inherited():
    store, clock = MemoryStore(), Clock()
    first = leases(store, clock, "a")
    first.hand_off(first.claim(KEY, predecessor=None, time_left=seconds(840.0), reserve=RESERVE), seconds(55.0))
    clock.now += 55.0 + SKEW_MARGIN_SECONDS + HANDOFF_GRACE_SECONDS + 1.0
    other = leases(store, clock, "redelivery")
    other.release(other.claim(KEY, predecessor=None, time_left=seconds(900.0), reserve=RESERVE))

    late = leases(store, clock, "c1").claim(KEY, predecessor="a", time_left=seconds(900.0), reserve=RESERVE)

    assert (late.state, late.inherited) == (ClaimState.HELD, False)
