"""The backup and prune functions, their dead-letter queue, and each function's least-privilege grants."""

from __future__ import annotations

import json
from collections.abc import Mapping

from aws_cdk import Acknowledgment, ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from tablesafe import constants
from tablesafe.config.plans import ConfigError, plans_as_json

from .archive import backup_role_name, exports_configured
from .bundling import code_asset
from .config import PLANS, TablesafeConfig
from .leases import SlotLeaseTable

# Fixed names, so that a function can grant itself lambda:InvokeFunction (to hand a long run to a continuation)
# by ARN, without a circular reference between the function and its own role's policy.
BACKUP_FUNCTION_NAME = "tablesafe-backup"
PRUNE_FUNCTION_NAME = "tablesafe-prune"
TIMEOUT = Duration.seconds(900)  # Lambda's maximum; a run hands over to a continuation before it is reached
BACKUP_MEMORY_MB = 512  # docs/performance.md: CPU share at 50 CreateBackup/s, with margin for arm64
PRUNE_MEMORY_MB = 512  # docs/performance.md: up to ~420,000 listed backups an invocation
LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
# Lambda retries a failed asynchronous invocation (a scheduled run, a continuation) twice, then sends the event to
# the dead-letter queue; an event older than this is not run at all but sent there too.
ASYNC_RETRY_ATTEMPTS = 2
ASYNC_MAX_EVENT_AGE = Duration.hours(6)
DLQ_RETENTION = Duration.days(14)  # SQS's maximum: time to read a failed event after the alarm
RUNTIME = lambda_.Runtime.PYTHON_3_13
TRACE_DISABLED = "POWERTOOLS_TRACE_DISABLED"  # Powertools' Tracer records nothing (tablesafe:tracing false)
LAMBDA_ENV_LIMIT_BYTES = 4096  # Lambda: "the total size of all environment variables can't exceed 4 KB"
# The lease table's name is CloudFormation's to choose (up to DynamoDB's 255 characters): counted at its longest.
LEASE_TABLE_NAME_BYTES = 255


def function_environment(config: TablesafeConfig, service: str) -> dict[str, str]:
    """The environment settings.py reads; the same for both functions apart from the Powertools service name."""
    return {
        constants.ENV_TAG_KEY: config.tag_key,
        constants.ENV_PLANS: json.dumps(plans_as_json(config.plans), sort_keys=True, separators=(",", ":")),
        constants.ENV_BACKUP_NAME_PREFIX: config.backup_name_prefix,
        constants.ENV_DRY_RUN: "true" if config.dry_run else "false",
        constants.ENV_STORAGE_PRICE: repr(config.storage_price_per_gb_month),
        constants.ENV_GLOBAL_TABLES: config.global_tables,
        constants.ENV_REGIONS: ",".join(config.regions),
        "POWERTOOLS_SERVICE_NAME": service,
        "POWERTOOLS_METRICS_NAMESPACE": constants.METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": "INFO",
        **({} if config.tracing else {TRACE_DISABLED: "true"}),
        **({constants.ENV_DEFAULT_PLAN: config.default_plan} if config.default_plan else {}),
    }


def _check_environment_size(environment: Mapping[str, str], reserved: int = 0) -> None:
    """`reserved`: bytes of variables added later (the lease table's name, known only at deploy time)."""
    size = reserved + sum(len(k.encode()) + len(v.encode()) for k, v in environment.items())
    if size > LAMBDA_ENV_LIMIT_BYTES:
        raise ConfigError(
            PLANS,
            f"<{size} bytes of function environment>",
            f"the plans are passed to the functions as an environment variable, and Lambda allows "
            f"{LAMBDA_ENV_LIMIT_BYTES} bytes in all; use fewer or shorter plans and rules",
        )


class BackupFunctions(Construct):
    """Both functions, from one code asset, each with its own role, log group and asynchronous retry policy."""

    def __init__(self, scope: Construct, construct_id: str, *, config: TablesafeConfig) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DLQ_RETENTION,
        )
        Validations.of(self.dead_letter_queue).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason="This queue is the dead-letter queue of the functions' asynchronous invocations and of the "
                "schedules; a failed event stays here, alarmed on, until an operator reads it.",
            )
        )
        code = self.code = code_asset()  # also the drill function's (infra/drills.py)
        self.leases = SlotLeaseTable(self, "SlotLeases", opt_out_tag=config.tag_key if config.default_plan else None)
        self.backup = self._function(
            "Backup",
            config,
            code=code,
            name=BACKUP_FUNCTION_NAME,
            handler=constants.BACKUP_HANDLER,
            service=constants.SERVICE_BACKUP,
            memory_mb=BACKUP_MEMORY_MB,
            description="tablesafe: on-demand backups of the tables tagged with a plan",
            reserved_environment_bytes=len(constants.ENV_LEASE_TABLE) + LEASE_TABLE_NAME_BYTES,
            # Named only where it exports, so an archive account's bucket policy can name it; unnamed otherwise,
            # as it always was (a name given later replaces the role).
            role_name=backup_role_name(Stack.of(self).region) if exports_configured(config) else None,
        )
        self.prune = self._function(
            "Prune",
            config,
            code=code,
            name=PRUNE_FUNCTION_NAME,
            handler=constants.PRUNE_HANDLER,
            service=constants.SERVICE_PRUNE,
            memory_mb=PRUNE_MEMORY_MB,
            description="tablesafe: deletes tablesafe's own expired backups",
        )
        self._grant_backup(self.backup, list_tables=config.default_plan is not None)
        self.leases.grant_holder(self.backup)
        self._grant_prune(self.prune)

    # Past the id and the configuration every argument is keyword-only, one a function property: PLR0913 counts them.
    def _function(  # noqa: PLR0913
        self,
        construct_id: str,
        config: TablesafeConfig,
        *,
        code: lambda_.Code,
        name: str,
        handler: str,
        service: str,
        memory_mb: int,
        description: str,
        reserved_environment_bytes: int = 0,
        role_name: str | None = None,
    ) -> lambda_.Function:
        environment = function_environment(config, service)
        _check_environment_size(environment, reserved_environment_bytes)
        # CDK names the group: a fixed name would clash with the retained group of a deleted stack.
        log_group = logs.LogGroup(
            self, f"{construct_id}Logs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.RETAIN
        )
        # Our own role, so that no managed policy grants logs:* on every log group.
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {name}",
            role_name=role_name,
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            construct_id,
            function_name=name,
            description=description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=code,
            role=role,
            timeout=TIMEOUT,
            memory_size=memory_mb,
            environment=environment,
            log_group=log_group,
            # X-Ray active tracing: Lambda samples and sends the invocation's segment; Powertools' Tracer adds ours.
            tracing=lambda_.Tracing.ACTIVE if config.tracing else None,
            retry_attempts=ASYNC_RETRY_ATTEMPTS,
            max_event_age=ASYNC_MAX_EVENT_AGE,
            on_failure=destinations.SqsDestination(self.dead_letter_queue),
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ContinueRunInANewInvocation",
                actions=["lambda:InvokeFunction"],
                resources=[_function_arn(self, name)],
            )
        )
        Validations.of(function).acknowledge(
            Acknowledgment(
                id="AwsSolutions-L1",
                reason="Python 3.13 is the runtime the package and its tests target; moving to a newer runtime is "
                "a deliberate, tested change.",
            )
        )
        _depend_on_policy_only(function, role)
        return function

    def _grant_backup(self, function: lambda_.Function, *, list_tables: bool = False) -> None:
        tables = _dynamodb_arn(self, "table/*")
        statements = [
            iam.PolicyStatement(
                sid="BackUpTables",
                actions=[
                    "dynamodb:CreateBackup",
                    "dynamodb:DescribeTable",
                    "dynamodb:DescribeContinuousBackups",
                    "dynamodb:UpdateContinuousBackups",
                ],
                resources=[tables],
            ),
            # ListBackups and GetResources support no resource-level permissions.
            iam.PolicyStatement(sid="ListBackups", actions=["dynamodb:ListBackups"], resources=["*"]),
            iam.PolicyStatement(sid="FindTaggedTables", actions=["tag:GetResources"], resources=["*"]),
            # The other deployed regions' table names: only a table named there can be a replica homed there
            # (backup/replicas.py). ListTables supports no resource-level permissions either.
            iam.PolicyStatement(sid="ListTablesOfDeployedRegions", actions=["dynamodb:ListTables"], resources=["*"]),
        ]
        if list_tables:  # tablesafe:defaultPlan: every table of the region, tagged or not
            statements.append(iam.PolicyStatement(sid="ListTables", actions=["dynamodb:ListTables"], resources=["*"]))
        for statement in statements:
            function.add_to_role_policy(statement)
        self._suppress_wildcards(
            function,
            [
                (
                    "Resource::*",
                    "dynamodb:ListBackups, dynamodb:ListTables and tag:GetResources do not support resource-level "
                    "permissions, nor do "
                    "X-Ray's PutTraceSegments and PutTelemetryRecords (tablesafe:tracing).",
                ),
                (
                    f"Resource::{_as_nag_sees_it(self, 'table/*')}",
                    "Any table may opt in by carrying the plan tag, so the backup actions apply to all tables of "
                    "this account and region; the function only backs up tables that carry the tag.",
                ),
            ],
        )

    def _grant_prune(self, function: lambda_.Function) -> None:
        backups = _dynamodb_arn(self, "table/*/backup/*")
        statements = [
            iam.PolicyStatement(sid="ListBackups", actions=["dynamodb:ListBackups"], resources=["*"]),
            iam.PolicyStatement(
                sid="DeleteExpiredBackups",
                actions=["dynamodb:DescribeBackup", "dynamodb:DeleteBackup"],
                resources=[backups],
            ),
        ]
        for statement in statements:
            function.add_to_role_policy(statement)
        self._suppress_wildcards(
            function,
            [
                (
                    "Resource::*",
                    "dynamodb:ListBackups does not support resource-level permissions, nor do X-Ray's "
                    "PutTraceSegments and PutTelemetryRecords (tablesafe:tracing).",
                ),
                (
                    f"Resource::{_as_nag_sees_it(self, 'table/*/backup/*')}",
                    "Backups are named by DynamoDB (table/<table>/backup/<id>), not by us; the function deletes "
                    "only backups whose name carries tablesafe's prefix and whose rule's retention has passed.",
                ),
            ],
        )

    @staticmethod
    def _suppress_wildcards(function: lambda_.Function, resources: list[tuple[str, str]]) -> None:
        assert function.role is not None  # every function here is given its role above
        for finding, reason in resources:
            Validations.of(function.role).acknowledge(Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason))


def _function_arn(scope: Construct, name: str) -> str:
    return Stack.of(scope).format_arn(
        service="lambda", resource="function", resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME
    )


def _dynamodb_arn(scope: Construct, resource: str) -> str:
    return Stack.of(scope).format_arn(service="dynamodb", resource=resource, arn_format=ArnFormat.NO_RESOURCE_NAME)


def _as_nag_sees_it(scope: Construct, resource: str) -> str:
    """A DynamoDB ARN of this stack as cdk-nag names it in a finding (pseudo parameters as <AWS::...>)."""
    stack = Stack.of(scope)
    partition = "<AWS::Partition>" if Token.is_unresolved(stack.partition) else stack.partition
    region = "<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region  # a stack without a region
    return f"arn:{partition}:dynamodb:{region}:<AWS::AccountId>:{resource}"


def _depend_on_policy_only(function: lambda_.Function, role: iam.Role) -> None:
    """Keep DependsOn to the role's policy: the role itself is already implied by GetAtt (cfn-lint W3005)."""
    policy = role.node.try_find_child("DefaultPolicy")
    policy_resource = policy.node.default_child if isinstance(policy, iam.Policy) else None
    resource = function.node.default_child
    if not isinstance(policy_resource, iam.CfnPolicy) or not isinstance(resource, lambda_.CfnFunction):
        raise TypeError(f"{function.node.path}: expected a CfnFunction and its role's DefaultPolicy")
    # The policy must exist before the function runs, or a first invocation could fail on permissions.
    resource.add_override("DependsOn", [Stack.of(function).get_logical_id(policy_resource)])
