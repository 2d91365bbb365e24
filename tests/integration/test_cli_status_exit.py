"""`tablesafe status` from cron or CI: restored and drill tables marked and not failing it, `--fail-on`, exit codes."""

from __future__ import annotations

import json

import pytest

from tests.integration.cli_support import run


def make_table(client, name: str, tags: dict[str, str] | None = None) -> str:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    arn = client.describe_table(TableName=name)["Table"]["TableArn"]
    if tags:
        client.tag_resource(ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    return arn


@pytest.fixture
def protected_with_a_restored_copy(aws, capsys):
    """orders, tagged and freshly backed up, and orders-restored, which `tablesafe restore` made from it (untagged)."""
    make_table(aws, "orders", {"backup-plan": "daily"})
    aws.update_continuous_backups(
        TableName="orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    assert run(capsys, "backup", "orders", "--plan", "daily", "--rule", "daily")[0] == 0
    assert run(capsys, "restore", "orders", "--to", "orders-restored", "--poll", "0.05")[0] == 0
    return aws


def tables(out: str) -> dict[str, dict]:
    return {t["table"]: t for t in json.loads(out)["tables"]}


def test_a_table_restore_made_is_marked_restored_and_does_not_fail_status(protected_with_a_restored_copy, capsys):
    code, out, _ = run(capsys, "status", "--json")

    assert code == 0, out
    restored = tables(out)["orders-restored"]
    assert restored["kind"] == "restored" and restored["restoredFrom"]["backupArn"].startswith("arn:aws:dynamodb:")
    assert restored["flagKinds"] == ["untagged-copy"] and restored["failing"] is False
    assert json.loads(out)["flagged"] == 0
    code, out, _ = run(capsys, "status")
    assert code == 0 and "a restored copy: no plan tag" in out and "0 flagged" in out


def test_fail_on_all_counts_an_untagged_copy_too(protected_with_a_restored_copy, capsys):
    code, out, _ = run(capsys, "status", "--fail-on", "all", "--json")
    assert code == 1 and json.loads(out)["flagged"] == 1


def test_a_drill_table_needs_its_name_and_its_tag_to_count_as_one(aws, capsys):
    make_table(aws, "tablesafe-drill-orders-20261127", {"tablesafe:drill": "orders"})
    make_table(aws, "tablesafe-drill-lookalike")  # the name alone: an ordinary, unprotected table
    make_table(aws, "scratch", {"tablesafe:drill": "orders"})  # the tag alone: likewise

    code, out, _ = run(capsys, "status", "--json")

    assert code == 1
    found = tables(out)
    assert found["tablesafe-drill-orders-20261127"]["kind"] == "drill"
    assert found["tablesafe-drill-orders-20261127"]["failing"] is False
    assert {found[n]["kind"] for n in ("tablesafe-drill-lookalike", "scratch")} == {"table"}
    assert json.loads(out)["flagged"] == 2


@pytest.mark.parametrize(
    ("fail_on", "code", "flagged"),
    [
        (None, 1, 3),  # the default: unprotected, unknown-plan, stale and pitr
        ("unprotected", 1, 1),
        ("stale,unknown-plan", 1, 2),
        ("pitr", 0, 0),
        ("none", 0, 0),
    ],
)
def test_fail_on_chooses_which_flags_make_status_exit_1(aws, capsys, fail_on, code, flagged):
    make_table(aws, "orders", {"backup-plan": "daily"})  # no backup: stale
    make_table(aws, "scratch")  # unprotected
    make_table(aws, "users", {"backup-plan": "weekly"})  # unknown plan

    argv = ["status", "--json", *(("--fail-on", fail_on) if fail_on else ())]
    got, out, _ = run(capsys, *argv)

    assert (got, json.loads(out)["flagged"]) == (code, flagged)
    # Whatever --fail-on says, every flag is still reported.
    assert {n: t["flagKinds"] for n, t in tables(out).items()} == {
        "orders": ["stale"],
        "scratch": ["unprotected"],
        "users": ["unknown-plan"],
    }


@pytest.mark.parametrize("value", ["stale,sometimes", "", "all,none"])
def test_an_unknown_fail_on_kind_is_a_usage_error_naming_the_kinds(aws, capsys, value):
    code, out, err = run(capsys, "status", "--fail-on", value)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "argument --fail-on: expected a comma-separated list of unprotected, unknown-plan, stale" in err


def test_status_help_documents_the_exit_codes_and_the_flag_kinds(capsys):
    code, out, _ = run(capsys, "status", "--help")
    text = " ".join(out.split())
    assert code == 0
    assert "Exit codes: 0 no table raised a flag of a --fail-on kind; 1 one did" in text
    assert all(kind in text for kind in ("unprotected", "unknown-plan", "stale", "pitr", "untagged-copy"))


def test_a_restored_table_that_kept_its_plan_is_judged_as_any_tagged_table(protected_with_a_restored_copy, capsys):
    assert run(capsys, "restore", "orders", "--to", "orders-kept", "--keep-plan", "--poll", "0.05")[0] == 0

    code, out, _ = run(capsys, "status", "--json")

    kept = tables(out)["orders-kept"]
    assert (kept["kind"], kept["plan"], kept["flagKinds"]) == ("restored", "daily", ["stale"])  # no backup of its own
    assert code == 1 and kept["failing"] is True
    _, out, _ = run(capsys, "status")
    assert "a restored table" in out
