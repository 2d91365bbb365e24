"""Call counters per operation and outcome, read by tests and benchmarks."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict

# What happened to a call, from the client's side:
OK = "ok"  # the service answered with success
REJECTED = "rejected"  # the emulated service itself answered with an error (e.g. BackupInUseException)
THROTTLED = "throttled"  # injected throttle: no effect
RATE_LIMITED = "rate_limited"  # over the operation's token bucket: ThrottlingException, no effect
ERROR = "error"  # injected 5xx: no effect
LOST = "lost"  # took effect, then the answer was lost (5xx or dropped connection)
OUTCOMES = (OK, REJECTED, THROTTLED, RATE_LIMITED, ERROR, LOST)


class Calls:
    """Thread-safe tallies: calls per operation and outcome, error codes seen, unprocessed items injected."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outcomes: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._codes: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._unprocessed: Counter[str] = Counter()

    def record(self, operation: str, outcome: str, code: str | None = None) -> None:
        """Count one call of `operation` that ended in `outcome` (and the error code the client saw)."""
        with self._lock:
            self._outcomes[operation][outcome] += 1
            if code:
                self._codes[operation][code] += 1

    def record_unprocessed(self, operation: str, items: int) -> None:
        """Count items a batch call handed back as unprocessed by injection."""
        with self._lock:
            self._unprocessed[operation] += items

    def count(self, operation: str | None = None, outcome: str | None = None) -> int:
        """Calls of one operation (or all), in one outcome (or any)."""
        if outcome is not None and outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; expected one of {OUTCOMES}")
        with self._lock:
            counters = [self._outcomes.get(operation, Counter())] if operation else list(self._outcomes.values())
            return sum(c[outcome] if outcome else sum(c.values()) for c in counters)

    def codes(self, operation: str | None = None) -> dict[str, int]:
        """Error codes clients received (injected or not), for one operation or all."""
        with self._lock:
            total: Counter[str] = Counter()
            for op, counter in self._codes.items():
                if operation is None or op == operation:
                    total.update(counter)
            return dict(total)

    def unprocessed_items(self, operation: str = "BatchWriteItem") -> int:
        """Items handed back as UnprocessedItems by injection."""
        with self._lock:
            return self._unprocessed[operation]

    def snapshot(self) -> dict[str, dict[str, int]]:
        """A copy: operation -> outcome -> count."""
        with self._lock:
            return {op: dict(counter) for op, counter in self._outcomes.items() if counter}

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self._outcomes.clear()
            self._codes.clear()
            self._unprocessed.clear()
