"""Prune function entry point: event -> settings -> run_prune -> metrics; raises when a table or deletion failed."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tablesafe.constants import (
    DIM_DRY_RUN,
    DIM_PLAN,
    JOB_PRUNE,
    M_BACKUPS_DELETE_FAILED,
    M_BACKUPS_DELETED,
    M_BACKUPS_IN_USE_SKIPPED,
    M_ESTIMATED_MONTHLY_COST,
    M_EXPIRED_BACKLOG,
    M_ORPHANED_BACKUPS,
    M_PRUNE_RUN_DURATION,
    M_PRUNE_TABLES_FAILED,
    M_STORED_BACKUPS,
    M_STORED_BYTES,
    METRICS_NAMESPACE,
)
from tablesafe.observability import COUNT, NONE, SECONDS, annotate, logger, metrics, put_metrics, tracer
from tablesafe.prune.report import Outcome, PruneReport, PruneRequest, PruneRunFailed
from tablesafe.prune.run import run_prune
from tablesafe.rules.retention import longest_retention
from tablesafe.runtime import exports
from tablesafe.runtime.cold_start import cold_start, continuation

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The function's clock (tests hand the handler another)."""
    return datetime.now(UTC)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext, clock: Clock = utc_now) -> dict[str, Any]:
    settings, gateway = cold_start()
    request = PruneRequest.from_event(event, now=clock(), longest_retention=longest_retention(settings.plans))
    annotate(tracer, job=JOB_PRUNE)  # one prune covers every plan and rule
    report = run_prune(
        gateway,
        settings,
        request,
        time_left=lambda: context.get_remaining_time_in_millis() / 1000,
        continue_run=continuation(context.invoked_function_arn),
    )
    _emit(report)
    archived = exports.prune_archive(settings, request.now, context.invoked_function_arn, os.environ)
    if report.failed or archived:
        raise PruneRunFailed("; ".join(f for f in (report.failure_summary() if report.failed else "", archived) if f))
    return report.as_dict()


def _emit(report: PruneReport) -> None:
    logger.info("prune run finished", **report.as_dict())
    dry_run = "true" if report.dry_run else "false"
    put_metrics(
        {DIM_DRY_RUN: dry_run},
        {
            M_BACKUPS_DELETED: (report.deleted, COUNT),
            M_BACKUPS_DELETE_FAILED: (report.count(Outcome.FAILED), COUNT),
            M_BACKUPS_IN_USE_SKIPPED: (report.count(Outcome.IN_USE), COUNT),
            M_ORPHANED_BACKUPS: (report.orphaned, COUNT),
            M_PRUNE_TABLES_FAILED: (len(report.failed_tables), COUNT),
            M_PRUNE_RUN_DURATION: (report.duration_seconds, SECONDS),
        },
    )
    if report.expired_backlog is not None:  # the run's last invocation: what is left for the next runs
        put_metrics({DIM_DRY_RUN: dry_run}, {M_EXPIRED_BACKLOG: (report.expired_backlog, COUNT)})
    # One EMF document per plan: an EMF document has one dimension set, and the run-level one above has no Plan.
    for plan, stored in sorted(report.storage.items()):
        document = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=metrics.service)
        document.add_dimension(name=DIM_PLAN, value=plan)
        document.add_dimension(name=DIM_DRY_RUN, value=dry_run)
        document.add_metric(name=M_STORED_BACKUPS, unit=COUNT, value=stored.backups)
        document.add_metric(name=M_STORED_BYTES, unit=MetricUnit.Bytes, value=stored.bytes)
        document.add_metric(name=M_ESTIMATED_MONTHLY_COST, unit=NONE, value=report.estimated_monthly_cost(plan))
        document.flush_metrics()
