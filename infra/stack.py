"""One tablesafe stack per region: the standalone app's stack, holding the Tablesafe construct and nothing else."""

from __future__ import annotations

from aws_cdk import Environment, Stack
from constructs import Construct

from .config import TablesafeConfig
from .construct import STANDALONE_ID, Tablesafe

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
        # Under the `Default` id, which CDK leaves out of logical ids: the resources keep the ids they had when
        # the stack built them itself, so a deployed stack updates in place.
        self.tablesafe = Tablesafe(self, STANDALONE_ID, config=config)
        self.functions = self.tablesafe.functions
        self.schedules = self.tablesafe.schedules
        self.monitoring = self.tablesafe.monitoring
        self.drills = self.tablesafe.drills
