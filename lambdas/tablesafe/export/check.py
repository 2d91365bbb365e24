"""The check of exports in flight: each export tablesafe started is reported once, when a later run sees it end.

The export run registers every export it starts (or finds in progress) in the stack's lease table. A check lists
the register, describes each export, and closes those that ended with a conditional write, so of two checks running
at once only one reports a given export: COMPLETED counts in ExportsCompleted and ExportedBytes, FAILED is an error
log line naming the table, counts in ExportsFailed and fails the run that found it. No timing is assumed: an export
still IN_PROGRESS is looked at again by the next check, however long it takes.
"""

from __future__ import annotations

from tablesafe.aws.dynamodb import GatewayError
from tablesafe.aws.exports import ExportGateway, InFlight
from tablesafe.export.report import CheckReport, EndedExport
from tablesafe.observability import logger


def check_exports(exports: ExportGateway) -> CheckReport:
    """Look at every export in flight; report and close those that ended."""
    report = CheckReport()
    for item in exports.in_flight():
        try:
            _check_one(exports, item, report)
        except GatewayError as error:
            problem = f"{item.table} {item.export_arn}: {error.code}: {error.message}"
            report.problems.append(problem)
            logger.error(
                "could not check an export in flight",
                table=item.table,
                export_arn=item.export_arn,
                error=f"{error.code}: {error.message}",
            )
    logger.info("exports in flight checked", **report.as_dict())
    return report


def _check_one(exports: ExportGateway, item: InFlight, report: CheckReport) -> None:
    info = exports.describe_export(item.export_arn)
    if info is not None and info.status == "IN_PROGRESS":
        report.in_progress += 1
        return
    status = "completed" if info is not None and info.status == "COMPLETED" else "failed"
    if not exports.close(item.export_arn, status):
        return  # another check reported it
    if info is not None and status == "completed":
        ended = EndedExport(
            item.table, item.plan, item.rule, item.slot, item.export_arn, info.billed_bytes, info.item_count
        )
        report.completed.append(ended)
        logger.info(
            "export completed",
            table=item.table,
            plan=item.plan,
            rule=item.rule,
            slot=item.slot,
            export_arn=item.export_arn,
            billed_bytes=info.billed_bytes,
            item_count=info.item_count,
        )
        return
    why = "DynamoDB knows no such export" if info is None else f"{info.failure_code}: {info.failure_message}"
    report.failed.append(EndedExport(item.table, item.plan, item.rule, item.slot, item.export_arn, failure=why))
    logger.error(
        "export failed",
        table=item.table,
        plan=item.plan,
        rule=item.rule,
        slot=item.slot,
        export_arn=item.export_arn,
        failure=why,
    )
