"""`make demo`: the deployable artifacts run for several simulated days on the AWS stand-in, with a readable account.

The demo synthesizes app.py as the CDK CLI does (with a short-retention configuration, so pruning shows within a
week), starts the stand-in, creates sample tables, then walks through simulated days: every schedule of the
template sends its event to its function through the Lambda runner (the same runner the end-to-end tests use), the
backups just taken are aged to their slot time (that is how time passes), and the prune function runs at its own
scheduled time with that time as "now". Failed invocations are retried as Lambda retries asynchronous invocations,
per the template's EventInvokeConfig. At the end it prints what happened, evaluates the template's alarms against
the metrics the functions emitted, checks that nothing was backed up twice, skipped or wrongly deleted, stops
everything it started and exits 0, or 1 when the application misbehaved.

Example:
    make demo                                        # or: .venv/bin/python -m tools.demo --days 8
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich import box
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tablesafe.aws.dynamodb import Backup
from tablesafe.config.schedule_expr import run_times as schedule_runs
from tablesafe.config.settings import Settings
from tablesafe.constants import (
    ENV_LEASE_TABLE,
    M_BACKUPS_CREATED,
    M_ESTIMATED_MONTHLY_COST,
    M_STORED_BACKUPS,
    M_STORED_BYTES,
    M_UNKNOWN_PLAN_TABLES,
)
from tablesafe.rules.naming import is_manual, manual_name, parse_scheduled, scheduled_name
from tablesafe.rules.retention import Decision, Verdict, decide
from tools.demo_archive import run_archive_demo
from tools.demo_drills import DRILL_TIMES, DemoDrills
from tools.lambda_runner import CloudAssembly, Invocation, LambdaRunner, ScheduleSpec, synthesize
from tools.standin.server import StandIn
from tools.standin.support import create_table, fill, list_all_backups

BACKUP_FUNCTION = "tablesafe-backup"
PRUNE_FUNCTION = "tablesafe-prune"
WIDTH = 100
BYTES_PER_GB = 1_000_000_000
# Short retentions so that a week shows pruning; the shipped cdk.json keeps daily backups for 35 days (minKeep 3).
DEMO_PLANS: dict[str, Any] = {
    "daily": [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 3, "minKeep": 2}],
    "gfs": [
        {"name": "sixhourly", "schedule": "rate(6 hours)", "retentionDays": 1, "minKeep": 2},
        {"name": "daily", "schedule": "cron(0 2 * * ? *)", "retentionDays": 4, "minKeep": 2},
        {"name": "weekly", "schedule": "cron(0 1 ? * SUN *)", "retentionDays": 21, "minKeep": 2},
    ],
}
DEMO_CONTEXT: dict[str, Any] = {"tablesafe:regions": ["us-east-1"], "tablesafe:plans": DEMO_PLANS}
# Lambda retries a failed asynchronous invocation after about one minute, then after about two more.
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=2))
UNREACHABLE_KEY = "INACCESSIBLE_ENCRYPTION_CREDENTIALS"


@dataclass(frozen=True)
class SampleTable:
    """A table the demo creates: its tag value (None: untagged), items, and what happens to it."""

    name: str
    tag: str | None
    items: int
    note: str = ""


SAMPLE_TABLES = (
    SampleTable("orders", "daily", 300, "also has a manual backup (never pruned)"),
    SampleTable("customers", "daily", 150, "its KMS key is unreachable for one daily run"),
    SampleTable("sessions", "daily", 80, "deleted part-way"),
    SampleTable("events", "gfs", 400, "also has an AWS Backup backup and one of a removed plan"),
    SampleTable("scratch", None, 20, "untagged: never backed up"),
    SampleTable("legacy", "weekly-legacy", 50, "tag names no configured plan"),
)
DELETED_TABLE = "sessions"
OUTAGE_TABLE = "customers"


@dataclass(frozen=True)
class Scenario:
    """How long the demo runs and on which simulated days its staged events happen."""

    days: int = 8
    start: date | None = None  # a Sunday (weekly rules show); default: the Sunday at least `days` days ago
    deletion_day: int = 3  # DELETED_TABLE is deleted at 12:00 of this day
    outage_day: int = 5  # OUTAGE_TABLE's key is unreachable for its plan's first run of this day

    def first_day(self, today: date) -> date:
        if self.start is not None:
            return self.start
        latest = today - timedelta(days=self.days)
        return latest - timedelta(days=(latest.weekday() + 1) % 7)  # back to a Sunday


# -- the account ---------------------------------------------------------------------------------------------------


@dataclass
class DayRecord:
    """What happened on one simulated day."""

    number: int
    day: date
    until: datetime | None = None  # the last day ends with its prune run
    stopped: datetime | None = None  # the simulation stopped early because the application misbehaved
    created: Counter[str] = field(default_factory=Counter)  # "plan/rule" -> backups created
    pruned: Counter[str] = field(default_factory=Counter)  # table -> backups deleted
    prune_time: datetime | None = None
    orphaned: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Deletion:
    """One deletion, as the prune function logged it."""

    when: datetime
    table: str
    backup_name: str
    plan: str
    rule: str
    age_days: float
    reason: str
    outcome: str


@dataclass(frozen=True)
class Kept:
    """A backup left at the end, and why the rules keep it (as of the last prune run)."""

    table: str
    name: str
    backup_type: str
    age_days: float
    why: str


@dataclass
class AlarmRecord:
    """One alarm of the template, evaluated against what the functions emitted."""

    name: str
    watches: str
    fired: list[datetime] = field(default_factory=list)  # transitions into ALARM: each one a notification
    recovered: list[datetime] = field(default_factory=list)  # ALARM -> OK transitions: the OK notifications
    why: list[str] = field(default_factory=list)  # for each transition, the datapoints that breached
    final: str = "OK"


@dataclass
class PlanCost:
    """One plan's storage: the prune's estimate (what it listed) and a full count (every backup listed)."""

    plan: str
    configured: bool
    estimate_backups: int = 0
    estimate_bytes: int = 0
    estimate_usd: float = 0.0
    full_backups: int = 0
    full_bytes: int = 0
    full_usd: float = 0.0


@dataclass
class Account:
    """Everything the demo observed; `render` prints it, the test asserts on it."""

    stack: str
    plans: dict[str, str]  # plan -> its rules, as the template's environment states them
    prune_schedule: str
    tables: list[SampleTable]
    days: list[DayRecord] = field(default_factory=list)
    deletions: list[Deletion] = field(default_factory=list)
    orphaned: dict[str, str] = field(default_factory=dict)  # backup name -> reason
    kept: list[Kept] = field(default_factory=list)
    unknown_plan: dict[str, str] = field(default_factory=dict)  # table -> tag value
    unknown_plan_runs: int = 0
    unknown_plan_alarmed: bool = False
    alarms: list[AlarmRecord] = field(default_factory=list)
    costs: list[PlanCost] = field(default_factory=list)
    price_per_gb_month: float = 0.0
    invocations: int = 0
    staged_failures: list[str] = field(default_factory=list)
    planted_drill_failure: str | None = None  # the drill failure tools/demo_drills.py planted, as reported
    drills_passed: int = 0
    problems: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def kept_of(self, table: str) -> list[Kept]:
        return [k for k in self.kept if k.table == table]


# -- metrics and alarms ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Datapoint:
    """One metric value at a simulated time."""

    when: datetime
    namespace: str
    name: str
    dimensions: frozenset[tuple[str, str]]
    value: float


@dataclass(frozen=True)
class AlarmSpec:
    """An AWS::CloudWatch::Alarm of the template, its references resolved."""

    name: str
    namespace: str
    metric: str
    dimensions: frozenset[tuple[str, str]]
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    statistic: str
    treat_missing: str

    def breaches(self, value: float) -> bool:
        return {
            ">=": value >= self.threshold,
            ">": value > self.threshold,
            "<": value < self.threshold,
            "<=": value <= self.threshold,
        }[_OPERATORS[self.comparison]]


_OPERATORS = {
    "GreaterThanOrEqualToThreshold": ">=",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}


def emf_datapoints(invocation: Invocation, when: datetime) -> list[Datapoint]:
    """The EMF metrics of an invocation, stamped with its simulated time (each document is one datapoint set)."""
    points = []
    for line in invocation.log_lines:
        for directive in line.get("_aws", {}).get("CloudWatchMetrics", []):
            for dimension_set in directive.get("Dimensions", []):
                dims = frozenset((name, str(line[name])) for name in dimension_set)
                for metric in directive.get("Metrics", []):
                    raw = line.get(metric["Name"])
                    for value in raw if isinstance(raw, list) else [raw]:
                        points.append(Datapoint(when, directive["Namespace"], metric["Name"], dims, float(value)))
    return points


def template_alarms(template: dict[str, Any]) -> list[AlarmSpec]:
    """The template's metric alarms (metric-math alarms, if any, are left out)."""
    resources = template["Resources"]

    def resolve(value: Any) -> str:
        # Names are set in the template; fall back to the logical ID, the same on both sides of a comparison.
        if isinstance(value, dict) and "Ref" in value:
            props = resources.get(value["Ref"], {}).get("Properties", {})
            return str(props.get("FunctionName") or props.get("QueueName") or value["Ref"])
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            return str(resources.get(logical_id, {}).get("Properties", {}).get(attribute) or logical_id)
        return str(value)

    alarms = []
    for resource in resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] != "AWS::CloudWatch::Alarm" or "MetricName" not in props:
            continue
        alarms.append(
            AlarmSpec(
                name=props["AlarmName"],
                namespace=props["Namespace"],
                metric=props["MetricName"],
                dimensions=frozenset((d["Name"], resolve(d["Value"])) for d in props.get("Dimensions", [])),
                period=int(props["Period"]),
                evaluation_periods=int(props["EvaluationPeriods"]),
                datapoints_to_alarm=int(props.get("DatapointsToAlarm", props["EvaluationPeriods"])),
                threshold=float(props["Threshold"]),
                comparison=props["ComparisonOperator"],
                statistic=props.get("Statistic", "Sum"),
                treat_missing=props.get("TreatMissingData", "missing"),
            )
        )
    return sorted(alarms, key=lambda a: a.name)


