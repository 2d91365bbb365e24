"""The step machine of one drill: start (restore) -> restoring -> verifying -> cleaning up, its state in AWS.

The state is the drill table's own: DescribeTable (CREATING, ACTIVE, RestoreSummary) and its tags (source, backup,
plan, started, phase, verdict). No step needs memory of an earlier invocation, so any invocation takes up any drill
where another stopped; and no step waits for a restore: a drill still restoring is looked at again next invocation.
The drill's end is recorded (drill_records.py) before its table is tagged as ending and deleted: a crash in between
repeats the verification, never loses the result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from tablesafe.aws.drill_records import CountProgress, DrillRecord
from tablesafe.aws.drills import (
    BackupGone,
    CountPage,
    DeleteResult,
    DrillTable,
    RecordedBackup,
    RestoreStarted,
    ValidatorAnswer,
)
from tablesafe.aws.errors import AmbiguousResult, BackupInUse, GatewayError, Throttled
from tablesafe.config.plans import Plan
from tablesafe.drill import names, sweep
from tablesafe.drill.report import DrillReport, DrillResult, Verdict
from tablesafe.drill.verification import (
    PAGE_LIMIT,
    UnitBudget,
    count_items,
    run_validator,
    shape_problems,
    within_tolerance,
)
from tablesafe.observability import logger

RESTORING, VERIFYING, CLEANING_UP = "restoring", "verifying", "cleaning-up"
VALIDATOR_TIMEOUT_SECONDS = 300


class Gateway(Protocol):
    """What the steps call (aws/drills.py)."""

    def table_names(self, prefix: str) -> list[str]: ...
    def describe(self, name: str) -> DrillTable | None: ...
    def tags(self, arn: str) -> dict[str, str]: ...
    def tag(self, arn: str, tags: Mapping[str, str]) -> None: ...
    def restore(self, target: str, backup_arn: str) -> str: ...
    def delete(self, name: str) -> DeleteResult: ...
    def disable_deletion_protection(self, name: str) -> None: ...
    def describe_backup(self, arn: str) -> RecordedBackup | None: ...
    def count_page(self, table: str, segment: int, segments: int, start_key: Any, limit: int) -> CountPage: ...
    def invoke_validator(self, function: str, payload: Mapping[str, Any]) -> ValidatorAnswer: ...


class Records(Protocol):
    def put(self, record: DrillRecord) -> None: ...
    def load_count(self, drill_table: str) -> CountProgress | None: ...
    def save_count(self, drill_table: str, progress: CountProgress) -> None: ...


@dataclass(frozen=True)
class Steps:
    """Everything a step needs: gateway, records, configuration and the clocks."""

    gateway: Gateway
    records: Records
    prefix: str
    plans: Mapping[str, Plan]
    now: Callable[[], datetime]
    budget: UnitBudget
    time_left: Callable[[], float]  # seconds this invocation may still work (its reserve already taken off)
    validator_timeout: int = VALIDATOR_TIMEOUT_SECONDS
    page_limit: int = PAGE_LIMIT  # items a count page at most (tests make it small)

    # -- start -----------------------------------------------------------------------------------------------------

    def start(self, table: str, plan: str, backup_arn: str, report: DrillReport) -> bool:
        """Restore `backup_arn` into its drill table and tag it; False when no more drills should start now."""
        target = names.drill_table_name(self.prefix, table, backup_arn)
        step: dict[str, Any] = {"table": table, "backup_arn": backup_arn, "drill_table": target, "plan": plan}
        recorded = self.gateway.describe_backup(backup_arn)
        if recorded is None or recorded.status != "AVAILABLE":
            logger.warning("drill not started: the backup is gone or not available", **step)
            report.waiting.append(table)
            return True
        started = self.now()
        try:
            arn = self.gateway.restore(target, backup_arn)
        except RestoreStarted:
            logger.info("drill already started by another invocation", **step)
            return True
        except Throttled as error:  # LimitExceededException: too many restores at once in the account
            logger.warning(
                "drill waits: the account's concurrent restores are at their limit", **step, error=str(error)
            )
            report.waiting.append(table)
            return False
        except (BackupGone, BackupInUse) as error:
            logger.warning("drill not started: the backup cannot be restored now", **step, error=str(error))
            report.waiting.append(table)
            return True
        except AmbiguousResult as error:
            # The restore may have begun: its table, by its deterministic name, is taken up next invocation.
            logger.warning(
                "drill restore answer lost; the next invocation looks for its table", **step, error=str(error)
            )
            return True
        except GatewayError as error:
            self._record(
                DrillResult(
                    table, plan, target, backup_arn, Verdict.FAILED, f"restore refused: {error.code}: {error.message}"
                ),
                report,
            )
            return True
        tags = {
            names.TAG_DRILL: table,
            names.TAG_BACKUP: names.backup_id(backup_arn),
            names.TAG_PLAN: plan,
            names.TAG_STARTED: names.stamp(started),
            names.TAG_PHASE: RESTORING,
        }
        if recorded.item_count is not None:
            tags[names.TAG_EXPECTED] = str(recorded.item_count)
        try:
            self.gateway.tag(arn or self._arn_of(target), tags)
        except GatewayError as error:  # the sweep's adoption tags it later (sweep.adoption_tags)
            logger.warning("drill table not tagged yet; a later invocation tags it", **step, error=str(error))
        logger.info("drill started", **step, phase=RESTORING)
        report.started.append(target)
        report.started_tags[target] = tags
        return True

    def _arn_of(self, name: str) -> str:
        described = self.gateway.describe(name)
        return described.arn if described is not None else name

    # -- advance ---------------------------------------------------------------------------------------------------

    def advance(self, table: DrillTable, tags: Mapping[str, str], report: DrillReport) -> None:
        """Take one drill table a step further (or several, when nothing has to wait)."""
        source, plan_name = tags.get(names.TAG_DRILL, ""), tags.get(names.TAG_PLAN, "")
        started = names.parse_stamp(tags.get(names.TAG_STARTED)) or table.created
        limit, now = sweep.max_restore(self.plans, plan_name), self.now()
        phase = tags.get(names.TAG_PHASE, RESTORING)
        backup_arn = table.source_backup_arn or tags.get(names.TAG_BACKUP, "")
        base = DrillResult(source, plan_name, table.name, backup_arn, Verdict.FAILED, "")

        def end(reason: str, verdict: Verdict = Verdict.FAILED) -> None:
            self._end(table, tags, _with(base, verdict=verdict, reason=reason), report)

        if tags.get(names.TAG_VERDICT) or phase == CLEANING_UP:
            self.clean_up(table, tags, report)
        elif table.status == "CREATING" or table.restore_in_progress:
            if now - started > limit:
                end(f"restore slower than {_minutes(limit)}: restoring for {_minutes(now - started)}")
            else:
                logger.info(
                    "drill restoring",
                    table=source,
                    drill_table=table.name,
                    phase=RESTORING,
                    started=names.stamp(started),
                )
                report.in_flight += 1
        elif table.status == "DELETING":
            return
        elif table.status != "ACTIVE":
            end(f"restored table is {table.status}")
        else:
            self._active(table, tags, base, started, limit, report)

    def _active(
        self,
        table: DrillTable,
        tags: Mapping[str, str],
        base: DrillResult,
        started: datetime,
        limit: timedelta,
        report: DrillReport,
    ) -> None:
        """An ACTIVE drill table: measure the restore, verify, end (or leave it counting for the next invocation)."""
        now, phase = self.now(), tags.get(names.TAG_PHASE, RESTORING)
        progress = self.records.load_count(table.name) if phase == VERIFYING else None
        if progress is not None and progress.drill != names.stamp(started):
            progress = None  # an earlier drill's count, of another restore under this name
        plan = self.plans.get(base.plan)
        if sweep.left_behind(started, now, limit) and not sweep.counting(progress, now):
            reason, verdict = f"left behind: unfinished {_minutes(now - started)} after its start", Verdict.FAILED
        elif plan is None or plan.drill is None:
            reason, verdict = f"plan {base.plan!r} is not drilled any more", Verdict.ABANDONED
        else:
            reason, verdict = "", Verdict.PASSED
        if reason:
            self._end(table, tags, _with(base, verdict=verdict, reason=reason), report)
            return
        assert plan is not None
        active_at = names.parse_stamp(tags.get(names.TAG_ACTIVE)) or now
        seconds = max(0.0, (active_at - started).total_seconds())
        base = _with(base, restore_seconds=seconds)
        if phase != VERIFYING:
            self._tag(table, {names.TAG_PHASE: VERIFYING, names.TAG_ACTIVE: names.stamp(active_at)})
            logger.info(
                "drill restored", table=base.table, drill_table=table.name, phase=VERIFYING, restore_seconds=seconds
            )
        if seconds > limit.total_seconds():
            took = _minutes(timedelta(seconds=seconds))
            self._end(table, tags, _with(base, reason=f"restore took {took}, more than {_minutes(limit)}"), report)
            return
        verdict_result = self.verify(table, tags, plan, base, progress)
        if verdict_result is None:
            report.in_flight += 1
            return
        self._end(table, tags, verdict_result, report)

    # -- verify ----------------------------------------------------------------------------------------------------

    def verify(
        self,
        table: DrillTable,
        tags: Mapping[str, str],
        plan: Plan,
        base: DrillResult,
        progress: CountProgress | None = None,
    ) -> DrillResult | None:
        """The drill's verdict, or None when the count ran out of time (saved: the next invocation goes on)."""
        assert plan.drill is not None
        if self.time_left() <= 0:
            return None
        recorded = self.gateway.describe_backup(base.backup_arn) if base.backup_arn else None
        if recorded is None:
            return _with(
                base,
                verdict=Verdict.ABANDONED,
                reason="the backup was deleted during the drill: nothing to compare with",
            )
        problems = shape_problems(table, recorded)
        if problems:
            return _with(base, reason="restored table differs from the backup: " + "; ".join(problems))
        expected = recorded.item_count
        if expected is None and tags.get(names.TAG_EXPECTED, "").isdigit():
            expected = int(tags[names.TAG_EXPECTED])
        count = count_items(
            self.gateway,
            table.name,
            budget=self.budget,
            time_left=self.time_left,
            resume=progress.segments if progress is not None else None,
            page_limit=self.page_limit,
        )
        logger.info(
            "drill count", table=base.table, drill_table=table.name, items=count.items, complete=count.complete,
            read_units=count.read_units, seconds=round(count.seconds, 3),
        )  # fmt: skip
        if not count.complete:
            started = names.parse_stamp(tags.get(names.TAG_STARTED)) or table.created
            self.records.save_count(table.name, CountProgress(count.segments, self.now(), names.stamp(started)))
            return None
        base = _with(base, expected_items=expected, counted_items=count.items)
        if expected is not None and not within_tolerance(expected, count.items, plan.drill.count_tolerance_percent):
            return _with(
                base,
                reason=f"{count.items} items restored, the backup recorded {expected} "
                f"(more than {plan.drill.count_tolerance_percent:g}% apart)",
            )
        if plan.drill.validator is not None:
            payload = {
                "drillTable": table.name,
                "sourceTable": base.table,
                "backupArn": base.backup_arn,
                "plan": plan.name,
            }
            problem = run_validator(self.gateway, plan.drill.validator, payload, self.validator_timeout)
            if problem is not None:
                return _with(base, reason=problem)
        return _with(base, verdict=Verdict.PASSED, reason="restored, shape matches, count within tolerance")

    # -- end and clean up ------------------------------------------------------------------------------------------

    def _end(self, table: DrillTable, tags: Mapping[str, str], result: DrillResult, report: DrillReport) -> None:
        self._record(result, report)
        ending = {
            names.TAG_PHASE: CLEANING_UP,
            names.TAG_VERDICT: result.verdict.value,
            names.TAG_REASON: names.tag_value(result.reason),
        }
        self._tag(table, ending)
        # The tags as read before (ListTagsOfResource is eventually consistent: it may not show `ending` yet).
        self.clean_up(table, {**tags, **ending}, report)

    def _record(self, result: DrillResult, report: DrillReport) -> None:
        log = (
            logger.warning
            if result.verdict is Verdict.ABANDONED
            else logger.error
            if result.verdict is Verdict.FAILED
            else logger.info
        )
        log("drill result", **result.as_dict())
        if result.verdict is not Verdict.ABANDONED:
            self.records.put(
                DrillRecord(
                    table=result.table,
                    plan=result.plan,
                    verdict=result.verdict.value,
                    finished_at=self.now(),
                    reason=result.reason,
                    restore_seconds=result.restore_seconds,
                    backup_arn=result.backup_arn,
                )
            )
        report.results.append(result)

    def clean_up(self, table: DrillTable, tags: Mapping[str, str], report: DrillReport) -> None:
        """Delete the drill table, fenced twice: the drill prefix AND the drill tag (IAM allows no other name)."""
        if not names.is_ours(table.name, tags, self.prefix):
            logger.error("not deleted: the table is not a drill table (name or drill tag missing)", table=table.name)
            return
        if table.deletion_protection:
            self.gateway.disable_deletion_protection(table.name)
        outcome = self.gateway.delete(table.name)
        if outcome is DeleteResult.IN_USE:
            logger.info(
                "drill table still restoring; deleted once it is ACTIVE", drill_table=table.name, phase=CLEANING_UP
            )
            report.in_flight += 1
            return
        logger.info(
            "drill table deleted", drill_table=table.name, table=tags.get(names.TAG_DRILL), outcome=outcome.value
        )
        report.deleted.append(table.name)

    def _tag(self, table: DrillTable, tags: Mapping[str, str]) -> None:
        self.gateway.tag(table.arn, tags)


def _with(result: DrillResult, **changes: Any) -> DrillResult:
    return replace(result, **changes)


def _minutes(span: timedelta) -> str:
    return f"{span.total_seconds() / 60:.0f} minutes"
