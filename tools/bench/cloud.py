"""The benchmark's AWS: the project's stand-in, with a control API to seed it fast and read what happened.

The stand-in normally runs in a process of its own (as AWS does: in the benchmark's process it would share the GIL
with the client, and the client's CPU time could not be told apart from the server's). `Cloud` is the control API;
`remote_cloud()` serves it from a child process over a pipe, `Cloud(standin)` drives an in-process stand-in (the
smoke test). Seeding goes straight to moto's backend and the fidelity layer, so 20,000 tables or 40,000 aged
backups take seconds and no API call is counted.
"""

from __future__ import annotations

import bisect
import json
import logging
import multiprocessing
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

from moto.dynamodb.models.table import Backup as MotoBackup
from moto.iam.models import iam_backends

from tools.standin import StandIn
from tools.standin.fidelity import (
    GET_RESOURCES_MAX,
    BackupRecord,
    Fidelity,
    _decode_token,
    _encode_token,
    _tags_match,
)

KEY_SCHEMA = [{"AttributeName": "pk", "KeyType": "HASH"}]
ATTRIBUTES = [{"AttributeName": "pk", "AttributeType": "S"}]


class TagIndex:
    """GetResources for the stand-in from a sorted index of the tagged tables, built once per scenario.

    The stand-in answers each GetResources page by scanning every table of the region (about 85 ms a page at
    20,000 tables, 17 s for one discovery: six times slower than GetResources' own limit at x5, and it holds the
    stand-in's lock meanwhile). The answers here are the same, page for page, token for token; tables and tags do
    not change while a scenario runs, and the index is dropped whenever the bench creates tables or resets.
    Calls the index does not cover (ARN lists, other resource types, bad parameters) go to the stand-in's own code.
    """

    def __init__(self, fidelity: Fidelity) -> None:
        self.fidelity = fidelity
        self.original: Callable[[str, str, dict[str, Any]], dict[str, Any] | None] = fidelity.get_resources
        self._rows: dict[tuple[str, str, str, int], tuple[list[str], list[dict[str, Any]]]] = {}

    def install(self) -> None:
        self.fidelity._handlers["GetResources"] = self.answer  # the handler table the stand-in dispatches on

    def uninstall(self) -> None:
        """Give GetResources back to the stand-in (a shared stand-in must not keep answering from a stale index)."""
        self.fidelity._handlers["GetResources"] = self.original

    def clear(self) -> None:
        self._rows.clear()

    def answer(self, account: str, region: str, body: dict[str, Any]) -> dict[str, Any] | None:
        per_page = body.get("ResourcesPerPage", GET_RESOURCES_MAX)
        plain = (
            body.get("ResourceTypeFilters") in (["dynamodb:table"], ["dynamodb"])
            and not body.get("ResourceARNList")
            and body.get("TagsPerPage") is None
            and isinstance(per_page, int)
            and 1 <= per_page <= GET_RESOURCES_MAX
            and len(body.get("TagFilters") or []) <= 50
            and all(len(f.get("Values") or []) <= 20 for f in body.get("TagFilters") or [])
        )
        if not plain:
            return self.original(account, region, body)
        tables = self.fidelity.backend(account, region).tables
        key = (account, region, json.dumps(body.get("TagFilters") or [], sort_keys=True), len(tables))
        if key not in self._rows:
            rows = []
            for table in list(tables.values()):
                tags = {tag["Key"]: tag["Value"] for tag in table.tags or []}
                if tags and _tags_match(tags, body.get("TagFilters") or []):
                    rows.append((table.table_arn, tags))
            rows.sort()
            self._rows[key] = (
                [arn for arn, _ in rows],
                [{"ResourceARN": arn, "Tags": [{"Key": k, "Value": v} for k, v in t.items()]} for arn, t in rows],
            )
        arns, mappings = self._rows[key]
        after = _decode_token(body.get("PaginationToken") or "")
        start = bisect.bisect_right(arns, after) if after else 0
        page = mappings[start : start + per_page]
        more = start + per_page < len(arns)
        return {
            "ResourceTagMappingList": page,
            "PaginationToken": _encode_token(arns[start + per_page - 1]) if more else "",
        }


