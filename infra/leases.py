"""The slot-lease table: one item per (job, plan, rule, slot) that a run holds while it works on the slot."""

from __future__ import annotations

from aws_cdk import Acknowledgment, RemovalPolicy, Tags, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from tablesafe import constants
from tablesafe.rules.opt_in import OPT_OUT_VALUE

# What lease_table.py calls: a conditional PutItem to take a lease (answering the current item when the condition
# fails), a conditional UpdateItem to hand it on or release it, GetItem to read it back. Nothing deletes an item:
# DynamoDB's TTL does, a week after it lapses.
HOLDER_ACTIONS = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem"]
PARTITION_KEY = "pk"
TTL_ATTRIBUTE = "ttl"


class SlotLeaseTable(Construct):
    """An on-demand, encrypted table with TTL; `grant_holder` lets one function take and release leases in it.

    `opt_out_tag`: under `tablesafe:defaultPlan`, the plan tag key, which the table then carries with the value
    `none`: it is tablesafe's own coordination state, and the default plan would otherwise back it up, export it
    (failing every run: it has no PITR) and drill it."""

    def __init__(self, scope: Construct, construct_id: str, *, opt_out_tag: str | None = None) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,  # a few writes per run: no capacity to plan
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute=TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=False
            ),
            # Leases only matter while their runs last; a deleted stack leaves nothing worth keeping.
            removal_policy=RemovalPolicy.DESTROY,
        )
        if opt_out_tag is not None:
            Tags.of(self.table).add(opt_out_tag, OPT_OUT_VALUE)
        Validations.of(self.table).acknowledge(
            Acknowledgment(
                id="AwsSolutions-DDB3",
                reason="The table holds only the leases of running backup runs, each worthless minutes after its run "
                "ends (TTL removes it a week later); restoring it to a past point would only bring back stale leases.",
            )
        )

    def grant_holder(self, function: lambda_.Function) -> None:
        """The item actions lease_table.py needs, on this table only, and its name in the function's environment."""
        function.add_to_role_policy(
            iam.PolicyStatement(sid="HoldSlotLeases", actions=HOLDER_ACTIONS, resources=[self.table.table_arn])
        )
        function.add_environment(constants.ENV_LEASE_TABLE, self.table.table_name)
