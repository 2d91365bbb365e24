"""The exactly-once create: CreateBackup for one table, never resent before a look for the slot's backup by name."""

from __future__ import annotations

from collections.abc import Callable

from tablesafe.aws.dynamodb import (
    AmbiguousResult,
    BackupInUse,
    DynamoDbGateway,
    GatewayError,
    ListingIncomplete,
    TableInUse,
    TableNotFound,
    Throttled,
)
from tablesafe.aws.retry import RetryPolicy
from tablesafe.backup.report import Deferral, Outcome, TableResult
from tablesafe.backup.slot_listing import SlotListing


class SlotCreate:
    """Creates the slot's backup of a table, once: retries only after looking for it by name."""

    def __init__(self, gateway: DynamoDbGateway, listing: SlotListing, sleep: Callable[[float], None]) -> None:
        self.gateway = gateway
        self.listing = listing
        self.name = listing.name
        # CreateBackup goes out once a try (its client has botocore's retries off): at most 10 tries, pauses up to 10 s.
        self.retry = RetryPolicy(attempts=10, base=0.4, cap=10.0, sleep=sleep)

    def create(self, table: str) -> TableResult:
        # Every resend is preceded by a look for the slot's backup: after an ambiguous answer ours may exist, and
        # while this table waited out a throttle a concurrent run's backup may have been made and finished CREATING,
        # after which AWS no longer answers BackupInUseException and a resend would make a second backup.
        look = False
        maybe_ours = False  # an earlier attempt may have taken effect
        last_error: GatewayError | None = None
        for _ in self.retry.tries():
            if look:
                try:
                    found = self._look(table, maybe_ours)
                except ListingIncomplete as error:
                    last_error = error
                    continue
                if found is not None:
                    return found
            try:
                backup = self.gateway.create_backup(table, self.name)
            except Throttled as error:
                last_error, look = error, True
            except AmbiguousResult as error:
                last_error, look, maybe_ours = error, True, True
            except BackupInUse as error:
                return TableResult(table, Outcome.DEFERRED, error.message, deferral=Deferral.BACKUP_IN_USE)
            except TableNotFound:
                return TableResult(table, Outcome.SKIPPED, "table no longer exists (deleted after discovery)")
            except TableInUse as error:
                return self._table_busy(table, error)
            except GatewayError as error:
                return TableResult(table, Outcome.FAILED, f"{error.code}: {error.message}{self._status_note(table)}")
            else:
                return TableResult(table, Outcome.CREATED, "created", backup.arn)
        return TableResult(table, Outcome.FAILED, f"gave up after {self.retry.attempts} attempts: {last_error}")

    def _look(self, table: str, maybe_ours: bool) -> TableResult | None:
        """The slot's backup of `table` if it exists now: ours (an answer was lost) or another run's."""
        found = self.listing.find([table]).get(table)
        if found is None:
            return None
        if maybe_ours:
            return TableResult(table, Outcome.CREATED, "created (answer lost; found by name)", found.arn)
        detail = "another run's backup for this slot appeared while this one waited"
        return TableResult(table, Outcome.ALREADY_PRESENT, detail, found.arn)

    def _table_busy(self, table: str, error: GatewayError) -> TableResult:
        try:
            status = self.gateway.describe_table(table).status
        except TableNotFound:
            return TableResult(table, Outcome.SKIPPED, "table no longer exists (deleted after discovery)")
        except GatewayError:
            status = "UNKNOWN"
        if status == "DELETING":
            return TableResult(table, Outcome.SKIPPED, "table is being deleted")
        if status == "CREATING":
            return TableResult(table, Outcome.DEFERRED, "table is CREATING", deferral=Deferral.TABLE_CREATING)
        if status == "UPDATING":
            return TableResult(table, Outcome.DEFERRED, "table is UPDATING", deferral=Deferral.TABLE_UPDATING)
        return TableResult(table, Outcome.FAILED, f"{error.code}: {error.message} (table status {status})")

    def _status_note(self, table: str) -> str:
        try:
            status = self.gateway.describe_table(table).status
        except GatewayError:
            return ""
        return "" if status == "ACTIVE" else f" (table status {status})"
