"""botocore clients as tablesafe configures them, and the client-side pacing that keeps calls under AWS's rates.

The gateways receive their clients (STYLE.md, principle 3); the factories at the end build them for the functions'
cold start and the CLI, and tests build them on the stand-in or wrap them in a botocore Stubber.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from tablesafe.constants import DEFAULT_RATE_LIMITS, ENV_RATE_LIMITS

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_resourcegroupstaggingapi import ResourceGroupsTaggingAPIClient


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


# -- the clients each gateway receives, built for the functions and the CLI ------------------------------------------


@dataclass(frozen=True)
class BackupClients:
    """What DynamoDbGateway calls: DynamoDB with retries, DynamoDB sending CreateBackup once, the tagging API."""

    dynamodb: DynamoDBClient
    create: DynamoDBClient  # botocore's retries off: a resend after a lost answer could make a second backup
    tagging: ResourceGroupsTaggingAPIClient
    # The other deployed regions' DynamoDB (region -> client), for their table names only (ListTables).
    others: Mapping[str, DynamoDBClient] = field(default_factory=dict)


@dataclass(frozen=True)
class TableClients:
    """What TableGateway calls: DynamoDB with retries, DynamoDB sending the restores once, application auto scaling."""

    dynamodb: DynamoDBClient
    restore: DynamoDBClient  # botocore's retries off: restore.py decides what a lost answer means
    scaling: ApplicationAutoScalingClient


def backup_clients(
    session: boto3.Session | None = None,
    *,
    region_name: str | None = None,
    rate_limits: Mapping[str, float] = DEFAULT_RATE_LIMITS,
    max_attempts: int = 8,
    max_connections: int = 32,
    other_regions: Iterable[str] = (),
) -> BackupClients:
    """The backup and prune functions' clients, paced at `rate_limits` (the Lambda's region unless one is named),
    and a DynamoDB client for each of `other_regions` but the own (the other deployed regions' table names)."""
    session = session or boto3.Session()
    retrying = client_config(max_attempts=max_attempts, max_connections=max_connections)
    once = client_config(max_attempts=0, max_connections=max_connections)
    dynamodb = session.client("dynamodb", config=retrying, region_name=region_name)
    own = dynamodb.meta.region_name
    listing = client_config(max_attempts=max_attempts, max_connections=2, agent="tablesafe-replicas")
    clients = BackupClients(
        dynamodb=dynamodb,
        create=session.client("dynamodb", config=once, region_name=region_name),
        tagging=session.client("resourcegroupstaggingapi", config=retrying, region_name=region_name),
        others={
            r: session.client("dynamodb", config=listing, region_name=r) for r in sorted(set(other_regions) - {own})
        },
    )
    Pacer(rate_limits).attach(clients.dynamodb, clients.create, clients.tagging)
    return clients


def table_clients(
    session: boto3.Session | None = None,
    *,
    region_name: str | None = None,
    rate_limits: Mapping[str, float] = DEFAULT_RATE_LIMITS,
    max_attempts: int = 8,
    max_connections: int = 64,
) -> TableClients:
    """The CLI's clients for restores and copies: longer read timeouts, a pool as large as the copy's workers."""
    session = session or boto3.Session()
    config = client_config(
        max_attempts=max_attempts, max_connections=max_connections, read_timeout=60, agent="tablesafe-cli"
    )
    once = client_config(max_attempts=0, max_connections=4, read_timeout=60, agent="tablesafe-cli")
    clients = TableClients(
        dynamodb=session.client("dynamodb", config=config, region_name=region_name),
        restore=session.client("dynamodb", config=once, region_name=region_name),
        scaling=session.client("application-autoscaling", config=config, region_name=region_name),
    )
    Pacer(rate_limits).attach(clients.dynamodb, clients.restore, clients.scaling)
    return clients


def lease_client(session: boto3.Session | None = None, *, region_name: str | None = None) -> DynamoDBClient:
    """The slot lease table's client: a few connections (an invocation writes its lease a handful of times), and
    standard retries, as for every idempotent call (the lease writes' conditions make them idempotent)."""
    config = client_config(max_attempts=8, max_connections=4, read_timeout=10, agent="tablesafe-lease")
    client: DynamoDBClient = (session or boto3.Session()).client("dynamodb", config=config, region_name=region_name)
    return client


def continuation_client(session: boto3.Session | None = None, *, region_name: str | None = None) -> LambdaClient:
    """The client a function invokes its own continuation with (aws/continuation.py): one connection, a short read
    timeout (an asynchronous Invoke answers once the event is queued), and standard retries. A resend after a lost
    answer may queue the event twice; Lambda may deliver an asynchronous event twice anyway ("Invoking a Lambda
    function asynchronously", AWS Lambda Developer Guide), so every job already takes a second delivery in its
    stride (the backup's slot lease, the prune's deletes that find a backup already gone)."""
    config = client_config(max_attempts=3, max_connections=1, read_timeout=10, agent="tablesafe-continuation")
    client: LambdaClient = (session or boto3.Session()).client("lambda", config=config, region_name=region_name)
    return client
