"""Hands the rest of a long run to a new invocation of the same function (asynchronous self-invocation)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tablesafe.aws.errors import call

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient


class LambdaContinuation:
    """Invokes `function_arn` asynchronously with the continuation event; the event carries the whole cursor.

    >>> continue_run = LambdaContinuation(context.invoked_function_arn, continuation_client(session))
    """

    def __init__(self, function_arn: str, client: LambdaClient) -> None:
        self.function_arn = function_arn
        self._client = client

    def __call__(self, event: dict[str, Any]) -> None:
        """Queue the continuation; GatewayError (aws/errors.py) when Lambda refused it or did not answer."""
        payload = json.dumps(event).encode()
        call(
            "Invoke",
            self._client,
            lambda: self._client.invoke(FunctionName=self.function_arn, InvocationType="Event", Payload=payload),
        )
