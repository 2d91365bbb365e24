"""The deployable prune function, end to end: schedule event, template environment, bundled asset, stand-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.standin.support import create_table, list_all_backups

pytestmark = pytest.mark.xdist_group("e2e")
DAY0 = datetime(2026, 10, 1, 3, 0, tzinfo=UTC)


def test_backups_made_by_the_backup_function_are_pruned_by_the_prune_schedule(assembly, runner, standin):
    ddb = standin.client("dynamodb")
    create_table(ddb, "orders", {"backup-plan": "daily"})
    create_table(ddb, "gone", {"backup-plan": "daily"})
    manual = standin.add_foreign_backup("orders", "before-migration", created=DAY0 - timedelta(days=300))
    (backup_schedule,) = [s for s in assembly.schedules_for("tablesafe-backup") if s.event(DAY0)["plan"] == "daily"]
    (prune_schedule,) = assembly.schedules_for("tablesafe-prune")
    for day in range(40):  # 40 daily backups, each aged to its slot
        slot = DAY0 + timedelta(days=day)
        if day == 4:  # its four backups (days 0-3) will all be past retention
            ddb.delete_table(TableName="gone")
        invocation = runner.invoke("tablesafe-backup", backup_schedule.event(slot))
        assert invocation.ok, invocation.error
        for summary in list_all_backups(ddb, TimeRangeLowerBound=slot)[0]:
            standin.set_backup_created(summary["BackupArn"], slot + timedelta(seconds=5))

    prune_time = DAY0 + timedelta(days=39, hours=1, minutes=30)
    pruned = runner.invoke("tablesafe-prune", prune_schedule.event(prune_time))

    assert pruned.ok, pruned.error
    left = list_all_backups(ddb, BackupType="ALL")[0]
    ages = {
        table: sorted(
            (prune_time - s["BackupCreationDateTime"]).days
            for s in left
            if s["TableName"] == table and s["BackupName"].startswith("tablesafe.")
        )
        for table in ("orders", "gone")
    }
    assert ages["orders"] == list(range(35))  # 35 days of retention: days 0..34 kept, the 5 older ones deleted
    assert ages["gone"] == [36, 37, 38]  # a deleted table keeps its newest minKeep=3, expired or not
    assert manual in {s["BackupArn"] for s in left}
    assert pruned.result["deleted"] == 5 + 1
    deletions = [line for line in pruned.log_lines if line.get("message") == "backup deleted"]
    assert len(deletions) == 6 and all(
        {"table", "backup_name", "age_days", "rule", "reason"} <= d.keys() for d in deletions
    )
    assert pruned.metrics["BackupsDeleted"] == 6