def evaluate_alarms(
    alarms: list[AlarmSpec], points: list[Datapoint], start: datetime, end: datetime
) -> list[AlarmRecord]:
    """Evaluate each alarm as CloudWatch would, at every period boundary whose look-back lies in [start, end]."""
    by_metric: dict[tuple[str, str, frozenset[tuple[str, str]]], list[Datapoint]] = defaultdict(list)
    for point in points:
        by_metric[(point.namespace, point.name, point.dimensions)].append(point)
    records = []
    for alarm in alarms:
        record = AlarmRecord(alarm.name, f"{alarm.namespace} {alarm.metric} {alarm.statistic}")
        series = by_metric.get((alarm.namespace, alarm.metric, alarm.dimensions), [])
        period = timedelta(seconds=alarm.period)
        # Period boundaries aligned to the epoch, as CloudWatch aligns them.
        moment = datetime.fromtimestamp(math.ceil(start.timestamp() / alarm.period) * alarm.period, UTC)
        moment += period * alarm.evaluation_periods
        state = "OK"
        while moment <= end:
            breaching, seen = 0, []
            for index in range(alarm.evaluation_periods):
                high = moment - period * index
                values = [p.value for p in series if high - period <= p.when < high]
                if not values:
                    breaching += alarm.treat_missing == "breaching"
                    continue
                aggregate = {"Sum": sum, "Maximum": max, "Minimum": min}.get(alarm.statistic, sum)(values)
                breaching += alarm.breaches(aggregate)
                seen.append(aggregate)
            new_state = "ALARM" if breaching >= alarm.datapoints_to_alarm else "OK"
            if not seen and alarm.treat_missing == "ignore":  # no data at all: "the current alarm state is maintained"
                new_state = state
            elif not seen and alarm.treat_missing == "missing":
                new_state = "INSUFFICIENT_DATA"
            if new_state == "ALARM" and state != "ALARM":
                record.fired.append(moment)
                shown = f"{seen[0]:g}" if seen else "no data"
                record.why.append(f"{alarm.metric} {shown} {_OPERATORS[alarm.comparison]} {alarm.threshold:g}")
            elif new_state == "OK" and state == "ALARM":
                record.recovered.append(moment)
            state = new_state
            moment += period
        record.final = state
        records.append(record)
    return records


