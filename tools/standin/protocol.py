"""Wire details of the AWS JSON protocols the stand-in answers: targets, error bodies, timestamps, replies."""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

DYNAMODB_TARGET = "DynamoDB_20120810"
TAGGING_TARGET = "ResourceGroupsTaggingAPI_20170126"
DYNAMODB_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
DYNAMODB_CONTENT_TYPE = "application/x-amz-json-1.0"
JSON_11_CONTENT_TYPE = "application/x-amz-json-1.1"

# "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=..., Signature=..."
_CREDENTIAL_SCOPE = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/")
# arn:aws:dynamodb:us-east-1:123456789012:table/Name[/backup/...]
_TABLE_IN_ARN = re.compile(r"^arn:[^:]+:dynamodb:[^:]*:[^:]*:table/([^/]+)")


class AwsError(Exception):
    """An AWS-style error answer: code, message and HTTP status, in the service's own JSON dialect."""

    def __init__(self, code: str, message: str, status: int = 400, *, type_prefix: str = "") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.type_prefix = type_prefix


def dynamodb_error(code: str, message: str, status: int = 400) -> AwsError:
    """An error in DynamoDB's JSON 1.0 dialect (`__type` carries the service namespace)."""
    return AwsError(code, message, status, type_prefix=DYNAMODB_ERROR_PREFIX)


def tagging_error(code: str, message: str, status: int = 400) -> AwsError:
    """An error in the Resource Groups Tagging API's JSON 1.1 dialect."""
    return AwsError(code, message, status)


def validation_error(message: str) -> AwsError:
    """DynamoDB's ValidationException."""
    return dynamodb_error("ValidationException", message)


@dataclass
class Reply:
    """One HTTP answer; `drop` closes the connection without sending anything."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: bool = False

    @property
    def error_code(self) -> str | None:
        """The AWS error code in a JSON error body, if any."""
        if self.status < 400 or not self.body:
            return None
        try:
            kind = json.loads(self.body).get("__type", "")
        except (ValueError, AttributeError):
            return None
        return str(kind).rsplit("#", 1)[-1] or None


def epoch(when: datetime) -> float:
    """Seconds since the epoch; moto's naive datetimes are UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return epoch(value)  # JSON protocols send timestamps as epoch seconds
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "to_json"):  # moto's DynamoType
        return value.to_json()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def encode(payload: Any) -> bytes:
    """JSON bytes with AWS's timestamp convention."""
    return json.dumps(payload, default=_json_default, separators=(",", ":")).encode()


def json_reply(payload: Any, content_type: str = DYNAMODB_CONTENT_TYPE, status: int = 200) -> Reply:
    """A JSON answer; DynamoDB answers carry X-Amz-Crc32, which botocore verifies."""
    body = encode(payload)
    headers = [("Content-Type", content_type)]
    if content_type == DYNAMODB_CONTENT_TYPE:
        headers.append(("X-Amz-Crc32", str(zlib.crc32(body) & 0xFFFFFFFF)))
    return Reply(status, body, headers)


def error_reply(error: AwsError, content_type: str = DYNAMODB_CONTENT_TYPE) -> Reply:
    """The error's JSON body (`__type` + message) with its HTTP status."""
    body = encode({"__type": error.type_prefix + error.code, "message": error.message})
    return Reply(error.status, body, [("Content-Type", content_type)])


def with_crc32(reply: Reply) -> Reply:
    """Recompute X-Amz-Crc32 after the body changed (botocore rejects a stale checksum)."""
    headers = [(k, v) for k, v in reply.headers if k.lower() != "x-amz-crc32"]
    headers.append(("X-Amz-Crc32", str(zlib.crc32(reply.body) & 0xFFFFFFFF)))
    return Reply(reply.status, reply.body, headers, reply.drop)


def credential_scope(authorization: str | None) -> tuple[str | None, str | None, str | None]:
    """(access key, region, service) from a SigV4 Authorization header."""
    if not authorization:
        return None, None, None
    match = _CREDENTIAL_SCOPE.search(authorization)
    if match is None:
        return None, None, None
    return match.group(1), match.group(2), match.group(3)


def table_from_arn(arn: str) -> str | None:
    """The table name inside a table or backup ARN."""
    match = _TABLE_IN_ARN.match(arn)
    return match.group(1) if match else None


def table_name_of(value: str) -> str:
    """A TableName parameter may be a name or a table ARN; this returns the name."""
    return table_from_arn(value) or value
