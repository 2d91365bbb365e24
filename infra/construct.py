"""`Tablesafe`: the whole of tablesafe for one account and region, as a construct to add to a stack of your own.

    from aws_cdk import App, Stack
    from tablesafe_cdk import Tablesafe

    class DataStack(Stack):
        def __init__(self, scope, construct_id, **kwargs):
            super().__init__(scope, construct_id, **kwargs)
            Tablesafe(self, "Backups", plans={"daily": [...]}, tag_key="backup-plan", alarm_email="ops@example.com")

The keyword arguments are the `tablesafe:*` keys of cdk.json in snake case, taking the same values, checked by the
same parser (tablesafe.config.context.parse_options), so a wrong one raises the same ConfigError, naming the argument.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Stack, Token
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from tablesafe.config.context import REGIONS, TablesafeConfig, option_name, parse_options
from tablesafe.config.plans import ConfigError

from .archive import ArchiveExports, exports_configured
from .drills import RestoreDrills, drills_configured
from .functions import BackupFunctions
from .monitoring import Monitoring
from .schedules import Schedules

# The standalone stack adds its Tablesafe under this id: CDK leaves a `Default` path segment out of logical ids, so
# the stack's resources keep the logical ids they had before the construct existed (a new id would replace them).
STANDALONE_ID = "Default"


class Tablesafe(Construct):
    """Scheduled backups of the tagged tables of the stack's account and region, their pruning, and their alarms.

    One per account and region: the functions, alarms and dashboard have fixed names (`tablesafe-backup`, ...).
    """

    # The keyword options are the cdk.json keys, one each (the interface): PLR0913 counts every one.
    def __init__(  # noqa: PLR0913
        self,
        scope: Construct,
        construct_id: str,
        *,
        plans: Mapping[str, Any] | None = None,
        tag_key: str | None = None,
        alarm_email: str | None = None,
        prune_schedule: str | None = None,
        backup_name_prefix: str | None = None,
        dry_run: bool | None = None,
        storage_price_per_gb_month: float | None = None,
        global_tables: str | None = None,
        regions: Sequence[str] | None = None,
        tracing: bool | None = None,
        drill_schedule: str | None = None,
        allow_unknown_regions: bool | None = None,
        default_plan: str | None = None,
        config: TablesafeConfig | None = None,
    ) -> None:
        """Every argument left out (None) takes the cdk.json key's default; see docs/configuration.md.

        plans: plan name -> rules, as `tablesafe:plans` (default: one daily rule, kept 35 days, at least 3).
        tag_key: the tag whose value names a table's plan (`tablesafe:tagKey`, default `backup-plan`).
        alarm_email: an address subscribed to the alarm topic (`tablesafe:alarmEmail`, default none).
        prune_schedule: when expired backups are deleted (`tablesafe:pruneSchedule`, default 04:30 UTC daily).
        backup_name_prefix: the first part of every backup name, and the only names pruned (default `tablesafe`).
        dry_run: the prune reports what it would delete and deletes nothing (`tablesafe:dryRun`, default false).
        storage_price_per_gb_month: USD, for the cost estimate (`tablesafe:storagePricePerGbMonth`, default 0.10).
        global_tables: `home-region` or `every-region` (`tablesafe:globalTables`, default `home-region`).
        regions: every region you deploy tablesafe to, for global tables (default: this stack's region only).
        tracing: X-Ray active tracing and Powertools' Tracer on both functions (`tablesafe:tracing`, default true).
        drill_schedule: how often the drill function runs (`tablesafe:drillSchedule`, default every 15 minutes);
            deployed only when a plan has a `drill` object.
        allow_unknown_regions: accept region names botocore does not know yet (`tablesafe:allowUnknownRegions`).
        default_plan: the plan of every table without the plan tag; `none` opts a table out (`tablesafe:defaultPlan`).
        config: an already validated configuration (the standalone app's), instead of the arguments above.
        """
        super().__init__(scope, construct_id)
        options = {
            "plans": plans,
            "tag_key": tag_key,
            "alarm_email": alarm_email,
            "prune_schedule": prune_schedule,
            "backup_name_prefix": backup_name_prefix,
            "dry_run": dry_run,
            "storage_price_per_gb_month": storage_price_per_gb_month,
            "global_tables": global_tables,
            "regions": regions,
            "tracing": tracing,
            "drill_schedule": drill_schedule,
            "allow_unknown_regions": allow_unknown_regions,
            "default_plan": default_plan,
        }
        if config is None:
            config = parse_options(options)
        elif any(value is not None for value in options.values()):
            raise TypeError("Tablesafe: pass either config or the keyword options, not both")
        self.config = _with_stack_region(config, Stack.of(self).region)
        self._compose()

    def _compose(self) -> None:
        """The functions, their schedules, their monitoring and (when a plan asks for them) the restore drills."""
        self.functions = BackupFunctions(self, "BackupFunctions", config=self.config)
        jobs = {
            "config": self.config,
            "backup": self.functions.backup,
            "prune": self.functions.prune,
            "dead_letter_queue": self.functions.dead_letter_queue,
        }
        self.schedules = Schedules(self, "Schedules", **jobs)
        self.monitoring = Monitoring(self, "Monitoring", **jobs)
        # Restore drills only when a plan asks for them (a restore costs money).
        self.drills = (
            RestoreDrills(
                self, "RestoreDrills", config=self.config, functions=self.functions, monitoring=self.monitoring
            )
            if drills_configured(self.config)
            else None
        )
        # The archive tier only when a rule exports (infra/archive.py).
        self.archive = (
            ArchiveExports(
                self,
                "ArchiveExports",
                config=self.config,
                backup=self.functions.backup,
                prune=self.functions.prune,
                lease_table_arn=self.functions.leases.table.table_arn,
                topic=self.monitoring.topic,
            )
            if exports_configured(self.config)
            else None
        )
        functions = [self.functions.backup, self.functions.prune, *([self.drills.function] if self.drills else [])]
        for function in functions:
            _acknowledge_for_checkov(function)


# checkov's secret heuristic (CKV_AWS_45) takes TABLESAFE_REGIONS with two regions or more ("eu-west-1,us-east-1")
# for a secret. The environment holds configuration only (docs/configuration.md), never a credential.
CHECKOV_SKIPS = [
    {
        "id": "CKV_AWS_45",
        "comment": "The environment holds tablesafe's configuration (tag key, plans, regions), never a secret; "
        "checkov's heuristic takes a comma-separated region list for one.",
    }
]


def _acknowledge_for_checkov(function: lambda_.Function) -> None:
    resource = function.node.default_child
    if isinstance(resource, lambda_.CfnFunction):
        resource.add_metadata("checkov", {"skip": CHECKOV_SKIPS})


def _with_stack_region(config: TablesafeConfig, region: str) -> TablesafeConfig:
    """No regions given: the stack's own (a deploy-time reference when the stack has no region of its own)."""
    if not config.regions:
        return dataclasses.replace(config, regions=(region,))
    if not Token.is_unresolved(region) and region not in config.regions:
        allowed = f"the stack's region {region} must be among the regions, or leave them out"
        raise ConfigError(option_name(REGIONS), list(config.regions), allowed)
    return config
