"""`make demo` at a reduced size: four simulated days of the synthesized functions on the stand-in, and its account."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from rich.console import Console

from tools.demo import Account, Deletion, Scenario, main, render_account, run_demo

SUNDAY = date(2026, 11, 15)


def test_four_days_of_the_deployable_functions_give_the_account_a_user_expects(standin):
    # Given four days: sessions deleted on day 2 at noon, customers' key unreachable for day 3's daily run.
    out = io.StringIO()
    console = Console(file=out, width=100)
    scenario = Scenario(days=4, start=SUNDAY, deletion_day=2, outage_day=3)

    # When the demo's main flow runs.
    account = run_demo(scenario, console, standin=standin)
    render_account(console, account)

    # Then nothing misbehaved; the one failure is the staged one, and Lambda's retry backed the table up.
    assert account.problems == []
    assert account.staged_failures == [
        "day 3 03:00: customers's KMS key made unreachable on purpose; the run failed as it should (BackupRunFailed: "
        "1 table(s) got no backup: customers), and Lambda's retry at 03:01 backed it up"
    ]
    # Restore drills ran over the days; the planted one (events restores with items missing) failed as planted.
    assert (account.planted_drill_failure or "").startswith("drill of events failed as planted: 300 items restored")
    assert account.drills_passed >= 4
    assert [d.number for d in account.days] == [1, 2, 3, 4]
    assert account.days[2].created["daily/daily"] == 2  # orders and customers (sessions is gone)
    # Daily backups: 3 days kept, older ones deleted; a deleted table keeps minKeep (2) even past retention.
    kept = {table: [(k.name, k.why) for k in account.kept_of(table)] for table in ("orders", "customers", "sessions")}
    assert kept["orders"] == [
        ("tablesafe.manual.20261105T000000Z", "manual backup: never pruned"),
        ("tablesafe.daily.daily.20261116T0300Z", "within 3 d retention"),
        ("tablesafe.daily.daily.20261117T0300Z", "within 3 d retention"),
        ("tablesafe.daily.daily.20261118T0300Z", "within 3 d retention"),
    ]
    assert [name for name, _ in kept["customers"]] == [name for name, _ in kept["orders"][1:]]
    assert kept["sessions"] == [
        ("tablesafe.daily.daily.20261115T0300Z", "past 3 d, kept: newest 2"),
        ("tablesafe.daily.daily.20261116T0300Z", "within 3 d retention"),
    ]
    assert account.kept_of("scratch") == [] and account.kept_of("legacy") == []
    deleted = sorted((d.table, d.backup_name) for d in account.deletions if d.plan == "daily")
    assert deleted == [
        ("customers", "tablesafe.daily.daily.20261115T0300Z"),
        ("orders", "tablesafe.daily.daily.20261115T0300Z"),
    ]
    # The six-hourly rule (1 day, minKeep 2) prunes every day after the first.
    assert {d.when.day for d in account.deletions if d.rule == "sixhourly"} == {16, 17, 18}
    events = {k.name: k.why for k in account.kept_of("events")}
    assert events["nightly-from-aws-backup"] == "AWS_BACKUP backup: not tablesafe's"
    assert events["tablesafe.archive.monthly.20261006T0000Z"] == "orphaned: plan archive removed"
    assert account.orphaned == {"tablesafe.archive.monthly.20261006T0000Z": "plan 'archive' is no longer configured"}
    assert account.unknown_plan == {"legacy": "weekly-legacy"} and account.unknown_plan_alarmed
    # The staged failure fires the function-error and TablesFailed alarms once each, and they clear; the mistyped
    # tag, a problem that lasts, fires the unknown-plan alarm once, at the first backup run (six-hourly, 00:00), and
    # it stays in ALARM: one notification, not one per run.
    fired = {a.name: [f"{t:%d %H:%M}" for t in a.fired] for a in account.alarms if a.fired}
    assert fired == {
        "tablesafe-backup-errors": ["17 03:05"],
        "tablesafe-tables-failed.daily.daily": ["17 03:05"],
        "tablesafe-unknown-plan-tags": [f"{account.days[0].day:%d} 00:05"],
    }
    recovered = {a.name: [f"{t:%d %H:%M}" for t in a.recovered] for a in account.alarms if a.recovered}
    assert recovered["tablesafe-tables-failed.daily.daily"] == ["18 03:05"]  # the next day's run: OK
    finals = {a.name: a.final for a in account.alarms}
    assert finals.pop("tablesafe-unknown-plan-tags") == "ALARM" and set(finals.values()) == {"OK"}
    assert "tablesafe-no-successful-backup.daily.daily" in {a.name for a in account.alarms}
    # The prune's cost estimate covers every scheduled backup here, and it is not zero.
    costs = {c.plan: c for c in account.costs}
    assert set(costs) == {"archive", "daily", "gfs"} and not costs["archive"].configured
    for cost in costs.values():
        assert (cost.estimate_backups, cost.estimate_bytes) == (cost.full_backups, cost.full_bytes)
        assert cost.estimate_bytes > 0 and cost.estimate_usd > 0
    assert costs["daily"].estimate_backups == 8  # orders 3, customers 3, sessions 2
    # And the account reads on a 100-column terminal.
    text = out.getvalue()
    assert "Day 4 · Wed 18 Nov (ends with the 04:30 prune)" in text
    assert "customers: KMS key unreachable -> run failed naming it (BackupRunFailed)" in text
    assert "An alarm of the template watches that metric." in text
    assert "drill orders: passed (restore 15 min, 300/300 items, table deleted)" in text
    assert max(len(line) for line in text.splitlines()) <= 100
    # Alarm names whole; the staged failure told where it happened, before the checks, not as the last word.
    for alarm in account.alarms:
        assert alarm.name in text
    verdicts = [line.split()[0] for line in text.splitlines() if line.startswith("  ") and line.split()]
    verdicts = [word for word in verdicts if word in ("ok", "staged", "PROBLEM")]
    assert verdicts == ["staged", "ok", "ok", "ok", "ok"]


def test_the_same_deletions_logged_in_another_order_render_the_same_account():
    # The prune deletes from several threads: its log lines interleave differently from run to run.
    when = datetime(2026, 11, 17, 4, 30, tzinfo=UTC)
    deletions = [
        Deletion(when, "events", f"tablesafe.gfs.sixhourly.202611160{h}00Z", "gfs", "sixhourly", 1.5, f"r{h}", "ok")
        for h in range(0, 10, 6)
    ]

    def rendered(order: list[Deletion]) -> str:
        account = Account("Tablesafe-us-east-1", {}, "cron(30 4 * * ? *)", [], deletions=order)
        out = io.StringIO()
        render_account(Console(file=out, width=100), account, every_deletion=True)
        return out.getvalue()

    assert rendered(deletions) == rendered(deletions[::-1])


def test_a_start_the_functions_would_refuse_is_rejected_before_anything_runs(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--start", "2020-01-05"])
    assert stop.value.code == 2
    assert "--start must be from" in capsys.readouterr().err


def test_the_command_rejects_a_simulation_too_short_to_show_anything(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--days", "1"])
    assert stop.value.code == 2
    assert "--days must be at least 2" in capsys.readouterr().err
