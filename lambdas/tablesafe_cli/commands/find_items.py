"""`tablesafe find-items TABLE --export latest|ARN (--key JSON ... | --keys-file FILE)`: items from an export."""

from __future__ import annotations

import json

from tablesafe.aws.dynamodb import TableNotFound
from tablesafe.aws.export_reads import ExportReads
from tablesafe.aws.tables import Item
from tablesafe_cli.commands.copy_items import read_keys_file
from tablesafe_cli.context import Context
from tablesafe_cli.errors import Failure, UsageError
from tablesafe_cli.export_source import ExportSource, find, resolve
from tablesafe_cli.item_keys import SelectionError, parse_key, plain_item, unique_keys


def export_of(ctx: Context, reads: ExportReads, table: str, choice: str) -> ExportSource:
    """The export `choice` of `table` (which may no longer exist: its ARN is then made from an export ARN)."""
    try:
        table_arn = ctx.tables.describe(table).arn
    except TableNotFound:
        if choice == "latest":
            raise Failure(f"table {table} not found in {ctx.region}: name its export by ARN (--export ARN)") from None
        table_arn = choice.split("/export/", 1)[0]
    return resolve(reads, table_arn, choice, ctx.config.archive.bucket_owner)


def requested_keys(ctx: Context, source: ExportSource) -> list[Item]:
    """--key (repeatable) or --keys-file, parsed against the exported table's key."""
    args = ctx.args
    if bool(args.key) == (args.keys_file is not None):
        raise UsageError("choose the items with exactly one of --key (repeatable) or --keys-file")
    raw = [_json_key(k) for k in args.key] if args.key else read_keys_file(args.keys_file)
    try:
        keys = [parse_key(k, source.table) for k in raw]
    except SelectionError as error:
        raise UsageError(str(error)) from None
    return unique_keys(keys, source.table.key_names)


def cmd_find_items(ctx: Context) -> int:
    """Print the items of the chosen keys as the export holds them (DynamoDB JSON, a line each); exit 1 if some
    key is not in the export."""
    reads = ExportReads.from_session(ctx.args.profile, ctx.args.region)
    source = export_of(ctx, reads, ctx.args.table, ctx.args.export)
    keys = requested_keys(ctx, source)
    with ctx.progress(bar=False) as progress:
        task = progress.add_task(f"reading {source.info.arn}", total=None)
        read = [0]

        def advance(count: int) -> None:
            read[0] += count
            progress.update(task, description=f"reading the export: {read[0] / 1e6:.1f} MB")

        found, missing = find(source, reads, keys, on_bytes=advance)
    body = {
        "export": source.info.arn,
        "items": found,
        "notFound": [plain_item(k) for k in missing],
        "bytesRead": read[0],
    }
    ctx.emit(body, lambda: _render(found, missing))
    return 1 if missing else 0


def _render(found: list[Item], missing: list[Item]) -> None:
    for item in found:
        print(json.dumps(item, sort_keys=True))
    for key in missing:
        print(f"not in the export: {json.dumps(plain_item(key), default=str)}")


def _json_key(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"--key {text}: not JSON ({error.msg})") from None
