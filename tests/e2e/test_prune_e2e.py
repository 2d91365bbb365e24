"""The deployable prune function, end to end: schedule event, template environment, bundled asset, stand-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tools.standin.support import create_table, list_all_backups

pytestmark = pytest.mark.xdist_group("e2e")
# Relative to the clock: the function checks the event's time against its own clock, as in Lambda.
TODAY = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0)
DAY0 = TODAY - timedelta(days=40)


def test_backups_made_by_the_backup_function_are_pruned_by_the_prune_schedule(assembly, runner, standin):
    ddb = standin.client("dynamodb")
    create_table(ddb, "orders", {"backup-plan": "daily"})
    create_table(ddb, "gone", {"backup-plan": "daily"})
    create_table(ddb, "reborn", {"backup-plan": "daily"})
    manual = standin.add_foreign_backup("orders", "before-migration", created=DAY0 - timedelta(days=300))
    (backup_schedule,) = [s for s in assembly.schedules_for("tablesafe-backup") if s.event(DAY0)["plan"] == "daily"]
    (prune_schedule,) = assembly.schedules_for("tablesafe-prune")
    for day in range(40):  # 40 daily backups, each aged to its slot
        slot = DAY0 + timedelta(days=day)
        if day == 4:  # its four backups (days 0-3) will all be past retention
            ddb.delete_table(TableName="gone")
        if day == 3:  # reborn: deleted with three backups (days 0-2), then created again under the same name
            ddb.delete_table(TableName="reborn")
        if day == 5:
            create_table(ddb, "reborn", {"backup-plan": "daily"})
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
        for table in ("orders", "gone", "reborn")
    }
    assert ages["orders"] == list(range(35))  # 35 days of retention: days 0..34 kept, the 5 older ones deleted
    assert ages["gone"] == [36, 37, 38]  # a deleted table keeps its newest minKeep=3, expired or not
    # the first reborn keeps its last three, expired, although the second one's 35 backups are newer
    assert ages["reborn"] == [*range(35), 37, 38, 39]
    assert manual in {s["BackupArn"] for s in left}
    assert pruned.result["deleted"] == 5 + 1
    deletions = [line for line in pruned.log_lines if line.get("message") == "backup deleted"]
    assert len(deletions) == 6 and all(
        {"table", "backup_name", "age_days", "rule", "reason"} <= d.keys() for d in deletions
    )
    assert pruned.metrics["BackupsDeleted"] == 6


def test_a_prune_dated_a_year_ahead_fails_before_listing_and_keeps_every_backup(assembly, runner, standin):
    ddb = standin.client("dynamodb")
    create_table(ddb, "orders", {"backup-plan": "daily"})
    (backup_schedule,) = [s for s in assembly.schedules_for("tablesafe-backup") if s.event(DAY0)["plan"] == "daily"]
    (prune_schedule,) = assembly.schedules_for("tablesafe-prune")
    for day in range(1, 11):  # ten daily backups, 1 to 10 days old
        slot = TODAY - timedelta(days=day)
        assert runner.invoke("tablesafe-backup", backup_schedule.event(slot)).ok
        for summary in list_all_backups(ddb, TimeRangeLowerBound=slot)[0]:
            standin.set_backup_created(summary["BackupArn"], slot + timedelta(seconds=5))
    kept = {s["BackupArn"] for s in list_all_backups(ddb)[0]}
    standin.calls.reset()

    # an operator's manual invoke with the year mistyped: 400 days ahead
    pruned = runner.invoke("tablesafe-prune", prune_schedule.event(TODAY + timedelta(days=400)))

    assert not pruned.ok  # the invocation fails: Lambda's Errors metric, and the prune's Errors alarm, see it
    assert pruned.error is not None and pruned.error["errorType"] == "EventError"
    assert "is later than the function's clock" in pruned.error["errorMessage"]
    assert "ListBackups" not in standin.calls.snapshot() and "DeleteBackup" not in standin.calls.snapshot()
    assert {s["BackupArn"] for s in list_all_backups(ddb)[0]} == kept and len(kept) == 10
