"""AWS errors as decisions: the one mapping from botocore's exceptions to GatewayError classes, for every gateway.

`call` sends one request and maps what went wrong: an error code AWS answered (ClientError), an error botocore
raised before sending (surely no effect), or a lost answer (timeout, reset connection: whether it took effect is
unknown). Each error records whether botocore's retry mode already resent the call for it (`botocore_retried`), so
the one retry policy of ours (aws/retry.py) never retries on top of botocore's retries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
)

R = TypeVar("R")

# botocore's standard retry mode resends these codes (botocore/retries/standard.py, ThrottledRetryableChecker);
# the tagging API says ThrottledException.
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "ThrottledException",
        "Throttling",
        "LimitExceededException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
    }
)
SERVER_ERROR_CODES = frozenset({"InternalServerError", "ServiceUnavailable", "InternalFailure"})
TABLE_NOT_FOUND_CODES = frozenset(
    {"TableNotFoundException", "ResourceNotFoundException", "SourceTableNotFoundException"}
)
TABLE_IN_USE_CODES = frozenset({"TableInUseException", "ResourceInUseException"})
# botocore raises these before anything is sent: the call surely had no effect.
UNSENT_ERRORS = (ParamValidationError, NoCredentialsError, PartialCredentialsError, NoRegionError)


class GatewayError(Exception):
    """An AWS call failed; `code` is AWS's error code (or the botocore exception's name).

    `botocore_retried`: botocore's retry mode already resent the call for this error (a throttle, a 5xx or a lost
    answer on a client with retries on), so resending it again would multiply botocore's attempts.
    """

    def __init__(self, operation: str, code: str, message: str, *, botocore_retried: bool = False) -> None:
        self.operation = operation
        self.code = code
        self.message = message
        self.botocore_retried = botocore_retried
        super().__init__(f"{operation} failed: {code}: {message}")


class Throttled(GatewayError):
    """AWS refused the call for rate or concurrency; it had no effect and may be sent again after a pause."""


class AmbiguousResult(GatewayError):
    """The call may or may not have taken effect (5xx, timeout, connection lost): look before sending it again."""


class BackupInUse(GatewayError):
    """BackupInUseException: a backup of this table is being created, or this backup is being created or deleted."""


class BackupNotFound(GatewayError):
    """No backup has this ARN."""


class TableNotFound(GatewayError):
    """The table does not exist (any more)."""


class TableInUse(GatewayError):
    """The table is being created, updated or deleted."""


class TableExists(GatewayError):
    """The target table of a restore exists already."""


class ConditionFailed(GatewayError):
    """A conditional write found its condition false (the item exists)."""


class PitrUnavailable(GatewayError):
    """Point-in-time recovery is off for the table, or the time is outside its restorable window."""


class ListingIncomplete(GatewayError):
    """A listing stopped part-way after retries: what was seen is not the whole picture."""


_BY_CODE: dict[str, type[GatewayError]] = {
    "BackupInUseException": BackupInUse,
    "BackupNotFoundException": BackupNotFound,
    "TableAlreadyExistsException": TableExists,
    "ConditionalCheckFailedException": ConditionFailed,
    "PointInTimeRecoveryUnavailableException": PitrUnavailable,
    "InvalidRestoreTimeException": PitrUnavailable,
    **dict.fromkeys(THROTTLING_CODES, Throttled),
    **dict.fromkeys(TABLE_NOT_FOUND_CODES, TableNotFound),
    **dict.fromkeys(TABLE_IN_USE_CODES, TableInUse),
}


def botocore_resends(client: object) -> bool:
    """Whether botocore's retry mode resends this client's throttled, 5xx and unanswered calls.

    A client without a readable retry configuration is taken to resend (botocore's default modes do), so an
    unknown client is never retried on top of."""
    meta = getattr(client, "meta", None)
    retries = getattr(getattr(meta, "config", None), "retries", None)
    if not isinstance(retries, dict):
        return True
    total = retries.get("total_max_attempts")
    if total is None and retries.get("max_attempts") is not None:
        total = int(retries["max_attempts"]) + 1
    return total is None or int(total) > 1


def classify_error(operation: str, error: ClientError, *, resent: bool = False) -> GatewayError:
    """The GatewayError subclass an AWS error code calls for; `resent`: the client's botocore retries are on."""
    details: dict[str, Any] = dict(error.response.get("Error", {}))
    code = str(details.get("Code", "Unknown"))
    message = str(details.get("Message", ""))
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    kind = _BY_CODE.get(code)
    if kind is None and (status >= 500 or code in SERVER_ERROR_CODES):
        kind = AmbiguousResult
    kind = kind or GatewayError
    return kind(operation, code, message, botocore_retried=resent and kind in (Throttled, AmbiguousResult))


def call(operation: str, client: object, send: Callable[[], R]) -> R:
    """`send()` (one call of `client`), its failures as GatewayErrors.

    >>> call("DescribeTable", dynamodb, lambda: dynamodb.describe_table(TableName="orders"))
    """
    try:
        return send()
    except ClientError as error:
        raise classify_error(operation, error, resent=botocore_resends(client)) from error
    except UNSENT_ERRORS as error:
        raise GatewayError(operation, type(error).__name__, str(error)) from error
    except BotoCoreError as error:
        # Connection reset, read timeout, endpoint unreachable: whether the call took effect is unknown.
        resent = botocore_resends(client)
        raise AmbiguousResult(operation, type(error).__name__, str(error), botocore_retried=resent) from error


def pages(operation: str, client: object, pages_of: Iterable[R]) -> Iterator[R]:
    """The pages of a botocore paginator, each fetch's failure as a GatewayError (as `call` maps it).

    >>> for page in pages("ListTables", dynamodb, dynamodb.get_paginator("list_tables").paginate()): ...
    """
    iterator = iter(pages_of)
    while True:
        page = call(operation, client, lambda: next(iterator, None))
        if page is None:
            return
        yield page
