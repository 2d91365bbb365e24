"""What a Lambda execution environment builds once: the settings from its environment, the gateway, the leases."""

from __future__ import annotations

from functools import cache

from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.aws.lease_table import LeaseTable
from tablesafe.config.settings import Settings, SettingsError
from tablesafe.constants import ENV_LEASE_TABLE
from tablesafe.slots.lease import SlotLeases


@cache
def cold_start() -> tuple[Settings, DynamoDbGateway]:
    """Settings and gateway, built once per Lambda execution environment; a bad variable fails the first call."""
    settings = Settings.from_env()
    return settings, DynamoDbGateway(rate_limits=settings.rate_limits)


@cache
def backup_leases() -> SlotLeases:
    """The backup function's slot leases, built once per execution environment; the table must be configured."""
    settings, gateway = cold_start()
    if settings.lease_table is None:
        raise SettingsError(
            f"environment variable {ENV_LEASE_TABLE} is missing or empty: the backup function keeps its slot leases "
            "in that table (the stack sets it)"
        )
    # The gateway's session: its loaded service model makes this client about 60 ms cheaper at cold start.
    return SlotLeases(LeaseTable(settings.lease_table, session=gateway.session))
