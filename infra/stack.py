"""One tablesafe stack per region: it only composes the functions, their schedules and their monitoring."""

from __future__ import annotations

from aws_cdk import Environment, Stack
from constructs import Construct

from infra.config import TablesafeConfig
from infra.drills import RestoreDrills, drills_configured
from infra.functions import BackupFunctions
from infra.monitoring import Monitoring
from infra.schedules import Schedules

STACK_NAME_PREFIX = "Tablesafe"


def stack_name(region: str) -> str:
    """The stack of a region, e.g. `Tablesafe-us-east-1`."""
    return f"{STACK_NAME_PREFIX}-{region}"


class TablesafeStack(Stack):
    """Scheduled backups of the tagged tables of one region, their pruning, and the alarms that watch both."""

    def __init__(self, scope: Construct, region: str, *, config: TablesafeConfig) -> None:
        super().__init__(
            scope,
            stack_name(region),
            stack_name=stack_name(region),
            # Region only: the account is left to deploy time, so synth needs no credentials.
            env=Environment(region=region),
            description=f"tablesafe: scheduled on-demand backups of tagged DynamoDB tables in {region}",
        )
        self.functions = BackupFunctions(self, "BackupFunctions", config=config)
        self.schedules = Schedules(
            self,
            "Schedules",
            config=config,
            backup=self.functions.backup,
            prune=self.functions.prune,
            dead_letter_queue=self.functions.dead_letter_queue,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            backup=self.functions.backup,
            prune=self.functions.prune,
            dead_letter_queue=self.functions.dead_letter_queue,
        )
        # Restore drills only when a plan asks for them (a restore costs money).
        self.drills = (
            RestoreDrills(self, "RestoreDrills", config=config, functions=self.functions, monitoring=self.monitoring)
            if drills_configured(config)
            else None
        )
