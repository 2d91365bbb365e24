"""`tablesafe`: the operator CLI (coverage, on-demand backup, restore with settings, partial restore, cost).

    tablesafe status --region eu-west-1
    tablesafe backup orders --plan daily --rule daily
    tablesafe restore orders --to orders-restored --backup latest
    tablesafe copy-items --from orders-restored --to orders --key '{"pk": "customer#42"}' --dry-run

Every command takes --region, --profile, --config (default ./cdk.json), --json and --wide. Tables go to stdout,
progress to stderr. Exit codes: 0 done, 1 failed or something flagged, 2 the command line or the configuration is
wrong, 130 interrupted.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import datetime

from botocore.exceptions import BotoCoreError
from rich.console import Console

from tablesafe.aws.dynamodb import GatewayError
from tablesafe_cli.context import Context, utc_now
from tablesafe_cli.errors import Failure, Interrupted, UsageError, explain
from tablesafe_cli.item_keys import SelectionError
from tablesafe_cli.parser import build_parser
from tablesafe_cli.restore import RestoreError


def main(
    argv: Sequence[str] | None = None, *, clock: Callable[[], datetime] = utc_now, out: Console | None = None
) -> int:
    """Run one command; returns the exit code (the console script passes it to sys.exit). Tests pass `clock`, and
    `out`, a console of a chosen width for what goes to stdout."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as error:
        return _fail(str(error), 2)
    except SystemExit as exit_:  # --help
        return exit_.code if isinstance(exit_.code, int) else 0
    args.config_given = args.config is not None
    if args.config is None:
        args.config = "cdk.json"
    try:
        return int(args.handler(Context(args, clock, out)))
    except UsageError as error:
        return _fail(str(error), 2)
    except (Failure, RestoreError) as error:
        return _fail(str(error), 1)
    except SelectionError as error:
        return _fail(str(error), 2)
    except GatewayError as error:
        # botocore rejects a malformed parameter (a table name too short, say) before sending anything.
        return _fail(explain(error), 2 if error.code == "ParamValidationError" else 1)
    except BotoCoreError as error:
        return _fail(f"AWS: {error}", 1)
    except TimeoutError as error:
        return _fail(str(error), 1)
    except Interrupted as error:
        return _fail(str(error), 130)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


def _fail(message: str, code: int) -> int:
    line = " ".join(message.split())  # one line, whatever AWS or botocore put in the message
    print(f"tablesafe: error: {line}", file=sys.stderr)
    return code
