"""aws/accounts.py: the caller's partition, the Organization's accounts and their state, with botocore's Stubber."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from tablesafe.aws.accounts import Identity, OrganizationAccount, organization_accounts, role_arn
from tablesafe.aws.errors import GatewayError


@pytest.mark.parametrize(
    ("arn", "partition"),
    [
        ("arn:aws:sts::111122223333:assumed-role/Admin/alice", "aws"),
        ("arn:aws-cn:iam::111122223333:user/bob", "aws-cn"),
        ("arn:aws-us-gov:iam::111122223333:root", "aws-us-gov"),
    ],
)
def test_the_role_arn_is_in_the_callers_partition(arn, partition):
    identity = Identity(account="111122223333", arn=arn)
    assert role_arn(identity.partition, "444455556666", "TablesafeReadOnly") == (
        f"arn:{partition}:iam::444455556666:role/TablesafeReadOnly"
    )


def account(account_id: str, **state: str) -> dict:
    return {
        "Id": account_id,
        "Name": f"n{account_id[-1]}",
        "Arn": f"arn:aws:organizations::1:account/{account_id}",
    } | state


def test_every_page_is_read_and_state_wins_over_the_retired_status():
    client = boto3.client("organizations", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response(
            "list_accounts",
            {"Accounts": [account("222222222222", State="SUSPENDED", Status="ACTIVE")], "NextToken": "t"},
        )
        stub.add_response(
            "list_accounts",
            {"Accounts": [account("111111111111", State="ACTIVE"), account("333333333333", Status="ACTIVE")]},
            {"NextToken": "t"},
        )
        found = organization_accounts(client)
    assert found == [
        OrganizationAccount("111111111111", "n1", "ACTIVE"),
        OrganizationAccount("222222222222", "n2", "SUSPENDED"),
        OrganizationAccount("333333333333", "n3", "ACTIVE"),  # an answer without State: Status
    ]


def test_an_account_that_may_not_list_the_organization_gets_a_gateway_error():
    client = boto3.client("organizations", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("list_accounts", "AccessDeniedException", "You don't have permissions")
        with pytest.raises(GatewayError) as raised:
            organization_accounts(client)
    assert (raised.value.operation, raised.value.code) == ("ListAccounts", "AccessDeniedException")
