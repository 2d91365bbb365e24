"""Where tablesafe puts an export in the archive bucket, and how a key is read back: pure.

    tablesafe/<account>/<region>/<table>/<plan>/<rule>/<YYYYMMDDTHHMMZ>/      the slot's prefix (S3Prefix)
        AWSDynamoDB/<ExportId>/...                                           what DynamoDB writes
        tablesafe-table.json                                                 what tablesafe writes beside it

The account and region are in it because one archive bucket may take the exports of several accounts and regions,
and a table's name is unique only within one of them; they also let a bucket policy scope each account's writes to
its own folder. None of the parts can hold a "/": account ids are digits, regions `[a-z0-9-]`, table names
`[A-Za-z0-9_.-]`, plan and rule names `[A-Za-z0-9_-]`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from tablesafe.config.archive import EXPORT_PREFIX
from tablesafe.rules.naming import SLOT_FORMAT

SETTINGS_FILE = "tablesafe-table.json"
DYNAMODB_FOLDER = "AWSDynamoDB"
_SLOT_PREFIX = re.compile(
    rf"^{EXPORT_PREFIX}/(?P<account>\d{{12}})/(?P<region>[a-z0-9-]+)/(?P<table>[A-Za-z0-9_.-]{{3,255}})/"
    r"(?P<plan>[A-Za-z0-9_-]{1,64})/(?P<rule>[A-Za-z0-9_-]{1,64})/(?P<slot>\d{8}T\d{4}Z)(?:/|\Z)"
)
_EXPORT_ID = re.compile(r"^[A-Za-z0-9-]{1,64}\Z")


@dataclass(frozen=True)
class ExportSlot:
    """One table's export of one slot of one rule, in one account and region."""

    account: str
    region: str
    table: str
    plan: str
    rule: str
    slot: datetime  # aware, UTC, to the minute

    @property
    def prefix(self) -> str:
        """The S3Prefix of the slot's export (no trailing slash; DynamoDB adds `/AWSDynamoDB/...`)."""
        stamp = self.slot.astimezone(UTC).strftime(SLOT_FORMAT)
        return f"{account_prefix(self.account, self.region)}{self.table}/{self.plan}/{self.rule}/{stamp}"

    @property
    def settings_key(self) -> str:
        """The object holding the table's schema and settings, beside the export."""
        return f"{self.prefix}/{SETTINGS_FILE}"

    @property
    def exports_folder(self) -> str:
        """Where DynamoDB puts each export of the slot (one folder per ExportId)."""
        return f"{self.prefix}/{DYNAMODB_FOLDER}/"

    def client_token(self, attempt: int = 0) -> str:
        """ExportTableToPointInTime's ClientToken: the same for every delivery of the slot, so AWS answers a repeat
        within its 8 hours with the first export. `attempt` counts the slot's failed exports: a new try after one
        failed is a new export, not the failed one again."""
        digest = hashlib.sha256(f"{self.prefix}#{attempt}".encode()).hexdigest()
        return f"tablesafe-{digest[:40]}"


def account_prefix(account: str, region: str) -> str:
    """Everything one account's stack in one region exports: `tablesafe/<account>/<region>/`."""
    return f"{EXPORT_PREFIX}/{account}/{region}/"


def table_prefix(account: str, region: str, table: str) -> str:
    """Every export of one table: `tablesafe/<account>/<region>/<table>/`."""
    return f"{account_prefix(account, region)}{table}/"


def parse_slot_prefix(key: str) -> ExportSlot | None:
    """The slot a key (the slot's prefix, or any object under it) belongs to; None when it is not tablesafe's."""
    match = _SLOT_PREFIX.match(key)
    if match is None:
        return None
    try:
        slot = datetime.strptime(match["slot"], SLOT_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
    return ExportSlot(match["account"], match["region"], match["table"], match["plan"], match["rule"], slot)


def export_id_of(key: str, slot: ExportSlot) -> str | None:
    """The ExportId folder a key lies in under the slot (`<prefix>/AWSDynamoDB/<ExportId>/...`), or None."""
    rest = key.removeprefix(slot.exports_folder)
    if rest == key:
        return None
    export_id = rest.split("/", 1)[0]
    return export_id if _EXPORT_ID.match(export_id) else None


def account_of_arn(arn: str) -> str:
    """The account id of an ARN (`arn:<partition>:<service>:<region>:<account>:...`)."""
    parts = arn.split(":")
    if len(parts) < 6 or not re.fullmatch(r"\d{12}", parts[4]):
        raise ValueError(f"{arn!r} is not an ARN with an account id")
    return parts[4]