# -- schedules -------------------------------------------------------------------------------------------------------


def run_times(schedule: ScheduleSpec, start: datetime, end: datetime) -> list[datetime]:
    """When a schedule fires in [start, end]. A rate schedule starts when it is created: here, at `start`."""
    # The project's own reader, so the demo fires a schedule exactly when the app's validation says it runs.
    return schedule_runs(schedule.expression, start, end, ZoneInfo(schedule.timezone))


# -- the run ---------------------------------------------------------------------------------------------------------


@dataclass(order=True)
class Step:
    """One thing that happens at a simulated time: an action of the scenario, a backup run or a prune run."""

    when: datetime
    order: int  # at the same minute: actions first, then backup runs, then the prune
    label: str = field(compare=False)
    schedule: ScheduleSpec | None = field(default=None, compare=False)
    action: Callable[[], None] | None = field(default=None, compare=False)


class Demo:
    """The simulation: owns the runner and the account; the stand-in and the assembly are given."""

    def __init__(
        self, assembly: CloudAssembly, standin: StandIn, runner: LambdaRunner, scenario: Scenario, console: Console
    ) -> None:
        self.assembly = assembly
        self.standin = standin
        self.runner = runner
        self.scenario = scenario
        self.console = console
        self.ddb = standin.client("dynamodb")
        backup_spec = assembly.function(BACKUP_FUNCTION)
        self.settings = Settings.from_env(backup_spec.environment)  # the template's configuration, as the app reads it
        self.prefix = self.settings.backup_name_prefix
        self.retries = {name: self._retry_attempts(name) for name in (BACKUP_FUNCTION, PRUNE_FUNCTION)}
        self.datapoints: list[Datapoint] = []
        self.dlq_messages: list[datetime] = []
        self.clock = datetime.min.replace(tzinfo=UTC)  # the latest simulated time reached
        self.tagged: dict[str, str] = {t.name: t.tag for t in SAMPLE_TABLES if t.tag is not None}
        self.staged: dict[tuple[str, datetime], str] = {}  # (plan/rule, slot) -> table expected to fail
        (prune,) = assembly.schedules_for(PRUNE_FUNCTION)
        self.drills = DemoDrills(
            standin, self.settings.plans, self.prefix, self.settings.tag_key, backup_spec.environment[ENV_LEASE_TABLE]
        )
        self.account = Account(
            stack=assembly.stack,
            plans={
                name: "; ".join(
                    f"{r.name}: {r.schedule.expression}, keep {r.retention_days} d, minKeep {r.min_keep}"
                    for r in plan.rules
                )
                for name, plan in sorted(self.settings.plans.items())
            },
            prune_schedule=prune.expression,
            tables=list(SAMPLE_TABLES),
            price_per_gb_month=self.settings.storage_price_per_gb_month,
        )

    # -- set-up ------------------------------------------------------------------------------------------------------

    def create_tables(self, start: datetime) -> None:
        """The sample tables, their items, and backups tablesafe must never touch or must keep as orphaned."""
        for table in SAMPLE_TABLES:
            create_table(self.ddb, table.name, {self.settings.tag_key: table.tag} if table.tag else None)
            fill(self.ddb, table.name, table.items, payload="x" * 200)
        old = start - timedelta(days=10)
        self.standin.add_foreign_backup("orders", manual_name(self.prefix, old), created=old)
        self.standin.add_foreign_backup("events", "nightly-from-aws-backup", "AWS_BACKUP", created=old)
        # A backup of a plan since removed from the configuration: orphaned, reported and kept.
        removed_slot = start - timedelta(days=40)
        self.standin.add_foreign_backup(
            "events", scheduled_name(self.prefix, "archive", "monthly", removed_slot), created=removed_slot
        )

    def timeline(self, start: datetime) -> tuple[list[Step], datetime]:
        """Every step from `start` to the last day's prune run, in order; and that end time."""
        last_day = start + timedelta(days=self.scenario.days - 1)
        (prune_schedule,) = self.assembly.schedules_for(PRUNE_FUNCTION)
        last_prunes = run_times(prune_schedule, last_day, last_day + timedelta(days=1) - timedelta(minutes=1))
        end = last_prunes[-1] if last_prunes else last_day + timedelta(days=1) - timedelta(minutes=1)
        steps = [Step(t, 2, "prune", prune_schedule) for t in run_times(prune_schedule, start, end)]
        for schedule in self.assembly.schedules_for(BACKUP_FUNCTION):
            steps += [Step(t, 1, "backup", schedule) for t in run_times(schedule, start, end)]
        for day in range(self.scenario.days):
            for offset in DRILL_TIMES:
                moment = start + timedelta(days=day) + offset
                if moment <= end:
                    steps.append(Step(moment, 3, "drill", action=partial(self._drill, moment, day + 1)))
        deletion = start + timedelta(days=self.scenario.deletion_day - 1, hours=12)
        if deletion <= end:
            steps.append(Step(deletion, 0, "delete", action=self._delete_table))
        outage_plan = self.tagged[OUTAGE_TABLE]
        outage_day = start + timedelta(days=self.scenario.outage_day - 1)
        for step in sorted(steps):
            if step.schedule is not None and step.when >= outage_day and step.label == "backup":
                event = step.schedule.event(step.when)
                if event["plan"] == outage_plan:
                    self.staged[(f"{event['plan']}/{event['rule']}", step.when)] = OUTAGE_TABLE
                    steps.append(Step(step.when - timedelta(minutes=1), 0, "outage", action=self._key_unreachable))
                    break
        return sorted(steps), end

    # -- steps -------------------------------------------------------------------------------------------------------

    def _delete_table(self) -> None:
        self.ddb.delete_table(TableName=DELETED_TABLE)
        del self.tagged[DELETED_TABLE]
        self._note(f"12:00 {DELETED_TABLE} deleted; its backups stay and are pruned, never below minKeep")

    def _key_unreachable(self) -> None:
        self.standin.set_table_status(OUTAGE_TABLE, UNREACHABLE_KEY)

    def _key_restored(self) -> None:
        self.standin.set_table_status(OUTAGE_TABLE, "ACTIVE")

    def _drill(self, when: datetime, day: int) -> None:
        self.drills.run(when, day, self._note)
        self.account.problems += self.drills.problems
        self.drills.problems.clear()

    def _note(self, text: str) -> None:
        self.account.days[-1].notes.append(text)

    def backup_run(self, schedule: ScheduleSpec, when: datetime) -> None:
        """One schedule event to the backup function, retried as Lambda retries; then the backups aged to the slot."""
        event = schedule.event(when)
        rule = f"{event['plan']}/{event['rule']}"
        name = scheduled_name(self.prefix, event["plan"], event["rule"], when)
        staged = self.staged.get((rule, when))
        attempts = self._deliver(BACKUP_FUNCTION, event, when, staged=staged)
        self._age(name, when)
        for _, invocation in attempts:
            # From the metric, not the result: a failed run returns no result but may have created backups.
            self.account.days[-1].created[rule] += int(invocation.metrics.get(M_BACKUPS_CREATED, 0))
            self._collect_unknown_plan(invocation)
        last_time, last = attempts[-1]
        if staged is not None:
            first = attempts[0][1]
            if first.ok or staged not in str(first.error):
                self.account.problems.append(
                    f"{rule} at {when:%H:%M} on day {self.account.days[-1].number}: {staged}'s key was unreachable, "
                    f"but the backup function did not fail naming it (result {first.result}, error {first.error})"
                )
            else:
                error = first.error or {}
                outcome = "Lambda's retry at " + f"{last_time:%H:%M} backed it up" if last.ok else "every retry failed"
                self.account.staged_failures.append(
                    f"day {self.account.days[-1].number} {when:%H:%M}: {staged}'s KMS key made unreachable on purpose; "
                    f"the run failed as it should ({error.get('errorType')}: {error.get('errorMessage')}), and "
                    f"{outcome}"
                )
                self._note(
                    f"{when:%H:%M} {staged}: KMS key unreachable -> run failed naming it "
                    f"({error.get('errorType')}); key restored; {outcome}"
                )
        self._check_slot(rule, event["plan"], name)

    def prune_run(self, schedule: ScheduleSpec, when: datetime) -> None:
        """The prune schedule's event to the prune function; its deletions checked against the retention rules."""
        before = self._listing()
        attempts = self._deliver(PRUNE_FUNCTION, schedule.event(when), when)
        after = {b.arn: b for b in self._listing()}
        day = self.account.days[-1]
        day.prune_time = when
        logged: set[str] = set()
        for _, invocation in attempts:
            for line in invocation.log_lines:
                if line.get("message") == "backup deleted":
                    logged.add(line["backup_arn"])
                    self.account.deletions.append(
                        Deletion(
                            when,
                            line["table"],
                            line["backup_name"],
                            line["plan"],
                            line["rule"],
                            float(line["age_days"]),
                            line["reason"],
                            line["outcome"],
                        )
                    )
                    day.pruned[line["table"]] += 1
                elif line.get("message") == "orphaned backup kept":
                    self.account.orphaned[line["backup_name"]] = line["reason"]
                    day.orphaned += 1
        self._check_prune(when, before, after, logged)

    def _deliver(
        self, function: str, event: dict[str, Any], when: datetime, *, staged: str | None = None
    ) -> list[tuple[datetime, Invocation]]:
        """Invoke (with the continuations it queues), retrying a failed run like Lambda's asynchronous retries."""
        attempts: list[tuple[datetime, Invocation]] = []
        moment = when
        for attempt in range(1 + self.retries[function]):
            if attempt:
                moment += RETRY_DELAYS[min(attempt - 1, len(RETRY_DELAYS) - 1)]
                if staged is not None:
                    self._key_restored()  # the operator (or KMS) fixed it between the attempts
            # A retry re-sends the original event: the runs are idempotent, so this is what Lambda's retry amounts to.
            runs = self.runner.run_to_completion(function, event)
            for run in runs:
                self.account.invocations += 1
                self.datapoints += emf_datapoints(run, moment)
                self.datapoints.append(self._lambda_point(run, moment))
                attempts.append((moment, run))
            self.clock = max(self.clock, moment)
            if all(run.ok for run in runs):
                break
        else:
            self.dlq_messages.append(moment)
            self._note(f"{moment:%H:%M} {function}: every attempt failed; the event went to the dead-letter queue")
        unexpected = [(t, run) for t, run in attempts if not run.ok and not (staged is not None and t == when)]
        if unexpected:
            error = unexpected[-1][1].error or {}
            times = ", ".join(f"{t:%H:%M}" for t, _ in unexpected)
            self.account.problems.append(
                f"{function} failed {len(unexpected)} time(s) on {when:%Y-%m-%d} at {times} (event {event}): "
                f"{error.get('errorType')}: {error.get('errorMessage')}"
            )
        if staged is not None:
            self._key_restored()
        return attempts

    def _lambda_point(self, invocation: Invocation, when: datetime) -> Datapoint:
        dims = frozenset({("FunctionName", invocation.function)})
        return Datapoint(when, "AWS/Lambda", "Errors", dims, 0.0 if invocation.ok else 1.0)

    def _collect_unknown_plan(self, invocation: Invocation) -> None:
        reported = False
        for line in invocation.log_lines:
            if line.get("level") == "ERROR" and "unknown plan" in str(line.get("message")):
                self.account.unknown_plan[line["table"]] = line["tag_value"]
                reported = True
        self.account.unknown_plan_runs += reported

    def _age(self, name: str, slot: datetime) -> None:
        """Backups of this slot were taken just now (wall clock); make them as old as their slot."""
        for summary in list_all_backups(self.ddb)[0]:
            if summary["BackupName"] == name and summary["BackupCreationDateTime"] != slot:
                self.standin.set_backup_created(summary["BackupArn"], slot)

    def _listing(self) -> list[Backup]:
        return [
            Backup(
                arn=s["BackupArn"],
                name=s["BackupName"],
                table_name=s["TableName"],
                created=s["BackupCreationDateTime"],
                status=s["BackupStatus"],
                backup_type=s["BackupType"],
                size_bytes=s.get("BackupSizeBytes"),
            )
            for s in list_all_backups(self.ddb, BackupType="ALL")[0]
        ]

    # -- checks ------------------------------------------------------------------------------------------------------

    def _check_slot(self, rule: str, plan: str, name: str) -> None:
        """Each table of the plan has exactly one backup of the slot; no other table has one."""
        counts = Counter(b.table_name for b in self._listing() if b.name == name)
        expected = {table for table, tag in self.tagged.items() if tag == plan}
        missing = sorted(expected - set(counts))
        doubled = sorted(t for t, n in counts.items() if n > 1)
        stray = sorted(set(counts) - expected)
        for what, tables in (("no backup", missing), ("more than one backup", doubled), ("an unexpected", stray)):
            if tables:
                self.account.problems.append(f"{name}: {what} for {', '.join(tables)}")

    def _check_prune(self, now: datetime, before: list[Backup], after: dict[str, Backup], logged: set[str]) -> None:
        """What went is what the retention rules delete, each deletion was logged, and minKeep always holds."""
        user = [b for b in before if b.backup_type == "USER"]
        decisions = {d.backup.arn: d for d in decide(user, self.settings.plans, self.prefix, now)}
        should_go = {arn for arn, d in decisions.items() if d.verdict is Verdict.DELETE}
        gone = {b.arn for b in before} - set(after)
        by_arn = {b.arn: b for b in before}
        when = f"prune of {now:%Y-%m-%d %H:%M}"
        for arn in sorted(gone - should_go):
            b = by_arn[arn]
            why = decisions[arn].reason if arn in decisions else f"{b.backup_type} backup"
            self.account.problems.append(f"{when} deleted {b.name} of {b.table_name}, which the rules keep ({why})")
        for arn in sorted(should_go - gone):
            b = by_arn[arn]
            self.account.problems.append(
                f"{when} left {b.name} of {b.table_name}, which the rules delete ({decisions[arn].reason})"
            )
        for arn in sorted(gone ^ logged):
            b = by_arn.get(arn)
            what = "deleted without a 'backup deleted' log line" if arn in gone else "logged as deleted but still there"
            self.account.problems.append(f"{when}: {b.name if b else arn} {what}")
        groups: dict[tuple[str, str, str], list[Backup]] = defaultdict(list)
        for b in user:
            parsed = parse_scheduled(b.name, self.prefix)
            if parsed is not None and b.status == "AVAILABLE":
                groups[(b.table_name, parsed.plan, parsed.rule)].append(b)
        for (table, plan_name, rule_name), members in groups.items():
            plan = self.settings.plans.get(plan_name)
            rule = plan.rule(rule_name) if plan else None
            if rule is None:
                continue
            left = sum(b.arn in after for b in members)
            if left < min(len(members), rule.min_keep):
                self.account.problems.append(
                    f"{when}: {table} {plan_name}/{rule_name} went from {len(members)} to {left} backups, below "
                    f"minKeep {rule.min_keep}"
                )

    def finish(self, start: datetime, end: datetime) -> None:
        """What is left and why, the cost, the alarms, and the checks that hold across the whole run."""
        listing = self._listing()
        # As of the last prune: a backup that expired after it is not the prune's fault (the run may stop early).
        as_of = max((d.prune_time for d in self.account.days if d.prune_time), default=start)
        decisions = decide(listing, self.settings.plans, self.prefix, as_of)
        for d in sorted(decisions, key=lambda d: (d.backup.table_name, d.backup.created, d.backup.name)):
            b = d.backup
            self.account.kept.append(Kept(b.table_name, b.name, b.backup_type, d.age_days(end), self._why(d, as_of)))
            if d.verdict is Verdict.DELETE:
                self.account.problems.append(f"{b.name} of {b.table_name} outlived the last prune: {d.reason}")
        scratch = [b for b in listing if b.table_name == "scratch"]
        if scratch:
            self.account.problems.append(f"the untagged table scratch has {len(scratch)} backup(s)")
        self._costs(listing)
        self._alarms(start, end)
        self.drills.finish()
        self.account.problems += self.drills.problems
        self.account.planted_drill_failure, self.account.drills_passed = self.drills.planted, self.drills.passed
        checks = self.account.checks
        checks.append("every run backed up each table of its plan exactly once (one backup per table per slot)")
        checks.append("every prune deleted exactly what the retention rules delete, and logged each deletion")
        checks.append("no (table, rule) ever went below minKeep; manual and AWS Backup backups untouched")
        checks.append(
            f"{self.drills.passed} restore drills passed; the planted drill failure was reported; no drill table left"
        )

    def _why(self, decision: Decision[Backup], now: datetime) -> str:
        """The retention rules' verdict on a backup that is left, in a few words."""
        b = decision.backup
        if decision.verdict is Verdict.FOREIGN:
            if b.backup_type != "USER":
                return f"{b.backup_type} backup: not tablesafe's"
            return "manual backup: never pruned" if is_manual(b.name, self.prefix) else "not tablesafe's name"
        if decision.verdict is Verdict.ORPHANED:
            return f"orphaned: plan {decision.plan} removed"
        plan = self.settings.plans.get(decision.plan)
        rule = plan.rule(decision.rule) if plan is not None else None
        if rule is None or decision.verdict is not Verdict.KEEP:
            return decision.reason
        age = decision.age_days(now)
        if age > rule.retention_days:
            return f"past {rule.retention_days} d, kept: newest {rule.min_keep}"
        return f"within {rule.retention_days} d retention"

    def _costs(self, listing: list[Backup]) -> None:
        last_prune = [p for p in self.datapoints if p.name == M_STORED_BYTES]
        latest = max((p.when for p in last_prune), default=None)
        estimate: dict[str, dict[str, float]] = defaultdict(dict)
        for point in self.datapoints:
            if point.when == latest and point.name in (M_STORED_BACKUPS, M_STORED_BYTES, M_ESTIMATED_MONTHLY_COST):
                estimate[dict(point.dimensions)["Plan"]][point.name] = point.value
        full: dict[str, list[Backup]] = defaultdict(list)
        for b in listing:
            parsed = parse_scheduled(b.name, self.prefix)
            if b.backup_type == "USER" and parsed is not None and b.status in ("AVAILABLE", "CREATING"):
                full[parsed.plan].append(b)
        price = self.settings.storage_price_per_gb_month
        for plan in sorted(set(estimate) | set(full)):
            size = sum(b.size_bytes or 0 for b in full[plan])
            self.account.costs.append(
                PlanCost(
                    plan=plan,
                    configured=plan in self.settings.plans,
                    estimate_backups=int(estimate[plan].get(M_STORED_BACKUPS, 0)),
                    estimate_bytes=int(estimate[plan].get(M_STORED_BYTES, 0)),
                    estimate_usd=estimate[plan].get(M_ESTIMATED_MONTHLY_COST, 0.0),
                    full_backups=len(full[plan]),
                    full_bytes=size,
                    full_usd=size / BYTES_PER_GB * price,
                )
            )

    def _alarms(self, start: datetime, end: datetime) -> None:
        alarms = template_alarms(self.assembly.template)
        horizon = end + timedelta(minutes=10)  # the last runs' 5-minute periods close
        points = list(self.datapoints)
        dlq = [a for a in alarms if a.namespace == "AWS/SQS"]
        if self.dlq_messages:
            for alarm in dlq:  # a message stays visible until someone reads it: sample the queue every period
                moment = min(self.dlq_messages)
                while moment <= horizon:
                    count = sum(m <= moment for m in self.dlq_messages)
                    points.append(Datapoint(moment, alarm.namespace, alarm.metric, alarm.dimensions, count))
                    moment += timedelta(seconds=alarm.period)
        self.account.alarms = evaluate_alarms(alarms, points, start, horizon)
        self.account.unknown_plan_alarmed = any(a.metric == M_UNKNOWN_PLAN_TABLES for a in alarms)

    # -- the whole run -----------------------------------------------------------------------------------------------

    def run(self, today: date) -> Account:
        start = datetime.combine(self.scenario.first_day(today), clock(), UTC)
        self.create_tables(start)
        render_setup(self.console, self.account, start)
        steps, end = self.timeline(start)
        for step in steps:
            number = (step.when.date() - start.date()).days + 1
            if not self.account.days or self.account.days[-1].number != number:
                if self.account.days:
                    render_day(self.console, self.account.days[-1])
                self.account.days.append(DayRecord(number, step.when.date()))
            if step.action is not None:
                step.action()
            elif step.label == "prune" and step.schedule is not None:
                self.prune_run(step.schedule, step.when)
            elif step.schedule is not None:
                self.backup_run(step.schedule, step.when)
            self.clock = max(self.clock, step.when)
            if self.account.problems:
                self._note(f"{self.clock:%H:%M} the simulation stops here: the application misbehaved (PROBLEM below)")
                end = self.account.days[-1].stopped = self.clock
                break
        self.account.days[-1].until = end
        render_day(self.console, self.account.days[-1])
        self.finish(start, end)
        return self.account

    def _retry_attempts(self, function: str) -> int:
        """MaximumRetryAttempts of the function's EventInvokeConfig in the template (Lambda's default: 2)."""
        target = {"Ref": self.assembly.function(function).logical_id}
        for resource in self.assembly.template["Resources"].values():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::Lambda::EventInvokeConfig" and props.get("FunctionName") == target:
                return int(props.get("MaximumRetryAttempts", 2))
        return 2


