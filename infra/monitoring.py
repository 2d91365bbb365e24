"""Alarms on everything that can go wrong with a backup, an encrypted topic they notify, and a dashboard.

The metrics are the functions' Powertools EMF metrics. Powertools adds a `service` dimension (from
POWERTOOLS_SERVICE_NAME) to every metric, so the dimension sets here are the documented ones plus `service`:
CloudWatch matches a metric only on its exact dimension set.

One lasting problem, one notification: the functions emit each alarmed count on every run, 0 included, and these
alarms ignore missing data (`ignore` keeps the alarm's state), so between runs an alarm stays where the last run left
it: ALARM from the first run with the problem until the first run without it, which sends the OK. (With missing data
"not breaching", an alarm went back to OK five minutes after every run and fired again at the next one: one e-mail a
run.) Two exceptions: the "no successful run" switch counts missing data as breaching (it is there to notice runs
that never happen), and the Errors and dead-letter alarms keep "not breaching": Lambda's documentation promises no
Errors datapoint of 0 for an invocation that succeeded, so `ignore` could leave them in ALARM for good.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from aws_cdk import Annotations, Aws, Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from tablesafe import constants

from .config import TablesafeConfig

SERVICE_DIMENSION = "service"  # added by Powertools Metrics to every metric
FAILURE_PERIOD = Duration.minutes(5)
DASHBOARD_PERIOD = Duration.hours(1)
GAUGE_PERIOD = Duration.days(1)  # stored bytes and cost are measured once per (daily) prune run
BACKLOG_DAYS = 3  # the expired backlog alarms once it has not shrunk from one day to the next this many days running
# How long a rule may go without a successful run before its alarm fires, as a multiple of its interval.
NO_SUCCESS_FACTOR = 1.5
# CloudWatch PutMetricAlarm: Period x EvaluationPeriods may not exceed 7 days, or 1 day for periods under 1 hour.
HOUR_SECONDS = 3600
MAX_EVALUATION_RANGE_SECONDS = 7 * 24 * HOUR_SECONDS

# Key administration for the account, spelled out rather than kms:* (no wildcard action anywhere); it keeps
# PutKeyPolicy, so the policy can always be changed.
KEY_ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]
# CloudWatch encrypts its alarm notifications itself, with these two calls (not covered by an account statement).
CLOUDWATCH_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]


@dataclass(frozen=True)
class AlarmWindow:
    """How a "no successful run" alarm looks back: `evaluation_periods` periods, all of them without success."""

    period_seconds: int
    evaluation_periods: int

    @property
    def seconds(self) -> int:
        return self.period_seconds * self.evaluation_periods


def no_success_window(interval: timedelta) -> AlarmWindow | None:
    """1.5 x the rule's interval, rounded up to whole minutes (or hours); None when CloudWatch cannot look back so far.

    Up to an hour: one period as long as the window. Beyond: hourly periods, every one of them without a successful
    run (hourly periods allow 7 days in all, shorter ones only 1 day).
    """
    window = math.ceil(interval.total_seconds() * NO_SUCCESS_FACTOR / 60) * 60
    if window <= HOUR_SECONDS:
        return AlarmWindow(window, 1)
    periods = math.ceil(window / HOUR_SECONDS)
    if periods * HOUR_SECONDS > MAX_EVALUATION_RANGE_SECONDS:
        return None
    return AlarmWindow(HOUR_SECONDS, periods)


def describe(duration: timedelta) -> str:
    """A duration as an operator reads it in an alarm: "36 hours", "23 minutes", "31 days"."""
    seconds = int(duration.total_seconds())
    for unit, size in (("day", 86400), ("hour", HOUR_SECONDS), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"


def backup_metric(name: str, plan: str, rule: str, *, period: Duration = FAILURE_PERIOD) -> cw.Metric:
    """A backup-run metric of one plan rule, summed."""
    return _metric(
        name,
        {constants.DIM_PLAN: plan, constants.DIM_RULE: rule, SERVICE_DIMENSION: constants.SERVICE_BACKUP},
        period,
    )


def prune_metric(name: str, dry_run: bool, plan: str | None = None, *, period: Duration = FAILURE_PERIOD) -> cw.Metric:
    """A prune-run metric, overall or for one plan, summed."""
    dimensions = {constants.DIM_DRY_RUN: "true" if dry_run else "false", SERVICE_DIMENSION: constants.SERVICE_PRUNE}
    if plan is not None:
        dimensions[constants.DIM_PLAN] = plan
    return _metric(name, dimensions, period)


def _metric(name: str, dimensions: dict[str, str], period: Duration) -> cw.Metric:
    return cw.Metric(
        namespace=constants.METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map=dimensions,
        statistic=cw.Stats.SUM,
        period=period,
    )


class Monitoring(Construct):
    """The alarm topic, one alarm per way a backup can fail to exist, and the dashboard."""

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
        self.topic = self._topic(config.alarm_email)
        self._action = cw_actions.SnsAction(self.topic)
        self.alarms: list[cw.Alarm] = []

        for function, what in ((backup, "backup"), (prune, "prune")):
            self._alarm(
                f"{what.capitalize()}Errors",
                name=f"tablesafe-{what}-errors",
                description=f"The {what} function failed (an invocation raised, timed out or was throttled); "
                "its log group has the table names.",
                metric=function.metric_errors(period=FAILURE_PERIOD, statistic=cw.Stats.SUM),
                missing=cw.TreatMissingData.NOT_BREACHING,
            )
        for plan in config.plans.values():
            for rule in plan.rules:
                self._rule_alarms(plan.name, rule.name, rule.schedule.interval)
        self._alarm(
            "UnknownPlanTables",
            name="tablesafe-unknown-plan-tags",
            description=f"Some tables carry the {config.tag_key} tag with a value naming no configured plan, so they "
            "are not backed up (a typo, or a removed plan); the backup function's ERROR lines name each table "
            "and value.",
            metric=_metric(
                constants.M_UNKNOWN_PLAN_TABLES, {SERVICE_DIMENSION: constants.SERVICE_BACKUP}, FAILURE_PERIOD
            ),
        )
        self._alarm(
            "SlotLeaseUnavailable",
            name="tablesafe-slot-lease-unavailable",
            description="A backup run could not take, hand on or release its slot lease (the lease table was "
            "throttled, unreachable, denied or missing) and worked without it: its backups were still made, but "
            "a second delivery of the same slot may have backed up some tables twice. The backup function's ERROR "
            "lines name the lease and the error.",
            metric=_metric(
                constants.M_SLOT_LEASE_UNAVAILABLE, {SERVICE_DIMENSION: constants.SERVICE_BACKUP}, FAILURE_PERIOD
            ),
        )
        self._alarm(
            "PruneTablesFailed",
            name="tablesafe-prune-tables-failed",
            description="The prune run could not list or delete the backups of some tables.",
            metric=prune_metric(constants.M_PRUNE_TABLES_FAILED, config.dry_run),
        )
        self._backlog_alarm(config.dry_run)
        self._alarm(
            "DeadLetterQueueNotEmpty",
            name="tablesafe-dead-letter-queue-not-empty",
            description="A scheduled or continued run was never executed, or failed on every retry; the event is "
            "in the dead-letter queue.",
            metric=dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=FAILURE_PERIOD, statistic=cw.Stats.MAXIMUM
            ),
            comparison=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            threshold=0,
            missing=cw.TreatMissingData.NOT_BREACHING,  # SQS samples the queue every 5 minutes while it holds messages
        )
        self.dashboard = self._dashboard(config, backup, prune)

    def _topic(self, alarm_email: str | None) -> sns.Topic:
        # A customer managed key: CloudWatch cannot publish to a topic under the AWS managed key (aws/sns).
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Encrypts tablesafe's alarm notifications",
            enable_key_rotation=True,
            policy=iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        sid="KeyAdministration",
                        principals=[iam.AccountRootPrincipal()],
                        actions=KEY_ADMIN_ACTIONS,
                        resources=["*"],  # in a key policy, "*" is this key
                    ),
                    iam.PolicyStatement(
                        sid="CloudWatchAlarmNotifications",
                        principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                        actions=CLOUDWATCH_KEY_ACTIONS,
                        resources=["*"],
                    ),
                ]
            ),
        )
        topic = sns.Topic(self, "AlarmTopic", display_name="tablesafe alarms", master_key=key, enforce_ssl=True)
        # The topic policy replaces SNS's default one, so CloudWatch must be let in explicitly.
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        if alarm_email is not None:
            topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        return topic

    def _rule_alarms(self, plan: str, rule: str, interval: timedelta) -> None:
        self._alarm(
            f"TablesFailed.{plan}.{rule}",
            name=f"tablesafe-tables-failed.{plan}.{rule}",
            description=f"Some tables got no backup in a run of plan {plan}, rule {rule}; the backup function's log "
            "names them.",
            metric=backup_metric(constants.M_TABLES_FAILED, plan, rule),
        )
        window = no_success_window(interval)
        if window is None:
            Annotations.of(self).add_warning_v2(
                "tablesafe:noSuccessAlarmSkipped",
                f"plan {plan}, rule {rule}: no 'no successful backup run' alarm, because 1.5 x its interval "
                f"({describe(interval)}) is longer than the 7 days a CloudWatch alarm can look back. Failed runs "
                "still alarm (TablesFailed, function errors, dead-letter queue); see docs/configuration.md.",
            )
            return
        self._alarm(
            f"NoSuccessfulRun.{plan}.{rule}",
            name=f"tablesafe-no-successful-backup.{plan}.{rule}",
            description=f"No run of plan {plan}, rule {rule} finished without failures in the last "
            f"{describe(timedelta(seconds=window.seconds))} (1.5 x the rule's interval): its backups are not being "
            "taken.",
            metric=backup_metric(
                constants.M_BACKUP_RUNS_SUCCEEDED, plan, rule, period=Duration.seconds(window.period_seconds)
            ),
            comparison=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
            threshold=1,
            evaluation_periods=window.evaluation_periods,
            # A dead man's switch: no data means no run, which is what this alarm is for.
            missing=cw.TreatMissingData.BREACHING,
        )

    def _backlog_alarm(self, dry_run: bool) -> None:
        # ExpiredBacklog comes once a run, from its last invocation; a retention cut makes it large for days, which
        # is expected and no failure. What is not: a backlog that no longer shrinks (deletions failing, or the
        # daily rate below what expires each day). DIFF compares each day's value with the day before's.
        backlog = prune_metric(constants.M_EXPIRED_BACKLOG, dry_run, period=GAUGE_PERIOD).with_(
            statistic=cw.Stats.MINIMUM
        )
        self._alarm(
            "ExpiredBacklogNotShrinking",
            name="tablesafe-expired-backlog-not-shrinking",
            description=f"The backups past retention that the prune still has to delete (ExpiredBacklog) have not "
            f"shrunk from one day to the next for {BACKLOG_DAYS} days: the prune is not keeping up, and their "
            "storage keeps costing. The prune function's 'expired backups remain' lines give the backlog and the "
            "days to clear it; docs/operations.md, retention cut.",
            metric=cw.MathExpression(
                expression="IF(backlog > 0 AND DIFF(backlog) >= 0, 1, 0)",
                using_metrics={"backlog": backlog},
                period=GAUGE_PERIOD,
                label="expired backlog not shrinking",
            ),
            evaluation_periods=BACKLOG_DAYS,
        )

    def _alarm(
        self,
        construct_id: str,
        *,
        name: str,
        description: str,
        metric: cw.IMetric,
        comparison: cw.ComparisonOperator = cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        threshold: float = 1,
        evaluation_periods: int = 1,
        missing: cw.TreatMissingData = cw.TreatMissingData.IGNORE,  # metrics emitted on every run, 0 included
    ) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            construct_id,
            alarm_name=name,
            alarm_description=description,
            metric=metric,
            comparison_operator=comparison,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=evaluation_periods,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(self._action)
        self.alarms.append(alarm)
        return alarm

    def _dashboard(self, config: TablesafeConfig, backup: lambda_.IFunction, prune: lambda_.IFunction) -> cw.Dashboard:
        rules = [(plan.name, rule.name) for plan in config.plans.values() for rule in plan.rules]
        plans = list(config.plans)

        def per_rule(metric: str) -> list[cw.IMetric]:
            return [backup_metric(metric, p, r, period=DASHBOARD_PERIOD).with_(label=f"{p}/{r}") for p, r in rules]

        def per_plan(metric: str) -> list[cw.IMetric]:
            return [
                prune_metric(metric, False, p, period=GAUGE_PERIOD).with_(label=p, statistic=cw.Stats.MAXIMUM)
                for p in plans
            ]

        dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=f"tablesafe-{Stack.of(self).region}")
        dashboard.add_widgets(
            cw.GraphWidget(title="Backups created", left=per_rule(constants.M_BACKUPS_CREATED), width=12),
            cw.GraphWidget(title="Tables failed", left=per_rule(constants.M_TABLES_FAILED), width=12),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Backups deleted",
                left=[prune_metric(constants.M_BACKUPS_DELETED, False, period=DASHBOARD_PERIOD)],
                width=8,
            ),
            cw.GraphWidget(title="Stored backup bytes", left=per_plan(constants.M_STORED_BYTES), width=8),
            cw.GraphWidget(
                title="Estimated monthly cost (USD)", left=per_plan(constants.M_ESTIMATED_MONTHLY_COST), width=8
            ),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Duplicate deliveries (waited for another run of the slot, then verified it)",
                left=per_rule(constants.M_DUPLICATE_DELIVERIES),
                width=24,
            ),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Function errors",
                left=[
                    backup.metric_errors(period=FAILURE_PERIOD, statistic=cw.Stats.SUM, label="backup"),
                    prune.metric_errors(period=FAILURE_PERIOD, statistic=cw.Stats.SUM, label="prune"),
                ],
                width=24,
            ),
        )
        return dashboard
