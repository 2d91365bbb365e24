"""Drill table names and the deletion fence: valid for any source table, the same in every run, fenced twice."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from tablesafe.drill import names

TABLE_NAME = re.compile(r"^[a-zA-Z0-9_.-]{3,255}$")  # API_CreateTable
ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/backup/01796172899594-e7c7b92e"
source_names = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", min_size=3, max_size=255
)
prefixes = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=32)


@given(prefix=prefixes, source=source_names, backup=st.text(min_size=1, max_size=400))
def test_every_drill_table_name_is_a_valid_table_name_under_the_drill_prefix(
    prefix: str, source: str, backup: str
) -> None:
    name = names.drill_table_name(prefix, source, backup)
    assert TABLE_NAME.match(name)
    assert name.startswith(f"{prefix}-drill-")


def test_the_name_is_the_same_in_every_run_and_differs_per_backup_and_per_table() -> None:
    assert names.drill_table_name("tablesafe", "orders", ARN) == names.drill_table_name("tablesafe", "orders", ARN)
    assert names.drill_table_name("tablesafe", "orders", ARN) != names.drill_table_name(
        "tablesafe", "orders", ARN + "x"
    )
    long_a, long_b = "a" * 250 + "1", "a" * 250 + "2"  # the same once cut: the hash keeps them apart
    assert names.drill_table_name("tablesafe", long_a, ARN) != names.drill_table_name("tablesafe", long_b, ARN)


def test_the_fence_needs_both_the_prefix_and_the_drill_tag() -> None:
    drill = names.drill_table_name("tablesafe", "orders", ARN)
    assert names.is_ours(drill, {names.TAG_DRILL: "orders"}, "tablesafe")
    assert not names.is_ours(drill, {}, "tablesafe")  # a user's table named like ours
    assert not names.is_ours(drill, {names.TAG_DRILL: ""}, "tablesafe")
    assert not names.is_ours("orders", {names.TAG_DRILL: "orders"}, "tablesafe")  # a user's table tagged like ours
    assert not names.is_ours(drill, {names.TAG_DRILL: "orders"}, "other")


def test_tag_values_hold_only_what_aws_allows_and_at_most_256_characters() -> None:
    value = names.tag_value("restore refused: 'KMS' (key) is disabled, 100% sure; " * 10)
    assert len(value) <= 256
    assert re.fullmatch(r"[\w\s.:/=+\-@]*", value)
    assert names.backup_id(ARN) == "01796172899594-e7c7b92e"
