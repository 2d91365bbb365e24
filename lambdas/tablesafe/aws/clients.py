"""botocore clients as tablesafe configures them, and the client-side pacing that keeps calls under AWS's rates."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.config import Config

from tablesafe.constants import DEFAULT_RATE_LIMITS, ENV_RATE_LIMITS


class RateLimiter:
    """Spaces calls evenly at `rate` per second across threads (no bursts, so AWS's own bucket never empties)."""

    def __init__(
        self, rate: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be > 0, got {rate}")
        self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            start = max(self._next, now)
            self._next = start + self._interval
        if start > now:
            self._sleep(start - now)


class Pacer:
    """Makes each HTTP attempt wait its turn on its operation's rate limiter."""

    def __init__(self, rate_limits: Mapping[str, float]) -> None:
        self._limiters = {operation: RateLimiter(rate) for operation, rate in rate_limits.items()}

    def attach(self, *clients: Any) -> None:
        for client in clients:
            # before-send fires for every HTTP attempt, botocore's retries included, so retries respect the limit.
            client.meta.events.register("before-send", self._wait_turn)

    def _wait_turn(self, request: Any, **_: Any) -> None:
        target = request.headers.get("X-Amz-Target", b"")
        operation = (target.decode() if isinstance(target, bytes) else target).rpartition(".")[2]
        limiter = self._limiters.get(operation)
        if limiter is not None:
            limiter.acquire()


def client_config(
    *, max_attempts: int, max_connections: int, read_timeout: int = 30, agent: str = "tablesafe"
) -> Config:
    """botocore settings shared by every client: standard retries (max_attempts retries after the first try; 0 for
    none), a connection pool as large as the worker pool, and timeouts that turn a hung call into an error."""
    return Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts + 1},
        max_pool_connections=max_connections,
        connect_timeout=5,
        read_timeout=read_timeout,
        user_agent_extra=agent,
    )


def rate_limits_from_env(environ: Mapping[str, str] = os.environ) -> dict[str, float]:
    """AWS's documented limits, overridden by TABLESAFE_RATE_LIMITS (a JSON object of operation -> calls/s)."""
    limits = dict(DEFAULT_RATE_LIMITS)
    raw = environ.get(ENV_RATE_LIMITS, "").strip()
    if not raw:
        return limits
    try:
        overrides = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"{ENV_RATE_LIMITS}: {raw!r} is not JSON ({error})") from None
    if not isinstance(overrides, dict):
        raise ValueError(f"{ENV_RATE_LIMITS}: {raw!r} must be a JSON object of operation -> calls per second")
    for operation, rate in overrides.items():
        if isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0:
            raise ValueError(f"{ENV_RATE_LIMITS}: {operation}={rate!r} must be a number > 0")
        limits[operation] = float(rate)
    return limits
