"""The WSGI application in front of moto: counts calls, injects faults, answers what the fidelity layer owns."""

from __future__ import annotations

import io
import json
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from moto.iam.models import get_account_id_from
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from tools.standin import calls as outcome
from tools.standin.assume_role import refuse_assume_role
from tools.standin.calls import Calls
from tools.standin.faults import Faults
from tools.standin.fidelity import Fidelity
from tools.standin.protocol import (
    DYNAMODB_CONTENT_TYPE,
    DYNAMODB_TARGET,
    JSON_11_CONTENT_TYPE,
    TAGGING_TARGET,
    AwsError,
    Reply,
    credential_scope,
    dynamodb_error,
    error_reply,
    json_reply,
    table_from_arn,
    table_name_of,
    tagging_error,
    with_crc32,
)
from tools.standin.validation import check_dynamodb_request, check_region

DROP_CONNECTION = "standin.drop_connection"  # environ key the request handler obeys
DEFAULT_REGION = "us-east-1"
_DIRECT_APPS = {DYNAMODB_TARGET: "dynamodb", TAGGING_TARGET: "resourcegroupstaggingapi"}
# Moto's state for these services is read and changed by the fidelity layer, so their calls take its lock.
_LOCKED_TARGETS = frozenset(_DIRECT_APPS)
_SKIP_HEADERS = frozenset({"content-length", "connection", "transfer-encoding", "server", "date"})


class Call:
    """One parsed request: who calls what, where, with which body."""

    __slots__ = ("_json", "access_key", "body", "environ", "operation", "region", "scoped_region", "service", "target")

    def __init__(self, environ: dict[str, Any], body: bytes) -> None:
        self.environ = environ
        self.body = body
        self.access_key, region, service = credential_scope(environ.get("HTTP_AUTHORIZATION"))
        self.scoped_region = region  # as signed (None: unsigned)
        self.region = region or DEFAULT_REGION
        amz_target = environ.get("HTTP_X_AMZ_TARGET") or ""
        target, _, operation = amz_target.partition(".")
        self.target: str = target
        self.service = service or ""
        self._json: dict[str, Any] | None = None
        if operation:
            self.operation = operation
        else:  # query protocol (Action=...) or REST: name it as well as cheaply possible
            self.operation = _query_action(environ, body) or f"{self.service or 'unknown'}:{environ['REQUEST_METHOD']}"

    @property
    def json(self) -> dict[str, Any]:
        """The JSON body (empty for non-JSON calls)."""
        if self._json is None:
            try:
                parsed = json.loads(self.body) if self.body else {}
            except ValueError:
                parsed = {}
            self._json = parsed if isinstance(parsed, dict) else {}
        return self._json

    @property
    def account(self) -> str:
        return get_account_id_from(self.access_key or "")

    def tables(self) -> set[str]:
        """Tables the call names (for fault rules scoped to tables)."""
        body = self.json
        names = set(body.get("RequestItems") or {})
        for key in ("TableName", "TargetTableName", "SourceTableName"):
            if isinstance(body.get(key), str):
                names.add(table_name_of(body[key]))
        for key in ("BackupArn", "ResourceArn"):
            if isinstance(body.get(key), str) and (name := table_from_arn(body[key])):
                names.add(name)
        return names


def _query_action(environ: dict[str, Any], body: bytes) -> str | None:
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return None
    for pair in body.split(b"&"):
        if pair.startswith(b"Action="):
            return pair[7:].decode(errors="replace")
    return None


