"""The one retry policy of ours, for what botocore does not retry; never on top of what it did.

botocore's standard retry mode (aws/clients.py) resends throttled calls (ThrottlingException, LimitExceeded...),
5xx answers and lost connections on every client but the send-once ones, with its own backoff and retry quota. A loop
of ours around such a call would multiply the sends (ten of ours times nine of botocore's) and defeat the quota. So
this policy is for what no botocore mode retries:

- the send-once calls (CreateBackup, the two restores), whose clients have botocore's retries off on purpose: the
  caller looks before each resend (is the backup or the restored table there?), and the policy paces the resends;
- answers that succeed but leave work undone or not yet possible: BackupInUseException (a backup of the table is
  CREATING), UnprocessedKeys and UnprocessedItems of the batch calls, PITR not yet settable on a new table.

Every GatewayError says whether botocore already resent its call (`botocore_retried`, set by aws/errors.py from the
client's own retry configuration); `RetryPolicy.call` and `RetryPolicy.may_retry` refuse those, whatever the caller's
predicate says. One backoff formula: before retry n (n >= 1) the policy waits uniform(0, min(cap, base * 2**(n-1)))
seconds ("full jitter"), so concurrent callers spread out; `longest_wait` bounds the total.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from tablesafe.aws.errors import GatewayError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """At most `attempts` sends (the first included), with capped exponential backoff and full jitter between them.

    >>> policy = RetryPolicy(attempts=10, base=0.4, cap=10.0)
    >>> policy.call(lambda: gateway.enable_pitr(name, 35), retry_if=lambda e: e.code == "ContinuousBackupsUnavailable")
    """

    attempts: int
    base: float
    cap: float
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be >= 1, got {self.attempts}")
        if self.base <= 0 or self.cap < self.base:
            raise ValueError(f"need 0 < base <= cap, got base={self.base}, cap={self.cap}")

    def ceiling(self, attempt: int) -> float:
        """The longest pause before send `attempt` (0-based: 0 for the first send, which has none)."""
        if attempt <= 0:
            return 0.0
        return min(self.cap, self.base * 2.0 ** min(attempt - 1, 64))

    def delay(self, attempt: int) -> float:
        """The pause before send `attempt`: uniform in [0, ceiling(attempt)]."""
        ceiling = self.ceiling(attempt)
        return self.rng.uniform(0.0, ceiling) if ceiling else 0.0

    def pause(self, attempt: int) -> None:
        """Sleep the pause before send `attempt` (none before the first)."""
        if attempt > 0:
            self.sleep(self.delay(attempt))

    def tries(self) -> Iterator[int]:
        """0, 1, ..., attempts - 1, pausing before each but the first: `for attempt in policy.tries(): ...`."""
        for attempt in range(self.attempts):
            self.pause(attempt)
            yield attempt

    @property
    def longest_wait(self) -> float:
        """The most the pauses of one call can add up to."""
        return sum(self.ceiling(attempt) for attempt in range(1, self.attempts))

    @staticmethod
    def may_retry(error: GatewayError) -> bool:
        """False when botocore already resent the call for this error: sending it again is botocore's job."""
        return not error.botocore_retried

    def call(self, send: Callable[[], T], *, retry_if: Callable[[GatewayError], bool]) -> T:
        """`send()`, sent again after a pause while it raises an error `retry_if` accepts and botocore did not
        already retry; the last error is raised once the attempts are spent."""
        for attempt in self.tries():
            try:
                return send()
            except GatewayError as error:
                if attempt + 1 >= self.attempts or not self.may_retry(error) or not retry_if(error):
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover
