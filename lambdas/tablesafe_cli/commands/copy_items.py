"""`tablesafe copy-items`: the partial restore, copying chosen items from a restored table into the live one."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tablesafe_cli.context import Context
from tablesafe_cli.copy_items import copy_items
from tablesafe_cli.copy_report import CopyProgress, CopyReport, Mode
from tablesafe_cli.copy_report import Selection as CopySelection
from tablesafe_cli.errors import Failure, UsageError
from tablesafe_cli.item_keys import SelectionError, plain_item, to_typed_values
from tablesafe_cli.layout import Column, print_table

# What a dry run says of each item, by its planned action (copy_report.Action).
DRY_RUN_VERBS = {"copy": "would copy", "skip": "would skip", "overwrite": "would overwrite", "unchanged": "unchanged"}


def _json_argument(text: str, option: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{option} {text}: not valid JSON: {error.msg} (column {error.colno})") from None


def read_keys_file(path: str) -> list[Any]:
    """Keys from a file ('-' is stdin): a JSON array, or one JSON object a line; an error names the line."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as error:
        raise UsageError(f"--keys-file {path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise UsageError(f"--keys-file {path}: not text (byte {error.start} is not UTF-8)") from None
    if text.strip().startswith("["):
        try:
            keys = json.loads(text)
        except json.JSONDecodeError as error:
            raise UsageError(
                f"--keys-file {path} line {error.lineno} column {error.colno}: not valid JSON: {error.msg}"
            ) from None
        if not isinstance(keys, list):
            raise UsageError(f"--keys-file {path}: expected a JSON array of keys")
        return keys
    keys = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            keys.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise UsageError(
                f"--keys-file {path} line {number}: not valid JSON: {error.msg} (column {error.colno})"
            ) from None
    if not keys:
        raise UsageError(f"--keys-file {path}: no keys in it")
    return keys


def selection_from(args: argparse.Namespace) -> CopySelection:
    """The items to copy, from --key/--keys-file or --filter/--key-condition; a wrong choice is a UsageError."""
    sources = [bool(args.key), args.keys_file is not None, args.filter is not None or args.key_condition is not None]
    if sum(sources) != 1:
        raise UsageError(
            "choose the items with exactly one of --key (repeatable), --keys-file, --filter/--key-condition"
        )
    if (args.names or args.values) and args.filter is None and args.key_condition is None:
        raise UsageError("--names and --values go with --filter or --key-condition")
    keys = [_json_argument(k, "--key") for k in args.key] if args.key else []
    if args.keys_file is not None:
        keys = read_keys_file(args.keys_file)
    names = _json_argument(args.names, "--names") if args.names else None
    if names is not None and (not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values())):
        raise UsageError('--names: expected a JSON object such as {"#s": "status"}')
    try:
        values = to_typed_values(_json_argument(args.values, "--values"), "--values") if args.values else None
    except SelectionError as error:
        raise UsageError(str(error)) from None
    return CopySelection(
        keys=tuple(keys),
        filter_expression=args.filter,
        key_condition=args.key_condition,
        names=names,
        values=values,
        segments=args.segments,
    )


def cmd_copy_items(ctx: Context) -> int:
    """The partial restore: copy chosen items from a restored table into the live one."""
    args = ctx.args
    if (args.source is None) == (args.from_export is None):
        raise UsageError("give exactly one of --from RESTORED or --from-export latest|ARN")
    if args.from_export is not None:
        from tablesafe_cli.commands.copy_from_export import cmd_copy_from_export

        return cmd_copy_from_export(ctx)
    selection = selection_from(args)
    for name in (args.source, args.target):
        ctx.require_table(name)
    verb = "checking" if args.dry_run else "copying"
    with ctx.progress() as progress:
        task = progress.add_task(f"{verb} {args.source} -> {args.target}", total=None)

        def advance(p: CopyProgress) -> None:
            progress.update(task, completed=p.done, total=p.total if p.total and p.total >= p.read else None)

        try:
            report = copy_items(
                ctx.tables,
                args.source,
                args.target,
                selection,
                mode=Mode(args.mode),
                dry_run=args.dry_run,
                workers=args.workers,
                on_progress=advance,
            )
        except SelectionError as error:
            raise UsageError(str(error)) from None
    ctx.emit(report.as_dict(), lambda: render_report(ctx, report))
    if report.stopped:
        left = f"; {len(report.not_attempted)} keys not attempted" if report.not_attempted else ""
        done = (
            "a dry run: nothing was written"
            if report.dry_run
            else f"what it wrote stays written ({report.copied} copied, {report.skipped} skipped, "
            f"{len(report.failed)} failed)"
        )
        raise Failure(f"copy-items stopped part-way: {report.stopped}; {done}{left}; run it again to finish")
    return 1 if report.failed else 0


def render_report(ctx: Context, report: CopyReport) -> None:
    # ctx.line, not rich: a key may hold '[...]', which rich would take as markup; and it is faster.
    if report.dry_run:
        for action, key in report.planned:
            ctx.line(f"{DRY_RUN_VERBS[action.value]:<15} {_key_json(key)}")
    _summary(ctx, report)
    for key in report.not_found[:50]:
        ctx.line(f"not in {report.source}: {_key_json(key)}")
    for failed in report.failed[:50]:
        ctx.line(f"failed {_key_json(failed.key)}: {failed.reason}")
    for key in report.not_attempted[:50]:
        ctx.line(f"not attempted (the copy stopped first): {_key_json(key)}")
    if report.duplicates:
        ctx.line(f"{report.duplicates} key(s) given more than once: each item was handled once")
    hidden = sum(max(0, len(found) - 50) for found in (report.failed, report.not_found, report.not_attempted))
    if hidden:
        ctx.out.print(f"... and {hidden} more (use --json for all)")


def _key_json(key: dict[str, Any]) -> str:
    return json.dumps(plain_item(key), default=str)


def _summary(ctx: Context, report: CopyReport) -> None:
    title = f"{'dry run: ' if report.dry_run else ''}{report.source} -> {report.target} ({report.mode.value})"
    headers = ["read", "copied", "skipped", "failed", "not found", "seconds", "items/s"]
    if report.stopped:
        headers.insert(5, "not attempted")
    copied = report.copied
    if report.dry_run:
        copied = sum(1 for a, _ in report.planned if a.value in ("copy", "overwrite"))
    row = [
        str(report.read),
        f"{copied} (would)" if report.dry_run else str(copied),
        str(report.skipped),
        str(len(report.failed)),
        str(len(report.not_found)),
        f"{report.seconds:.1f}",
        f"{report.items_per_second:.0f}",
    ]
    if report.stopped:
        # A Scan or Query that stopped leaves the rest of the table unread: no keys to count.
        row.insert(5, str(len(report.not_attempted)) if report.not_attempted else "the rest")
    print_table(ctx.out, title, [Column(header, justify="right") for header in headers], [row])
