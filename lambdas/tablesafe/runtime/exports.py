"""The backup function's export side: an export rule's slot, and the check of exports in flight on every run.

The handler stays an adapter: it asks `run_export_invocation` for an export rule's event, and `check_in_flight`
on every invocation of a configuration that has an export rule; both emit their metrics here and return what the
invocation must raise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.aws.exports import ExportGateway
from tablesafe.backup.report import BackupRequest
from tablesafe.config.settings import Settings
from tablesafe.constants import (
    DIM_PLAN,
    DIM_RULE,
    ENV_ARCHIVE_BUCKET,
    M_ARCHIVED_BYTES,
    M_BACKUP_RUN_DURATION,
    M_BACKUP_RUNS_SUCCEEDED,
    M_ESTIMATED_ARCHIVE_MONTHLY_COST,
    M_EXPORTED_BYTES,
    M_EXPORTS_ALREADY_PRESENT,
    M_EXPORTS_COMPLETED,
    M_EXPORTS_DELETE_FAILED,
    M_EXPORTS_DELETED,
    M_EXPORTS_FAILED,
    M_EXPORTS_IN_PROGRESS,
    M_EXPORTS_STARTED,
    M_ORPHANED_EXPORTS,
    M_TABLES_FAILED,
    M_TABLES_SKIPPED,
    METRICS_NAMESPACE,
)
from tablesafe.export.check import check_exports
from tablesafe.export.prune import prune_exports
from tablesafe.export.report import ExportOutcome, ExportReport, ExportRequest, ExportRunFailed
from tablesafe.export.slot import run_export_slot
from tablesafe.observability import COUNT, SECONDS, logger, metrics, put_metrics
from tablesafe.rules.export_naming import account_of_arn
from tablesafe.runtime.cold_start import backup_leases, function_session


def exports_configured(settings: Settings) -> bool:
    return any(rule.exports for plan in settings.plans.values() for rule in plan.rules)


def is_export_rule(settings: Settings, plan: str, rule: str) -> bool:
    found = settings.plans.get(plan)
    chosen = found.rule(rule) if found is not None else None
    return chosen is not None and chosen.exports


@cache
def export_gateway() -> ExportGateway:
    """Built once per execution environment, on the cold-start gateway's session."""
    return ExportGateway.from_env(session=function_session())


def export_slot(
    settings: Settings,
    gateway: DynamoDbGateway,
    request: BackupRequest,
    context: LambdaContext,
    *,
    also_raise: str | None = None,
) -> dict[str, Any]:
    """An export rule's event: its slot under the lease, the metrics; raises ExportRunFailed on any failure
    (this run's, or `also_raise`: the check's)."""
    report = run_export_invocation(
        settings,
        gateway,
        ExportRequest(request.plan, request.rule, request.slot),
        lease_holder=request.lease_holder,
        time_left=lambda: context.get_remaining_time_in_millis() / 1000,
    )
    if failure := "; ".join(f for f in (report.failure(), also_raise) if f):
        raise ExportRunFailed(failure)
    return report.as_dict()


def run_export_invocation(
    settings: Settings,
    gateway: DynamoDbGateway,
    request: ExportRequest,
    *,
    lease_holder: str | None,
    time_left: Callable[[], float],
) -> ExportReport:
    """One export rule's slot under its lease, its metrics emitted (Plan, Rule)."""
    report = run_export_slot(
        gateway,
        export_gateway(),
        settings,
        request,
        leases=backup_leases(),
        predecessor=lease_holder,
        time_left=time_left,
    )
    logger.info("export run finished", run=report.as_dict())
    put_metrics(
        {DIM_PLAN: report.plan, DIM_RULE: report.rule},
        {
            M_EXPORTS_STARTED: (len(report.tables(ExportOutcome.STARTED)), COUNT),
            M_EXPORTS_ALREADY_PRESENT: (len(report.tables(ExportOutcome.ALREADY_PRESENT)), COUNT),
            M_TABLES_SKIPPED: (len(report.tables(ExportOutcome.SKIPPED)), COUNT),
            M_TABLES_FAILED: (len(report.failed), COUNT),
            M_BACKUP_RUNS_SUCCEEDED: (1 if report.finished else 0, COUNT),
            M_BACKUP_RUN_DURATION: (report.duration_seconds, SECONDS),
        },
    )
    return report


def check_in_flight(settings: Settings) -> str | None:
    """Report the exports that ended since the last check (service dimension only: one alarm for every rule);
    returns what the invocation must raise (failed exports, exports that could not be checked), or None."""
    if not exports_configured(settings):
        return None
    report = check_exports(export_gateway())
    document = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=metrics.service)
    values: dict[str, tuple[float, Any]] = {
        M_EXPORTS_COMPLETED: (len(report.completed), COUNT),
        M_EXPORTS_FAILED: (len(report.failed), COUNT),
        M_EXPORTED_BYTES: (report.exported_bytes, MetricUnit.Bytes),
        M_EXPORTS_IN_PROGRESS: (report.in_progress, COUNT),
    }
    for name, (value, unit) in values.items():
        document.add_metric(name=name, unit=unit, value=value)
    document.flush_metrics()
    return report.failure()


def prune_archive(settings: Settings, now: datetime, function_arn: str, environ: Mapping[str, str]) -> str | None:
    """The prune function's part for exports: only where the stack made the archive bucket (the prune function is
    then given it; an archive account's bucket is pruned by its lifecycle, see docs/restore.md). Returns what the
    invocation must raise, or None."""
    if not exports_configured(settings) or not environ.get(ENV_ARCHIVE_BUCKET):
        return None
    exports = ExportGateway.from_env(session=function_session(), environ=environ)
    report = prune_exports(exports, settings.plans, account_of_arn(function_arn), now, dry_run=settings.dry_run)
    cost = report.monthly_cost(settings.archive_price_per_gb_month)
    logger.info("archive pruned", **report.as_dict(), estimatedMonthlyCost=round(cost, 6))
    document = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=metrics.service)
    for name, value, unit in (
        (M_EXPORTS_DELETED, len(report.deleted), COUNT),
        (M_EXPORTS_DELETE_FAILED, len(report.refused), COUNT),
        (M_ARCHIVED_BYTES, report.stored_bytes, MetricUnit.Bytes),
        (M_ORPHANED_EXPORTS, len(report.orphaned), COUNT),
        (M_ESTIMATED_ARCHIVE_MONTHLY_COST, cost, MetricUnit.NoUnit),
    ):
        document.add_metric(name=name, unit=unit, value=value)
    document.flush_metrics()
    return report.failure()
