"""EventBridge Scheduler: one schedule per plan rule that starts a backup run, and the daily prune schedule."""

from __future__ import annotations

import json

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import TablesafeConfig
from tablesafe import constants

# Scheduler hands the event to Lambda's asynchronous queue; that call fails only when Lambda throttles or is
# unavailable, which passes. A backup that starts late is still a backup of its slot (the run is named after the
# scheduled time and is idempotent), so the schedules retry for as long as Scheduler allows (185 attempts over at
# most 24 hours) before giving up to the dead-letter queue, whose alarm then tells the operator.
RETRY_ATTEMPTS = 185
MAX_EVENT_AGE_SECONDS = 24 * 3600
PRUNE_TIMEZONE = "UTC"


def backup_input(plan: str, rule: str) -> str:
    """The event a rule's schedule sends to the backup function (compact JSON)."""
    return _compact(
        {
            "job": constants.JOB_BACKUP,
            "plan": plan,
            "rule": rule,
            "scheduledTime": constants.SCHEDULED_TIME_PLACEHOLDER,
        }
    )


def prune_input() -> str:
    """The event the prune schedule sends to the prune function (compact JSON)."""
    return _compact({"job": constants.JOB_PRUNE, "scheduledTime": constants.SCHEDULED_TIME_PLACEHOLDER})


def _compact(event: dict[str, str]) -> str:
    return json.dumps(event, separators=(",", ":"))


class Schedules(Construct):
    """The schedules and the one role Scheduler assumes, allowed to invoke only the two functions."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: TablesafeConfig,
        backup: lambda_.IFunction,
        prune: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self._dead_letter_queue = dead_letter_queue
        self.role = iam.Role(
            self,
            "SchedulerRole",
            description="Assumed by EventBridge Scheduler to start tablesafe's backup and prune runs",
            # Only schedules of this account may use the role (confused-deputy protection).
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="StartRuns",
                actions=["lambda:InvokeFunction"],
                resources=[backup.function_arn, prune.function_arn],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="KeepUndeliveredEvents",
                actions=["sqs:SendMessage"],
                resources=[dead_letter_queue.queue_arn],
            )
        )
        self.backup_schedules: dict[tuple[str, str], scheduler.CfnSchedule] = {}
        for plan in config.plans.values():
            for rule in plan.rules:
                # Plan and rule names hold no dot, so the id is unique.
                self.backup_schedules[(plan.name, rule.name)] = self._schedule(
                    f"Backup.{plan.name}.{rule.name}",
                    description=f"tablesafe backup: plan {plan.name}, rule {rule.name}",
                    expression=rule.schedule.expression,
                    timezone=rule.timezone,
                    target=backup,
                    event=backup_input(plan.name, rule.name),
                )
        self.prune_schedule = self._schedule(
            "Prune",
            description="tablesafe prune: deletes expired backups",
            expression=config.prune_schedule.expression,
            timezone=PRUNE_TIMEZONE,
            target=prune,
            event=prune_input(),
        )

    def _schedule(
        self,
        construct_id: str,
        *,
        description: str,
        expression: str,
        timezone: str,
        target: lambda_.IFunction,
        event: str,
    ) -> scheduler.CfnSchedule:
        return scheduler.CfnSchedule(
            self,
            construct_id,
            description=description,
            schedule_expression=expression,
            schedule_expression_timezone=timezone,
            # Backups run at the minute their rule names: the backup's name is its slot.
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=target.function_arn,
                role_arn=self.role.role_arn,
                input=event,
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_retry_attempts=RETRY_ATTEMPTS, maximum_event_age_in_seconds=MAX_EVENT_AGE_SECONDS
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                    arn=self._dead_letter_queue.queue_arn
                ),
            ),
        )
