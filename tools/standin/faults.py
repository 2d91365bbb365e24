"""Fault injection per operation: throttles, 5xx, lost answers, latency, unprocessed batch items, rate limits.

Every random draw comes from a generator seeded with (seed, operation, tables the call names), so the faults one
table meets in one operation repeat run after run, whatever other tables and threads do meanwhile.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from tablesafe.constants import DEFAULT_RATE_LIMITS

DEFAULT_SEED = 20240229
LOST_MODES = ("500", "503", "drop")
_ALL = "*"
TableNames = Callable[[], set[str]]  # the tables a call names, computed only when a rule is scoped to tables


@dataclass(frozen=True)
class FaultRule:
    """What to inject into calls of one operation (probabilities are per call)."""

    throttle: float = 0.0  # throttling error, call has no effect
    throttle_as: str | None = None  # error code; None: the service's own (DynamoDB ThrottlingException)
    server_error: float = 0.0  # HTTP 500, call has no effect
    lost: float = 0.0  # call takes effect, then the answer is lost
    lost_as: str = "mixed"  # "500" | "503" | "drop" (connection closed) | "mixed" (any of the three)
    latency_ms: float = 0.0  # added to every call
    unprocessed: float = 0.0  # BatchWriteItem: chance per item to come back in UnprocessedItems, unwritten
    tables: frozenset[str] | None = None  # only calls naming one of these tables
    limit: int | None = None  # inject at most this many faults, then let calls through

    def __post_init__(self) -> None:
        for name in ("throttle", "server_error", "lost", "unprocessed"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}={value!r}: a probability must be between 0 and 1")
        if self.latency_ms < 0:
            raise ValueError(f"latency_ms={self.latency_ms!r}: must not be negative")
        if self.lost_as != "mixed" and self.lost_as not in LOST_MODES:
            raise ValueError(f"lost_as={self.lost_as!r}: expected one of {(*LOST_MODES, 'mixed')}")
        if self.limit is not None and self.limit < 0:
            raise ValueError(f"limit={self.limit!r}: must not be negative")


@dataclass
class _Bucket:
    rate: float  # tokens per second
    burst: float  # capacity
    tokens: float
    stamp: float


class Faults:
    """Runtime-configurable faults and rate limits, shared by every request thread.

    Example:
        faults.set("CreateBackup", throttle=0.1, server_error=0.02, lost=0.02, latency_ms=20)
        faults.set("DeleteBackup", throttle=1.0, throttle_as="LimitExceededException", limit=2)
        faults.set_all(latency_ms=5)               # every operation without a rule of its own
        faults.rate_limits(aws_documented=True)    # AWS's documented control-plane rates
        faults.clear()
    """

    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self._rules: dict[str, FaultRule] = {}
        self._injected: Counter[str] = Counter()
        self._rngs: dict[str, random.Random] = {}
        self._limits: dict[str, tuple[float, float]] = {}  # operation -> (rate, burst)
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}  # (account, region, operation) -> its bucket
        self._active = False

    # -- configuration -------------------------------------------------------------------------------------------

    def set(self, operation: str, *, tables: Iterable[str] | None = None, **settings: object) -> FaultRule:
        """Replace `operation`'s rule (see FaultRule for the settings); returns the rule."""
        rule = FaultRule(tables=frozenset(tables) if tables is not None else None, **settings)  # type: ignore[arg-type]
        with self._lock:
            self._rules[operation] = rule
            self._injected.pop(operation, None)
            self._refresh()
        return rule

    def set_all(self, *, tables: Iterable[str] | None = None, **settings: object) -> FaultRule:
        """The rule for every operation that has none of its own (its `limit` is shared by them)."""
        return self.set(_ALL, tables=tables, **settings)

    def rule(self, operation: str) -> FaultRule | None:
        """The rule that applies to `operation`, if any."""
        with self._lock:
            return self._rules.get(operation) or self._rules.get(_ALL)

    def rate_limit(self, operation: str, per_second: float, burst: float | None = None) -> None:
        """A token bucket for `operation` per region: `per_second` refill, `burst` capacity (default 1 s worth)."""
        if per_second <= 0:
            raise ValueError(f"{operation}: per_second={per_second!r} must be positive")
        capacity = burst if burst is not None else max(1.0, per_second)
        if capacity < 1:
            raise ValueError(f"{operation}: burst={burst!r} must be at least 1")
        with self._lock:
            self._limits[operation] = (per_second, capacity)
            self._buckets = {key: b for key, b in self._buckets.items() if key[2] != operation}
            self._refresh()

    def rate_limits(
        self,
        aws_documented: bool = True,
        scale: float = 1.0,
        limits: Mapping[str, float] | None = None,
        burst_seconds: float = 1.0,
    ) -> dict[str, float]:
        """Turn on token buckets: AWS's documented rates (constants.DEFAULT_RATE_LIMITS) and/or `limits`, times
        `scale`, each holding `burst_seconds` worth of calls. Replaces earlier limits; returns the rates set."""
        rates = dict(DEFAULT_RATE_LIMITS) if aws_documented else {}
        rates.update(limits or {})
        with self._lock:
            self._limits.clear()
            self._buckets.clear()
        for operation, rate in rates.items():
            per_second = rate * scale
            self.rate_limit(operation, per_second, burst=max(1.0, per_second * burst_seconds))
        return {operation: rate * scale for operation, rate in rates.items()}

    def clear(self, operation: str | None = None) -> None:
        """Remove one operation's rule, or every rule and rate limit."""
        with self._lock:
            if operation is None:
                self._rules.clear()
                self._injected.clear()
                self._limits.clear()
                self._buckets.clear()
            else:
                self._rules.pop(operation, None)
                self._injected.pop(operation, None)
            self._refresh()

    def seed(self, seed: int) -> None:
        """Restart every operation's random sequence from `seed`."""
        with self._lock:
            self._seed = seed
            self._rngs.clear()

    def _refresh(self) -> None:
        self._active = bool(self._rules or self._limits)

    # -- decisions, called by the middleware -----------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Whether anything at all is configured (lets the middleware skip the rest)."""
        return self._active

    def latency(self, operation: str) -> float:
        """Seconds to sleep before handling a call."""
        rule = self.rule(operation)
        return rule.latency_ms / 1000.0 if rule else 0.0

    def before(self, operation: str, region: str, tables: TableNames, account: str = "") -> str | None:
        """Decide a fault that prevents the call: "rate_limited", "throttled", "error" or None. Rate limits count
        each account and region apart: AWS's are per account and Region ("You can call ListTagsOfResource up to 10
        times per second, per account", API_ListTagsOfResource; "Each quota applies on a per-Region basis",
        ServiceQuotas in the DynamoDB developer guide)."""
        with self._lock:
            if operation in self._limits and not self._take(account, region, operation):
                return "rate_limited"
            rule, key = self._applicable(operation, tables)
            if rule is None:
                return None
            rng = self._rng(operation, tables)
            if rule.throttle and rng.random() < rule.throttle:
                self._injected[key] += 1
                return "throttled"
            if rule.server_error and rng.random() < rule.server_error:
                self._injected[key] += 1
                return "error"
            return None

    def after(self, operation: str, tables: TableNames) -> str | None:
        """Decide whether the answer of a call that took effect is lost: "500", "503", "drop" or None."""
        with self._lock:
            rule, key = self._applicable(operation, tables)
            if rule is None or not rule.lost:
                return None
            rng = self._rng(operation, tables)
            if rng.random() >= rule.lost:
                return None
            self._injected[key] += 1
            return rng.choice(LOST_MODES) if rule.lost_as == "mixed" else rule.lost_as

    def unprocessed(self, operation: str, tables: TableNames, count: int) -> list[bool]:
        """For each of `count` batch items, whether to hand it back unprocessed."""
        with self._lock:
            rule, key = self._applicable(operation, tables)
            if rule is None or not rule.unprocessed:
                return [False] * count
            rng = self._rng(operation, tables)
            picks = [rng.random() < rule.unprocessed for _ in range(count)]
            if any(picks):
                self._injected[key] += 1
            return picks

    def _applicable(self, operation: str, tables: TableNames) -> tuple[FaultRule | None, str]:
        key = operation if operation in self._rules else _ALL
        rule = self._rules.get(key)
        if rule is None:
            return None, key
        if rule.limit is not None and self._injected[key] >= rule.limit:
            return None, key
        if rule.tables is not None and not (rule.tables & tables()):
            return None, key
        return rule, key

    def _rng(self, operation: str, tables: TableNames) -> random.Random:
        stream = f"{self._seed}:{operation}:{','.join(sorted(tables()))}"
        rng = self._rngs.get(stream)
        if rng is None:
            rng = self._rngs[stream] = random.Random(stream)
        return rng

    def _take(self, account: str, region: str, operation: str) -> bool:
        rate, burst = self._limits[operation]
        now = time.monotonic()
        bucket = self._buckets.get((account, region, operation))
        if bucket is None:
            bucket = self._buckets[(account, region, operation)] = _Bucket(rate, burst, burst, now)
        bucket.tokens = min(bucket.burst, bucket.tokens + (now - bucket.stamp) * bucket.rate)
        bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return True
        return False


__all__ = ["DEFAULT_SEED", "LOST_MODES", "FaultRule", "Faults"]
