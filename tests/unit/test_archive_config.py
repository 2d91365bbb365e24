"""Export rules and `tablesafe:archive`: what parses, and every mistake named by key, value and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from tablesafe.config.archive import Archive, lock_days
from tablesafe.config.context import parse_context
from tablesafe.config.plans import ConfigError, parse_plans, plans_as_json

MONTHLY = {"name": "monthly", "schedule": "cron(0 4 1 * ? *)", "retentionDays": 2555, "minKeep": 3, "target": "export"}
DAILY = {"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}


def context(**archive: Any) -> dict[str, Any]:
    return {
        "tablesafe:regions": ["eu-west-1"],
        "tablesafe:plans": {"gfs": {"rules": [DAILY, MONTHLY], "pitr": {"enabled": True}}},
        "tablesafe:archive": archive,
    }


def error_of(ctx: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        parse_context(ctx)
    return raised.value


def test_a_rule_backs_up_unless_it_says_export() -> None:
    plan = parse_context(context()).plans["gfs"]

    assert [rule.target for rule in plan.rules] == ["backup", "export"]
    assert [rule.exports for rule in plan.rules] == [False, True]


def test_the_functions_get_the_same_plans_json_as_before_unless_a_rule_exports() -> None:
    body = plans_as_json(parse_plans({"p": [DAILY]}))

    assert "target" not in body["p"]["rules"][0]
    exported = plans_as_json(parse_plans({"p": {"rules": [MONTHLY], "pitr": {"enabled": True}}}))
    assert parse_plans(exported)["p"].rules[0].exports


@pytest.mark.parametrize("pitr", [None, {"enabled": False}])
def test_an_export_rule_on_a_plan_without_pitr_fails_naming_plan_and_rule(pitr: object) -> None:
    body: dict[str, Any] = {"rules": [DAILY, MONTHLY]}
    if pitr is not None:
        body["pitr"] = pitr

    error = error_of({"tablesafe:regions": ["eu-west-1"], "tablesafe:plans": {"gfs": body}})

    assert error.key == "tablesafe:plans.gfs.rules[1].target"
    assert "'monthly'" in str(error) and "'gfs'" in str(error) and "point-in-time recovery" in str(error)


def test_a_plan_given_as_a_bare_list_cannot_export() -> None:
    error = error_of({"tablesafe:regions": ["eu-west-1"], "tablesafe:plans": {"gfs": [MONTHLY]}})

    assert error.key == "tablesafe:plans.gfs[0].target"


def test_an_unknown_target_is_refused() -> None:
    error = error_of({"tablesafe:regions": ["eu-west-1"], "tablesafe:plans": {"p": [{**DAILY, "target": "s3"}]}})

    assert error.key == "tablesafe:plans.p[0].target" and "'backup', 'export'" in str(error)


def test_without_an_archive_key_the_stack_makes_a_governance_bucket() -> None:
    archive = parse_context({"tablesafe:regions": ["eu-west-1"]}).archive

    assert archive == Archive()
    assert archive.bucket_arn is None and archive.object_lock_mode == "GOVERNANCE"
    assert archive.storage_class == "GLACIER_IR" and archive.transition_after_days == 1


def test_another_accounts_bucket_is_named_by_arn_owner_and_key() -> None:
    archive = parse_context(
        context(
            bucketArn="arn:aws:s3:::acme-archive",
            bucketOwner="210987654321",
            kmsKeyArn="arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            objectLockMode="COMPLIANCE",
            storageClass="DEEP_ARCHIVE",
            transitionAfterDays=0,
            sourceAccounts=["123456789012"],
        )
    ).archive

    assert archive.bucket_name == "acme-archive" and archive.bucket_owner == "210987654321"
    assert archive.object_lock_mode == "COMPLIANCE" and archive.storage_class == "DEEP_ARCHIVE"
    assert archive.source_accounts == ("123456789012",)


def test_the_archive_may_be_given_as_json_text_with_dash_c() -> None:
    ctx = context()
    ctx["tablesafe:archive"] = '{"storageClass": "GLACIER"}'

    assert parse_context(ctx).archive.storage_class == "GLACIER"


@pytest.mark.parametrize(
    ("archive", "key"),
    [
        ({"bucketArn": "acme-archive"}, "bucketArn"),
        ({"bucketArn": "arn:aws:s3:::Acme_Archive"}, "bucketArn"),
        ({"bucketArn": "arn:aws:s3:::acme", "bucketOwner": "12345"}, "bucketOwner"),
        ({"bucketOwner": "210987654321"}, "bucketOwner"),
        ({"kmsKeyArn": "arn:aws:kms:eu-west-1:210987654321:key/abc"}, "kmsKeyArn"),
        ({"bucketArn": "arn:aws:s3:::acme", "kmsKeyArn": "alias/archive"}, "kmsKeyArn"),
        ({"objectLockMode": "governance"}, "objectLockMode"),
        ({"storageClass": "GLACIER_DEEP"}, "storageClass"),
        ({"transitionAfterDays": -1}, "transitionAfterDays"),
        ({"transitionAfterDays": True}, "transitionAfterDays"),
        ({"sourceAccounts": "123456789012"}, "sourceAccounts"),
        ({"sourceAccounts": ["123456789012", "123456789012"]}, "sourceAccounts"),
        ({"retentionDays": 30}, "retentionDays"),
        ({"pricePerGbMonth": 0}, "pricePerGbMonth"),
        ({"pricePerGbMonth": -0.004}, "pricePerGbMonth"),
        ({"pricePerGbMonth": "0.004"}, "pricePerGbMonth"),
        ({"pricePerGbMonth": True}, "pricePerGbMonth"),
        ({"pricePerGbMonth": float("inf")}, "pricePerGbMonth"),
    ],
)
def test_a_wrong_archive_value_names_its_key(archive: dict[str, Any], key: str) -> None:
    error = error_of(context(**archive))

    assert error.key == f"tablesafe:archive.{key}"


def test_the_archive_must_be_an_object() -> None:
    ctx = context()
    ctx["tablesafe:archive"] = ["arn:aws:s3:::acme"]

    assert error_of(ctx).key == "tablesafe:archive"


def test_the_bucket_locks_objects_for_the_shortest_export_retention() -> None:
    weekly = {**MONTHLY, "name": "weekly", "retentionDays": 90}
    plans = parse_plans({"a": {"rules": [DAILY, MONTHLY, weekly], "pitr": {"enabled": True}}})

    assert lock_days(plans) == 90
    assert lock_days(parse_plans({"a": [DAILY]})) is None


def test_the_archive_price_defaults_to_the_storage_class_in_us_east_1_unless_given() -> None:
    assert parse_context(context()).archive.price_per_gb_month == 0.004  # GLACIER_IR
    assert parse_context(context(storageClass="DEEP_ARCHIVE")).archive.price_per_gb_month == 0.00099
    given = parse_context(context(storageClass="DEEP_ARCHIVE", pricePerGbMonth=0.0018)).archive
    assert given.price_per_gb_month == 0.0018
    assert parse_context(context(pricePerGbMonth=1)).archive.price_per_gb_month == 1.0
