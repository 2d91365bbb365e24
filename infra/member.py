"""What the StackSet deploys to every member account and region: tablesafe, a read-only role for the hub, and the
links to the hub (alarms to its topic, metrics to its CloudWatch observability sink)."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnCondition, CfnParameter, Fn, Validations
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_oam as oam
from aws_cdk import aws_sns as sns
from cdk_stacksets import StackSetStack
from constructs import Construct

from tablesafe import constants
from tablesafe.config.context import TablesafeConfig

from .construct import Tablesafe

READ_ONLY_ROLE_NAME = constants.READ_ONLY_ROLE_NAME
HUB_TOPIC_NAME = "tablesafe-organization-alarms"
HUB_ACCOUNT_PARAMETER = "HubAccountId"
SINK_PARAMETER = "ObservabilitySinkArn"
# What `tablesafe status --accounts/--organization` reads in a member: tables, their tags, backups (ours and AWS
# Backup's recovery points), PITR state and exports. Only Describe/List/Get: nothing that writes.
READ_ONLY_ACTIONS = (
    "dynamodb:ListTables",
    "dynamodb:DescribeTable",
    "dynamodb:ListTagsOfResource",
    "dynamodb:ListBackups",
    "dynamodb:DescribeBackup",
    "dynamodb:DescribeContinuousBackups",
    "dynamodb:ListExports",
    "dynamodb:DescribeExport",
    "tag:GetResources",
    "backup:ListRecoveryPointsByResource",
)
# Where a member has restore drills: each table's last drill, an item of the lease table (BatchGetItem on that table
# only), and the lease table's name, in the drill function's environment (GetFunctionConfiguration of that function
# only). Both read; neither lists or reads anything else.
DRILL_RECORD_ACTIONS = ("dynamodb:BatchGetItem",)
DRILL_FUNCTION_ACTIONS = ("lambda:GetFunctionConfiguration",)


class MemberStack(StackSetStack):
    """The StackSet's template: the standalone stack's content for the member's region, plus the hub's access."""

    def __init__(self, scope: Construct, construct_id: str, *, config: TablesafeConfig, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        hub = CfnParameter(
            self,
            HUB_ACCOUNT_PARAMETER,
            type="String",
            allowed_pattern=r"^\d{12}$",
            description="The account that reads every member's coverage and receives every member's alarms",
        )
        sink = CfnParameter(
            self,
            SINK_PARAMETER,
            type="String",
            default="",
            description="The hub's CloudWatch observability sink in this region (empty: no link, no shared metrics)",
        )
        self.tablesafe = Tablesafe(self, "Tablesafe", config=config)
        self.read_only_role = self._read_only_role(hub.value_as_string)
        # CloudWatch alarm actions must be in the alarm's region: the hub has one topic per region, of one name.
        hub_topic = sns.Topic.from_topic_arn(
            self,
            "HubTopic",
            Fn.sub(f"arn:${{AWS::Partition}}:sns:${{AWS::Region}}:${{{hub.logical_id}}}:{HUB_TOPIC_NAME}"),
        )
        for alarm in self.tablesafe.monitoring.alarms:
            alarm.add_alarm_action(cw_actions.SnsAction(hub_topic))
        link = oam.CfnLink(
            self,
            "HubMetricsLink",
            resource_types=["AWS::CloudWatch::Metric"],
            sink_identifier=sink.value_as_string,
            label_template="$AccountName",
        )
        link.cfn_options.condition = CfnCondition(
            self, "HasObservabilitySink", expression=Fn.condition_not(Fn.condition_equals(sink.value_as_string, ""))
        )

    def _read_only_role(self, hub_account: str) -> iam.Role:
        role = iam.Role(
            self,
            "ReadOnlyRole",
            role_name=READ_ONLY_ROLE_NAME,
            assumed_by=iam.AccountPrincipal(hub_account),
            description="Assumed by the hub account's `tablesafe status` to read this account's backup coverage",
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(sid="ReadBackupCoverage", actions=list(READ_ONLY_ACTIONS), resources=["*"])
        )
        drills = self.tablesafe.drills
        if drills is not None:
            leases = self.tablesafe.functions.leases.table
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="ReadLastDrills", actions=list(DRILL_RECORD_ACTIONS), resources=[leases.table_arn]
                )
            )
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="FindLastDrills", actions=list(DRILL_FUNCTION_ACTIONS), resources=[drills.function.function_arn]
                )
            )
        Validations.of(role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="The coverage view reads every table of the account; ListTables, ListBackups, ListExports and "
                "GetResources support no resource-level permissions, and every action here is read-only.",
            )
        )
        return role
