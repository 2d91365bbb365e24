"""STS AssumeRole as AWS answers it (tools/standin/assume_role.py names the docs): no role or no trust, no keys."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from tools.standin.assume_role import trusts
from tools.standin.support import error_code

HUB = "123456789012"  # moto's account for the fake credentials
MEMBER = "210987654321"


def trust(principal: object, effect: str = "Allow", action: object = "sts:AssumeRole") -> dict:
    return {"Version": "2012-10-17", "Statement": [{"Effect": effect, "Principal": principal, "Action": action}]}


def member_iam(standin):
    """A new account of the hub's Organization, and its IAM as its administrator (OrganizationAccountAccessRole,
    which CreateAccount gives the account, trusted by the management account)."""
    sts = standin.client("sts")
    organizations = standin.client("organizations")
    organizations.create_organization(FeatureSet="ALL")
    account = organizations.create_account(AccountName="member", Email="m@example.com")["CreateAccountStatus"]
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account['AccountId']}:role/OrganizationAccountAccessRole", RoleSessionName="admin"
    )["Credentials"]
    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    return account["AccountId"], session.client("iam", region_name="us-east-1", endpoint_url=standin.endpoint_url)


def assume(standin, arn: str) -> dict:
    return standin.client("sts").assume_role(RoleArn=arn, RoleSessionName="test")


def test_assume_role_of_a_role_the_account_does_not_have_is_access_denied(standin):
    arn = f"arn:aws:iam::{MEMBER}:role/TablesafeReadOnly"
    with pytest.raises(ClientError) as raised:
        assume(standin, arn)
    assert error_code(raised.value) == "AccessDenied"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert f"is not authorized to perform: sts:AssumeRole on resource: {arn}" in str(raised.value)
    assert standin.calls.count("AssumeRole", "rejected") == 1


def test_a_role_that_trusts_the_caller_gives_credentials_acting_in_its_account(standin):
    account, iam = member_iam(standin)
    iam.create_role(RoleName="Reader", AssumeRolePolicyDocument=json.dumps(trust({"AWS": f"arn:aws:iam::{HUB}:root"})))

    credentials = assume(standin, f"arn:aws:iam::{account}:role/Reader")["Credentials"]

    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    identity = session.client("sts", region_name="us-east-1", endpoint_url=standin.endpoint_url).get_caller_identity()
    assert identity["Account"] == account


def test_a_role_whose_trust_policy_leaves_the_caller_out_is_access_denied(standin):
    account, iam = member_iam(standin)
    iam.create_role(
        RoleName="Reader", AssumeRolePolicyDocument=json.dumps(trust({"AWS": "arn:aws:iam::999988887777:root"}))
    )
    with pytest.raises(ClientError) as raised:
        assume(standin, f"arn:aws:iam::{account}:role/Reader")
    assert error_code(raised.value) == "AccessDenied"


@pytest.mark.parametrize(
    ("policy", "allowed"),
    [
        (trust({"AWS": f"arn:aws:iam::{HUB}:root"}), True),
        (trust({"AWS": HUB}), True),
        (trust({"AWS": ["arn:aws:iam::999988887777:root", f"arn:aws:iam::{HUB}:root"]}), True),
        (trust({"AWS": f"arn:aws:iam::{HUB}:role/Operator"}), True),  # the caller's role, not its session
        (trust("*"), True),
        (trust({"AWS": "*"}, action=["sts:TagSession", "sts:*"]), True),
        (trust({"AWS": "arn:aws:iam::999988887777:root"}), False),
        (trust({"Service": "lambda.amazonaws.com"}), False),
        (trust({"AWS": f"arn:aws:iam::{HUB}:root"}, action="sts:TagSession"), False),
        (trust({"AWS": f"arn:aws:iam::{HUB}:root"}, effect="Deny"), False),
        (
            {
                "Statement": [
                    trust({"AWS": "*"})["Statement"][0],
                    trust({"AWS": HUB}, effect="Deny")["Statement"][0],
                ]
            },
            False,
        ),
    ],
)
def test_the_trust_policy_decides_who_may_assume_the_role(policy, allowed):
    caller = f"arn:aws:sts::{HUB}:assumed-role/Operator/alice"
    assert trusts(policy, HUB, caller) is allowed
