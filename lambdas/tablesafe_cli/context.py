"""One command's context: its arguments, the configuration, the gateways, the consoles and the clock."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import (
    ConnectTimeoutError,
    EndpointConnectionError,
    NoRegionError,
    ProfileNotFound,
    ReadTimeoutError,
)
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from tablesafe.aws.clients import backup_clients, rate_limits_from_env, table_clients
from tablesafe.aws.dynamodb import DynamoDbGateway, TableNotFound
from tablesafe.aws.tables import TableDetails, TableGateway
from tablesafe_cli import config as cli_config
from tablesafe_cli.config import CliConfig, ConfigFileError
from tablesafe_cli.errors import Failure, UsageError

# Wider than any row: with --wide, or when stdout is not a terminal, a table has its natural width, one line a row
# whatever COLUMNS says, so what a script reads does not depend on the terminal it ran from.
UNLIMITED_WIDTH = 100_000
# Sends of one call that fail to connect, or connect and get no answer, before the CLI gives up: botocore's standard
# mode would make nine, with backoff: about 70 s against an endpoint that is down, about ten minutes against one that
# takes the connection and never answers. Two take at most two connect timeouts (5 s each), or two read timeouts
# (30 or 60 s, aws/clients.py): a hung endpoint is rare, and a slow answer is retried once.
CONNECT_ATTEMPTS = 2


def load_config(path: Path, *, explicit: bool) -> CliConfig:
    """The cdk.json configuration, checked as synth checks it (tablesafe_cli.config); a wrong one exits 2."""
    try:
        return cli_config.load_config(path, explicit=explicit)
    except ConfigFileError as error:
        raise UsageError(str(error)) from None


def utc_now() -> datetime:
    """The CLI's clock: what names a manual or on-demand backup and dates the status."""
    return datetime.now(UTC)


class Context:
    """One command's parsed arguments, configuration, gateways, consoles and clock."""

    def __init__(
        self, args: argparse.Namespace, clock: Callable[[], datetime] = utc_now, out: Console | None = None
    ) -> None:
        self.args = args
        self.clock = clock
        self.json: bool = args.json
        if out is None or args.wide:
            wide = args.wide or not sys.stdout.isatty()
            out = Console(
                soft_wrap=False, emoji=False, width=UNLIMITED_WIDTH if wide else None, file=out.file if out else None
            )
        self.out = out
        self.err = Console(stderr=True)
        self.config = load_config(Path(args.config), explicit=args.config_given)
        try:
            rate_limits = rate_limits_from_env()
        except ValueError as error:
            raise UsageError(str(error)) from None
        self.rate_limits = rate_limits  # for the clients a command builds itself (status --accounts)
        try:
            session = boto3.Session(profile_name=args.profile, region_name=args.region)
            session.events.register("needs-retry", give_up_unreachable)  # every client of the session inherits it
            self.session = session  # for the clients a command builds itself (drill)
            self.backups = DynamoDbGateway(backup_clients(session, rate_limits=rate_limits))
            self.tables = TableGateway(table_clients(session, rate_limits=rate_limits))
        except ProfileNotFound:
            raise UsageError(f"--profile {args.profile}: no such profile in the AWS config files") from None
        except NoRegionError:
            raise UsageError("no region: pass --region or set AWS_REGION") from None
        self.region = self.tables.region

    def require_table(self, name: str) -> TableDetails:
        """DescribeTable, or the one-line failure naming the table and the region."""
        try:
            return self.tables.describe(name)
        except TableNotFound:
            raise Failure(f"table {name} not found in {self.region}") from None

    @contextmanager
    def progress(self, *, bar: bool = True) -> Iterator[Progress]:
        """A progress display on stderr, shown only when stderr is a terminal."""
        columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
        if bar:
            columns += [BarColumn(), MofNCompleteColumn()]
        columns.append(TimeElapsedColumn())
        with Progress(*columns, console=self.err, transient=True, disable=not self.err.is_terminal) as progress:
            yield progress

    def emit(self, data: Any, render: Callable[[], None]) -> None:
        """JSON on stdout with --json, else the readable rendering."""
        if self.json:
            print(json.dumps(data, indent=2, default=_json_default))
        else:
            render()

    def line(self, text: str) -> None:
        """One line on stdout as it is: no markup, no wrapping (a key or an ARN printed whole), and fast."""
        self.out.file.write(text + "\n")

    def note(self, message: str) -> None:
        """A remark for the operator, on stderr so that stdout stays parseable; never wrapped, as it may name tables."""
        self.err.print(message, highlight=False, markup=False, emoji=False, soft_wrap=True)


def give_up_unreachable(attempts: int, caught_exception: Exception | None = None, **_: Any) -> None:
    """A botocore needs-retry handler: after CONNECT_ATTEMPTS sends that could not connect or got no answer, raise
    the error (which names the endpoint) instead of letting the retry mode send again; other errors (throttles,
    5xx answers) are left to the retry mode."""
    unreachable = EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError
    if isinstance(caught_exception, unreachable) and attempts >= CONNECT_ATTEMPTS:
        raise caught_exception


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
