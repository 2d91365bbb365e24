"""Drill function entry point: event -> settings -> run_drills -> metrics; raises when a drill failed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from tablesafe.config.events import require_job
from tablesafe.constants import (
    DIM_PLAN,
    JOB_DRILL,
    M_DRILLS_FAILED,
    M_DRILLS_OVERDUE,
    M_DRILLS_PASSED,
    M_RESTORE_SECONDS,
    METRICS_NAMESPACE,
)
from tablesafe.drill.report import DrillReport, DrillRunFailed, Verdict
from tablesafe.drill.run import run_drills
from tablesafe.observability import COUNT, SECONDS, annotate, logger, metrics, tracer
from tablesafe.runtime.drill_wiring import drill_wiring

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The function's clock (tests hand the handler another)."""
    return datetime.now(UTC)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext, clock: Clock = utc_now) -> dict[str, Any]:
    require_job(event, JOB_DRILL)
    annotate(tracer, job=JOB_DRILL)  # one run drills every plan that asks for it
    deps, settings = drill_wiring()
    report = run_drills(deps, settings, now=clock, time_left=lambda: context.get_remaining_time_in_millis() / 1000)
    _emit(report, sorted(name for name, plan in settings.plans.items() if plan.drill is not None))
    if (failure := report.failure()) is not None:
        raise DrillRunFailed(failure)
    return report.as_dict()


def _emit(report: DrillReport, plans: list[str]) -> None:
    # One EMF document per plan (an EMF document has one dimension set); every drilled plan gets its datapoints,
    # zeros included, so the "no drill passed" alarm sees the function run.
    if report.lease_busy:
        return
    for plan in plans:
        document = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=metrics.service)
        document.add_dimension(name=DIM_PLAN, value=plan)
        document.add_metric(name=M_DRILLS_PASSED, unit=COUNT, value=report.count(Verdict.PASSED, plan))
        document.add_metric(name=M_DRILLS_FAILED, unit=COUNT, value=report.count(Verdict.FAILED, plan))
        document.add_metric(name=M_DRILLS_OVERDUE, unit=COUNT, value=report.overdue.get(plan, 0))
        for result in report.results:
            if result.plan == plan and result.restore_seconds is not None:
                document.add_metric(name=M_RESTORE_SECONDS, unit=SECONDS, value=result.restore_seconds)
        document.flush_metrics()
