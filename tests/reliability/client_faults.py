"""Faults injected into the real clients a gateway receives, through botocore's own event hooks.

A test builds the clients (aws/clients.py), hooks them, and hands them to the gateway: the gateway under test is the
one production builds, with nothing of it patched or overridden.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from tablesafe.aws.clients import BackupClients

Hook = Callable[[str, dict[str, Any]], None]


def before_every_call(clients: BackupClients, hook: Hook) -> BackupClients:
    """Runs hook(operation, params) before each call of each client is built, every page of a paginator included.

    What the hook raises is what the call raises, before anything is sent (so botocore does not retry it)."""

    def handler(params: dict[str, Any], model: Any, **_: Any) -> None:
        hook(model.name, params)

    for client in (clients.dynamodb, clients.create, clients.tagging):
        client.meta.events.register("before-parameter-build", handler)
    return clients


def server_error(operation: str) -> ClientError:
    """A 500 answer, as AWS gives once botocore's retries are spent."""
    return ClientError(
        {"Error": {"Code": "InternalServerError", "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
        operation,
    )