# -- rendering -------------------------------------------------------------------------------------------------------


def _table(title: str) -> Table:
    return Table(
        title=title, expand=True, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD, pad_edge=False
    )


def _lines(rows: list[tuple[str, str]], style: str = "") -> Table:
    """Label/text rows whose text wraps under itself, not under the label."""
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(width=10, no_wrap=True)
    grid.add_column(ratio=1)
    for label, text in rows:
        grid.add_row(Text("  " + label), Text(text, style=style))
    return grid


def _backups(count: int) -> str:
    return f"{count} backup" + ("" if count == 1 else "s")


def render_setup(console: Console, account: Account, start: datetime) -> None:
    text = Text()
    text.append("Configuration: ", style="bold")
    text.append(
        "cdk.json's context with tablesafe:plans replaced by short retentions, so that pruning shows within a week "
        "(the shipped cdk.json keeps daily backups 35 days, minKeep 3). As the synthesized template sets it:\n"
    )
    for plan, rules in account.plans.items():
        for index, rule in enumerate(rules.split("; ")):
            text.append(f"  {plan if index == 0 else '':<7}", style="cyan")
            text.append(rule + "\n")
    text.append(f"  {'prune':<7}", style="cyan")
    text.append(f"{account.prune_schedule}, dry run off\n")
    text.append(
        f"Stack {account.stack}: each run is the bundled asset invoked with its schedule's event and the template's "
        "environment, on the AWS stand-in. Rate schedules start with the simulation. A failed run is retried as "
        "Lambda retries asynchronous invocations.\n"
    )
    text.append(
        f"Simulated days start on {start:%a %d %b %Y}, UTC (the Sunday at least as many days ago as are simulated: "
        "the functions check event times against their own clock). The same start gives the same output: "
        f"--start {start:%Y-%m-%d} repeats this run."
    )
    console.print(Panel(text, title="tablesafe demo", title_align="left"))
    table = _table("Sample tables")
    for column in ("Table", "Tag backup-plan", "Items", "Notes"):
        table.add_column(column, justify="right" if column == "Items" else "left")
    for sample in account.tables:
        table.add_row(sample.name, sample.tag or "-", str(sample.items), sample.note)
    console.print(table)


