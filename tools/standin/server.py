"""The embedded AWS stand-in: moto behind the fidelity/fault middleware, served over HTTP from a thread.

Example:
    with StandIn() as aws:
        ddb = aws.client("dynamodb")
        aws.faults.set("CreateBackup", throttle=0.1)
        ...
"""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from moto.moto_api._internal.models import moto_api_backend
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from tools.standin.aws_backup import AwsBackup
from tools.standin.calls import Calls
from tools.standin.faults import DEFAULT_SEED, Faults
from tools.standin.fidelity import Fidelity
from tools.standin.middleware import DEFAULT_REGION, DROP_CONNECTION, StandInApp

DEFAULT_ACCOUNT = "123456789012"  # moto's account for unknown access keys
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
IDLE_CONNECTION_SECONDS = 30.0


class _KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1 with keep-alive (werkzeug's handler closes every connection, which costs a TCP handshake and a
    thread per call), quiet, and able to drop a connection without answering (lost-response faults)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once; Nagle + delayed ACK would add 40 ms
    timeout = IDLE_CONNECTION_SECONDS
    server: _StandInServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        with suppress(OSError):  # the client or a dropped-connection fault closed it first
            super().finish()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def run_wsgi(self) -> None:
        environ = self.make_environ()
        if environ.get("wsgi.input_terminated"):  # chunked request body
            body = environ["wsgi.input"].read()
        else:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = self.rfile.read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"] = status
            captured["headers"] = headers

        try:
            chunks = self.server.app(environ, start_response)  # type: ignore[arg-type]
            answer = b"".join(chunks)
        except Exception:  # StandInApp answers its own errors; this is the last line of defence
            self.close_connection = True
            captured = {"status": "500 Internal Server Error", "headers": []}
            answer = b""
        if environ.get(DROP_CONNECTION):
            self.close_connection = True
            with suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        lines = [f"HTTP/1.1 {captured['status']}", f"Date: {self.date_time_string()}"]
        lines += [f"{k}: {v}" for k, v in captured["headers"] if k.lower() not in ("content-length", "connection")]
        lines.append(f"Content-Length: {len(answer)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head if self.command == "HEAD" else head + answer)


class _StandInServer(ThreadedWSGIServer):
    """werkzeug's threaded server (what make_server(..., threaded=True) builds) that remembers open connections,
    so stop() can end idle keep-alive ones."""

    def __init__(self, host: str, port: int, app: StandInApp) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(host, port, app, handler=_KeepAliveHandler)

    def track(self, connection: socket.socket, is_open: bool) -> None:
        with self._connections_lock:
            (self._connections.add if is_open else self._connections.discard)(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class StandIn:
    """The AWS stand-in and its control API (tests run it in-process and call these methods directly)."""

    def __init__(self, region: str = DEFAULT_REGION, host: str = "127.0.0.1", port: int = 0) -> None:
        self.region = region
        self.account_id = DEFAULT_ACCOUNT
        self.fidelity = Fidelity()
        self.faults = Faults()
        self.calls = Calls()
        self.app = StandInApp(self.fidelity, self.faults, self.calls)
        self.aws_backup = AwsBackup(self.fidelity)  # AWS Backup's recovery points (moto has none)
        self.app.routes.append(self.aws_backup.route)
        self._host = host
        self._port = port
        self._server: _StandInServer | None = None
        self._thread: threading.Thread | None = None
        self._session: boto3.session.Session | None = None
        self._session_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------------------------

    def start(self) -> StandIn:
        """Serve on host:port (port 0 picks a free one) from a daemon thread; returns self."""
        if self._server is not None:
            return self
        server = self._server = _StandInServer(self._host, self._port, self.app)
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="tablesafe-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every connection."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @classmethod
    @contextmanager
    def running(cls, region: str = DEFAULT_REGION) -> Iterator[StandIn]:
        """A started stand-in for the duration of a with-block."""
        standin = cls(region=region).start()
        try:
            yield standin
        finally:
            standin.stop()

    @property
    def endpoint_url(self) -> str:
        """http://127.0.0.1:<port>, for boto3's endpoint_url or AWS_ENDPOINT_URL."""
        if self._server is None:
            raise RuntimeError("the stand-in is not running; call start() first")
        return f"http://{self._host}:{self._server.server_address[1]}"

    # -- clients ---------------------------------------------------------------------------------------------------

    def client(self, service: str, region: str | None = None, config: Config | None = None) -> Any:
        """A boto3 client wired to the stand-in (default: standard retries, a pool of 32 connections)."""
        config = config or Config(retries={"mode": "standard"}, max_pool_connections=32)
        with self._session_lock:  # one session keeps the loaded service models; creating clients is not thread-safe
            if self._session is None:
                self._session = boto3.session.Session(
                    aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                    aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
                )
            return self._session.client(
                service, region_name=region or self.region, endpoint_url=self.endpoint_url, config=config
            )

    def env(self, region: str | None = None) -> dict[str, str]:
        """Environment that points boto3 (in this process or a child) at the stand-in with fake credentials."""
        chosen = region or self.region
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            **FAKE_CREDENTIALS,
            "AWS_DEFAULT_REGION": chosen,
            "AWS_REGION": chosen,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    # -- state -----------------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Wipe moto's state, the fidelity state, faults (and their seed), counters and recorded crashes."""
        with self.fidelity.lock:
            moto_api_backend.reset()
            self.fidelity.reset()
        self.aws_backup.reset()
        self.faults.clear()
        self.faults.seed(DEFAULT_SEED)
        self.calls.reset()
        self.app.internal_errors.clear()

    @property
    def creating_seconds(self) -> float:
        """How long a new backup stays CREATING (default 0)."""
        return self.fidelity.creating_seconds

    @creating_seconds.setter
    def creating_seconds(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"creating_seconds={seconds!r} must not be negative")
        self.fidelity.creating_seconds = float(seconds)

    @property
    def restoring_seconds(self) -> float:
        """How long a restored table stays CREATING with RestoreInProgress true (default 0)."""
        return self.fidelity.restoring_seconds

    @restoring_seconds.setter
    def restoring_seconds(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"restoring_seconds={seconds!r} must not be negative")
        self.fidelity.restoring_seconds = float(seconds)

    def refuse_restore(self, backup_arn: str, message: str = "") -> None:
        """RestoreTableFromBackup of this backup answers ValidationException (its KMS key is disabled, say)."""
        with self.fidelity.lock:
            self.fidelity.restore_outcomes.refused[backup_arn] = (
                message or f"The KMS key of backup {backup_arn} is disabled; the backup cannot be restored"
            )

    def restore_missing_items(self, backup_arn: str, count: int) -> None:
        """A restore of this backup leaves `count` of its items out of the new table."""
        if count < 0:
            raise ValueError(f"count={count!r} must not be negative")
        with self.fidelity.lock:
            self.fidelity.restore_outcomes.missing_items[backup_arn] = count

    @property
    def max_concurrent_restores(self) -> int:
        """Restores in progress the account allows; one more answers LimitExceededException (default 50)."""
        return self.fidelity.restore_outcomes.max_concurrent

    @max_concurrent_restores.setter
    def max_concurrent_restores(self, limit: int) -> None:
        if limit < 0:
            raise ValueError(f"max_concurrent_restores={limit!r} must not be negative")
        self.fidelity.restore_outcomes.max_concurrent = limit

    def complete_restores(self) -> None:
        """Every restore in progress is over now (instead of waiting restoring_seconds)."""
        self.fidelity.complete_restores()

    def complete_backups(self) -> None:
        """Every CREATING backup becomes AVAILABLE now (instead of waiting creating_seconds)."""
        self.fidelity.complete_backups()

    @property
    def exporting_seconds(self) -> float:
        """How long a new export stays IN_PROGRESS before its files appear (default 0)."""
        return self.fidelity.exports.exporting_seconds

    @exporting_seconds.setter
    def exporting_seconds(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"exporting_seconds={seconds!r} must not be negative")
        self.fidelity.exports.exporting_seconds = float(seconds)

    def complete_exports(self) -> None:
        """Every export in progress ends now (COMPLETED, or FAILED if fail_exports named its table)."""
        with self.fidelity.lock:
            self.fidelity.exports.complete_exports()

    def fail_exports(self, table: str, code: str = "UNKNOWN", message: str = "Export failed") -> None:
        """Exports of `table` (name or ARN) requested from now on end FAILED with FailureCode `code`."""
        with self.fidelity.lock:
            self.fidelity.exports.fail_exports(table, code, message)

    def clear_export_failures(self) -> None:
        """Exports requested from now on succeed again."""
        with self.fidelity.lock:
            self.fidelity.exports.clear_failures()

    def expire_export_client_tokens(self) -> None:
        """Pretend the 8 hours AWS honours an export's ClientToken for have passed."""
        with self.fidelity.lock:
            self.fidelity.exports.expire_client_tokens()

    def set_backup_created(self, backup_arn: str, when: datetime) -> None:
        """Pretend the backup was requested at `when` (naive means UTC): simulates days passing."""
        self.fidelity.set_backup_created(backup_arn, when)

    def set_table_status(self, table: str, status: str, region: str | None = None) -> None:
        """TableStatus DescribeTable shows and CreateBackup obeys: CREATING, UPDATING, DELETING, ARCHIVING,
        ARCHIVED, INACCESSIBLE_ENCRYPTION_CREDENTIALS, or ACTIVE to go back to normal."""
        self.fidelity.set_table_status(self.account_id, region or self.region, table, status)

    def set_replicas(self, table: str, regions: list[str], region: str | None = None) -> None:
        """Make `table` in `region` a global table (2019.11.21) with replicas in `regions` (its own region, if
        listed, is left out, as DescribeTable lists the other replicas); [] makes it a plain table again."""
        self.fidelity.set_replicas(self.account_id, region or self.region, table, regions)

    def set_global_table(self, table: str, regions: list[str]) -> None:
        """set_replicas in every one of `regions`: each region's DescribeTable lists the others."""
        for region in regions:
            self.set_replicas(table, regions, region=region)

    def add_foreign_backup(
        self,
        table: str,
        name: str,
        backup_type: str = "USER",
        created: datetime | None = None,
        region: str | None = None,
        table_id: str | None = None,
    ) -> str:
        """A backup tablesafe did not make: USER (any name), SYSTEM or AWS_BACKUP; AVAILABLE; returns its ARN.
        `table_id`: of an earlier table of that name (default: the table's, or the deleted table's, TableId)."""
        return self.fidelity.add_foreign_backup(
            self.account_id, region or self.region, table, name, backup_type, created, table_id
        )

    def add_recovery_point(
        self,
        table: str,
        *,
        vault: str = "Default",
        created: datetime | None = None,
        status: str = "COMPLETED",
        advanced: bool = True,
        region: str | None = None,
    ) -> str:
        """An AWS Backup recovery point of `table`; returns its ARN. `advanced` (AWS Backup's advanced DynamoDB
        features): only AWS Backup lists it; otherwise it is also a DynamoDB backup of type AWS_BACKUP."""
        return self.aws_backup.add_recovery_point(
            self.account_id, region or self.region, table, vault=vault, created=created, status=status,
            advanced=advanced,
        )  # fmt: skip

    @property
    def internal_errors(self) -> list[str]:
        """Tracebacks of crashes inside the stand-in or moto since the last reset (should stay empty)."""
        return list(self.app.internal_errors)
