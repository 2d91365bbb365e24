"""Other accounts, for the CLI's many-account status: who the caller is, the accounts of its Organization, and a
boto3 session on a role assumed in one of them. Receives its clients; AWS errors become aws.errors' GatewayErrors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import boto3

from tablesafe.aws.errors import call, pages

ACCOUNT_ID = re.compile(r"^\d{12}$")
ACTIVE = "ACTIVE"
# An IAM role name (IAM User Guide, "IAM object quotas" / API_CreateRole RoleName: [\w+=,.@-]+, 1-64 characters).
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
SESSION_NAME = "tablesafe-status"


@dataclass(frozen=True)
class Identity:
    """The caller, as GetCallerIdentity answers: its account and ARN (whose second field is the partition)."""

    account: str
    arn: str

    @property
    def partition(self) -> str:
        """`aws`, `aws-cn`, `aws-us-gov`, ...: the partition of every ARN in the caller's accounts."""
        return self.arn.split(":")[1]


@dataclass(frozen=True)
class OrganizationAccount:
    """One account of the Organization, and its state (ACTIVE, SUSPENDED, PENDING_CLOSURE, ...)."""

    account: str
    name: str
    state: str


def caller_identity(sts: Any) -> Identity:
    """GetCallerIdentity."""
    answer = call("GetCallerIdentity", sts, sts.get_caller_identity)
    return Identity(account=str(answer["Account"]), arn=str(answer["Arn"]))


def organization_accounts(organizations: Any) -> list[OrganizationAccount]:
    """Every account of the caller's Organization (ListAccounts, all pages), by id.

    The state is `State`; `Status`, which AWS retired on 9 September 2026 (API_Account), only where `State` is
    absent (an older endpoint or stand-in)."""
    found = []
    for page in pages("ListAccounts", organizations, organizations.get_paginator("list_accounts").paginate()):
        for account in page.get("Accounts", []):
            state = account.get("State") or account.get("Status") or "UNKNOWN"
            found.append(OrganizationAccount(str(account["Id"]), str(account.get("Name", "")), str(state)))
    return sorted(found, key=lambda a: a.account)


def role_arn(partition: str, account: str, role_name: str) -> str:
    """arn:<partition>:iam::<account>:role/<role name>."""
    return f"arn:{partition}:iam::{account}:role/{role_name}"


def assumed_session(sts: Any, arn: str, *, region: str, session_name: str = SESSION_NAME) -> boto3.Session:
    """A session on the role `arn` (AssumeRole, the role's default duration: one hour unless the role allows
    more), in `region`. Its credentials are not refreshed: a scan longer than the session fails with
    ExpiredToken, reported as such."""
    answer = call("AssumeRole", sts, lambda: sts.assume_role(RoleArn=arn, RoleSessionName=session_name))
    credentials = answer["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )
