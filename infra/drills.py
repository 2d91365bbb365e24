"""Restore drills: the drill function and its least-privilege role, its schedule, its alarms and dashboard widgets.

Built only when a plan has a `drill` object (a restore costs money: drills are off unless configured).

The role can restore any backup (RestoreTableFromBackup, DescribeBackup on table/*/backup/*: the backups are named by
DynamoDB), and do to tables named `{prefix}-drill-*` only what a restore needs (DynamoDB's restore requires the item
writes on the target table: Developer Guide, backuprestore_IAM), what verification reads, tagging, and DeleteTable.
It has no CreateBackup, no DeleteBackup, and no write or delete on any other table.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Aws, Duration, RemovalPolicy, Validations
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from constructs import Construct

from tablesafe import constants
from tablesafe.drill.names import drill_prefix

from .config import TablesafeConfig
from .functions import (
    ASYNC_MAX_EVENT_AGE,
    LEASE_TABLE_NAME_BYTES,
    LOG_RETENTION,
    RUNTIME,
    TIMEOUT,
    BackupFunctions,
    _as_nag_sees_it,
    _check_environment_size,
    _depend_on_policy_only,
    _dynamodb_arn,
    function_environment,
)
from .monitoring import FAILURE_PERIOD, SERVICE_DIMENSION, Monitoring, describe, no_success_window

DRILL_FUNCTION_NAME = "tablesafe-drill"
DRILL_MEMORY_MB = 512  # the count scan's threads and pages; no item is held in memory
# A drill run is idempotent and the next schedule comes within minutes: no asynchronous retry, and a missed event
# is not worth a dead letter (the "no drill passed" alarm covers a drill function that stops running).
DRILL_RETRY_ATTEMPTS = 0
SCHEDULE_RETRY_ATTEMPTS = 2
SCHEDULE_MAX_EVENT_AGE = Duration.minutes(15)
# What a restore needs on its target table (backuprestore_IAM), what the drill reads and tags, and the delete.
DRILL_TABLE_ACTIONS = [
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
    "dynamodb:DescribeTable",
    "dynamodb:ListTagsOfResource",
    "dynamodb:TagResource",
    "dynamodb:UpdateTable",  # only to turn deletion protection off before the delete
    "dynamodb:DeleteTable",
]
RECORD_ACTIONS = ["dynamodb:BatchGetItem"]  # reading the last drills; the lease grant has Put/Update/GetItem


class RestoreDrills(Construct):
    """The drill function, its role, its schedule, and what watches it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: TablesafeConfig,
        functions: BackupFunctions,
        monitoring: Monitoring,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = self._function(config, functions)
        self._grant(config, functions)
        functions.leases.grant_holder(self.function)
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                sid="ReadLastDrills", actions=RECORD_ACTIONS, resources=[functions.leases.table.table_arn]
            )
        )
        self.schedule = self._schedule(config, functions)
        self.alarms = self._alarms(config, monitoring)
        self._widgets(config, monitoring)

    def _function(self, config: TablesafeConfig, functions: BackupFunctions) -> lambda_.Function:
        environment = function_environment(config, constants.SERVICE_DRILL)
        _check_environment_size(environment, len(constants.ENV_LEASE_TABLE) + LEASE_TABLE_NAME_BYTES)
        log_group = logs.LogGroup(self, "Logs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.RETAIN)
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {DRILL_FUNCTION_NAME}",
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            "Function",
            function_name=DRILL_FUNCTION_NAME,
            description="tablesafe: restore drills (restore the latest backup, verify it, delete the drill table)",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=constants.DRILL_HANDLER,
            code=functions.code,
            role=role,
            timeout=TIMEOUT,
            memory_size=DRILL_MEMORY_MB,
            environment=environment,
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE if config.tracing else None,  # as the other functions (tablesafe:tracing)
            retry_attempts=DRILL_RETRY_ATTEMPTS,
            max_event_age=ASYNC_MAX_EVENT_AGE,
        )
        Validations.of(function).acknowledge(
            Acknowledgment(
                id="AwsSolutions-L1",
                reason="Python 3.13 is the runtime the package and its tests target, as for the other functions.",
            )
        )
        self._role = role
        return function

    def _grant(self, config: TablesafeConfig, functions: BackupFunctions) -> None:
        drill_tables = f"table/{drill_prefix(config.backup_name_prefix)}*"
        statements = [
            iam.PolicyStatement(
                sid="RestoreBackups",
                actions=["dynamodb:RestoreTableFromBackup", "dynamodb:DescribeBackup"],
                resources=[_dynamodb_arn(self, "table/*/backup/*")],
            ),
            iam.PolicyStatement(
                sid="WorkOnDrillTablesOnly", actions=DRILL_TABLE_ACTIONS, resources=[_dynamodb_arn(self, drill_tables)]
            ),
            # ListTables, ListBackups and GetResources support no resource-level permissions.
            iam.PolicyStatement(
                sid="ListTablesAndBackups", actions=["dynamodb:ListTables", "dynamodb:ListBackups"], resources=["*"]
            ),
            iam.PolicyStatement(sid="FindTaggedTables", actions=["tag:GetResources"], resources=["*"]),
        ]
        validators = sorted({p.drill.validator for p in config.plans.values() if p.drill and p.drill.validator})
        if validators:
            statements.append(
                iam.PolicyStatement(sid="InvokeValidators", actions=["lambda:InvokeFunction"], resources=validators)
            )
        for statement in statements:
            self.function.add_to_role_policy(statement)
        for finding, reason in (
            (
                "Resource::*",
                "ListTables, ListBackups and tag:GetResources do not support resource-level permissions, nor do "
                "X-Ray's PutTraceSegments and PutTelemetryRecords (tablesafe:tracing).",
            ),
            (
                f"Resource::{_as_nag_sees_it(self, 'table/*/backup/*')}",
                "Backups are named by DynamoDB (table/<table>/backup/<id>); the drill restores only the latest "
                "tablesafe backup of a table whose plan asks for drills, and can neither create nor delete one.",
            ),
            (
                f"Resource::{_as_nag_sees_it(self, drill_tables)}",
                "Drill tables are named by the drill (prefix, source table, hash of the backup); the role can write "
                "to and delete only tables of that name, and the code deletes only those also tagged as drill tables.",
            ),
        ):
            Validations.of(self._role).acknowledge(Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason))
        _depend_on_policy_only(self.function, self._role)

    def _schedule(self, config: TablesafeConfig, functions: BackupFunctions) -> scheduler.Schedule:
        role = iam.Role(
            self,
            "SchedulerRole",
            description="Assumed by EventBridge Scheduler to start tablesafe's restore drills",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="StartDrills", actions=["lambda:InvokeFunction"], resources=[self.function.function_arn]
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="KeepUndeliveredEvents",
                actions=["sqs:SendMessage"],
                resources=[functions.dead_letter_queue.queue_arn],
            )
        )
        return scheduler.Schedule(
            self,
            "Schedule",
            description="tablesafe restore drills: start the due drills, advance those in flight",
            schedule=scheduler.ScheduleExpression.expression(config.drill_schedule.expression),
            enabled=True,
            target=targets.LambdaInvoke(
                self.function,
                input=scheduler.ScheduleTargetInput.from_object({"job": constants.JOB_DRILL}),
                role=role.without_policy_updates(),
                dead_letter_queue=functions.dead_letter_queue,
                retry_attempts=SCHEDULE_RETRY_ATTEMPTS,
                max_event_age=SCHEDULE_MAX_EVENT_AGE,
            ),
        )

    def _alarms(self, config: TablesafeConfig, monitoring: Monitoring) -> list[cw.Alarm]:
        action = cw_actions.SnsAction(monitoring.topic)
        alarms = [
            self._alarm(
                "DrillErrors",
                action,
                name="tablesafe-drill-errors",
                description="The drill function failed (a drill failed, a step could not be done, or the invocation "
                "raised or timed out); its ERROR lines name the tables.",
                metric=self.function.metric_errors(period=FAILURE_PERIOD, statistic=cw.Stats.SUM),
            )
        ]
        window = no_success_window(config.drill_schedule.interval)
        for plan in _drilled(config):
            drill = config.plans[plan].drill
            assert drill is not None
            alarms.append(
                self._alarm(
                    f"DrillFailed.{plan}",
                    action,
                    name=f"tablesafe-drill-failed.{plan}",
                    description=f"A restore drill of plan {plan} failed: a backup did not restore, restored with "
                    "the wrong shape or item count, too slowly, or its validator said no. The drill function's "
                    "'drill result' lines name the table and the reason.",
                    metric=drill_metric(constants.M_DRILLS_FAILED, plan),
                    # Emitted by every drill run, 0 included: keeping the state between runs sends one notification
                    # per lasting failure and an OK at the first run without one (infra/monitoring.py).
                    missing=cw.TreatMissingData.IGNORE,
                )
            )
            overdue = drill_metric(constants.M_DRILLS_OVERDUE, plan).with_(statistic=cw.Stats.MAXIMUM)
            if window is not None:
                overdue = overdue.with_(period=Duration.seconds(window.period_seconds))
            alarms.append(
                self._alarm(
                    f"NoDrillPassed.{plan}",
                    action,
                    name=f"tablesafe-no-drill-passed.{plan}",
                    description=f"A table of plan {plan} has had no passing restore drill in "
                    f"{describe(drill.interval * 1.5)} (1.5 x everyDays), or the drill function has not reported "
                    "(missing data breaches): its backups are not proven to restore.",
                    metric=overdue,
                    evaluation_periods=window.evaluation_periods if window is not None else 1,
                    missing=cw.TreatMissingData.BREACHING,
                )
            )
        monitoring.alarms.extend(alarms)
        return alarms

    def _alarm(
        self,
        construct_id: str,
        action: cw_actions.SnsAction,
        *,
        name: str,
        description: str,
        metric: cw.IMetric,
        evaluation_periods: int = 1,
        missing: cw.TreatMissingData = cw.TreatMissingData.NOT_BREACHING,
    ) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            construct_id,
            alarm_name=name,
            alarm_description=description,
            metric=metric,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            threshold=1,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=evaluation_periods,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(action)
        return alarm

    def _widgets(self, config: TablesafeConfig, monitoring: Monitoring) -> None:
        plans = _drilled(config)
        hourly = Duration.hours(1)

        def per_plan(metric: str, statistic: str = cw.Stats.SUM) -> list[cw.IMetric]:
            return [drill_metric(metric, p, period=hourly).with_(label=p, statistic=statistic) for p in plans]

        monitoring.dashboard.add_widgets(
            cw.GraphWidget(title="Drills passed", left=per_plan(constants.M_DRILLS_PASSED), width=8),
            cw.GraphWidget(title="Drills failed", left=per_plan(constants.M_DRILLS_FAILED), width=8),
            cw.GraphWidget(
                title="Restore time of drills (seconds, max)",
                left=per_plan(constants.M_RESTORE_SECONDS, cw.Stats.MAXIMUM),
                width=8,
            ),
        )


def drill_metric(name: str, plan: str, *, period: Duration = FAILURE_PERIOD) -> cw.Metric:
    """A drill metric of one plan (the drill function emits one EMF document per drilled plan)."""
    return cw.Metric(
        namespace=constants.METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={constants.DIM_PLAN: plan, SERVICE_DIMENSION: constants.SERVICE_DRILL},
        statistic=cw.Stats.SUM,
        period=period,
    )


def _drilled(config: TablesafeConfig) -> Sequence[str]:
    return sorted(name for name, plan in config.plans.items() if plan.drill is not None)


def drills_configured(config: TablesafeConfig) -> bool:
    """Whether any plan asks for drills (the construct is built only then)."""
    return bool(_drilled(config))
