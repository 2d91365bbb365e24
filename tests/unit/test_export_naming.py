"""Export prefixes: what the run writes, the CLI and the pruning read back; anything else is not tablesafe's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tablesafe.rules.export_naming import ExportSlot, account_of_arn, export_id_of, parse_slot_prefix

SLOT = ExportSlot("123456789012", "eu-west-1", "orders.v2", "gfs", "monthly", datetime(2026, 1, 1, 4, 0, tzinfo=UTC))


def test_the_prefix_names_account_region_table_plan_rule_and_slot() -> None:
    assert SLOT.prefix == "tablesafe/123456789012/eu-west-1/orders.v2/gfs/monthly/20260101T0400Z"
    assert SLOT.settings_key == f"{SLOT.prefix}/tablesafe-table.json"


def test_a_prefix_and_any_key_under_it_read_back_as_the_slot() -> None:
    assert parse_slot_prefix(SLOT.prefix) == SLOT
    assert parse_slot_prefix(f"{SLOT.prefix}/AWSDynamoDB/0123-ab/data/x.json.gz") == SLOT


@pytest.mark.parametrize(
    "key",
    [
        "other/123456789012/eu-west-1/orders/gfs/monthly/20260101T0400Z",
        "tablesafe/1234/eu-west-1/orders/gfs/monthly/20260101T0400Z",
        "tablesafe/123456789012/eu-west-1/orders/gfs/monthly/20261301T0400Z",
        "tablesafe/123456789012/eu-west-1/orders/gfs/monthly/20260101T0400Zextra",
        "tablesafe/123456789012/eu-west-1/orders/gfs/20260101T0400Z",
    ],
)
def test_keys_that_are_not_an_export_slot_are_not_ours(key: str) -> None:
    assert parse_slot_prefix(key) is None


def test_the_export_id_is_the_folder_under_the_slots_awsdynamodb() -> None:
    assert export_id_of(f"{SLOT.prefix}/AWSDynamoDB/01234567890123-a1b2c3d4/", SLOT) == "01234567890123-a1b2c3d4"
    assert export_id_of(f"{SLOT.prefix}/tablesafe-table.json", SLOT) is None


def test_the_client_token_is_the_same_for_a_slot_and_new_after_a_failure() -> None:
    again = ExportSlot(SLOT.account, SLOT.region, SLOT.table, SLOT.plan, SLOT.rule, SLOT.slot)
    other = ExportSlot(SLOT.account, "us-east-1", SLOT.table, SLOT.plan, SLOT.rule, SLOT.slot)

    assert SLOT.client_token() == again.client_token()
    assert SLOT.client_token() != SLOT.client_token(attempt=1) and SLOT.client_token() != other.client_token()
    assert len(SLOT.client_token()) <= 64


def test_the_account_comes_from_the_tables_arn() -> None:
    assert account_of_arn("arn:aws:dynamodb:eu-west-1:123456789012:table/orders") == "123456789012"
    with pytest.raises(ValueError, match="account"):
        account_of_arn("orders")
