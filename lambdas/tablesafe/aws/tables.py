"""The CLI's table gateway: the four jobs a restore and a copy need, joined on one object.

Each job is a gateway of its own (table_settings.py, scaling.py, restores.py, items.py), testable alone;
TableGateway joins them for the CLI, which asks one object for all of them. Like dynamodb.py they return plain
dataclasses and raise aws/errors.py's classes, so the CLI answers both gateways' errors the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tablesafe.aws.descriptions import KeyAttribute, PitrState, RestoredFrom, TableDetails
from tablesafe.aws.errors import BackupNotFound, ConditionFailed, PitrUnavailable, TableExists
from tablesafe.aws.items import BATCH_GET_LIMIT, BATCH_WRITE_LIMIT, Item, ItemGateway, Page
from tablesafe.aws.restores import BackupDetails, RestoreGateway
from tablesafe.aws.scaling import SCALABLE_DIMENSIONS, ScalingGateway, ScalingSetup
from tablesafe.aws.table_settings import TableSettingsGateway

if TYPE_CHECKING:
    from tablesafe.aws.clients import TableClients

__all__ = [  # importable from here as before the split
    "BATCH_GET_LIMIT",
    "BATCH_WRITE_LIMIT",
    "SCALABLE_DIMENSIONS",
    "BackupDetails",
    "BackupNotFound",
    "ConditionFailed",
    "Item",
    "KeyAttribute",
    "Page",
    "PitrState",
    "PitrUnavailable",
    "RestoredFrom",
    "ScalingSetup",
    "TableDetails",
    "TableExists",
    "TableGateway",
]


class TableGateway(TableSettingsGateway, ScalingGateway, RestoreGateway, ItemGateway):
    """Tables, their settings, auto scaling, restores and items, in one region.

    >>> tables = TableGateway(table_clients(session, rate_limits=rate_limits_from_env()))
    """

    def __init__(self, clients: TableClients) -> None:
        TableSettingsGateway.__init__(self, clients.dynamodb)
        ScalingGateway.__init__(self, clients.scaling)
        RestoreGateway.__init__(self, clients.dynamodb, clients.restore)
        ItemGateway.__init__(self, clients.dynamodb)