def render_day(console: Console, day: DayRecord) -> None:
    head = Text(f"Day {day.number} · {day.day:%a %d %b}", style="bold")
    if day.stopped is not None:
        head.append(f" (stopped at {day.stopped:%H:%M})")
    elif day.until is not None:
        head.append(f" (ends with the {day.until:%H:%M} prune)")
    console.print(head)
    created = ", ".join(f"{rule} {n}" for rule, n in sorted(day.created.items()))
    rows = [("backups", f"{sum(day.created.values())} created: {created or 'none'}")]
    if day.prune_time is not None:
        pruned = ", ".join(f"{t} {n}" for t, n in sorted(day.pruned.items()))
        text = f"{day.prune_time:%H:%M}: {sum(day.pruned.values())} deleted" + (f" ({pruned})" if pruned else "")
        rows.append(("prune", text + (f", {day.orphaned} orphaned kept" if day.orphaned else "")))
    console.print(_lines(rows))
    if day.notes:
        console.print(_lines([("note", note) for note in day.notes], style="yellow"))


def render_account(console: Console, account: Account, *, every_deletion: bool = False) -> None:
    """The end-of-run account: backups left and why, what was pruned and why, unknown plans, alarms, cost."""
    kept = _table("Backups left at the end, and why (the retention rules as of the last prune)")
    kept.add_column("Table", no_wrap=True)
    kept.add_column("Backup", no_wrap=True)
    kept.add_column("Age d", justify="right", no_wrap=True)
    kept.add_column("Why it is kept")
    previous = None
    for k in account.kept:
        if previous is not None and k.table != previous:
            kept.add_section()
        kept.add_row(k.table if k.table != previous else "", k.name, f"{k.age_days:.2f}", k.why)
        previous = k.table
    console.print(kept)

    pruned = _table("Pruned, from the prune function's log (one line per deletion)")
    for column in ("Table", "Rule", "Deleted", "Ages d", "Why (the latest deletion's reason)"):
        pruned.add_column(column, justify="right" if column in ("Deleted", "Ages d") else "left")
    groups: dict[tuple[str, str], list[Deletion]] = defaultdict(list)
    for d in account.deletions:
        groups[(d.table, f"{d.plan}/{d.rule}")].append(d)
    for (table, rule), items in sorted(groups.items()):
        items.sort(key=_deletion_order)
        low, high = min(d.age_days for d in items), max(d.age_days for d in items)
        span = f"{low:.2f}" if low == high else f"{low:.2f}-{high:.2f}"
        pruned.add_row(table, rule, str(len(items)), span, items[-1].reason)
    console.print(pruned)
    if every_deletion:
        for d in sorted(account.deletions, key=_deletion_order):
            console.print(
                Text(f"  {d.when:%d %b %H:%M}  {d.table:<10} {d.backup_name}  {d.age_days:.2f} d  {d.outcome}")
            )
    if account.orphaned:
        console.print(
            _lines(
                [
                    ("orphaned", f"{name}: {reason} (logged by every prune, kept)")
                    for name, reason in sorted(account.orphaned.items())
                ]
            )
        )

    unknown = Text()
    for table, value in sorted(account.unknown_plan.items()):
        unknown.append(f"{table}: tagged backup-plan={value}, which names no configured plan: not backed up.\n")
    unknown.append(
        f"Reported by {account.unknown_plan_runs} backup runs (an ERROR log line naming the table, and the "
        f"{M_UNKNOWN_PLAN_TABLES} metric). "
    )
    unknown.append(
        "An alarm of the template watches that metric."
        if account.unknown_plan_alarmed
        else "That is a metric, not an alarm: no alarm of the template watches it."
    )
    console.print(Panel(unknown, title="Unknown plan", title_align="left"))

    console.print(render_alarms(account))

    cost = _table(f"Estimated monthly storage cost (USD {account.price_per_gb_month:.2f} per GB-month)")
    for column in ("Plan", "Prune's estimate", "USD/month", "Every backup listed", "USD/month"):
        cost.add_column(column, justify="left" if column == "Plan" else "right")
    for c in account.costs:
        cost.add_row(
            c.plan if c.configured else f"{c.plan} (removed)",
            f"{_backups(c.estimate_backups)}, {c.estimate_bytes:,} B",
            f"{c.estimate_usd:.7f}",
            f"{_backups(c.full_backups)}, {c.full_bytes:,} B",
            f"{c.full_usd:.7f}",
        )
    console.print(cost)
    console.print(
        Text(
            "The estimate is the last prune's StoredBackups, StoredBytes and EstimatedMonthlyCost: what that run "
            "listed (docs/cost.md). `tablesafe cost` lists every backup. The sample tables hold kilobytes.\n"
        )
    )
    # The staged failure first: it is part of the story the checks then vouch for, not a verdict after them.
    if account.staged_failures:
        console.print(_lines([("staged", failure) for failure in account.staged_failures], style="yellow"))
    if account.planted_drill_failure:
        console.print(_lines([("planted", account.planted_drill_failure)], style="yellow"))
    if account.ok:
        console.print(_lines([("ok", check) for check in account.checks], style="green"))
    if account.problems:
        console.print(_lines([("PROBLEM", problem) for problem in account.problems], style="bold red"))


