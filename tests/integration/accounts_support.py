"""Member accounts on the stand-in, made as an Organization's management account makes them.

The test process's credentials are the management (hub) account's (moto's default account). `Organization.member`
creates an account (CreateAccount, which gives it OrganizationAccountAccessRole), acts in it through that role, as
an administrator would, and gives it the tablesafe read-only role trusted by the hub, unless told not to.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3

from tablesafe.constants import READ_ONLY_ROLE_NAME
from tablesafe.rules.naming import scheduled_name
from tools.standin import StandIn

HUB = "123456789012"  # moto's account for the tests' fake credentials
ADMIN_ROLE = "OrganizationAccountAccessRole"  # what CreateAccount gives a new account (AWS Organizations User Guide)


def trust_policy(account: str) -> str:
    """A trust policy letting `account` (its root: any principal it allows) assume the role, as CDK writes it."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}
            ],
        }
    )


class Member:
    """One account of the Organization, and clients acting in it as its administrator."""

    def __init__(self, standin: StandIn, account: str) -> None:
        self.account = account
        self._standin = standin
        sts = standin.client("sts")
        credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ADMIN_ROLE}", RoleSessionName="setup")[
            "Credentials"
        ]
        self._session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )

    def client(self, service: str, region: str = "us-east-1") -> Any:
        return self._session.client(service, region_name=region, endpoint_url=self._standin.endpoint_url)

    def add_read_only_role(self, trusted: str = HUB, name: str = READ_ONLY_ROLE_NAME) -> None:
        self.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy(trusted))

    def table(self, name: str, plan: str | None = None, *, region: str = "us-east-1", backed_up: bool = False) -> None:
        """A table, tagged with `plan`; `backed_up`: with a backup of the daily rule taken now."""
        dynamodb = self.client("dynamodb", region)
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        arn = dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
        if plan is not None:
            dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": "backup-plan", "Value": plan}])
        if backed_up:
            backup = scheduled_name("tablesafe", "daily", "daily", datetime.now(UTC))
            dynamodb.create_backup(TableName=name, BackupName=backup)


class Organization:
    """The hub's Organization on the stand-in."""

    def __init__(self, standin: StandIn) -> None:
        self._standin = standin
        self._organizations = standin.client("organizations")
        self._organizations.create_organization(FeatureSet="ALL")

    def member(self, name: str, *, read_only_role: bool = True) -> Member:
        status = self._organizations.create_account(AccountName=name, Email=f"{name}@example.com")
        member = Member(self._standin, status["CreateAccountStatus"]["AccountId"])
        if read_only_role:
            member.add_read_only_role()
        return member
