"""The CLI's pure parts: status flags, cost grouping, configuration, key parsing, formatting."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tablesafe.aws.dynamodb import Backup
from tablesafe.aws.tables import KeyAttribute, PitrState, TableDetails
from tablesafe.config.plans import parse_plans
from tablesafe_cli.commands.cost import storage_by
from tablesafe_cli.config import CliConfig
from tablesafe_cli.context import load_config
from tablesafe_cli.coverage import assess_table
from tablesafe_cli.errors import UsageError
from tablesafe_cli.formatting import format_age, format_size
from tablesafe_cli.item_keys import SelectionError, parse_key, plain_item, to_typed
from tablesafe_cli.restore import latest_backup

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
PLANS = parse_plans(
    {
        "daily": [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}],
        "gfs": {
            "rules": [
                {"name": "hourly", "schedule": "rate(1 hour)", "retentionDays": 2, "minKeep": 24},
                {"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 7},
            ],
            "pitr": {"enabled": True, "recoveryPeriodDays": 7},
        },
    }
)
CONFIG = CliConfig(plans=PLANS)
PITR_ON = PitrState(enabled=True, recovery_period_days=7)


def backup(name: str, age: timedelta, *, table: str = "orders", status: str = "AVAILABLE", size: int = 100) -> Backup:
    return Backup(
        arn=f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}/backup/{name}",
        name=name,
        table_name=table,
        created=NOW - age,
        status=status,
        backup_type="USER",
        size_bytes=size,
    )


def test_a_table_without_the_plan_tag_is_flagged_unprotected() -> None:
    status = assess_table("orders", None, CONFIG, [], PITR_ON, NOW, region="us-east-1")
    assert status.flags == ("unprotected: no plan tag",)


def test_a_table_tagged_with_an_unconfigured_plan_is_flagged() -> None:
    status = assess_table("orders", "weekly", CONFIG, [], PITR_ON, NOW, region="us-east-1")
    assert status.flags == ("unknown plan 'weekly'",)


def test_a_rule_is_stale_only_when_its_last_available_backup_is_older_than_one_and_a_half_intervals() -> None:
    # given a daily rule (interval 24 h, limit 36 h) and an hourly rule (limit 90 min)
    backups = [
        backup("tablesafe.gfs.daily.20261126T0300Z", timedelta(hours=35)),
        backup("tablesafe.gfs.hourly.20261127T1000Z", timedelta(minutes=91)),
        backup("tablesafe.gfs.hourly.20261127T1100Z", timedelta(minutes=50), status="CREATING"),
    ]
    status = assess_table("orders", "gfs", CONFIG, backups, PITR_ON, NOW, region="us-east-1")
    rules = {r.rule: r for r in status.rules}
    assert not rules["daily"].stale
    assert rules["hourly"].stale  # the CREATING one does not count
    assert rules["hourly"].last is not None and rules["hourly"].last.name.endswith("1000Z")
    assert status.flags == ("rule hourly: last backup 1h 31m old (limit 1h 30m)",)


def test_a_rule_without_any_backup_is_flagged_and_other_plans_backups_do_not_count() -> None:
    backups = [backup("tablesafe.daily.daily.20261127T0300Z", timedelta(hours=9)), backup("mine", timedelta(hours=1))]
    status = assess_table("orders", "gfs", CONFIG, backups, PITR_ON, NOW, region="us-east-1")
    assert "rule daily: no AVAILABLE backup" in status.flags
    assert status.backups == 2 and status.backup_bytes == 200


def test_pitr_off_is_flagged_when_the_plan_asks_for_it() -> None:
    fresh = [
        backup("tablesafe.gfs.daily.20261127T0300Z", timedelta(hours=9)),
        backup("tablesafe.gfs.hourly.20261127T1100Z", timedelta(hours=1)),
    ]
    status = assess_table("orders", "gfs", CONFIG, fresh, PitrState(enabled=False), NOW, region="us-east-1")
    assert status.flags == ("PITR off, the plan asks for it",)


def test_a_replica_backed_up_in_another_region_is_not_flagged_stale_here() -> None:
    status = assess_table(
        "orders", "daily", CONFIG, [], PITR_ON, NOW, region="us-west-2", replicas=("us-east-1", "us-west-2")
    )
    assert status.backups_region == "us-east-1"
    assert status.flags == ()


def test_the_home_region_tag_decides_where_a_global_table_is_backed_up() -> None:
    status = assess_table(
        "orders",
        "daily",
        CONFIG,
        [],
        PITR_ON,
        NOW,
        region="us-west-2",
        replicas=("us-east-1", "us-west-2"),
        home_tag="us-west-2",
    )
    assert status.backups_region == "us-west-2"
    assert status.flags == ("rule daily: no AVAILABLE backup",)


def test_status_names_the_region_the_backup_function_picks_among_the_deployed_regions() -> None:
    # Deployed to us-west-2 only: the function there backs the replica up, though us-east-1 sorts first.
    config = CliConfig(plans=PLANS, regions=("us-west-2",))
    status = assess_table(
        "orders", "daily", config, [], PITR_ON, NOW, region="us-west-2", replicas=("us-east-1", "us-west-2")
    )
    assert status.backups_region == "us-west-2"
    assert status.flags == ("rule daily: no AVAILABLE backup",)


def test_storage_is_grouped_by_the_plan_in_the_name_and_by_table() -> None:
    backups = [
        backup("tablesafe.daily.daily.20261127T0300Z", timedelta(hours=1), size=1000),
        backup("tablesafe.gfs.hourly.20261127T1100Z", timedelta(hours=1), table="users", size=10),
        backup("tablesafe.manual.20261127T110000Z", timedelta(hours=1), size=5),
        backup("before-migration", timedelta(days=3), table="users", size=7),
        backup("tablesafe.daily.daily.20261126T0300Z", timedelta(days=1), status="DELETED", size=999),
    ]
    by_plan, by_table = storage_by(backups, "tablesafe")
    assert {k: (v.backups, v.bytes) for k, v in by_plan.items()} == {
        "daily": (1, 1000),
        "gfs": (1, 10),
        "manual": (1, 5),
        "not tablesafe": (1, 7),
    }
    assert {k: (v.backups, v.bytes) for k, v in by_table.items()} == {"orders": (2, 1005), "users": (2, 17)}
    assert by_plan["daily"].cost(0.10) == pytest.approx(1000 / 1e9 * 0.10)


def test_latest_backup_is_the_newest_available_restorable_one() -> None:
    backups = [
        backup("old", timedelta(days=2)),
        backup("new", timedelta(hours=1)),
        backup("creating", timedelta(minutes=1), status="CREATING"),
    ]
    chosen = latest_backup(backups)
    assert chosen is not None and chosen.name == "new"
    assert latest_backup([]) is None


def test_config_defaults_apply_when_the_default_file_is_absent(tmp_path: Path) -> None:
    config = load_config(tmp_path / "cdk.json", explicit=False)
    assert config.tag_key == "backup-plan" and config.prefix == "tablesafe" and set(config.plans) == {"daily"}


def test_an_explicit_config_file_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        load_config(tmp_path / "nope.json", explicit=True)


def test_config_is_read_from_the_cdk_context_and_a_bad_plan_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "cdk.json"
    path.write_text(
        json.dumps(
            {
                "context": {
                    "tablesafe:tagKey": "plan",
                    "tablesafe:backupNamePrefix": "ts",
                    "tablesafe:storagePricePerGbMonth": "0.2",
                    "tablesafe:plans": json.dumps(
                        {"p": [{"name": "r", "schedule": "rate(1 day)", "retentionDays": 1, "minKeep": 1}]}
                    ),
                }
            }
        )
    )
    config = load_config(path, explicit=True)
    assert (config.tag_key, config.prefix, config.price_per_gb_month, list(config.plans)) == ("plan", "ts", 0.2, ["p"])
    path.write_text(json.dumps({"context": {"tablesafe:plans": {"p": [{"name": "r", "schedule": "rate(1 day)"}]}}}))
    with pytest.raises(UsageError, match=r"tablesafe:plans\.p\[0\]\.retentionDays"):
        load_config(path, explicit=True)


def test_the_deployed_regions_are_read_from_the_cdk_context(tmp_path: Path) -> None:
    path = tmp_path / "cdk.json"
    for value in (["us-east-1", "eu-west-1"], "us-east-1,eu-west-1", '["us-east-1", "eu-west-1"]'):
        path.write_text(json.dumps({"context": {"tablesafe:regions": value}}))
        assert load_config(path, explicit=True).regions == ("us-east-1", "eu-west-1")
    path.write_text(json.dumps({"context": {"tablesafe:regions": ["us-east-1", "Europe"]}}))
    with pytest.raises(UsageError, match=r"tablesafe:regions: \['us-east-1', 'Europe'\]"):
        load_config(path, explicit=True)


COMPOSITE = TableDetails(
    name="orders",
    arn="arn",
    status="ACTIVE",
    key=(KeyAttribute("pk", "HASH", "S"), KeyAttribute("sk", "RANGE", "N")),
    billing_mode="PAY_PER_REQUEST",
)


def test_keys_are_taken_plain_or_typed() -> None:
    assert parse_key({"pk": "a", "sk": 1}, COMPOSITE) == {"pk": {"S": "a"}, "sk": {"N": "1"}}
    assert parse_key({"pk": {"S": "a"}, "sk": {"N": "1"}}, COMPOSITE) == {"pk": {"S": "a"}, "sk": {"N": "1"}}


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ({"pk": "a"}, "missing sk"),
        ({"pk": "a", "sk": 1, "x": 2}, "not key attributes: x"),
        ({"pk": "a", "sk": "1"}, "sk is of type N in orders, got S"),
        (["a", 1], "expected a JSON object"),
        ({"pk": "a", "sk": {"N": "one"}}, "not a valid N value"),
    ],
)
def test_a_key_that_does_not_fit_the_table_is_refused_naming_the_attribute(key: object, message: str) -> None:
    with pytest.raises(SelectionError, match=message):
        parse_key(key, COMPOSITE)


def test_typed_values_round_trip_to_plain_json() -> None:
    item = {
        "pk": to_typed("a"),
        "n": to_typed(1.5),
        "b": to_typed({"B": "aGk="}),
        "m": to_typed({"x": [1, True, None]}),
    }
    assert item["b"] == {"B": b"hi"}
    assert plain_item(item) == {"pk": "a", "n": 1.5, "b": "aGk=", "m": {"x": [1, True, None]}}


def test_ages_and_sizes_read_well() -> None:
    assert format_age(timedelta(days=2, hours=3, minutes=5)) == "2d 3h"
    assert format_age(timedelta(minutes=91)) == "1h 31m"
    assert format_age(timedelta(seconds=42)) == "42s"
    assert format_size(999) == "999 B"
    assert format_size(1_500_000_000) == "1.5 GB"


def test_a_home_region_tag_naming_no_replica_region_is_ignored_as_the_backup_function_does() -> None:
    status = assess_table(
        "orders", "daily", CONFIG, [], PITR_ON, NOW, region="us-west-2", replicas=("us-east-1",), home_tag="eu-west-9"
    )
    assert status.backups_region == "us-east-1" and status.flags == ()