def _deletion_order(deletion: Deletion) -> tuple[datetime, str, str]:
    # Not the log's order: the prune deletes from several threads, so its lines interleave differently each run.
    return (deletion.when, deletion.table, deletion.backup_name)


def render_alarms(account: Account) -> Table:
    """Each alarm, its name whole, with every notification it would send (ALARM and OK) and its state at the end."""
    alarms = _table("Alarms of the template, evaluated on the metrics the runs emitted: the notifications they send")
    alarms.add_column("Alarm", no_wrap=True, min_width=max((len(a.name) for a in account.alarms), default=5))
    alarms.add_column("Notifications", overflow="fold")
    alarms.add_column("At the end", no_wrap=True)
    start = account.days[0].day if account.days else None
    for alarm in account.alarms:
        events = [(t, f"ALARM {_day_time(t, start)} ({why})") for t, why in zip(alarm.fired, alarm.why, strict=True)]
        events += [(t, f"OK {_day_time(t, start)}") for t in alarm.recovered]
        shown = "; ".join(text for _, text in sorted(events)) or "-"
        alarms.add_row(Text(alarm.name, style="red" if alarm.fired else ""), shown, alarm.final)
    return alarms


def _day_time(moment: datetime, start: date | None) -> str:
    return f"day {(moment.date() - start).days + 1} {moment:%H:%M}" if start else f"{moment:%d %b %H:%M}"


