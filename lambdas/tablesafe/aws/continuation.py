"""Hands the rest of a long run to a new invocation of the same function (asynchronous self-invocation)."""

from __future__ import annotations

import json
from typing import Any

import boto3


class LambdaContinuation:
    """Invokes `function_arn` asynchronously with the continuation event; the event carries the whole cursor."""

    def __init__(self, function_arn: str, session: boto3.Session | None = None) -> None:
        self.function_arn = function_arn
        self._client = (session or boto3.Session()).client("lambda")

    def __call__(self, event: dict[str, Any]) -> None:
        self._client.invoke(FunctionName=self.function_arn, InvocationType="Event", Payload=json.dumps(event).encode())
