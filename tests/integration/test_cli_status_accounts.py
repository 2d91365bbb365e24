"""`tablesafe status --accounts | --organization`: every table of many accounts and regions through the read-only
role, what cannot be read listed as such, a summary per account; end to end through the HTTP stand-in."""

from __future__ import annotations

import json

import pytest

from tablesafe_cli.coverage import TableStatus
from tests.integration.accounts_support import HUB, Organization, trust_policy
from tests.integration.cli_support import cut_identifiers, run, run_at


@pytest.fixture
def two_accounts(standin, aws):
    """`shop`: three tables (protected, unprotected, stale) in us-east-1 and one in eu-west-1; `lab`: no role."""
    org = Organization(standin)
    shop = org.member("shop")
    shop.table("orders", "daily", backed_up=True)
    shop.table("scratch")
    shop.table("events", "daily")
    shop.table("ledger", "daily", region="eu-west-1", backed_up=True)
    lab = org.member("lab", read_only_role=False)
    lab.table("experiments", "daily", backed_up=True)
    return shop, lab


def by_name(data: dict) -> dict[tuple[str, str, str], dict]:
    return {(t["account"], t["region"], t["table"]): t for t in data["tables"]}


def test_an_account_without_the_role_is_unreachable_and_the_others_are_shown(two_accounts, capsys):
    shop, lab = two_accounts

    code, out, _ = run(capsys, "status", "--accounts", f"{shop.account},{lab.account}", "--json")

    assert code == 1
    data = json.loads(out)
    tables = by_name(data)
    assert set(tables) == {(shop.account, "us-east-1", n) for n in ("orders", "scratch", "events")}
    assert tables[(shop.account, "us-east-1", "orders")]["failing"] is False
    (unreachable,) = data["unreachable"]
    assert (unreachable["account"], unreachable["region"]) == (lab.account, "us-east-1")
    assert "AssumeRole" in unreachable["error"] and "access denied" in unreachable["error"]
    assert f"arn:aws:iam::{lab.account}:role/TablesafeReadOnly" in unreachable["error"]
    assert "\n" not in unreachable["error"]


def test_the_summary_counts_each_accounts_tables_once(two_accounts, capsys):
    shop, lab = two_accounts

    data = json.loads(run(capsys, "status", "--accounts", f"{shop.account},{lab.account}", "--json")[1])

    summary = {s["account"]: s for s in data["summary"]}
    assert summary[shop.account] == {
        "account": shop.account,
        "tables": 3,
        "protected": 1,  # orders
        "unprotected": 1,  # scratch
        "stale": 1,  # events: tagged, never backed up
        "optedOut": 0,
        "copies": 0,
        "flagged": 2,
        "unreachableRegions": 0,
    }
    assert summary[lab.account]["tables"] == 0 and summary[lab.account]["unreachableRegions"] == 1
    assert data["flagged"] == 2


def test_regions_reads_each_account_in_every_region_given(two_accounts, capsys):
    shop, _ = two_accounts

    code, out, _ = run(capsys, "status", "--accounts", shop.account, "--regions", "us-east-1,eu-west-1", "--json")

    data = json.loads(out)
    assert code == 1  # scratch and events are flagged
    assert (shop.account, "eu-west-1", "ledger") in by_name(data)
    assert {t["region"] for t in data["tables"]} == {"us-east-1", "eu-west-1"}
    assert data["regions"] == ["us-east-1", "eu-west-1"] and data["unreachable"] == []
    (summary,) = data["summary"]
    assert (summary["tables"], summary["protected"]) == (4, 2)


def test_json_has_the_one_account_views_fields_and_the_account_and_region(two_accounts, capsys):
    shop, lab = two_accounts
    one_account = {*TableStatus("t", None, (), 0, 0, None).as_dict(), "lastDrill"}  # what `status --json` gives

    data = json.loads(run(capsys, "status", "--accounts", f"{shop.account},{lab.account}", "--json")[1])

    assert set(data) == {
        "time", "roleName", "accounts", "regions", "tables", "summary", "unreachable", "incomplete", "skipped",
        "flagged", "failOn",
    }  # fmt: skip
    assert data["roleName"] == "TablesafeReadOnly" and data["accounts"] == [shop.account, lab.account]
    orders = by_name(data)[(shop.account, "us-east-1", "orders")]
    assert set(orders) == one_account | {"account", "region", "lastExport"}
    assert orders["rules"][0]["lastBackup"].startswith("tablesafe.daily.daily.")
    assert orders["lastDrill"] is None and orders["lastExport"] is None  # no drills deployed, no export rule


def test_fail_on_none_still_exits_1_for_an_unreachable_account_only(two_accounts, capsys):
    shop, lab = two_accounts
    assert run(capsys, "status", "--accounts", shop.account, "--fail-on", "none")[0] == 0
    assert run(capsys, "status", "--accounts", f"{shop.account},{lab.account}", "--fail-on", "none")[0] == 1


def test_organization_reads_every_active_account_and_lists_the_others_as_skipped(standin, aws, capsys):
    org = Organization(standin)
    shop = org.member("shop")
    shop.table("orders", "daily", backed_up=True)
    closed = org.member("closed")
    standin.client("organizations").close_account(AccountId=closed.account)
    # The management account reads itself through the role too (its own administrator makes it).
    standin.client("iam").create_role(RoleName="TablesafeReadOnly", AssumeRolePolicyDocument=trust_policy(HUB))

    code, out, _ = run(capsys, "status", "--organization", "--json")

    data = json.loads(out)
    assert code == 0, data
    assert sorted(data["accounts"]) == sorted([HUB, shop.account])
    assert [t["table"] for t in data["tables"]] == ["orders"]
    assert data["unreachable"] == []
    assert data["skipped"] == [{"account": closed.account, "name": "closed", "state": "SUSPENDED"}]


def test_a_role_name_that_the_account_does_not_have_is_unreachable(two_accounts, capsys):
    shop, _ = two_accounts
    code, out, _ = run(capsys, "status", "--accounts", shop.account, "--role-name", "Auditor", "--json")
    assert code == 1
    (unreachable,) = json.loads(out)["unreachable"]
    assert "role/Auditor" in unreachable["error"]


@pytest.mark.parametrize("width", [80, 120])
def test_the_report_reads_at_80_and_120_columns(two_accounts, capsys, width):
    shop, lab = two_accounts

    code, out, _ = run_at(width, capsys, "status", "--accounts", f"{shop.account},{lab.account}")

    assert code == 1
    assert cut_identifiers(out, ["orders", "scratch", "events", shop.account, lab.account]) == []
    assert f"account {shop.account}, us-east-1" in out
    assert f"unreachable: {lab.account} us-east-1: AssumeRole: access denied" in out
    assert "summary per account" in out and "3 tables in 2 accounts, 2 flagged, 1 unreachable" in out
    table_lines = [line for line in out.splitlines() if not line.startswith("unreachable:")]
    assert max(len(line) for line in table_lines) <= width


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--accounts", "12345"], "12345"),
        (["--accounts", "111122223333", "--organization"], "not allowed with"),
        (["--regions", "eu-west-1"], "--role-name and --regions go with --accounts or --organization"),
        (["--accounts", "111122223333", "--regions", "Europe"], "Europe"),
        (["--accounts", "111122223333", "--role-name", "no spaces"], "no spaces"),
    ],
)
def test_bad_options_exit_2_naming_the_culprit(aws, capsys, argv, message):
    code, _, err = run(capsys, "status", *argv)
    assert code == 2 and message in err
