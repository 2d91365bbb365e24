"""The deployable backup function, end to end: template event and environment, bundled asset, stand-in server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tools.standin.support import create_table, list_all_backups

pytestmark = pytest.mark.xdist_group("e2e")
SLOT = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def test_each_plan_rule_has_a_schedule_whose_event_the_function_runs(assembly, runner, standin):
    ddb = standin.client("dynamodb")
    for name, plan in (("orders", "daily"), ("events", "gfs"), ("carts", "daily"), ("misc", "nope")):
        create_table(ddb, name, {"backup-plan": plan})
    schedules = {(s.event(SLOT)["plan"], s.event(SLOT)["rule"]): s for s in assembly.schedules_for("tablesafe-backup")}
    assert set(schedules) == {("daily", "daily"), ("gfs", "hourly"), ("gfs", "monthly")}

    daily = runner.invoke("tablesafe-backup", schedules["daily", "daily"].event(SLOT))
    hourly = runner.invoke("tablesafe-backup", schedules["gfs", "hourly"].event(SLOT))

    assert daily.ok and hourly.ok, (daily.error, hourly.error)
    assert daily.result["created"] == 2 and daily.result["unknownPlan"] == {"misc": "nope"}
    assert hourly.result["created"] == 1
    names = sorted((s["TableName"], s["BackupName"]) for s in list_all_backups(ddb)[0])
    assert names == [
        ("carts", "tablesafe.daily.daily.20261127T0300Z"),
        ("events", "tablesafe.gfs.hourly.20261127T0300Z"),
        ("orders", "tablesafe.daily.daily.20261127T0300Z"),
    ]
    emf = next(line for line in daily.log_lines if "_aws" in line and "Plan" in line)
    assert (emf["service"], emf["Plan"], emf["Rule"]) == ("tablesafe-backup", "daily", "daily")
    assert emf["BackupsCreated"] in (2, [2]) and emf["UnknownPlanTables"] in (1, [1])
    # ...and once more under {service} alone, for the one unknown-plan alarm
    assert daily.metrics["UnknownPlanTables"] == 2 and hourly.metrics["UnknownPlanTables"] == 2


def test_a_failed_table_makes_the_invocation_fail_naming_it(assembly, runner, standin):
    ddb = standin.client("dynamodb")
    create_table(ddb, "orders", {"backup-plan": "daily"})
    create_table(ddb, "locked", {"backup-plan": "daily"})
    standin.set_table_status("locked", "INACCESSIBLE_ENCRYPTION_CREDENTIALS")
    (schedule,) = [s for s in assembly.schedules_for("tablesafe-backup") if s.event(SLOT)["plan"] == "daily"]

    invocation = runner.invoke("tablesafe-backup", schedule.event(SLOT))

    assert invocation.error["errorType"] == "BackupRunFailed"
    assert "locked" in invocation.error["errorMessage"]
    assert invocation.metrics["TablesFailed"] == 1 and invocation.metrics["BackupsCreated"] == 1


def test_a_garbled_event_fails_fast_and_changes_nothing(runner, standin):
    ddb = standin.client("dynamodb")
    create_table(ddb, "orders", {"backup-plan": "daily"})

    invocation = runner.invoke("tablesafe-backup", {"job": "backup", "plan": "daily"})

    assert invocation.error["errorType"] == "EventError" and "rule" in invocation.error["errorMessage"]
    assert list_all_backups(ddb)[0] == []


def test_a_run_with_too_little_time_continues_in_new_invocations_until_done(runner, standin):
    ddb = standin.client("dynamodb")
    names = [f"t{i:03d}" for i in range(100)]
    for name in names:
        create_table(ddb, name, {"backup-plan": "daily"})
    standin.faults.set("CreateBackup", latency_ms=3000)
    event = {"job": "backup", "plan": "daily", "rule": "daily", "scheduledTime": "2026-11-27T03:00:00Z"}

    # 60 s of reserve out of 68 s: each invocation starts tables for ~8 s (room for a slow cold start on a loaded
    # machine), 16 at a time taking 3 s each, so 100 tables need several invocations.
    runs = runner.run_to_completion("tablesafe-backup", event, timeout=68)

    assert len(runs) >= 2 and all(run.ok for run in runs), [run.error for run in runs]
    assert [run.event.get("continuation", 0) for run in runs] == list(range(len(runs)))
    backups = [s["TableName"] for s in list_all_backups(ddb)[0]]
    assert sorted(backups) == names  # every table once: none skipped, none twice
    assert sum(run.result["created"] for run in runs) == 100