class Cloud:
    """Seeding, configuration and read-outs of one stand-in (region us-east-1, moto's default account)."""

    def __init__(self, standin: StandIn, index_tags: bool = True) -> None:
        self.standin = standin
        self.tag_index = TagIndex(standin.fidelity)
        if index_tags:
            self.tag_index.install()

    def endpoint(self) -> str:
        return self.standin.endpoint_url

    def region(self) -> str:
        """The stand-in's own region (the bench's single-region scenarios run there)."""
        return self.standin.region

    def env(self) -> dict[str, str]:
        """What points boto3 at the stand-in (endpoint, fake credentials, region)."""
        return self.standin.env()

    def reset(self) -> None:
        """Wipe tables, backups, faults, rate limits and counters."""
        self.standin.reset()
        self.tag_index.clear()

    def configure(self, *, latency_ms: float, rate_scale: float | None) -> dict[str, float]:
        """Latency on every call; AWS's documented rate limits times `rate_scale` (None: no limits)."""
        self.standin.faults.clear()
        if latency_ms:
            self.standin.faults.set_all(latency_ms=latency_ms)
        if rate_scale is None:
            return {}
        return self.standin.faults.rate_limits(aws_documented=True, scale=rate_scale)

    def create_tables(
        self, tables: Sequence[tuple[str, dict[str, str]]], region: str | None = None, account: str | None = None
    ) -> None:
        """On-demand tables with the given tags, written straight into moto's backend (of `region` and `account`, or
        the stand-in's own)."""
        fidelity = self.standin.fidelity
        self.tag_index.clear()
        with fidelity.lock:
            backend = fidelity.backend(account or self.standin.account_id, region or self.standin.region)
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

    def set_global_tables(self, tables: Sequence[str], regions: list[str]) -> None:
        """Each of `tables` (existing in every one of `regions`) a global table with a replica in each."""
        for table in tables:
            self.standin.set_global_table(table, regions)

    def enable_pitr(self, tables: Sequence[str], region: str | None = None, account: str | None = None) -> None:
        """Point-in-time recovery on for each of `tables` (moto's backend, as UpdateContinuousBackups would)."""
        fidelity = self.standin.fidelity
        with fidelity.lock:
            backend = fidelity.backend(account or self.standin.account_id, region or self.standin.region)
            for table in tables:
                backend.update_continuous_backups(table, {"PointInTimeRecoveryEnabled": True})

    def set_replicas(
        self, tables: Sequence[str], regions: list[str], region: str | None = None, account: str | None = None
    ) -> None:
        """Each of `tables` a global table whose DescribeTable (in `region` only) lists replicas in `regions`."""
        for table in tables:
            self.standin.fidelity.set_replicas(
                account or self.standin.account_id, region or self.standin.region, table, regions
            )

    def create_role(self, account: str, role_name: str, trusted_account: str) -> str:
        """A role in `account` that `trusted_account` may assume (the member accounts' read-only role); its ARN."""
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{trusted_account}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        role = iam_backends[account]["aws"].create_role(role_name, json.dumps(trust), "/", None, "", [], None)
        return str(role.arn)

    def seed_listed_backups(
        self, backups: Sequence[tuple[str, str, datetime]], region: str | None = None, account: str | None = None
    ) -> int:
        """AVAILABLE USER backups (table, name, created) for listings: ListBackups and status see them as any other.

        seed_backups deep-copies the table for every backup (moto's Backup does), too slow and too large for the
        hundreds of thousands a status scenario lists; here one copy of each table stands for all its backups (what
        DescribeBackup or a restore of one would read). ARNs are formed as AWS's (the table's ARN, /backup/, the
        creation time in milliseconds and a suffix). Seeded oldest first, each lands at the end of the stand-in's
        sorted listing. Returns how many were added."""
        fidelity = self.standin.fidelity
        account, region = account or self.standin.account_id, region or self.standin.region
        copies: dict[str, MotoBackup] = {}
        with fidelity.lock:
            backend, state = fidelity.backend(account, region), fidelity.state(account, region)
            for number, (table_name, name, created) in enumerate(sorted(backups, key=lambda b: (b[2], b[0]))):
                table = backend.tables[table_name]
                if table_name not in copies:
                    copies[table_name] = MotoBackup(account, region, name, table, type_="USER")
                millis = int(created.timestamp() * 1000)
                arn = f"{table.table_arn}/backup/{millis:014d}-{number:08x}"
                state.add(
                    BackupRecord(
                        arn=arn,
                        name=name,
                        table_name=table_name,
                        table_arn=table.table_arn,
                        table_id=fidelity.table_id(account, region, table),
                        backup_type="USER",
                        created=created,
                        ready_at=0.0,
                        size_bytes=0,
                        item_count=0,
                        moto=copies[table_name],
                    )
                )
        return len(backups)

    def seed_backups(self, backups: Sequence[tuple[str, str, datetime]]) -> list[str]:
        """AVAILABLE USER backups (table, name, created), as if made days ago; returns their ARNs in order."""
        return [self.standin.add_foreign_backup(table, name, "USER", created) for table, name, created in backups]

    def reset_calls(self) -> None:
        self.standin.calls.reset()

    def calls(self) -> dict[str, dict[str, int]]:
        """Operation -> outcome -> calls since the last reset."""
        return self.standin.calls.snapshot()

    def live_backups(self, region: str | None = None) -> list[tuple[str, str, str]]:
        """(table, backup name, ARN) of every backup not deleted (in `region`, or the stand-in's own)."""
        with self.standin.fidelity.lock:
            state = self.standin.fidelity.state(self.standin.account_id, region or self.standin.region)
            return [(r.table_name, r.name, r.arn) for r in state.records.values() if not r.deleted]

    def backups_named(self, name: str, region: str | None = None) -> Counter[str]:
        """Per table, how many live backups carry `name`."""
        return Counter(table for table, backup_name, _ in self.live_backups(region) if backup_name == name)

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


class _IdleTimeouts(logging.Filter):
    """werkzeug logs each keep-alive connection a client leaves idle for 30 s (a gateway of an earlier scenario);
    that is no error here, and hundreds of such lines would bury the figures."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Request timed out" not in record.getMessage()


def _serve(connection: Connection) -> None:
    """Child process: run the stand-in and answer control calls until told to stop (None)."""
    logging.getLogger("werkzeug").addFilter(_IdleTimeouts())
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
