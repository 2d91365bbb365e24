"""Restore drills run in-process on the stand-in: a world of tables and backups, its clock, a fake validator.

The validator is a loopback HTTP server answering Lambda's Invoke wire protocol (POST
/2015-03-31/functions/<name>/invocations; X-Amz-Function-Error on an error), so the real gateway and botocore
client talk to it, timeouts included: moto runs no Lambda code without Docker.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
from botocore.config import Config

from tablesafe.aws.clients import backup_clients
from tablesafe.aws.drill_records import DrillRecords
from tablesafe.aws.drills import DrillGateway
from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.config.plans import parse_plans
from tablesafe.constants import DEFAULT_RATE_LIMITS
from tablesafe.drill.report import DrillReport
from tablesafe.drill.run import DrillDeps, DrillSettings, run_drills
from tablesafe.runtime.drill_wiring import NO_WAIT
from tests.lease_support import LEASE_TABLE, create_lease_table, slot_leases
from tools.standin import StandIn
from tools.standin.support import create_table, fill

START = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
VALIDATOR_ARN = "arn:aws:lambda:us-east-1:123456789012:function:check-orders"
FAST = {operation: 2000.0 for operation in DEFAULT_RATE_LIMITS}


def plans(**drill: Any) -> dict[str, Any]:
    """One plan `daily` whose tables are drilled with `drill` (everyDays 7 unless given)."""
    drill.setdefault("everyDays", 7)
    return {
        "daily": {
            "rules": [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}],
            "drill": drill,
        }
    }


@dataclass
class Clock:
    """The drill's clock: set and moved by the test."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **span: float) -> None:
        self.now += timedelta(**span)


class FakeValidator:
    """A Lambda Invoke endpoint on loopback: answers `answer` (a JSON value), or an error, or after `delay` s."""

    def __init__(self) -> None:
        self.answer: Any = {"passed": True}
        self.error: str | None = None
        self.delay = 0.0
        self.calls: list[dict[str, Any]] = []
        validator = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                validator.calls.append({"path": self.path, "event": json.loads(body or b"null")})
                if validator.delay:
                    time.sleep(validator.delay)
                payload = json.dumps(
                    {"errorMessage": validator.error, "errorType": "Exception"} if validator.error else validator.answer
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if validator.error:
                    self.send_header("X-Amz-Function-Error", "Unhandled")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with suppress(OSError):  # the client gave up (a timeout test)
                    self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def fake_validator() -> Iterator[FakeValidator]:
    validator = FakeValidator()
    try:
        yield validator
    finally:
        validator.stop()


@dataclass
class World:
    """Tables, backups and the drill's gateways on the stand-in."""

    standin: StandIn
    plans_json: dict[str, Any] = field(default_factory=plans)
    clock: Clock = field(default_factory=Clock)
    validator: FakeValidator | None = None
    validator_timeout: int = 5
    read_units: float = 100_000.0
    page_limit: int = 10_000
    default_plan: str | None = None  # tablesafe:defaultPlan

    def __post_init__(self) -> None:
        self.ddb = self.standin.client("dynamodb")
        create_lease_table(self.ddb)
        self._discovery = DynamoDbGateway(backup_clients(rate_limits=FAST))
        self._deps: DrillDeps | None = None

    def table(self, name: str, items: int = 20, plan: str = "daily") -> str:
        create_table(self.ddb, name, {"backup-plan": plan})
        if items:
            fill(self.ddb, name, items)
        return name

    def backup(self, table: str, slot: datetime | None = None) -> str:
        """A scheduled tablesafe backup of `table`, AVAILABLE, named for `slot` (default: a day before START)."""
        when = slot or START - timedelta(days=1)
        name = f"tablesafe.daily.daily.{when:%Y%m%dT%H%MZ}"
        arn = str(self.ddb.create_backup(TableName=table, BackupName=name)["BackupDetails"]["BackupArn"])
        self.standin.complete_backups()
        self.standin.set_backup_created(arn, when)
        return arn

    def gateway(self) -> DrillGateway:
        retrying = Config(retries={"mode": "standard"})
        once = Config(retries={"total_max_attempts": 1})
        invoke = Config(retries={"total_max_attempts": 1}, read_timeout=self.validator_timeout, connect_timeout=2)
        lambda_ = self.standin.client("lambda", config=invoke)
        if self.validator is not None:
            lambda_ = boto3.session.Session(
                aws_access_key_id="testing", aws_secret_access_key="testing", region_name=self.standin.region
            ).client("lambda", endpoint_url=self.validator.endpoint_url, config=invoke)
        return DrillGateway(
            dynamodb=self.standin.client("dynamodb", config=retrying),
            restore=self.standin.client("dynamodb", config=once),
            lambda_=lambda_,
        )

    def records(self) -> DrillRecords:
        return DrillRecords(LEASE_TABLE, client=self.ddb)

    def deps(self, *, leases: bool = True) -> DrillDeps:
        """The gateways, built once (a test that changes the validator sets it before the first run)."""
        if self._deps is None:
            self._deps = DrillDeps(
                discovery=self._discovery,
                drills=self.gateway(),
                records=self.records(),
                leases=slot_leases(policy=NO_WAIT),
            )
        return self._deps if leases else replace(self._deps, leases=None)

    def settings(self) -> DrillSettings:
        return DrillSettings(
            tag_key="backup-plan",
            backup_name_prefix="tablesafe",
            plans=parse_plans(self.plans_json),
            read_units=self.read_units,
            time_reserve_seconds=5,
            default_plan=self.default_plan,
        )

    def run(self, *, time_left: float | Callable[[], float] = 600.0, leases: bool = True) -> DrillReport:
        """One drill invocation at the clock's time; `time_left` in seconds (above the 5 s reserve), or a callable."""
        left = time_left if callable(time_left) else (lambda: float(time_left))  # type: ignore[misc]
        return run_drills(
            self.deps(leases=leases),
            self.settings(),
            now=self.clock,
            time_left=lambda: left() + 5,
            page_limit=self.page_limit,
        )

    def drill_tables(self) -> list[str]:
        return sorted(n for n in self.ddb.list_tables()["TableNames"] if n.startswith("tablesafe-drill-"))

    def tags(self, table: str) -> dict[str, str]:
        arn = self.ddb.describe_table(TableName=table)["Table"]["TableArn"]
        return {t["Key"]: t["Value"] for t in self.ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]}
