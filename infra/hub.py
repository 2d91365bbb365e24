"""The hub account, one stack per region: the topic every member's alarms publish to, and a dashboard across accounts.

Members are known only by organizational unit (accounts join later), so the policies admit the units' accounts by
their organization path (`aws:SourceOrgPaths` for CloudWatch publishing on a member's behalf, `aws:PrincipalOrgPaths`
for a member linking its metrics), never by account id.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Environment, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_oam as oam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from tablesafe import constants
from tablesafe.config.context import TablesafeConfig
from tablesafe.config.organization import OrganizationConfig

from .member import HUB_TOPIC_NAME
from .monitoring import CLOUDWATCH_KEY_ACTIONS, KEY_ADMIN_ACTIONS

HUB_STACK_PREFIX = "Tablesafe-hub"
DASHBOARD_PERIOD = Duration.hours(1)
# Per-account series of the members' metrics: SEARCH spans every source account linked to this monitoring account.
DASHBOARD_METRICS = (
    (constants.M_BACKUPS_CREATED, "Backups created, per account"),
    (constants.M_TABLES_FAILED, "Tables failed, per account"),
)


def hub_stack_name(region: str) -> str:
    """The hub's stack of a region, e.g. `Tablesafe-hub-eu-west-1`."""
    return f"{HUB_STACK_PREFIX}-{region}"


def org_path_patterns(organization: OrganizationConfig) -> list[str]:
    """`aws:*OrgPaths` patterns matching an account anywhere below each unit (`o-.../r-.../.../ou-.../`)."""
    return [f"o-*/r-*/*{unit}/*" for unit in organization.organizational_units]


class HubStack(Stack):
    """The organization's alarm topic (KMS-encrypted) and CloudWatch sink of one region, and the dashboard."""

    def __init__(self, scope: Construct, region: str, *, config: TablesafeConfig) -> None:
        assert config.organization is not None
        organization = config.organization
        super().__init__(
            scope,
            hub_stack_name(region),
            stack_name=hub_stack_name(region),
            env=Environment(account=organization.hub_account, region=region),
            description=f"tablesafe hub: every member's alarms and backup metrics in {region}",
        )
        members = {"ForAnyValue:StringLike": {"aws:SourceOrgPaths": org_path_patterns(organization)}}
        self.topic = self._topic(members, config.alarm_email)
        self.sink = oam.CfnSink(
            self,
            "MetricsSink",
            name="tablesafe-organization",
            policy={
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": ["oam:CreateLink", "oam:UpdateLink"],
                        "Resource": "*",
                        "Condition": {
                            "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": org_path_patterns(organization)},
                            "ForAllValues:StringEquals": {"oam:ResourceTypes": ["AWS::CloudWatch::Metric"]},
                        },
                    }
                ],
            },
        )
        CfnOutput(
            self,
            "ObservabilitySinkArn",
            value=self.sink.attr_arn,
            description=f"tablesafe:organization.observabilitySinks.{region}: members link their metrics to it",
        )
        self.dashboard = self._dashboard(region)

    def _topic(self, members: dict[str, dict[str, list[str]]], alarm_email: str | None) -> sns.Topic:
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Encrypts the alarms every tablesafe member account sends to the hub",
            enable_key_rotation=True,
            policy=iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        sid="KeyAdministration",
                        principals=[iam.AccountRootPrincipal()],
                        actions=KEY_ADMIN_ACTIONS,
                        resources=["*"],
                    ),
                    iam.PolicyStatement(
                        sid="MemberAlarmNotifications",
                        principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                        actions=CLOUDWATCH_KEY_ACTIONS,
                        resources=["*"],
                        conditions=members,
                    ),
                ]
            ),
        )
        topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=HUB_TOPIC_NAME,
            display_name="tablesafe alarms of every member account",
            master_key=key,
            enforce_ssl=True,
        )
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="MemberAccountAlarms",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions=members,
            )
        )
        if alarm_email is not None:
            topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        return topic

    def _dashboard(self, region: str) -> cw.Dashboard:
        dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=f"tablesafe-organization-{region}")
        for metric, title in DASHBOARD_METRICS:
            search = (
                f"SEARCH('{{{constants.METRICS_NAMESPACE},{constants.DIM_PLAN},{constants.DIM_RULE},"
                f"{constants.DIM_SERVICE}}} MetricName=\"{metric}\"', 'Sum', {DASHBOARD_PERIOD.to_seconds()})"
            )
            dashboard.add_widgets(
                cw.GraphWidget(
                    title=title,
                    left=[cw.MathExpression(expression=search, using_metrics={}, period=DASHBOARD_PERIOD, label="")],
                    width=24,
                )
            )
        return dashboard
