"""`tablesafe exports TABLE`: a table's exports, newest slot first (slot, status, bytes, storage class, lock until)."""

from __future__ import annotations

from typing import Any

from tablesafe.aws.errors import GatewayError
from tablesafe.aws.export_reads import ExportReads
from tablesafe.rules.export_naming import parse_slot_prefix
from tablesafe_cli.context import Context
from tablesafe_cli.errors import Failure


def cmd_exports(ctx: Context) -> int:
    """List the table's exports; those tablesafe made show their plan, rule and slot."""
    table = ctx.require_table(ctx.args.table)
    reads = ExportReads.from_session(ctx.args.profile, ctx.args.region)
    owner = ctx.config.archive.bucket_owner
    rows: list[dict[str, Any]] = []
    try:
        for arn in reads.table_exports(table.arn):
            info = reads.describe(arn)
            slot = parse_slot_prefix(info.prefix)
            storage, until = ("", None)
            if info.status == "COMPLETED" and info.manifest:
                storage, until = reads.head(info.bucket, info.manifest, owner)
            rows.append(
                {
                    "exportArn": arn,
                    "plan": slot.plan if slot else None,
                    "rule": slot.rule if slot else None,
                    "slot": slot.slot.isoformat() if slot else None,
                    "status": info.status,
                    "bytes": info.billed_bytes,
                    "items": info.item_count,
                    "storageClass": storage or None,
                    "lockUntil": until,
                    "bucket": info.bucket,
                    "prefix": info.prefix,
                }
            )
    except GatewayError as error:
        raise Failure(f"cannot list the exports of {table.name}: {error}") from None
    rows.sort(key=lambda r: r["slot"] or "", reverse=True)
    ctx.emit(rows, lambda: _render(rows))
    return 0


def _render(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("no exports")
    for r in rows:
        where = f"{r['plan']}/{r['rule']} {r['slot']}" if r["slot"] else "(not tablesafe's)"
        print(
            f"{where}  {r['status']:<11} {r['bytes']:>14,} B  {r['storageClass'] or '-':<12} "
            f"lock until {r['lockUntil'] or '-'}  {r['exportArn']}"
        )
