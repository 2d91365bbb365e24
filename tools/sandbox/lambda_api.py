"""Lambda's Invoke API in front of the stand-in: the functions of the synthesized template, run by name.

Follows the Lambda API reference, API_Invoke: POST /2015-03-31/functions/{FunctionName}/invocations, the function
named by name, full ARN or partial ARN (`123456789012:function:name`), `X-Amz-Invocation-Type` RequestResponse
(the default: 200 with the handler's result, `X-Amz-Function-Error: Unhandled` and the error document when it
raised), Event (202, run later from a queue, retried as the function's EventInvokeConfig says) or DryRun (204);
`X-Amz-Log-Type: Tail` returns the last 4 KB of the log, base64, in `X-Amz-Log-Result`. Errors as Lambda sends
them: ResourceNotFoundException (404), InvalidRequestContentException (400, payload not JSON),
RequestTooLargeException (413; 6 MB synchronous, 1 MB Event: API_Invoke, "For asynchronous invocations, the
maximum payload size is 1 MB", read as 1,000,000 bytes).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from tools.standin.middleware import Call
from tools.standin.protocol import Reply

# /2015-03-31/functions/{FunctionName}/invocations
_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations/?$")
# arn:aws:lambda:us-east-1:123456789012:function:name[:qualifier], 123456789012:function:name[:qualifier]
_FUNCTION_ARN = re.compile(r"^(?:arn:[^:]+:lambda:([^:]+):)?(?:\d{12}:)?function:([^:]+)(?::[^:]+)?$")
SYNC_PAYLOAD_MAX = 6 * 1024 * 1024  # Lambda quotas: invocation payload, synchronous
EVENT_PAYLOAD_MAX = 1_000_000  # ... asynchronous (1 MB, the smaller reading)
LOG_TAIL_BYTES = 4096  # API_Invoke: "the last 4 KB of the execution log"
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")


@dataclass(frozen=True)
class Request:
    """One Invoke request, parsed."""

    region: str
    function: str
    invocation_type: str
    log_tail: bool
    event: Any


@dataclass(frozen=True)
class Outcome:
    """A synchronous invocation's result or error document, and its log."""

    result: Any
    error: dict[str, Any] | None
    log: str


class LambdaApi:
    """The route the stand-in's app calls first: answers Invoke for the functions `known(region, name)` accepts.

    `run(request)` runs a synchronous invocation and returns its Outcome; `enqueue(request)` takes an Event one.
    """

    def __init__(
        self,
        known: Callable[[str, str], bool],
        run: Callable[[Request], Outcome],
        enqueue: Callable[[Request], None],
        account: str,
    ) -> None:
        self._known = known
        self._run = run
        self._enqueue = enqueue
        self._account = account

    def __call__(self, call: Call) -> Reply | None:
        if call.service != "lambda":
            return None
        match = _INVOKE_PATH.match(call.environ.get("PATH_INFO", ""))
        if match is None or call.environ.get("REQUEST_METHOD") != "POST":
            return _error("ResourceNotFoundException", f"the sandbox answers only Invoke, not {call.operation}", 404)
        try:
            request = self._parse(call, unquote(match.group(1)))
        except _LambdaError as error:
            return _error(error.code, error.message, error.status)
        if request.invocation_type == "DryRun":
            return Reply(204, b"", [("X-Amz-Executed-Version", "$LATEST")])
        if request.invocation_type == "Event":
            self._enqueue(request)
            return Reply(202, b"", [("X-Amz-Executed-Version", "$LATEST")])
        return _sync_reply(request, self._run(request))

    def _parse(self, call: Call, name_or_arn: str) -> Request:
        region, name = call.region, name_or_arn
        arn = _FUNCTION_ARN.match(name_or_arn)
        if arn is not None:
            region, name = arn.group(1) or region, arn.group(2)
        elif ":" in name_or_arn:  # name:qualifier
            name = name_or_arn.split(":", 1)[0]
        if not self._known(region, name):
            raise _LambdaError(
                "ResourceNotFoundException",
                f"Function not found: arn:aws:lambda:{region}:{self._account}:function:{name}",
                404,
            )
        kind = call.environ.get("HTTP_X_AMZ_INVOCATION_TYPE") or "RequestResponse"
        if kind not in INVOCATION_TYPES:
            raise _LambdaError(
                "InvalidParameterValueException", f"InvocationType {kind!r} is not one of {INVOCATION_TYPES}", 400
            )
        limit = EVENT_PAYLOAD_MAX if kind == "Event" else SYNC_PAYLOAD_MAX
        if len(call.body) > limit:
            raise _LambdaError(
                "RequestTooLargeException", f"Request must be smaller than {limit} bytes for the {kind} invocation", 413
            )
        try:
            event = json.loads(call.body) if call.body.strip() else {}
        except ValueError:
            message = "Could not parse request body into json"
            raise _LambdaError("InvalidRequestContentException", message, 400) from None
        log_tail = (call.environ.get("HTTP_X_AMZ_LOG_TYPE") or "None") == "Tail"
        return Request(region, name, kind, log_tail, event)


class _LambdaError(Exception):
    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _error(code: str, message: str, status: int) -> Reply:
    body = json.dumps({"Type": "User", "message": message}).encode()
    return Reply(status, body, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)])


def _sync_reply(request: Request, outcome: Outcome) -> Reply:
    headers = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST")]
    if outcome.error is not None:
        headers.append(("X-Amz-Function-Error", "Unhandled"))
        body = json.dumps(outcome.error, default=str).encode()
    else:
        body = json.dumps(outcome.result, default=str).encode()
    if request.log_tail:
        tail = outcome.log.encode()[-LOG_TAIL_BYTES:]
        headers.append(("X-Amz-Log-Result", base64.b64encode(tail).decode()))
    return Reply(200, body, headers)
