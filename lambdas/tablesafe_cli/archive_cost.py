"""`tablesafe cost`'s archive part: what tablesafe's exports hold in the archive, by plan and by table.

Found as the prune finds it (export/prune.py): the versions under each account's and region's folder, grouped by
slot, only slots holding tablesafe's `tablesafe-table.json`. Which folders: those of the exports DynamoDB's
ListExports still lists for this region (the bucket and folder of each tablesafe slot), so every slot of a folder
counts, even those too old for ListExports. Sizes are S3's (every version), as the prune's ArchivedBytes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from tablesafe.aws.export_reads import ExportReads
from tablesafe.export.prune import SlotObjects, group_by_slot
from tablesafe.rules.export_naming import account_prefix, parse_slot_prefix
from tablesafe.rules.storage import BYTES_PER_GB


class ArchiveStorage:
    """Exports and bytes of one group."""

    def __init__(self) -> None:
        self.exports = 0
        self.bytes = 0

    def cost(self, price: float) -> float:
        return self.bytes / BYTES_PER_GB * price


def archive_slots(reads: ExportReads, owner: str | None) -> list[SlotObjects]:
    """Every slot of the archive folders this region's tablesafe exports lie in (a listing that fails raises)."""
    folders: set[tuple[str, str]] = set()
    for arn in reads.table_exports(None):
        info = reads.describe(arn)
        slot = parse_slot_prefix(info.prefix)
        if slot is not None and info.bucket:
            folders.add((info.bucket, account_prefix(slot.account, slot.region)))
    slots: list[SlotObjects] = []
    for bucket, prefix in sorted(folders):
        slots.extend(group_by_slot(reads.list_versions(bucket, prefix, owner)))
    return slots


def archive_storage_by(slots: Iterable[SlotObjects]) -> tuple[dict[str, ArchiveStorage], dict[str, ArchiveStorage]]:
    """Pure: tablesafe's slots (not others') grouped by plan and by table; a slot counts once, with every version."""
    by_plan: dict[str, ArchiveStorage] = defaultdict(ArchiveStorage)
    by_table: dict[str, ArchiveStorage] = defaultdict(ArchiveStorage)
    for found in slots:
        if not found.ours:
            continue
        for group in (by_plan[found.slot.plan], by_table[found.slot.table]):
            group.exports += 1
            group.bytes += found.size
    return dict(by_plan), dict(by_table)
