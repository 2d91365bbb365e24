"""PITR enforcement: a plan that asks for point-in-time recovery gets it, with its recovery period, on every table."""

from __future__ import annotations

from dataclasses import replace

from tablesafe.aws.dynamodb import DynamoDbGateway, GatewayError, TableNotFound
from tablesafe.backup.report import Outcome, TableResult
from tablesafe.config.plans import Pitr
from tablesafe.observability import logger


class PitrEnforcer:
    """Turns PITR on, or corrects its recovery period, after a table's backup decision; says so in the result."""

    def __init__(self, gateway: DynamoDbGateway, pitr: Pitr | None) -> None:
        self.gateway = gateway
        self.pitr = pitr

    def ensure(self, result: TableResult) -> TableResult:
        if self.pitr is None or not self.pitr.enabled:
            return result
        if result.outcome is Outcome.DEFERRED or (result.outcome is Outcome.SKIPPED and not result.replica_skipped):
            return result  # tried again later in the run, or the table is gone or still being created
        wanted = self.pitr.recovery_period_days
        try:
            state = self.gateway.pitr_state(result.table)
            if state.enabled and (state.recovery_period_days or 35) == wanted:  # AWS's period defaults to 35 days
                return result
            self.gateway.enable_pitr(result.table, wanted)
        except TableNotFound:
            return result
        except GatewayError as error:
            return replace(
                result,
                outcome=Outcome.FAILED,
                detail=f"{result.detail}; but PITR could not be turned on: {error.code}: {error.message}",
            )
        logger.warning(
            "point-in-time recovery drifted; corrected",
            table=result.table,
            was_enabled=state.enabled,
            was_days=state.recovery_period_days,
            now_days=wanted,
        )
        return replace(result, pitr_changed=True)
