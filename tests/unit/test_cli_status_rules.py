"""What status calls a table (a drill, a restored copy, a table) and which flag kinds `--fail-on` selects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tablesafe.aws.tables import RestoredFrom
from tablesafe_cli.config import CliConfig
from tablesafe_cli.coverage import (
    DEFAULT_FAIL_ON,
    FlagKind,
    Kind,
    TableOrigin,
    assess_table,
    parse_fail_on,
    table_kind,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ORIGIN = RestoredFrom(backup_arn="arn:aws:dynamodb:us-east-1:1:table/orders/backup/1", table_arn=None, time=NOW,
                      in_progress=False)  # fmt: skip


@pytest.mark.parametrize(
    ("name", "tags", "restored", "kind"),
    [
        ("tablesafe-drill-orders-1", {"tablesafe:drill": "orders"}, ORIGIN, Kind.DRILL),
        ("tablesafe-drill-orders-1", {"tablesafe:drill-plan": "daily"}, None, Kind.TABLE),  # not the drill tag
        ("tablesafe-drill-orders-1", {"team": "shop"}, ORIGIN, Kind.RESTORED),  # the name alone is no drill
        ("tablesafe-drill-orders-1", None, None, Kind.TABLE),
        ("orders-copy", {"tablesafe:drill": "orders"}, None, Kind.TABLE),  # the tag alone neither
        ("orders-copy", None, ORIGIN, Kind.RESTORED),
        ("other-drill-orders-1", {"tablesafe:drill": "x"}, None, Kind.TABLE),  # another prefix's name
    ],
)
def test_a_drill_needs_name_and_tag_and_a_restored_table_its_restore_summary(name, tags, restored, kind):
    assert table_kind(name, "tablesafe", tags, restored) is kind


def test_an_untagged_copy_is_flagged_apart_from_an_unprotected_table():
    origin = TableOrigin(Kind.RESTORED, ORIGIN)
    copy = assess_table("orders-restored", None, CliConfig(), [], None, NOW, region="us-east-1", origin=origin)
    plain = assess_table("scratch", None, CliConfig(), [], None, NOW, region="us-east-1")
    assert [f.kind for f in copy.issues] == [FlagKind.UNTAGGED_COPY] and not copy.fails(DEFAULT_FAIL_ON)
    assert copy.as_dict()["restoredFrom"]["backupArn"] == ORIGIN.backup_arn and copy.as_dict()["kind"] == "restored"
    assert [f.kind for f in plain.issues] == [FlagKind.UNPROTECTED] and plain.fails(DEFAULT_FAIL_ON)
    assert copy.fails(parse_fail_on("all")) and not plain.fails(parse_fail_on("none"))


def test_fail_on_reads_a_list_all_or_none_and_refuses_the_rest():
    assert parse_fail_on("stale, pitr") == {FlagKind.STALE, FlagKind.PITR}
    assert parse_fail_on("all") == set(FlagKind) and parse_fail_on("none") == set()
    assert FlagKind.UNTAGGED_COPY not in DEFAULT_FAIL_ON  # restore leaves the plan tag off on purpose
    assert {FlagKind.UNPROTECTED, FlagKind.UNKNOWN_PLAN, FlagKind.STALE, FlagKind.PITR} <= DEFAULT_FAIL_ON
    for bad in ("", "stale,bogus", "all,stale"):
        with pytest.raises(ValueError, match="expected a comma-separated list of unprotected, unknown-plan"):
            parse_fail_on(bad)
