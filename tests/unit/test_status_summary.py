"""The per-account summary of the many-account status: every table counted once, unreachable regions counted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tablesafe.config.plans import parse_plans
from tablesafe_cli.commands.status import status_rows
from tablesafe_cli.coverage import DEFAULT_FAIL_ON, Flag, FlagKind, TableStatus
from tablesafe_cli.fleet import AccountSummary, FleetScan, TargetError, TargetScan, summaries
from tablesafe_cli.status_scan import RegionScan
from tablesafe_cli.targets import parse_accounts, parse_regions

NOW = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
A, B, C = "111122223333", "222233334444", "333344445555"


def table(name: str, *kinds: FlagKind, plan: str | None = "daily") -> TableStatus:
    return TableStatus(
        name=name,
        plan=plan,
        rules=(),
        backups=0,
        backup_bytes=0,
        pitr=None,
        issues=tuple(Flag(kind, kind.value) for kind in kinds),
    )


def scan(account: str, region: str, *statuses: TableStatus) -> TargetScan:
    return TargetScan(RegionScan(account=account, region=region, time=NOW, statuses=list(statuses)))


def test_each_table_is_counted_once_and_the_counts_add_up():
    fleet = FleetScan(
        NOW,
        [
            scan(
                A,
                "eu-west-1",
                table("orders"),
                table("pitr-off", FlagKind.PITR),  # backed up, PITR flagged: protected, and flagged
                table("scratch", FlagKind.UNPROTECTED, plan=None),
                table("typo", FlagKind.UNKNOWN_PLAN, plan="dialy"),
                table("events", FlagKind.STALE, FlagKind.PITR),
                table("copy", FlagKind.UNTAGGED_COPY, plan=None),
                table("ignored", FlagKind.OPTED_OUT, plan=None),
            ),
            scan(A, "us-east-1", table("ledger", FlagKind.STALE)),
        ],
        [TargetError(B, "eu-west-1", "AssumeRole: access denied"), TargetError(A, "ap-south-1", "x", "last drills")],
    )

    counts = summaries(fleet, [A, B, C], DEFAULT_FAIL_ON)

    assert counts == [
        AccountSummary(A, tables=8, protected=2, unprotected=2, stale=2, opted_out=1, copies=1, flagged=5),
        AccountSummary(B, unreachable=1),
        AccountSummary(C),
    ]
    first = counts[0]
    assert first.protected + first.unprotected + first.stale + first.opted_out + first.copies == first.tables


def test_flagged_follows_fail_on():
    fleet = FleetScan(NOW, [scan(A, "eu-west-1", table("events", FlagKind.STALE))], [])
    assert summaries(fleet, [A], frozenset())[0].flagged == 0
    assert summaries(fleet, [A], frozenset({FlagKind.STALE}))[0].flagged == 1


def test_accounts_and_regions_are_checked_and_kept_in_order_once():
    assert parse_accounts(f" {B},{A},{B} ") == (B, A)
    assert parse_regions("us-east-1,eu-west-1,us-east-1") == ("us-east-1", "eu-west-1")
    with pytest.raises(ValueError, match="1234, x"):
        parse_accounts(f"{A},1234,x")
    with pytest.raises(ValueError, match="Europe"):
        parse_regions("eu-west-1,Europe")
    with pytest.raises(ValueError, match="account ids"):
        parse_accounts(",")


def test_a_drilled_tables_last_drill_shows_as_unknown_when_the_drills_could_not_be_read():
    rules = [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}]
    plans = parse_plans({"daily": {"rules": rules, "drill": {"everyDays": 7}}, "plain": rules})
    statuses = [table("orders"), table("ledger", plan="plain")]

    unknown = status_rows(statuses, NOW, DEFAULT_FAIL_ON, None, plans)
    known = status_rows(statuses, NOW, DEFAULT_FAIL_ON, {}, plans)

    assert "last drill unknown" in unknown[0][-1] and "not drilled yet" not in unknown[0][-1]
    assert "not drilled yet" in known[0][-1]
    assert unknown[1][-1] == known[1][-1] == ""  # a plan without drills has no last drill to know
