"""The drill function's gateways and settings, built once per execution environment from its environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache

from tablesafe.aws.clients import client_config, lease_client
from tablesafe.aws.drill_records import DrillRecords
from tablesafe.aws.drills import DrillGateway
from tablesafe.aws.lease_table import LeaseTable
from tablesafe.config.settings import SettingsError
from tablesafe.constants import DEFAULT_DRILL_READ_UNITS, ENV_DRILL_READ_UNITS, ENV_LEASE_TABLE
from tablesafe.drill.run import DrillDeps, DrillSettings
from tablesafe.drill.steps import VALIDATOR_TIMEOUT_SECONDS
from tablesafe.runtime.cold_start import cold_start, function_session
from tablesafe.slots.lease import SlotLeases, WaitPolicy

# A drill invocation never waits for another: it leaves the work to the holder (and to the next schedule).
NO_WAIT = WaitPolicy(min_work_seconds=float("inf"))


@cache
def drill_wiring() -> tuple[DrillDeps, DrillSettings]:
    """Gateways on the function's session; SettingsError names a missing or bad variable."""
    settings, gateway = cold_start()
    if settings.lease_table is None:
        raise SettingsError(
            f"environment variable {ENV_LEASE_TABLE} is missing or empty: the drill function keeps its lease and "
            "each table's last drill in that table (the stack sets it)"
        )
    session = function_session()
    records_client = session.client(
        "dynamodb", config=client_config(max_attempts=8, max_connections=4, read_timeout=10, agent="tablesafe-drill")
    )
    deps = DrillDeps(
        discovery=gateway,
        drills=DrillGateway.from_session(session, validator_timeout=VALIDATOR_TIMEOUT_SECONDS),
        records=DrillRecords(settings.lease_table, client=records_client),
        leases=SlotLeases(LeaseTable(settings.lease_table, lease_client(session)), policy=NO_WAIT),
    )
    return deps, DrillSettings(
        tag_key=settings.tag_key,
        backup_name_prefix=settings.backup_name_prefix,
        plans=settings.plans,
        read_units=read_units(os.environ),
        time_reserve_seconds=settings.time_reserve_seconds,
        default_plan=settings.default_plan,
    )


def read_units(environ: Mapping[str, str]) -> float:
    """The count scan's read budget (read request units per second)."""
    raw = environ.get(ENV_DRILL_READ_UNITS, "").strip()
    if not raw:
        return DEFAULT_DRILL_READ_UNITS
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{ENV_DRILL_READ_UNITS}={raw!r}: expected a number of read units per second") from None
    if not value > 0:
        raise SettingsError(f"{ENV_DRILL_READ_UNITS}={raw!r}: expected a number > 0")
    return value
