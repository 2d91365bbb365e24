"""The slot's listing: which tables already have this slot's backup (live: CREATING or AVAILABLE)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from tablesafe.aws.dynamodb import PAGE_SIZE, Backup, DynamoDbGateway

LIVE_STATUSES = frozenset({"CREATING", "AVAILABLE"})


class SlotListing:
    """Lists the slot's backups named `name`: account-wide, or per table when that is fewer calls."""

    def __init__(self, gateway: DynamoDbGateway, slot: datetime, name: str, done: Callable[[], int]) -> None:
        self.gateway = gateway
        self.slot = slot
        self.name = name
        self.done = done  # how many of the slot's backups exist so far: the pages an account-wide listing takes

    def find(self, tables: Iterable[str] | None = None) -> dict[str, Backup]:
        """This slot's live backups by table, of `tables` (None: of every table)."""
        wanted = None if tables is None else sorted(set(tables))
        found: list[Backup] = []
        expected_pages = 1 + self.done() // PAGE_SIZE
        if wanted is not None and len(wanted) < expected_pages:
            for table in wanted:
                found.extend(self.gateway.list_backups(table_name=table, created_from=self.slot))
        else:
            found = self.gateway.list_backups(created_from=self.slot)
        return {b.table_name: b for b in found if b.name == self.name and b.status in LIVE_STATUSES}
