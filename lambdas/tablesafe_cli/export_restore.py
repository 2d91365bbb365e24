"""`restore --export`: ImportTable of an export's data files into a new table, built from the settings tablesafe wrote
beside the export (keys, attribute definitions, billing, global secondary indexes), then the settings a restore
drops re-applied as the backup restore does (tablesafe_cli.table_settings): from the live table when it still
exists, else from the saved ones. ImportTable creates no local secondary index (TableCreationParameters has none):
the report says so when the table had one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tablesafe.aws.errors import GatewayError, TableNotFound
from tablesafe.aws.export_reads import ExportReads
from tablesafe.aws.tables import PitrState, TableDetails, TableGateway
from tablesafe_cli.export_source import ExportSource
from tablesafe_cli.restore import RestoreError, RestoreReport
from tablesafe_cli.table_settings import SettingOutcome, SettingResult, SourceSettings, read_settings, reapply_settings


def creation_parameters(source: ExportSource, target: str) -> dict[str, Any]:
    """ImportTable's TableCreationParameters from the saved settings."""
    saved = source.settings
    params: dict[str, Any] = {
        "TableName": target,
        "KeySchema": saved["keySchema"],
        "AttributeDefinitions": saved["attributeDefinitions"],
        "BillingMode": saved.get("billingMode", "PAY_PER_REQUEST"),
    }
    if params["BillingMode"] == "PROVISIONED":
        params["ProvisionedThroughput"] = saved["provisionedThroughput"]
    if saved.get("globalSecondaryIndexes"):
        params["GlobalSecondaryIndexes"] = saved["globalSecondaryIndexes"]
    return params


def saved_settings(source: ExportSource) -> SourceSettings:
    """The settings to re-apply as the export's sidecar holds them (PITR was on: exports need it)."""
    saved = source.settings
    return SourceSettings(
        tags=dict(saved.get("tags", {})),
        ttl_attribute=saved.get("ttlAttribute"),
        pitr=PitrState(enabled=True),
        scaling=(),
        stream_view_type=saved.get("streamViewType"),
        deletion_protection=bool(saved.get("deletionProtection", False)),
    )


# The arguments after `*` are keyword-only with defaults (restore's options and injected clocks): PLR0913
# counts those too, and a parameter object would only rename them.
def restore_from_export(  # noqa: PLR0913
    tables: TableGateway,
    reads: ExportReads,
    source: ExportSource,
    target: str,
    *,
    tag_key: str,
    keep_plan: bool = False,
    timeout: float = 4 * 3600,
    poll: float = 5.0,
    on_phase: Callable[[str], None] = lambda _: None,
    on_import: Callable[[str, int], None] = lambda _status, _count: None,
    sleep: Callable[[float], None] = time.sleep,
) -> RestoreReport:
    """Import the export into the new table `target`, wait for it, re-apply the settings; RestoreError if refused."""
    started = time.monotonic()
    on_phase("checking")
    if tables.exists(target):
        raise RestoreError(
            f"table {target} exists already; a restore never touches an existing table: choose a new name"
        )
    name = str(source.settings.get("tableName", ""))
    report = RestoreReport(source=name, target=target, method="export", backup_arn=source.info.arn)
    try:
        settings = read_settings(tables, name)
        report.notes.append(f"settings re-applied from {name} as it is now")
    except TableNotFound:
        settings = saved_settings(source)
        report.notes.append(f"{name} no longer exists: settings re-applied from those saved with the export")
    if source.settings.get("localSecondaryIndexes"):
        names = ", ".join(i["IndexName"] for i in source.settings["localSecondaryIndexes"])
        report.notes.append(f"ImportTable creates no local secondary index: {names} not restored")
    on_phase("importing")
    try:
        import_arn = reads.import_table(source.info.bucket, source.data_prefix, source.owner,
                                        creation_parameters(source, target))  # fmt: skip
    except GatewayError as error:
        raise RestoreError(f"ImportTable into {target} was refused: {error}") from None
    _wait_import(reads, import_arn, timeout, poll, on_import, sleep)
    on_phase("waiting")
    try:
        details: TableDetails = tables.wait_active(target, timeout=timeout, poll=poll, sleep=sleep)
    except TimeoutError as error:
        raise RestoreError(f"{error}; no setting was re-applied: apply them by hand once it is ACTIVE") from None
    on_phase("re-applying settings")
    report.settings.extend(
        reapply_settings(
            tables, details, settings, tag_key=tag_key, keep_plan=keep_plan, timeout=timeout, poll=poll, sleep=sleep
        )
    )
    report.seconds = time.monotonic() - started
    return report


def _wait_import(
    reads: ExportReads,
    import_arn: str,
    timeout: float,
    poll: float,
    on_import: Callable[[str, int], None],
    sleep: Callable[[float], None],
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status, count, failure = reads.import_status(import_arn)
        on_import(status, count)
        if status == "COMPLETED":
            return
        if status in ("FAILED", "CANCELLED", "CANCELLING"):
            raise RestoreError(f"import {import_arn} {status}: {failure or 'no reason given'}")
        if time.monotonic() >= deadline:
            raise RestoreError(f"import {import_arn} still {status} after {timeout:.0f} s; it goes on in AWS")
        sleep(poll)


__all__ = ["SettingOutcome", "SettingResult", "creation_parameters", "restore_from_export", "saved_settings"]
