"""Backup function entry point: event -> settings -> run_backup -> metrics; raises when a table failed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from tablesafe.backup.run import BackupReport, BackupRequest, BackupRunFailed, Outcome, run_backup
from tablesafe.constants import (
    DIM_PLAN,
    DIM_RULE,
    JOB_BACKUP,
    M_BACKUP_RUN_DURATION,
    M_BACKUP_RUNS_SUCCEEDED,
    M_BACKUPS_ALREADY_PRESENT,
    M_BACKUPS_CREATED,
    M_DUPLICATE_DELIVERIES,
    M_PITR_DRIFT,
    M_REPLICAS_SKIPPED,
    M_SLOT_LEASE_UNAVAILABLE,
    M_TABLES_FAILED,
    M_TABLES_SKIPPED,
    M_UNKNOWN_PLAN_TABLES,
    METRICS_NAMESPACE,
)
from tablesafe.observability import COUNT, SECONDS, annotate, logger, metrics, put_metrics, tracer
from tablesafe.runtime import exports
from tablesafe.runtime.cold_start import backup_leases, cold_start, continuation


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, gateway = cold_start()
    request = BackupRequest.from_event(event, now=datetime.now(UTC))
    annotate(tracer, job=JOB_BACKUP, plan=request.plan, rule=request.rule)
    checked = exports.check_in_flight(settings)  # None without export rules
    if exports.is_export_rule(settings, request.plan, request.rule):
        return exports.export_slot(settings, gateway, request, context, also_raise=checked)
    report = run_backup(
        gateway,
        settings,
        request,
        time_left=lambda: context.get_remaining_time_in_millis() / 1000,
        continue_run=continuation(context.invoked_function_arn),
        leases=backup_leases(),
    )
    _emit(report)
    if failure := "; ".join(f for f in (report.failure(), checked) if f):
        raise BackupRunFailed(failure)
    return report.as_dict()


def _emit(report: BackupReport) -> None:
    # Also without Plan/Rule, so that one alarm covers every rule's runs; 0 included, so that the alarm, which keeps
    # its state between runs, goes back to OK at the first run without the problem (infra/monitoring.py).
    document = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=metrics.service)
    document.add_metric(name=M_UNKNOWN_PLAN_TABLES, unit=COUNT, value=len(report.unknown_plan))
    document.add_metric(name=M_SLOT_LEASE_UNAVAILABLE, unit=COUNT, value=report.lease_unavailable)
    document.flush_metrics()
    logger.info("backup run finished", run=report.as_dict())
    put_metrics(
        {DIM_PLAN: report.plan, DIM_RULE: report.rule},
        {
            M_BACKUPS_CREATED: (len(report.tables(Outcome.CREATED)), COUNT),
            M_BACKUPS_ALREADY_PRESENT: (len(report.tables(Outcome.ALREADY_PRESENT)), COUNT),
            M_TABLES_SKIPPED: (len(report.tables(Outcome.SKIPPED)), COUNT),
            M_TABLES_FAILED: (len(report.failed), COUNT),
            M_UNKNOWN_PLAN_TABLES: (len(report.unknown_plan), COUNT),
            M_REPLICAS_SKIPPED: (report.replicas_skipped, COUNT),
            M_PITR_DRIFT: (report.pitr_changed, COUNT),
            M_BACKUP_RUNS_SUCCEEDED: (1 if report.finished else 0, COUNT),
            M_DUPLICATE_DELIVERIES: (1 if report.duplicate_delivery else 0, COUNT),
            M_SLOT_LEASE_UNAVAILABLE: (report.lease_unavailable, COUNT),
            M_BACKUP_RUN_DURATION: (report.duration_seconds, SECONDS),
        },
    )