class StandInApp:
    """WSGI app: faults and counting for every call, fidelity answers for DynamoDB/tagging, moto for the rest."""

    def __init__(self, fidelity: Fidelity, faults: Faults, calls: Calls) -> None:
        self.fidelity = fidelity
        self.faults = faults
        self.calls = calls
        self.internal_errors: list[str] = []  # tracebacks of stand-in/moto crashes (tests fail on them)
        # Services answered in front of moto (the sandbox's Lambda Invoke API): the first non-None Reply wins.
        self.routes: list[Callable[[Call], Reply | None]] = []
        self._errors_lock = threading.Lock()
        self._dispatcher = DomainDispatcherApplication(create_backend_app)
        # Skip moto's per-request service inference for the services hit hardest.
        self._direct = {target: create_backend_app(name) for target, name in _DIRECT_APPS.items()}  # type: ignore[arg-type]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = environ["wsgi.input"].read()
        call = Call(environ, body)
        try:
            reply = self.handle(call)
        except Exception:  # a crash in moto or here: answer 500 and keep the traceback for the test to see
            text = traceback.format_exc()
            with self._errors_lock:
                self.internal_errors.append(text)
            print(f"tablesafe stand-in: internal error in {call.operation}\n{text}", file=sys.stderr)
            reply = error_reply(AwsError("InternalFailure", "stand-in internal error", 500))
            self.calls.record(call.operation, outcome.REJECTED, "InternalFailure")
        if reply.drop:
            environ[DROP_CONNECTION] = True
        headers = [*reply.headers, ("Content-Length", str(len(reply.body)))]
        start_response(f"{reply.status} {_phrase(reply.status)}", headers)
        return [reply.body]

    def handle(self, call: Call) -> Reply:
        """Faults before, the call itself, faults after; counts the outcome."""
        operation = call.operation
        try:
            check_region(call.scoped_region)
        except AwsError as error:
            self.calls.record(operation, outcome.REJECTED, error.code)
            return error_reply(error, self._content_type(call))
        if call.service == "sts" and operation == "AssumeRole":
            refused = refuse_assume_role(call.account, call.access_key, call.region, call.body)
            if refused is not None:
                self.calls.record(operation, outcome.REJECTED, "AccessDenied")
                return refused
        for route in self.routes:
            routed = route(call)
            if routed is not None:  # a route may name a REST call's operation (call.operation) as it answers it
                code = routed.error_code if routed.status >= 400 else None
                self.calls.record(call.operation, outcome.REJECTED if routed.status >= 400 else outcome.OK, code)
                return routed
        faulty = self.faults.active and bool(call.target)  # faults apply to JSON-protocol (X-Amz-Target) calls
        if faulty:
            delay = self.faults.latency(operation)
            if delay:
                time.sleep(delay)
            prevented = self.faults.before(operation, call.region, call.tables, call.account)
            if prevented is not None:
                error = self._injected_error(call, prevented)
                self.calls.record(operation, prevented, error.code)
                return error_reply(error, self._content_type(call))
        reply = self._answer(call, faulty)
        if faulty:
            lost = self.faults.after(operation, call.tables)
            if lost is not None:
                self.calls.record(operation, outcome.LOST, None if lost == "drop" else f"HTTP {lost}")
                return self._lost_reply(call, lost)
        code = reply.error_code
        self.calls.record(operation, outcome.REJECTED if reply.status >= 400 else outcome.OK, code)
        return reply

    def _answer(self, call: Call, faulty: bool) -> Reply:
        if call.target not in _LOCKED_TARGETS:
            return self._moto(call, self._dispatcher)
        content_type = self._content_type(call)
        if call.target == DYNAMODB_TARGET:
            try:
                check_dynamodb_request(call.operation, call.json)
            except AwsError as error:
                return error_reply(error, content_type)
        with self.fidelity.lock:
            try:
                if self.fidelity.handles(call.operation):
                    payload = self.fidelity.handle(call.operation, call.account, call.region, call.json)
                    if payload is not None:
                        return json_reply(payload, content_type)
                elif call.target == DYNAMODB_TARGET:
                    self.fidelity.before_moto(call.operation, call.account, call.region, call.json)
            except AwsError as error:
                return error_reply(error, content_type)
            if faulty and call.operation == "BatchWriteItem":
                return self._batch_write(call)
            reply = self._moto(call, self._direct[call.target])
            if call.target == DYNAMODB_TARGET:
                self.fidelity.after_moto(call.operation, call.account, call.region, call.json, reply.status)
            return reply

    def _batch_write(self, call: Call) -> Reply:
        """BatchWriteItem with injected UnprocessedItems: the picked items are not written and come back in
        UnprocessedItems (API_BatchWriteItem), the rest go to moto."""
        request_items: dict[str, list[Any]] = call.json.get("RequestItems") or {}
        flat = [(table, request) for table, requests in request_items.items() for request in requests]
        picks = self.faults.unprocessed(call.operation, call.tables, len(flat))
        if not any(picks):
            return self._moto(call, self._direct[call.target])
        kept: dict[str, list[Any]] = {}
        unprocessed: dict[str, list[Any]] = {}
        for (table, request), pick in zip(flat, picks, strict=True):
            (unprocessed if pick else kept).setdefault(table, []).append(request)
        self.calls.record_unprocessed(call.operation, sum(picks))
        if not kept:
            return json_reply({"UnprocessedItems": unprocessed})
        narrowed = json.dumps({**call.json, "RequestItems": kept}).encode()
        reply = self._moto(call, self._direct[call.target], narrowed)
        if reply.status != 200:
            return reply
        answer = json.loads(reply.body)
        merged = answer.get("UnprocessedItems") or {}
        for table, requests in unprocessed.items():
            merged.setdefault(table, []).extend(requests)
        answer["UnprocessedItems"] = merged
        return with_crc32(Reply(reply.status, json.dumps(answer).encode(), reply.headers))

    @staticmethod
    def _moto(call: Call, app: Callable[..., Iterable[bytes]], body: bytes | None = None) -> Reply:
        environ = dict(call.environ)
        payload = call.body if body is None else body
        environ["wsgi.input"] = io.BytesIO(payload)
        environ["CONTENT_LENGTH"] = str(len(payload))
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"] = status
            captured["headers"] = headers

        chunks = app(environ, start_response)
        try:
            answer = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() not in _SKIP_HEADERS]
        return Reply(int(captured["status"].split(" ", 1)[0]), answer, headers)

    @staticmethod
    def _content_type(call: Call) -> str:
        return DYNAMODB_CONTENT_TYPE if call.target == DYNAMODB_TARGET else JSON_11_CONTENT_TYPE

    def _injected_error(self, call: Call, kind: str) -> AwsError:
        """The error AWS itself sends for a throttle or a server fault, in the called service's dialect."""
        rule = self.faults.rule(call.operation)
        if kind == outcome.ERROR:
            if call.target == DYNAMODB_TARGET:
                return dynamodb_error("InternalServerError", "Internal server error", 500)
            if call.target == TAGGING_TARGET:
                return tagging_error("InternalServiceException", "Internal service error", 500)
            return AwsError("InternalFailure", "Internal failure", 500)
        code = rule.throttle_as if kind == outcome.THROTTLED and rule and rule.throttle_as else None
        if call.target == DYNAMODB_TARGET:
            code = code or "ThrottlingException"
            # Control-plane throttling comes from the coral layer, not the DynamoDB model.
            prefix = "com.amazon.coral.availability#" if code == "ThrottlingException" else None
            error = dynamodb_error(code, "Rate exceeded")
            if prefix:
                error.type_prefix = prefix
            return error
        if call.target == TAGGING_TARGET:
            return tagging_error(code or "ThrottledException", "Rate exceeded")
        return AwsError(code or "ThrottlingException", "Rate exceeded")

    def _lost_reply(self, call: Call, mode: str) -> Reply:
        if mode == "drop":
            return Reply(0, drop=True)
        if mode == "503":
            return error_reply(AwsError("ServiceUnavailable", "Service unavailable", 503), self._content_type(call))
        return error_reply(self._injected_error(call, outcome.ERROR), self._content_type(call))


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
