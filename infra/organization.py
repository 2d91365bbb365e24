"""`tablesafe:organization`: one StackSet (service-managed, automatic deployment) to every account of the units.

Stacks it adds to the app, besides the standalone ones:
- `Tablesafe-organization` (the management or delegated-administrator account, the first region): the StackSet,
  and the copy of the code asset into each region's asset bucket (cdk-stacksets' StackSetStack).
- `Tablesafe-assets-<region>` (the same account, each region): the bucket `<prefix>-<region>` the members' Lambda
  functions load their code from; readable by the units' accounts only.
- `Tablesafe-hub-<region>` (the hub account, each region): hub.py.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from aws_cdk import Acknowledgment, App, Environment, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from cdk_stacksets import Capability, DeploymentType, StackSet, StackSetTarget, StackSetTemplate
from constructs import Construct

from tablesafe.config.context import TablesafeConfig
from tablesafe.config.organization import OrganizationConfig

from .hub import HubStack, org_path_patterns
from .member import HUB_ACCOUNT_PARAMETER, SINK_PARAMETER, MemberStack

ORGANIZATION_STACK_NAME = "Tablesafe-organization"
STACK_SET_NAME = "tablesafe"
ASSET_STACK_PREFIX = "Tablesafe-assets"


def asset_bucket_name(organization: OrganizationConfig, region: str) -> str:
    """cdk-stacksets' convention: `<assetBucketPrefix>-<region>`, one bucket per target region."""
    return f"{organization.asset_bucket_prefix}-{region}"


class AssetBucketStack(Stack):
    """The bucket of one region from which the members' CloudFormation loads the functions' code."""

    def __init__(self, scope: Construct, region: str, *, organization: OrganizationConfig) -> None:
        super().__init__(
            scope,
            f"{ASSET_STACK_PREFIX}-{region}",
            stack_name=f"{ASSET_STACK_PREFIX}-{region}",
            env=Environment(region=region),
            description=f"tablesafe: the code asset the organization's member stacks load in {region}",
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=asset_bucket_name(organization, region),
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="MemberAccountsReadTheCode",
                principals=[iam.AnyPrincipal()],
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[self.bucket.arn_for_objects("*")],
                conditions={"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": org_path_patterns(organization)}},
            )
        )
        Validations.of(self.bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="The bucket holds only the code asset that cdk deploy copies in; CloudTrail records its "
                "reads, and access logs would need a second bucket per region for nothing the code needs.",
            )
        )


@dataclass(frozen=True)
class OrganizationStacks:
    """The stacks `tablesafe:organization` adds, for tests and the app."""

    stack: Stack
    member: MemberStack
    stack_set: StackSet
    asset_buckets: dict[str, AssetBucketStack]
    hubs: dict[str, HubStack]


def add_organization(app: App, config: TablesafeConfig) -> OrganizationStacks:
    """The StackSet's stack, the asset buckets and the hub stacks, for `config.organization`."""
    organization = config.organization
    assert organization is not None
    asset_buckets = {r: AssetBucketStack(app, r, organization=organization) for r in organization.regions}
    hubs = {r: HubStack(app, r, config=config) for r in organization.regions}
    stack = Stack(
        app,
        ORGANIZATION_STACK_NAME,
        stack_name=ORGANIZATION_STACK_NAME,
        env=Environment(region=organization.regions[0]),
        description="tablesafe: the StackSet that deploys tablesafe to every account of the organizational units",
    )
    buckets = [
        s3.Bucket.from_bucket_name(stack, f"AssetBucket-{r}", asset_bucket_name(organization, r))
        for r in organization.regions
    ]
    member = MemberStack(
        stack,
        "Member",
        config=replace(config, regions=organization.regions, organization=None),
        asset_buckets=buckets,
        asset_bucket_prefix=organization.asset_bucket_prefix,
    )
    stack_set = StackSet(
        stack,
        "StackSet",
        stack_set_name=STACK_SET_NAME,
        description="tablesafe: scheduled backups of tagged DynamoDB tables in every member account",
        template=StackSetTemplate.from_stack_set_stack(member),
        deployment_type=DeploymentType.service_managed(
            auto_deploy_enabled=True, auto_deploy_retain_stacks=False, delegated_admin=organization.delegated_admin
        ),
        capabilities=[Capability.NAMED_IAM],
        parameters={HUB_ACCOUNT_PARAMETER: organization.hub_account},
    )
    for region in organization.regions:
        overrides = {SINK_PARAMETER: organization.observability_sinks.get(region, "")}
        stack_set.add_target(
            StackSetTarget.from_organizational_units(
                organizational_units=list(organization.organizational_units),
                regions=[region],
                parameter_overrides=overrides,
            )
        )
    for bucket_stack in asset_buckets.values():
        stack.add_stack_dependency(bucket_stack)
    _acknowledge_asset_copy(stack, organization)
    return OrganizationStacks(stack, member, stack_set, asset_buckets, hubs)


def _acknowledge_asset_copy(stack: Stack, organization: OrganizationConfig) -> None:
    """cdk-stacksets copies the asset with CDK's BucketDeployment: its function and role are CDK's, not ours."""
    copies = [c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment")]
    grants = "CDK's BucketDeployment (cdk-stacksets copies the code asset with it) reads the staged asset from the "
    "bootstrap bucket and writes it into each region's asset bucket with CDK's own grants on <bucket>/*."
    buckets = [f"arn:aws:s3:::{asset_bucket_name(organization, r)}/*" for r in organization.regions]
    bootstrap = f"arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-{stack.region}/*"
    findings = [f"Action::s3:{a}" for a in ("GetBucket*", "GetObject*", "List*", "Abort*", "DeleteObject*")]
    findings += [f"Resource::{arn}" for arn in (bootstrap, *buckets)]
    reasons = {f"AwsSolutions-IAM5[{finding}]": grants for finding in findings}
    reasons[
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]"
    ] = "CDK's BucketDeployment function logs with the AWS managed basic execution policy; it is CDK's construct."
    reasons["AwsSolutions-L1"] = "CDK's BucketDeployment function: its runtime is aws-cdk-lib's and moves with it."
    for copy in copies:
        for rule, reason in reasons.items():
            Validations.of(copy).acknowledge(Acknowledgment(id=rule, reason=reason))
