"""The slot lease: at most one run works on a (job, plan, rule, slot) at a time, whatever AWS delivers twice.

EventBridge Scheduler delivers at least once, Lambda may run an asynchronous event more than once, and an operator
may re-run a slot while its scheduled run is working. Each invocation takes the slot's lease with a conditional
write before it lists the slot; a second delivery sees the lease held and waits (polling, then handing its wait on
to a continuation when its own time runs short) until the holder releases it or it expires, and then takes it and
verifies the slot: its listing, taken only then, shows everything the holder made. A continuation inherits the
lease: its event names the invocation that handed it on, and the write lets that name (or an expired lease) through.

The lease expires by itself at the holder's deadline plus a margin for clock skew: a holder cannot outlive its
invocation (Lambda ends it at its timeout), so an expired lease is never still worked on, and a killed holder blocks
the slot at most until its deadline. Lambda retries a failed asynchronous invocation after a minute or more (the
"Error handling" page of the asynchronous-invocation guide); the margin is shorter, so the retry of a killed
holder's event finds the lease free. The job is part of the key, so exports and drills can lease their slots the
same way. The store behind it is a protocol; `lease_table.py` is the DynamoDB one.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from tablesafe.config.events import EventError
from tablesafe.observability import logger

MAX_INVOCATION_SECONDS = 900.0  # Lambda's longest timeout: a holder without a known deadline gets this much
# Added to each expiry: the next holder's clock may run ahead of this one's. Lambda hosts keep time with the Amazon
# Time Sync Service (well under a second); 30 s leaves room and stays below Lambda's one-minute retry delay.
SKEW_MARGIN_SECONDS = 30.0
# How long a handed-on lease waits for its continuation to start. AWS documents no delay for an asynchronous
# invocation's queue; a continuation that starts later still takes the lease if no one else did, and otherwise
# waits for the other run and verifies the slot.
HANDOFF_GRACE_SECONDS = 300.0
RECORD_KEPT_SECONDS = 7 * 86400  # a record's TTL: a week after it expires, for whoever investigates a slot
HOLDER_PATTERN = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def parse_lease_holder(event: Mapping[str, object]) -> str | None:
    """The `leaseHolder` a continuation event carries (the invocation that handed the lease on), or None."""
    holder = event.get("leaseHolder")
    if holder is None:
        return None
    if not isinstance(holder, str) or not HOLDER_PATTERN.match(holder):
        raise EventError(f"leaseHolder={holder!r}: expected the id a continuation carries (1-64 letters, digits, '-')")
    return holder


class LeaseState(StrEnum):
    """What a lease record says its holder is doing."""

    HELD = "held"
    HANDED_OVER = "handed-over"  # waiting for the holder's continuation
    RELEASED = "released"  # the run ended: free, with expiry 0


@dataclass(frozen=True)
class LeaseKey:
    """Which job's slot a lease is for; plans and rules are names of [A-Za-z0-9_-], so '#' cannot be in them."""

    job: str
    plan: str
    rule: str
    slot: datetime

    def __str__(self) -> str:
        return f"{self.job}#{self.plan}#{self.rule}#{self.slot:%Y%m%dT%H%MZ}"


@dataclass(frozen=True)
class LeaseRecord:
    """The lease as the store holds it."""

    holder: str
    expires_at: float  # epoch seconds, the holder's clock
    state: LeaseState = LeaseState.HELD
    taken_from: str = ""  # after a take: the holder the record named just before it ("" when free or not known)


class LeaseStoreError(Exception):
    """The store could not answer (throttled, unreachable, missing, denied) after its client's retries."""


class LeaseStore(Protocol):
    """Conditional writes on one record per key."""

    def take(self, key: str, holder: str, expires_at: float, now: float, predecessor: str | None) -> LeaseRecord:
        """Write `holder` if the lease is free, expired at `now`, already ours, or held by `predecessor`; returns
        the record as it stands afterwards (ours when taken, the other holder's when not)."""
        ...

    def update(self, key: str, holder: str, expires_at: float, state: LeaseState, now: float) -> bool:
        """Set expiry and state if `holder` still holds the lease; False when another holder has it."""
        ...