# -- entry point -----------------------------------------------------------------------------------------------------


def isolate_environment() -> None:
    """Nothing of the developer's AWS set-up reaches the demo, and nothing of the demo reaches AWS."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            del os.environ[name]
    os.environ.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})


def run_demo(
    scenario: Scenario,
    console: Console,
    *,
    standin: StandIn | None = None,
    assembly: CloudAssembly | None = None,
    today: date | None = None,
) -> Account:
    """Synthesize (unless given an assembly), start the stand-in (unless given one), simulate, and account."""
    with ExitStack() as stack:
        if assembly is None:
            outdir = Path(tempfile.mkdtemp(prefix="tablesafe-demo-"))
            stack.callback(shutil.rmtree, outdir, ignore_errors=True)
            with console.status("Synthesizing app.py as `cdk synth` does ..."):
                assembly = synthesize(outdir, DEMO_CONTEXT)
        if standin is None:
            standin = stack.enter_context(StandIn.running())
        runner = stack.enter_context(LambdaRunner(assembly, standin.env()))
        demo = Demo(assembly, standin, runner, scenario, console)
        account = demo.run(today or datetime.now(UTC).date())
        if standin.internal_errors:
            account.problems.append("the AWS stand-in crashed:\n" + "\n".join(standin.internal_errors))
        return account


def _longest_retention_days() -> int:
    rules = [rule for plan in DEMO_PLANS.values() for rule in plan]
    return max(int(rule["retentionDays"]) for rule in rules)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=Scenario.days, help="simulated days (default %(default)s)")
    parser.add_argument("--every-deletion", action="store_true", help="also list each deletion the prune logged")
    parser.add_argument(
        "--start", type=date.fromisoformat, help="first simulated day, YYYY-MM-DD (default: a Sunday --days ago)"
    )
    args = parser.parse_args(argv)
    if args.days < 2:
        parser.error("--days must be at least 2")
    today = datetime.now(UTC).date()
    # The prune function refuses an event time older than the longest retention + 30 h, or ahead of its clock
    # (docs/operations.md): every simulated day must lie between.
    earliest, latest = today - timedelta(days=_longest_retention_days()), today - timedelta(days=args.days)
    if args.start is not None and not earliest <= args.start <= latest:
        parser.error(
            f"--start must be from {earliest} to {latest}: the functions check event times against their clock"
        )
    isolate_environment()
    # A cancelled job (SIGTERM) unwinds like Ctrl-C: the stand-in, the runner and the temporary files are cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    console = Console(width=min(shutil.get_terminal_size((WIDTH, 24)).columns, WIDTH), highlight=False)
    started = time.monotonic()
    scenario = Scenario(
        days=args.days,
        start=args.start,
        deletion_day=min(Scenario.deletion_day, args.days - 1),
        outage_day=min(Scenario.outage_day, args.days),
    )
    account = run_demo(scenario, console, today=today)
    render_account(console, account, every_deletion=args.every_deletion)
    console.rule("The archive: a monthly export rule, and an item recovered from it")
    archived = run_archive_demo(console)
    account.problems.extend(f"archive: {p}" for p in archived.problems)
    verdict = "ok" if account.ok else f"{len(account.problems)} problem(s) found"
    console.print(
        Text(
            f"Demo finished: {account.invocations} invocations over {len(account.days)} simulated days; the stand-in "
            f"and the runner are stopped. {verdict}.",
            style="bold" if account.ok else "bold red",
        )
    )
    # On stderr: the one thing that differs between two runs of the same start.
    print(f"make demo: {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0 if account.ok else 1


if __name__ == "__main__":
    sys.exit(main())
