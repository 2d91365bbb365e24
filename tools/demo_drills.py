"""The demo's restore drills: the drill use case over the simulated days, on the stand-in, one failure planted.

The drill function decides "due" and times restores by its own clock, and the Lambda runner runs it on the real
one, on which the simulated days pass in seconds. So the demo runs the drill use case in-process (run_drills, the
same gateways on the stand-in) with the simulated time as its clock, every 15 minutes from 06:00 to 07:45 each day
(as `rate(15 minutes)` would, but only in that window, to keep the demo short): a run starts the due drills and
the next one verifies them and deletes their tables. The plans are the template's, each given a `drill`; the
end-to-end test runs the deployed drill function itself (tests/e2e/test_drill_e2e.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from tablesafe.aws.clients import backup_clients
from tablesafe.aws.drill_records import DrillRecords
from tablesafe.aws.drills import DrillGateway
from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.config.drill import Drill
from tablesafe.config.plans import Plan
from tablesafe.drill.report import DrillReport, Verdict
from tablesafe.drill.run import DrillDeps, DrillSettings, run_drills
from tablesafe.observability import logger
from tools.standin.server import StandIn

DRILL_TIMES = tuple(timedelta(hours=6, minutes=15 * n) for n in range(8))  # 06:00 to 07:45
DRILLS = {"daily": Drill(every_days=2), "gfs": Drill(every_days=2)}
PLANTED_TABLE = "events"
PLANTED_MISSING = 100  # of 400: beyond the default 10% tolerance
FAST = {"ListBackups": 1000.0, "GetResources": 1000.0}


@dataclass
class DrillDay:
    """What the drills did on one simulated day."""

    started: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)


@dataclass
class DemoDrills:
    """Runs the drills at the simulated times and keeps what a reader needs."""

    standin: StandIn
    plans: Mapping[str, Plan]
    prefix: str
    tag_key: str
    lease_table: str
    planted_day: int = 1
    planted: str | None = None  # the planted failure, as the drill reported it
    problems: list[str] = field(default_factory=list)
    passed: int = 0

    def __post_init__(self) -> None:
        plans = {name: replace(plan, drill=DRILLS.get(name)) for name, plan in self.plans.items()}
        self.settings = DrillSettings(self.tag_key, self.prefix, plans, read_units=100_000.0, time_reserve_seconds=5)
        ddb = self.standin.client("dynamodb")
        self._ddb = ddb
        self.deps = DrillDeps(
            discovery=_Discovery(self.standin),
            drills=DrillGateway(
                dynamodb=ddb, restore=self.standin.client("dynamodb"), lambda_=self.standin.client("lambda")
            ),
            records=DrillRecords(self.lease_table, client=ddb),
        )

    def run(self, when: datetime, day: int, note: Any) -> None:
        """One drill invocation at `when`; plants the day's failure first; notes what happened."""
        if day == self.planted_day and when.time() == (datetime.min + DRILL_TIMES[0]).time():
            self._plant()  # before the day's first drill run: the table's first drill meets it
        level = logger.log_level
        logger.setLevel(logging.CRITICAL)  # the demo prints its own account of the drills, not their JSON lines
        try:
            report = run_drills(self.deps, self.settings, now=lambda: when, time_left=lambda: 600.0)
        finally:
            logger.setLevel(level)
        self._account(report, when, note)

    def _plant(self) -> None:
        arns = [b["BackupArn"] for b in self._ddb.list_backups(TableName=PLANTED_TABLE)["BackupSummaries"]]
        for arn in arns:  # whichever backup the drill picks restores with items missing
            self.standin.restore_missing_items(arn, PLANTED_MISSING)

    def _account(self, report: DrillReport, when: datetime, note: Any) -> None:
        if report.started:
            tables = ", ".join(sorted(name.split("-drill-")[1].rsplit("-", 1)[0] for name in report.started))
            note(f"{when:%H:%M} drills started: {tables} (restored into {self.prefix}-drill-* tables)")
        for result in report.results:
            minutes = f"{(result.restore_seconds or 0) / 60:.0f} min"
            counts = f"{result.counted_items}/{result.expected_items} items"
            if result.verdict is Verdict.PASSED:
                self.passed += 1
                note(f"{when:%H:%M} drill {result.table}: passed (restore {minutes}, {counts}, table deleted)")
            elif result.table == PLANTED_TABLE and result.verdict is Verdict.FAILED and self.planted is None:
                self.planted = f"drill of {result.table} failed as planted: {result.reason}"
                note(f"{when:%H:%M} drill {result.table}: FAILED as planted ({result.reason}); table deleted")
            else:
                self.problems.append(
                    f"{when:%Y-%m-%d %H:%M} drill of {result.table}: {result.verdict}: {result.reason}"
                )
        self.problems += [f"{when:%Y-%m-%d %H:%M} drill step failed: {error}" for error in report.errors]
        if report.deleted and len(report.deleted) != len(report.results):
            self.problems.append(f"{when:%Y-%m-%d %H:%M} drill tables deleted without a result: {report.deleted}")

    def finish(self) -> None:
        """The planted failure must have been reported, and no drill table may be left."""
        if self.planted is None:
            self.problems.append(f"the planted drill failure ({PLANTED_TABLE}, items missing) was not reported")
        left = [n for n in self._ddb.list_tables()["TableNames"] if n.startswith(f"{self.prefix}-drill-")]
        if left:
            self.problems.append(f"drill tables left behind: {left}")


class _Discovery:
    """The backup gateway on the stand-in's endpoint (the demo's process keeps no AWS environment)."""

    def __init__(self, standin: StandIn) -> None:
        import os

        saved = {k: os.environ.get(k) for k in standin.env()}
        os.environ.update(standin.env())
        try:
            self._gateway = DynamoDbGateway(backup_clients(rate_limits=FAST))
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def find_tagged_tables(self, tag_key: str) -> list[Any]:
        return self._gateway.find_tagged_tables(tag_key)

    def find_tables(self, tag_key: str) -> list[Any]:
        return self._gateway.find_tables(tag_key)

    def list_backups(self, *, table_name: str | None = None) -> list[Any]:
        return self._gateway.list_backups(table_name=table_name)
