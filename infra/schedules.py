"""EventBridge Scheduler: one schedule per plan rule that starts a backup run, and the daily prune schedule."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from aws_cdk import Aws, Duration, Stack, TimeZone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from tablesafe import constants

from .config import TablesafeConfig

# Scheduler hands the event to Lambda's asynchronous queue; that call fails only when Lambda throttles or is
# unavailable, which passes. A backup that starts late is still a backup of its slot (the run is named after the
# scheduled time and is idempotent), so the schedules retry for as long as Scheduler allows (185 attempts over at
# most 24 hours) before giving up to the dead-letter queue, whose alarm then tells the operator.
RETRY_ATTEMPTS = 185
MAX_EVENT_AGE = Duration.hours(24)
PRUNE_TIMEZONE = "UTC"


def backup_event(plan: str, rule: str) -> dict[str, str]:
    """The event a rule's schedule sends to the backup function (Scheduler fills in the scheduled time)."""
    return {
        "job": constants.JOB_BACKUP,
        "plan": plan,
        "rule": rule,
        "scheduledTime": scheduler.ContextAttribute.scheduled_time,
    }


def prune_event() -> dict[str, str]:
    """The event the prune schedule sends to the prune function."""
    return {"job": constants.JOB_PRUNE, "scheduledTime": scheduler.ContextAttribute.scheduled_time}


class Schedules(Construct):
    """The schedules and the one role Scheduler assumes, allowed to invoke only the two functions.

    The schedules are in the account's default schedule group, as they were before the L2 constructs: moving them
    to a group of our own would replace every schedule and add a resource, for no behaviour the schedules need.
    """

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
        # One role for all schedules, with exactly the statements below. LambdaInvoke would grant
        # lambda:InvokeFunction on the function and on `<function ARN>:*` (every version and alias), wider than the
        # unqualified ARN Scheduler calls; so the targets get a view of the role to which grants add nothing.
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
        self._target_role = self.role.without_policy_updates()
        self.backup_schedules: dict[tuple[str, str], scheduler.Schedule] = {}
        for plan in config.plans.values():
            for rule in plan.rules:
                # Plan and rule names hold no dot, so the id is unique.
                self.backup_schedules[(plan.name, rule.name)] = self._schedule(
                    f"Backup.{plan.name}.{rule.name}",
                    description=f"tablesafe backup: plan {plan.name}, rule {rule.name}",
                    expression=rule.schedule.expression,
                    timezone=rule.timezone,
                    target=backup,
                    event=backup_event(plan.name, rule.name),
                )
        self.prune_schedule = self._schedule(
            "Prune",
            description="tablesafe prune: deletes expired backups",
            expression=config.prune_schedule.expression,
            timezone=PRUNE_TIMEZONE,
            target=prune,
            event=prune_event(),
        )

    def _schedule(
        self,
        construct_id: str,
        *,
        description: str,
        expression: str,
        timezone: str,
        target: lambda_.IFunction,
        event: dict[str, str],
    ) -> scheduler.Schedule:
        schedule = scheduler.Schedule(
            self,
            construct_id,
            description=description,
            # The expression as the rule spells it (checked by tablesafe.config.schedule_expr), in its time zone.
            schedule=scheduler.ScheduleExpression.expression(expression, TimeZone.of(timezone)),
            # Backups run at the minute their rule names: the backup's name is its slot.
            time_window=scheduler.TimeWindow.off(),
            enabled=True,
            target=targets.LambdaInvoke(
                target,
                # Compact JSON, keys in the order above: the string the functions' events.py parses.
                input=scheduler.ScheduleTargetInput.from_object(event),
                role=self._target_role,
                dead_letter_queue=self._dead_letter_queue,
                retry_attempts=RETRY_ATTEMPTS,
                max_event_age=MAX_EVENT_AGE,
            ),
        )
        _keep_logical_id(schedule)
        return schedule


def _keep_logical_id(schedule: scheduler.Schedule) -> None:
    """Give the schedule's CfnSchedule the logical id it had as an L1 at the L2's path, so a deployed stack keeps it.

    The L2 puts the CfnSchedule one level deeper (`<schedule>/Resource`) and CDK hashes the whole path into the
    logical id. A new id would make CloudFormation create a second schedule before deleting the first: an update
    that replaces every schedule, during which both could fire the same slot.
    """
    resource = schedule.node.default_child
    if not isinstance(resource, scheduler.CfnSchedule):
        raise TypeError(f"{schedule.node.path}: expected a CfnSchedule as the schedule's default child")
    stack = Stack.of(schedule)
    scopes = schedule.node.scopes
    path = [s.node.id for s in scopes[scopes.index(stack) + 1 :]]
    resource.override_logical_id(cdk_logical_id(path))


def cdk_logical_id(path: Sequence[str]) -> str:
    """The logical id CDK allocates to a CfnElement at `path` below its stack (aws-cdk-lib core, makeUniqueId)."""
    components = [c for c in path if c != "Default"]
    if len(components) == 1 and len(single := _alphanumeric(components[0])) <= 255:
        return single
    digest = hashlib.md5("/".join(components).encode(), usedforsecurity=False).hexdigest()[:8].upper()
    human: list[str] = []
    for component in components:
        if not human or not human[-1].endswith(component):  # CDK drops a component its predecessor ends with
            human.append(component)
    return "".join(_alphanumeric(c) for c in human if c != "Resource")[:240] + digest


def _alphanumeric(component: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", component)
