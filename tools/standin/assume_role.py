"""STS AssumeRole as AWS answers it: refused unless the role exists and its trust policy lets the caller in.

moto maps an assumed role's credentials to the role's account (so the stand-in holds several accounts), but it hands
out credentials for any role ARN, existing or not. AWS refuses: the AWS STS API Reference, AssumeRole ("Errors";
the role's trust policy must name the caller: "the trust policy of the role ... specifies who can assume the
role"), and the IAM User Guide, "Troubleshoot IAM roles" ("I can't assume a role"): HTTP 403 AccessDenied, "User:
<caller ARN> is not authorized to perform: sts:AssumeRole on resource: <role ARN>", the same words whether the role
is missing or its trust policy leaves the caller out (AWS does not tell which).

The trust check reads the statements' Effect, Action and AWS Principal (`*`, an account id, `arn:...:root`, the
caller's user or role ARN); conditions are not evaluated (a statement with a Condition is taken as written without
it), nor are the caller's own permissions or SCPs.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, unquote
from xml.sax.saxutils import escape

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from tools.standin.protocol import Reply

_ROLE_ARN = re.compile(r"^arn:([\w-]+):iam::(\d{12}):role/.+$")
_ASSUMED_ROLE = re.compile(r"^arn:([\w-]+):sts::(\d{12}):assumed-role/([^/]+)/.+$")
_ACTIONS = frozenset({"sts:AssumeRole", "sts:*", "*"})


def refuse_assume_role(caller_account: str, access_key: str | None, region: str, body: bytes) -> Reply | None:
    """AccessDenied for an AssumeRole of a role that does not exist or does not trust the caller; None otherwise."""
    form = parse_qs(body.decode(errors="replace"))
    arn = (form.get("RoleArn") or [""])[0]
    match = _ROLE_ARN.match(arn)
    if match is None:
        return None  # moto's own validation answers
    partition, account = match.group(1), match.group(2)
    caller = caller_arn(caller_account, access_key, region, partition)
    role = next((r for r in iam_backends[account][partition].get_roles() if r.arn == arn), None)
    if role is not None and trusts(_policy(role.assume_role_policy_document), caller_account, caller):
        return None
    return _access_denied(f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {arn}")


def caller_arn(account: str, access_key: str | None, region: str, partition: str) -> str:
    """The caller's ARN as GetCallerIdentity would answer it (moto's view of the access key)."""
    _, arn, _ = sts_backends[account][partition].get_caller_identity(access_key or "", region)
    return str(arn)


def trusts(policy: dict[str, Any], caller_account: str, caller: str) -> bool:
    """Whether a trust policy allows `caller` (an ARN in `caller_account`) sts:AssumeRole and no statement denies it."""
    allowed = False
    for statement in _as_list(policy.get("Statement")):
        if not isinstance(statement, dict) or not _ACTIONS & set(_as_list(statement.get("Action"))):
            continue
        if _names(statement.get("Principal"), caller_account, caller):
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _names(principal: Any, account: str, caller: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    wanted = {"*", account, caller}
    partition = caller.split(":")[1] if caller.count(":") >= 5 else "aws"
    wanted.add(f"arn:{partition}:iam::{account}:root")
    if (session := _ASSUMED_ROLE.match(caller)) is not None:
        wanted.add(f"arn:{session.group(1)}:iam::{session.group(2)}:role/{session.group(3)}")
    return bool(wanted & set(_as_list(principal.get("AWS"))))


def _policy(document: Any) -> dict[str, Any]:
    if isinstance(document, dict):
        return document
    text = str(document or "{}")
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = json.loads(unquote(text))  # IAM keeps policy documents URL-encoded
    return parsed if isinstance(parsed, dict) else {}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _access_denied(message: str) -> Reply:
    """STS's query-protocol error body, HTTP 403."""
    body = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
        f"<Code>AccessDenied</Code><Message>{escape(message)}</Message></Error>"
        "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    ).encode()
    return Reply(403, body, [("Content-Type", "text/xml")])
