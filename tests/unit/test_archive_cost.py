"""The archive's cost arithmetic: tablesafe's slots by plan and by table, every version counted, others left out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tablesafe.aws.exports import ObjectVersion
from tablesafe.export.prune import ExportPruneReport, group_by_slot
from tablesafe.rules.export_naming import ExportSlot
from tablesafe_cli.archive_cost import archive_storage_by

ACCOUNT = "123456789012"


def slot_versions(table: str, plan: str, month: int, size: int, *, ours: bool = True) -> list[ObjectVersion]:
    slot = ExportSlot(ACCOUNT, "us-east-1", table, plan, "monthly", datetime(2026, month, 1, 4, tzinfo=UTC))
    found = [ObjectVersion(f"{slot.exports_folder}AWSDynamoDB/x/data/a.json.gz", "v1", size)]
    if ours:
        found.append(ObjectVersion(slot.settings_key, "v1", 0))
    return found


def test_slots_are_grouped_by_plan_and_table_with_every_version_and_only_tablesafes() -> None:
    versions = [
        *slot_versions("orders", "gfs", 1, 3_000_000_000),
        *slot_versions("orders", "gfs", 2, 1_000_000_000),
        *slot_versions("users", "gfs", 2, 500_000_000),
        *slot_versions("users", "other", 2, 250_000_000),
        *slot_versions("stray", "gfs", 3, 9_000_000_000, ours=False),  # no tablesafe-table.json: not counted
    ]
    versions.append(ObjectVersion(versions[0].key, "v0", 2_000_000_000))  # an older version is billed too

    by_plan, by_table = archive_storage_by(group_by_slot(versions))

    assert {k: (g.exports, g.bytes) for k, g in by_plan.items()} == {
        "gfs": (3, 6_500_000_000),
        "other": (1, 250_000_000),
    }
    assert {k: (g.exports, g.bytes) for k, g in by_table.items()} == {
        "orders": (2, 6_000_000_000),
        "users": (2, 750_000_000),
    }
    assert by_table["orders"].cost(0.004) == pytest.approx(0.024)  # 6 GB x 0.004 USD
    assert archive_storage_by([]) == ({}, {})


def test_the_prune_prices_what_the_archive_still_holds() -> None:
    assert ExportPruneReport(stored_bytes=250_000_000_000).monthly_cost(0.004) == pytest.approx(1.0)
    assert ExportPruneReport().monthly_cost(0.004) == 0.0
