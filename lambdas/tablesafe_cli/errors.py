"""The two ways a command ends badly: a wrong command line or configuration (exit 2), or a failed job (exit 1)."""

from __future__ import annotations

from tablesafe.aws.errors import GatewayError, TableNotFound

CREDENTIAL_CODES = frozenset(
    {"UnrecognizedClientException", "InvalidClientTokenId", "ExpiredTokenException", "InvalidSignatureException"}
)


class UsageError(Exception):
    """The command line or the configuration is wrong (exit 2)."""


class Failure(Exception):
    """The command could not do its job (exit 1)."""


class Interrupted(Exception):
    """Ctrl-C; the message says what was left behind (exit 130)."""


def explain(error: GatewayError) -> str:
    """One line for an AWS error the operator can act on."""
    if error.code == "NoCredentialsError":
        return "no AWS credentials found: pass --profile, or set AWS_PROFILE or AWS_ACCESS_KEY_ID"
    if error.code in CREDENTIAL_CODES:
        return f"AWS does not accept these credentials ({error.code}): check --profile or AWS_PROFILE"
    if error.code in ("AccessDeniedException", "AccessDenied"):
        return f"{error.operation}: access denied: {error.message}"
    if error.code == "ParamValidationError":
        return error.message
    if error.code in ("EndpointConnectionError", "ConnectTimeoutError"):
        return f"cannot reach AWS: {error.message}"
    if isinstance(error, TableNotFound):
        return f"{error.operation}: table not found ({error.message})"
    return f"{error.operation} failed: {error.code}: {error.message}"
