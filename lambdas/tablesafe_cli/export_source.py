"""An export as the CLI reads it: found by ARN or as a table's latest, its settings and manifest, its items streamed.

`latest` is the newest COMPLETED export of the table (by its slot, then its start) among those tablesafe made
(their S3Prefix parses as a slot, rules/export_naming.py). The items are read file by file from the gzipped data
files, a line at a time, so memory stays bounded whatever the export's size; progress counts compressed bytes read.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

from tablesafe.aws.errors import GatewayError
from tablesafe.aws.export_reads import ExportReads
from tablesafe.aws.exports import ExportInfo
from tablesafe.aws.tables import Item, KeyAttribute, TableDetails
from tablesafe.rules.export_naming import SETTINGS_FILE, parse_slot_prefix
from tablesafe_cli.errors import Failure
from tablesafe_cli.item_keys import KeyIdentity, key_identity

_OLDEST = datetime.min.replace(tzinfo=UTC)


@dataclass
class ExportSource:
    """One completed export: its description, the table settings tablesafe wrote beside it, its data files."""

    info: ExportInfo
    settings: dict[str, Any]
    data_keys: list[str] = field(default_factory=list)
    owner: str | None = None

    @property
    def table(self) -> TableDetails:
        """The exported table's key as a TableDetails (the table itself may be gone), for parsing keys."""
        types = {a["AttributeName"]: a["AttributeType"] for a in self.settings["attributeDefinitions"]}
        key = tuple(
            KeyAttribute(name=k["AttributeName"], role=k["KeyType"], type=types[k["AttributeName"]])
            for k in self.settings["keySchema"]
        )
        name = str(self.settings.get("tableName", ""))
        return TableDetails(name=name, arn=self.info.table_arn, status="EXPORTED", key=key, billing_mode="")

    @property
    def data_prefix(self) -> str:
        """`<prefix>/AWSDynamoDB/<ExportId>/data/`, where ImportTable reads the export from."""
        export_id = self.info.arn.rsplit("/", 1)[1]
        return f"{self.info.prefix}/AWSDynamoDB/{export_id}/data/"


def resolve(reads: ExportReads, table_arn: str, choice: str, owner: str | None = None) -> ExportSource:
    """The export `choice` ("latest" or an export ARN) of the table; Failure says why there is none."""
    if choice == "latest":
        info = _latest(reads, table_arn)
    else:
        info = _describe(reads, choice)
        if info.table_arn != table_arn:
            raise Failure(f"export {choice} is of {info.table_arn}, not of {table_arn}")
        if info.status != "COMPLETED":
            raise Failure(f"export {choice} is {info.status}, not COMPLETED: it cannot be read")
    try:
        settings = reads.get_json(info.bucket, f"{info.prefix}/{SETTINGS_FILE}", owner)
        summary = reads.get_json(info.bucket, info.manifest, owner)
        files = reads.get_lines(info.bucket, summary["manifestFilesS3Key"], owner)
    except GatewayError as error:
        raise Failure(f"export {info.arn}: cannot read s3://{info.bucket}/{info.prefix}: {error}") from None
    return ExportSource(info, settings, [str(f["dataFileS3Key"]) for f in files], owner)


def _describe(reads: ExportReads, arn: str) -> ExportInfo:
    try:
        return reads.describe(arn)
    except GatewayError as error:
        raise Failure(f"export {arn}: {error}") from None


def _latest(reads: ExportReads, table_arn: str) -> ExportInfo:
    best: tuple[datetime, datetime, ExportInfo] | None = None
    try:
        arns = reads.table_exports(table_arn)
    except GatewayError as error:
        raise Failure(f"cannot list the exports of {table_arn}: {error}") from None
    for arn in arns:
        info = _describe(reads, arn)
        slot = parse_slot_prefix(info.prefix)
        if info.status != "COMPLETED" or slot is None:
            continue
        rank = (slot.slot, info.started or _OLDEST, info)
        if best is None or rank[:2] > best[:2]:
            best = rank
    if best is None:
        raise Failure(f"{table_arn} has no completed export made by tablesafe")
    return best[2]


class _Counting:
    """A read-only stream that counts the bytes read through it."""

    def __init__(self, raw: BinaryIO, on_bytes: Callable[[int], None]) -> None:
        self._raw = raw
        self._on_bytes = on_bytes

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        if chunk:
            self._on_bytes(len(chunk))
        return chunk


def iter_items(
    source: ExportSource, gateway: ExportReads, on_bytes: Callable[[int], None] = lambda _: None
) -> Iterator[Item]:
    """Every item of the export, in DynamoDB JSON, file by file and line by line."""
    for key in source.data_keys:
        try:
            raw = gateway.open(source.info.bucket, key, source.owner)
        except GatewayError as error:
            raise Failure(f"cannot read s3://{source.info.bucket}/{key}: {error}") from None
        counted: Any = _Counting(raw, on_bytes)
        with gzip.GzipFile(fileobj=counted, mode="rb") as lines:
            for line in lines:
                if line.strip():
                    yield json.loads(line)["Item"]


def find(
    source: ExportSource,
    gateway: ExportReads,
    keys: Sequence[Item],
    *,
    on_bytes: Callable[[int], None] = lambda _: None,
) -> tuple[list[Item], list[Item]]:
    """(items found, keys not found): reads until every key was found or the export ends."""
    names = source.table.key_names
    wanted: dict[KeyIdentity, Item] = {key_identity(k, names): k for k in keys}
    found: list[Item] = []
    for item in iter_items(source, gateway, on_bytes):
        identity = key_identity(item, names)
        if identity in wanted:
            found.append(item)
            del wanted[identity]
            if not wanted:
                break
    return found, list(wanted.values())
