"""The benchmark's AWS: the project's stand-in, with a control API to seed it fast and read what happened.

The stand-in normally runs in a process of its own (as AWS does: in the benchmark's process it would share the GIL
with the client, and the client's CPU time could not be told apart from the server's). `Cloud` is the control API;
`remote_cloud()` serves it from a child process over a pipe, `Cloud(standin)` drives an in-process stand-in (the
smoke test). Seeding goes straight to moto's backend and the fidelity layer, so 20,000 tables or 40,000 aged
backups take seconds and no API call is counted.
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

from tests.standin import StandIn

KEY_SCHEMA = [{"AttributeName": "pk", "KeyType": "HASH"}]
ATTRIBUTES = [{"AttributeName": "pk", "AttributeType": "S"}]


class Cloud:
    """Seeding, configuration and read-outs of one stand-in (region us-east-1, moto's default account)."""

    def __init__(self, standin: StandIn) -> None:
        self.standin = standin

    def endpoint(self) -> str:
        return self.standin.endpoint_url

    def env(self) -> dict[str, str]:
        """What points boto3 at the stand-in (endpoint, fake credentials, region)."""
        return self.standin.env()

    def reset(self) -> None:
        """Wipe tables, backups, faults, rate limits and counters."""
        self.standin.reset()

    def configure(self, *, latency_ms: float, rate_scale: float | None) -> dict[str, float]:
        """Latency on every call; AWS's documented rate limits times `rate_scale` (None: no limits)."""
        self.standin.faults.clear()
        if latency_ms:
            self.standin.faults.set_all(latency_ms=latency_ms)
        if rate_scale is None:
            return {}
        return self.standin.faults.rate_limits(aws_documented=True, scale=rate_scale)

    def create_tables(self, tables: Sequence[tuple[str, dict[str, str]]]) -> None:
        """On-demand tables with the given tags, written straight into moto's backend."""
        fidelity = self.standin.fidelity
        with fidelity.lock:
            backend = fidelity.backend(self.standin.account_id, self.standin.region)
            for name, tags in tables:
                backend.create_table(
                    name,
                    schema=KEY_SCHEMA,
                    throughput=None,
                    attr=ATTRIBUTES,
                    global_indexes=None,
                    indexes=None,
                    streams=None,
                    billing_mode="PAY_PER_REQUEST",
                    sse_specification=None,
                    tags=[{"Key": k, "Value": v} for k, v in tags.items()],
                    deletion_protection_enabled=None,
                    warm_throughput=None,
                )

    def seed_backups(self, backups: Sequence[tuple[str, str, datetime]]) -> list[str]:
        """AVAILABLE USER backups (table, name, created), as if made days ago; returns their ARNs in order."""
        return [self.standin.add_foreign_backup(table, name, "USER", created) for table, name, created in backups]

    def reset_calls(self) -> None:
        self.standin.calls.reset()

    def calls(self) -> dict[str, dict[str, int]]:
        """Operation -> outcome -> calls since the last reset."""
        return self.standin.calls.snapshot()

    def live_backups(self) -> list[tuple[str, str, str]]:
        """(table, backup name, ARN) of every backup not deleted."""
        with self.standin.fidelity.lock:
            state = self.standin.fidelity.state(self.standin.account_id, self.standin.region)
            return [(r.table_name, r.name, r.arn) for r in state.records.values() if not r.deleted]

    def backups_named(self, name: str) -> Counter[str]:
        """Per table, how many live backups carry `name`."""
        return Counter(table for table, backup_name, _ in self.live_backups() if backup_name == name)

    def internal_errors(self) -> list[str]:
        return self.standin.internal_errors

    def cpu_seconds(self) -> float:
        """CPU time of the process serving the stand-in (a remote one: the stand-in's own)."""
        return time.process_time()


class RemoteCloud:
    """Cloud's methods, called in the child process that runs the stand-in."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)

        def call(*args: Any, **kwargs: Any) -> Any:
            self._connection.send((method, args, kwargs))
            ok, value = self._connection.recv()
            if not ok:
                raise RuntimeError(f"stand-in control {method} failed:\n{value}")
            return value

        return call


def _serve(connection: Connection) -> None:
    """Child process: run the stand-in and answer control calls until told to stop (None)."""
    with StandIn.running() as standin:
        cloud = Cloud(standin)
        connection.send((True, cloud.endpoint()))
        while True:
            message = connection.recv()
            if message is None:
                return
            method, args, kwargs = message
            try:
                connection.send((True, getattr(cloud, method)(*args, **kwargs)))
            except Exception:
                connection.send((False, traceback.format_exc()))


@contextmanager
def remote_cloud() -> Iterator[Cloud]:
    """A stand-in in a child process, controlled through a Cloud-like proxy."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve, args=(child,), name="tablesafe-bench-standin", daemon=True)
    process.start()
    try:
        if not parent.poll(120):
            raise RuntimeError("the stand-in process did not start within 120 s")
        ok, endpoint = parent.recv()
        if not ok:
            raise RuntimeError(f"the stand-in process failed to start: {endpoint}")
        yield RemoteCloud(parent)  # type: ignore[misc]  # duck-typed: every Cloud method, called remotely
    finally:
        with suppress(OSError):  # the child may be gone already
            parent.send(None)
        process.join(timeout=15)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)