class ClaimState(StrEnum):
    """How an invocation stands with its slot's lease."""

    HELD = "held"  # this invocation holds it
    BUSY = "busy"  # another run still holds it and this invocation has no time left to wait
    UNAVAILABLE = "unavailable"  # the store did not answer: the run goes on without a lease


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a lease."""

    key: str
    state: ClaimState
    holder: str  # ours when HELD or UNAVAILABLE; the other run's when BUSY
    waited: bool = False  # another run held the lease when this invocation came: a duplicate delivery
    waited_seconds: float = 0.0
    expires_at: float = 0.0
    error: str = ""
    # Taken straight from the predecessor its event names: no other run held the slot since the hand-off, so
    # nothing the predecessor handed on can have been done meanwhile (a retried or second delivery of the same
    # continuation finds another holder there, its first attempt's, and is not inherited).
    inherited: bool = False


@dataclass(frozen=True)
class WaitPolicy:
    """How a duplicate delivery waits: polls from `first_poll` s, doubling up to `max_poll` s, and takes the lease
    only while at least `min_work_seconds` are left above the run's reserve (or it could start no table)."""

    first_poll: float = 1.0
    max_poll: float = 15.0
    min_work_seconds: float = 60.0


class SlotLeases:
    """Claims, hands on and releases slot leases; one instance per execution environment."""

    def __init__(
        self,
        store: LeaseStore,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        new_holder: Callable[[], str] = lambda: uuid.uuid4().hex,
        policy: WaitPolicy = WaitPolicy(),  # frozen: one default shared safely
    ) -> None:
        self._store = store
        self._clock = clock
        self._sleep = sleep
        self._new_holder = new_holder
        self._policy = policy

    def claim(self, key: LeaseKey, *, predecessor: str | None, time_left: Callable[[], float], reserve: float) -> Claim:
        """Take the lease, waiting while another run holds it and this invocation has time to wait."""
        me, name = self._new_holder(), str(key)
        started = self._clock()
        poll, other = self._policy.first_poll, None
        while True:
            now = self._clock()
            try:
                record = self._store.take(name, me, self._expiry(now, time_left()), now, predecessor)
            except LeaseStoreError as error:
                if other is None or now >= other.expires_at:
                    logger.error("slot lease unavailable; the run goes on without it", lease=name, error=str(error))
                    return Claim(name, ClaimState.UNAVAILABLE, me, other is not None, now - started, error=str(error))
                record = other  # the other run's lease still holds as last seen: keep waiting for it
            if record.holder == me:
                inherited = predecessor is not None and record.taken_from == predecessor and other is None
                return Claim(
                    name, ClaimState.HELD, me, other is not None, now - started, record.expires_at, inherited=inherited
                )
            if other is None:
                logger.warning(
                    "slot is being worked on by another run; waiting for it",
                    lease=name,
                    holder=record.holder,
                    expires_at=record.expires_at,
                )
            other = record
            # Poll no later than the expiry, so a lease that lapses is taken as soon as it may be.
            pause = max(0.1, min(poll, record.expires_at - now))
            if time_left() - pause < reserve + self._policy.min_work_seconds:
                return Claim(name, ClaimState.BUSY, record.holder, True, now - started, record.expires_at)
            self._sleep(pause)
            poll = min(poll * 2, self._policy.max_poll)

    def hand_off(self, claim: Claim, time_left: Callable[[], float]) -> str | None:
        """Keep the lease for the continuation about to be invoked; returns what went wrong, if anything."""
        now = self._clock()
        until = now + max(0.0, min(time_left(), MAX_INVOCATION_SECONDS)) + SKEW_MARGIN_SECONDS + HANDOFF_GRACE_SECONDS
        return self._update(claim, until, LeaseState.HANDED_OVER, now)

    def release(self, claim: Claim) -> str | None:
        """Free the lease at the end of the run, so a waiting delivery verifies the slot now; returns a problem."""
        return self._update(claim, 0.0, LeaseState.RELEASED, self._clock())

    def _update(self, claim: Claim, until: float, state: LeaseState, now: float) -> str | None:
        if claim.state is not ClaimState.HELD:
            return None
        try:
            still_ours = self._store.update(claim.key, claim.holder, until, state, now)
        except LeaseStoreError as error:
            # It lapses at its expiry instead: waiting deliveries wait that long, nothing is done twice.
            logger.error("slot lease could not be updated", lease=claim.key, state=state.value, error=str(error))
            return f"lease {claim.key}: could not mark it {state.value}: {error}"
        if still_ours:
            return None
        # By design impossible (the lease outlasts the invocation); a clock that jumped could do it.
        logger.error("slot lease was taken by another run while this one held it", lease=claim.key)
        return f"lease {claim.key}: another run took it before this one marked it {state.value}"

    @staticmethod
    def _expiry(now: float, time_left: float) -> float:
        left = time_left if math.isfinite(time_left) else MAX_INVOCATION_SECONDS
        return now + max(0.0, min(left, MAX_INVOCATION_SECONDS)) + SKEW_MARGIN_SECONDS
