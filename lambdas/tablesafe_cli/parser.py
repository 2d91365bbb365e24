"""The `tablesafe` command line: its commands, options and help texts."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from tablesafe.aws.accounts import ROLE_NAME
from tablesafe.constants import READ_ONLY_ROLE_NAME
from tablesafe_cli import limits
from tablesafe_cli.commands.backup import cmd_backup
from tablesafe_cli.commands.backups import cmd_backups
from tablesafe_cli.commands.copy_items import cmd_copy_items
from tablesafe_cli.commands.cost import cmd_cost
from tablesafe_cli.commands.drill import cmd_drill
from tablesafe_cli.commands.exports import cmd_exports
from tablesafe_cli.commands.find_items import cmd_find_items
from tablesafe_cli.commands.restore import cmd_restore
from tablesafe_cli.commands.status_accounts import cmd_status_any
from tablesafe_cli.copy_report import Mode
from tablesafe_cli.coverage import DEFAULT_FAIL_ON, FlagKind, parse_fail_on
from tablesafe_cli.errors import UsageError
from tablesafe_cli.targets import parse_accounts, parse_regions

STATUS_EXIT_CODES = (
    "Exit codes: 0 no table raised a flag of a --fail-on kind; 1 one did (or AWS failed, or with --accounts or "
    "--organization an account or region could not be read); 2 bad command line or "
    "configuration. Flag kinds: unprotected (no plan tag), unknown-plan (a plan tag naming no configured plan), "
    "stale (a rule with no AVAILABLE backup younger than 1.5 of its intervals), pitr (PITR off although the plan "
    "asks for it), untagged-copy (a table made by a restore, or a restore drill, without a plan tag), drill (a "
    "drilled plan's table with no passing restore drill within 1.5 x everyDays). Default: "
    "every kind but untagged-copy. A table made by a restore or a drill is marked so ('kind' in --json)."
)


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors become UsageError (one line, exit 2) instead of usage text and exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _fail_on(text: str) -> frozenset[FlagKind]:
    try:
        return parse_fail_on(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _accounts(text: str) -> tuple[str, ...]:
    try:
        return parse_accounts(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _regions(text: str) -> tuple[str, ...]:
    try:
        return parse_regions(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _role_name(text: str) -> str:
    if not ROLE_NAME.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an IAM role name (1-64 of letters, digits and +=,.@_-)")
    return text


def build_parser() -> argparse.ArgumentParser:
    """The `tablesafe` command line."""
    common = _Parser(add_help=False)
    common.add_argument("--region", help="AWS region (default: the profile's or AWS_REGION)")
    common.add_argument("--profile", help="AWS named profile (default: the usual credential chain)")
    common.add_argument("--config", help="cdk.json whose context holds the configuration (default: ./cdk.json)")
    common.add_argument("--json", action="store_true", help="print JSON on stdout instead of tables")
    common.add_argument(
        "--wide", action="store_true", help="print tables at their full width, one line a row, whatever the terminal"
    )

    parser = _Parser(
        prog="tablesafe",
        description="Backup coverage, on-demand backups, restores and partial restores of DynamoDB tables.",
        epilog="Exit codes: 0 ok, 1 failure or something flagged, 2 bad command line or configuration, "
        "130 interrupted.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    status = commands.add_parser(
        "status",
        parents=[common],
        help="every table, its plan, last backups and PITR; exit 1 if any is flagged",
        description="Every table of the region, its plan, the last AVAILABLE backup of each rule, backups, size, "
        "PITR, and what is wrong with it. With --accounts or --organization: of every account and region given, "
        "through a read-only role assumed in each, with a summary per account.",
        epilog=STATUS_EXIT_CODES,
    )
    _status_options(status)
    _lease_table_option(status)
    status.set_defaults(handler=cmd_status_any)

    backups = commands.add_parser("backups", parents=[common], help="a table's backups, newest first")
    backups.add_argument("table")
    backups.set_defaults(handler=cmd_backups)

    backup = commands.add_parser(
        "backup",
        parents=[common],
        help="an on-demand backup now",
        description="With --plan and --rule the backup is named like the rule's scheduled one (slot = this minute) "
        "and pruned by that rule; without them it is a manual backup that is never pruned.",
    )
    _backup_options(backup)
    backup.set_defaults(handler=cmd_backup)

    restore = commands.add_parser(
        "restore",
        parents=[common],
        help="restore into a new table and re-apply its settings",
        description="Restore TABLE into the new table --to from a backup (an ARN, or 'latest', the default) or to a "
        "point in time (--at ISO-TIME or --at latest, with PITR); wait until it is ACTIVE; re-apply tags (without "
        "the plan tag unless --keep-plan), TTL, PITR, auto scaling, stream and deletion protection.",
    )
    _restore_options(restore)
    restore.set_defaults(handler=cmd_restore)

    copy = commands.add_parser(
        "copy-items",
        parents=[common],
        help="partial restore: copy chosen items from a restored table into the live one",
        description="Copy items chosen by key (--key, repeatable, or --keys-file: a JSON array or JSON lines), or "
        "by a Scan filter (--filter) or a Query (--key-condition, with an optional --filter). Keys and --values take "
        'plain JSON ({"pk": "a"}) or DynamoDB JSON ({"pk": {"S": "a"}}).',
    )
    _copy_items_options(copy)
    copy.set_defaults(handler=cmd_copy_items)

    _export_commands(commands, common)

    cost = commands.add_parser("cost", parents=[common], help="backup storage estimate by plan and by table")
    cost.set_defaults(handler=cmd_cost)

    _drill_command(commands, common)
    return parser


def _export_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """The archive tier's commands: a table's exports, and item-level recovery from one."""
    exports = commands.add_parser(
        "exports", parents=[common], help="a table's S3 exports: slot, status, bytes, storage class, lock until"
    )
    exports.add_argument("table")
    exports.set_defaults(handler=cmd_exports)

    find_items = commands.add_parser(
        "find-items",
        parents=[common],
        help="item-level recovery: print items as an S3 export holds them, without restoring a table",
        description="Read TABLE's export (latest: the newest completed one tablesafe made; or an export ARN) file by "
        "file and print the items of the keys given (--key, repeatable, or --keys-file), in DynamoDB JSON.",
    )
    find_items.add_argument("table")
    find_items.add_argument("--export", required=True, metavar="latest|ARN", help="the export to read")
    find_items.add_argument("--key", action="append", metavar="JSON", help="the key of an item (repeatable)")
    find_items.add_argument("--keys-file", metavar="FILE", help="a JSON array of keys, or a key a line; - is stdin")
    find_items.set_defaults(handler=cmd_find_items)


def _status_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--accounts",
        type=_accounts,
        metavar="ID,ID...",
        help="every table of these accounts, through the role --role-name in each (unreachable ones exit 1)",
    )
    where.add_argument(
        "--organization",
        action="store_true",
        help="every table of every ACTIVE account of the caller's Organization (organizations:ListAccounts)",
    )
    parser.add_argument(
        "--role-name",
        type=_role_name,
        metavar="NAME",
        help=f"with --accounts/--organization: the role assumed in each account (default {READ_ONLY_ROLE_NAME})",
    )
    parser.add_argument(
        "--regions",
        type=_regions,
        metavar="R,R...",
        help="with --accounts/--organization: the regions read in each account (default: --region's)",
    )
    parser.add_argument(
        "--fail-on",
        type=_fail_on,
        default=DEFAULT_FAIL_ON,
        metavar="KINDS",
        help=f"the flag kinds that make status exit 1: a comma-separated list of {', '.join(FlagKind)}, or all, "
        "or none (default: all but untagged-copy)",
    )


def _drill_command(commands: Any, common: argparse.ArgumentParser) -> None:
    drill = commands.add_parser(
        "drill",
        parents=[common],
        help="one restore drill now: restore, verify, delete; exit 1 if it failed",
        description="Restore TABLE's newest tablesafe backup (or --backup ARN) into a drill table, wait until it is "
        "ACTIVE, verify its shape, item count and the plan's validator, delete it, and record the result.",
    )
    drill.add_argument("table")
    drill.add_argument("--backup", default="latest", metavar="ARN|latest", help="the backup (default: latest)")
    _lease_table_option(drill)
    drill.set_defaults(handler=cmd_drill)


def _lease_table_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lease-table",
        metavar="NAME",
        help="the stack's lease table, where each table's last drill is kept (default: the drill function's)",
    )


def _backup_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("table")
    parser.add_argument("--plan", help="name the backup for this plan (with --rule)")
    parser.add_argument("--rule", help="name the backup for this rule of the plan (with --plan)")
    parser.add_argument("--no-wait", dest="wait", action="store_false", help="do not wait until it is AVAILABLE")
    parser.add_argument(
        "--timeout",
        type=limits.seconds(limits.MAX_BACKUP_WAIT),
        default=900,
        help=f"seconds to wait for AVAILABLE, at most {limits.MAX_BACKUP_WAIT:g} (default 900)",
    )


def _restore_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("table", help="the table whose backup or history is restored")
    parser.add_argument("--to", required=True, help="the new table (must not exist)")
    parser.add_argument("--backup", metavar="ARN|latest", help="the backup to restore (default: latest)")
    parser.add_argument("--at", metavar="ISO-TIME|latest", help="restore to this point in time (needs PITR)")
    parser.add_argument("--export", metavar="latest|ARN", help="restore from an S3 export instead (ImportTable)")
    parser.add_argument("--keep-plan", action="store_true", help="keep the plan tag, so the new table is backed up")
    parser.add_argument(
        "--timeout",
        type=limits.seconds(limits.MAX_RESTORE_WAIT),
        default=4 * 3600,
        help=f"seconds to wait for ACTIVE, at most {limits.MAX_RESTORE_WAIT:g} (default 4 h)",
    )
    parser.add_argument("--poll", type=limits.seconds(limits.MAX_POLL), default=5.0, help=argparse.SUPPRESS)


def _copy_items_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="source", metavar="RESTORED", help="the table to copy from")
    parser.add_argument(
        "--from-export", metavar="latest|ARN", help="copy from an S3 export of LIVE's table instead (keys only)"
    )
    parser.add_argument("--to", dest="target", required=True, metavar="LIVE", help="the table to copy into")
    parser.add_argument("--key", action="append", metavar="JSON", help="the key of an item to copy (repeatable)")
    parser.add_argument("--keys-file", metavar="FILE", help="a JSON array of keys, or a key a line; - is stdin")
    parser.add_argument("--filter", metavar="EXPRESSION", help="a FilterExpression: copy the items it matches")
    parser.add_argument("--key-condition", metavar="EXPRESSION", help="a KeyConditionExpression: Query instead of Scan")
    parser.add_argument("--values", metavar="JSON", help='ExpressionAttributeValues, e.g. \'{":s": "open"}\'')
    parser.add_argument("--names", metavar="JSON", help='ExpressionAttributeNames, e.g. \'{"#s": "status"}\'')
    parser.add_argument(
        "--mode",
        choices=[m.value for m in Mode],
        default=Mode.SKIP_EXISTING.value,
        help="skip-existing (default): never overwrite an item LIVE has; overwrite: replace it",
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would change and change nothing")
    parser.add_argument(
        "--segments",
        type=limits.whole_number(1, limits.MAX_SEGMENTS),
        default=8,
        help=f"parallel Scan segments, 1 to {limits.MAX_SEGMENTS} (default 8)",
    )
    parser.add_argument(
        "--workers",
        type=limits.whole_number(1, limits.MAX_WORKERS),
        default=16,
        help=f"parallel writers, 1 to {limits.MAX_WORKERS} (default 16)",
    )
