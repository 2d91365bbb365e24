"""The benchmark's own arithmetic and checks, and each scenario run at a tiny size on the in-process stand-in."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from tablesafe.backup.run import BackupReport
from tools.bench import cut, model, scenarios, status, status_org
from tools.bench.cloud import Cloud
from tools.bench.scenarios import Conditions, PruneSeed
from tools.bench.status import StatusSeed

FAST = Conditions(latency_ms=0.0, scale=100.0)  # documented limits x100: the rates are never what a tiny run waits on


@pytest.fixture
def cloud(standin):
    cloud = Cloud(standin)
    yield cloud
    cloud.tag_index.uninstall()  # the stand-in serves the next tests of this process, which change tags


def test_floors_follow_the_documented_rates():
    assert model.backup_floor(2500) == 50.0  # CreateBackup 50/s
    assert model.backup_floor(20_000, scale=5) == 80.0
    assert model.prune_floor(10_000) == 1000.0  # DeleteBackup 10/s: the daily prune of 10,000 tables
    assert model.listing_seconds(10_101) == pytest.approx(2020.2)  # ListBackups 5/s
    assert model.discovery_seconds(2500) == pytest.approx(24 / 15)  # 25 pages at 15/s, the first one at once


def test_minimum_calls_count_pages_as_aws_returns_them():
    assert model.backup_minimum(250) == {
        "PutItem": 1,  # the slot lease taken...
        "GetResources": 3,
        "ListBackups": 1,
        "CreateBackup": 250,
        "UpdateItem": 1,  # ...and released
    }
    assert model.backup_minimum(0)["GetResources"] == 1  # an empty answer is still one call
    assert model.get_resources_pages(100) == 1  # the last page carries an empty token
    assert model.list_backups_pages(180) == 2
    assert model.list_backups_pages(100) == 2  # a full last page still carries LastEvaluatedBackupArn
    assert model.prune_minimum(5000, 1000, 5000, min_keep=3) == {"ListBackups": 51 + 30, "DeleteBackup": 5000}
    assert model.prune_per_table_listing(5000, 1000, 5000) == 51 + 1000 + 5000


def test_status_floor_is_its_slowest_rate_limited_call():
    # 10,000 tables, 5,000 tagged with 35 backups each: PITR state (10/s) bounds it, the listing (5/s) does not
    assert model.status_floor(10_000, 5_000, 175_000, 50) == (1000.0, "DescribeContinuousBackups")
    assert model.status_bounds(10_000, 5_000, 175_000, 50)["ListBackups"] == pytest.approx(1751 / 5)
    assert model.status_floor(100, 100, 100 * 400, 0) == (pytest.approx(401 / 5), "ListBackups")  # 400 days each
    assert model.status_minimum(250, 100, 0, 3) == {
        "ListTables": 3,
        "GetResources": 1,
        "ListBackups": 1,  # an empty listing is one call
        "DescribeTable": 250,
        "DescribeContinuousBackups": 250,
        "ListTagsOfResource": 3,
        "GetFunctionConfiguration": 1,  # where the drill records are
        "ListProtectedResources": 1,  # AWS Backup protects none of them: one empty page
        "ListRecoveryPointsByResource": 0,
    }
    assert model.status_minimum(10, 10, 0, 0, protected=1500)["ListProtectedResources"] == 2  # 1,000 a page


def test_status_seed_mixes_tagged_pitr_and_global_tables():
    seed = StatusSeed(tables=20, tagged=10, days=3, pitr_every=4, global_every=4)

    assert len(seed.tagged_names()) == 10 and seed.backups == 30
    assert seed.pitr_names() == {"t00000", "t00004", "t00008", "t00012", "t00016"}
    assert seed.global_names() == {"t00002", "t00007", "t00010", "t00015", "t00018"}
    assert seed.tag_reads == 2  # the untagged global tables t00007 and t00015: their tags are not in GetResources


def test_the_status_check_names_missing_and_wrong_tables(cloud):
    seed = StatusSeed(tables=4, tagged=2, days=2, pitr_every=2, global_every=10)
    now = datetime.now(UTC)
    rows = [
        {"table": "t00000", "plan": "daily", "backups": 2, "pitr": {"enabled": True}, "replicas": [], "flagKinds": [],
         "rules": [{"lastBackupTime": seed.newest(now).isoformat()}]},
        {"table": "t00001", "plan": None, "backups": 0, "pitr": {"enabled": False}, "replicas": [],
         "flagKinds": ["unprotected"], "rules": []},
        {"table": "t00002", "plan": "daily", "backups": 1, "pitr": {"enabled": True}, "replicas": [], "flagKinds": [],
         "rules": [{"lastBackupTime": seed.newest(now).isoformat()}]},
    ]  # fmt: skip

    problems = status.check_status({"tables": rows}, seed, now)

    assert problems == [
        "1 tables are missing from the answer (first: ['t00003'])",
        "backups wrong for 1 tables (first: ['t00002'])",
    ]


def test_status_scenario_lists_every_table_as_seeded(cloud):
    seed = StatusSeed(tables=24, tagged=12, days=3, pitr_every=4, global_every=8)

    result = status.status(cloud, "tiny-status", seed=seed, conditions=FAST)

    assert result.problems == []  # every table with its plan, backups, last backup, PITR and replicas
    assert result.extra["exit_code"] == 1  # the untagged tables are flagged unprotected
    assert result.figures.calls["DescribeContinuousBackups"] == 24
    assert result.figures.refused == {}


def test_status_org_scenario_reaches_every_account_through_its_role(cloud):
    seed = StatusSeed(tables=6, tagged=3, days=2, pitr_every=2, global_every=4)

    result = status_org.status_org(cloud, "tiny-status-org", accounts=3, seed=seed, conditions=FAST)

    assert result.problems == []  # every account reached, each of its tables as seeded
    assert result.figures.calls["AssumeRole"] == 3
    assert result.figures.calls["DescribeContinuousBackups"] == 3 * 6


def test_tagged_tables_are_spread_evenly_through_the_names():
    names = scenarios.table_names(10)

    assert scenarios.tagged_subset(names, 5) == ["t00000", "t00002", "t00004", "t00006", "t00008"]
    assert scenarios.tagged_subset(names, 10) == names


def test_the_backup_check_names_missing_doubled_and_stray_tables():
    report = BackupReport("daily", "daily", None, "x")  # type: ignore[arg-type]

    problems = scenarios._check_backups(["a", "b", "c"], {"a": 1, "b": 2, "z": 1}, [report])

    assert any("1 tagged tables have no backup" in p and "'c'" in p for p in problems)
    assert any("more than one backup" in p and "'b'" in p for p in problems)
    assert any("untagged tables were backed up" in p and "'z'" in p for p in problems)


def test_prune_seed_expires_what_is_past_retention():
    seed = PruneSeed(tables=2, days=38)

    assert seed.expired_per_table == 3  # 35, 36 and 37 days (and 90 minutes) old
    assert PruneSeed(tables=1, days=36).expired_per_table == 1


@pytest.mark.parametrize(
    "tag_filters",
    [[{"Key": "backup-plan"}], [{"Key": "backup-plan", "Values": ["weekly"]}], [{"Key": "team"}], []],
)
def test_the_tag_index_answers_get_resources_page_for_page_as_the_stand_in_does(cloud, standin, tag_filters):
    plans = ["daily", "weekly", None]
    cloud.create_tables(
        [(f"t{i:03d}", {"backup-plan": plans[i % 3]} if plans[i % 3] else {"team": "x"}) for i in range(250)]
    )
    index = cloud.tag_index
    body = {"ResourceTypeFilters": ["dynamodb:table"], "TagFilters": tag_filters, "ResourcesPerPage": 40}
    pages = 0
    while True:
        ours = index.answer(standin.account_id, standin.region, body)
        theirs = index.original(standin.account_id, standin.region, body)
        assert ours == theirs
        pages += 1
        if not ours["PaginationToken"]:
            break
        body["PaginationToken"] = ours["PaginationToken"]
    assert pages > 1


def test_backup_scenario_backs_up_each_tagged_table_once(cloud):
    result = scenarios.backup(cloud, "tiny-backup", tables=30, tagged=12, conditions=FAST)

    assert result.problems == []
    assert result.figures.calls["CreateBackup"] == 12
    assert result.figures.minimum == {
        "PutItem": 1,
        "GetResources": 1,
        "ListBackups": 1,
        "CreateBackup": 12,
        "UpdateItem": 1,
    }
    assert (result.figures.calls["PutItem"], result.figures.calls["UpdateItem"]) == (1, 1)  # taken, released


def test_scale_scenario_continues_across_invocations_until_every_table_is_done(cloud):
    ticks = itertools.count()  # a clock that advances one second each time the run asks for the time left

    result = scenarios.backup(
        cloud,
        "tiny-scale",
        tables=12,
        tagged=12,
        conditions=FAST,
        budget=8.0,
        reserve=4.0,
        clock=lambda: float(next(ticks)),
    )

    assert result.problems == []  # every table exactly one backup, none failed
    assert result.extra["invocations"] >= 2


def test_two_region_scenario_backs_up_each_global_table_once_and_the_second_region_asks_only_shared_names(cloud):
    result = scenarios.two_region(cloud, "tiny-two-region", tables=12, global_tables=3, shared_names=2, conditions=FAST)

    assert result.problems == []  # global tables in the first region only, every regional table in its own
    assert result.figures.calls["DescribeTable"] == 5  # the 3 global and the 2 regional tables named alike
    assert result.figures.calls["ListTables"] == 1
    assert "DescribeTable" not in result.figures.minimum  # the first region never asks


def test_prune_scenario_deletes_exactly_the_expired_backups(cloud):
    result = scenarios.prune(cloud, "tiny-prune", seed=PruneSeed(tables=3, days=38), conditions=FAST)

    assert result.problems == []
    assert result.figures.calls == {"ListBackups": 4, "DeleteBackup": 9}


def test_retention_cut_scenario_clears_the_backlog_over_days_and_keeps_the_rest(cloud):
    # 900 expired backups; one invocation a day
    result = cut.retention_cut(
        cloud, "tiny-cut", seed=PruneSeed(tables=10, days=125), conditions=FAST, budget=5.0, reserve=0.2,
        invocations_a_day=1,
    )  # fmt: skip

    # The prune ran in a process of its own, so the memory check is the prune's, not the pytest worker's.
    assert result.problems == []
    assert 0 < result.extra["peak_mb"] < cut.MEMORY_TARGET_MB
    assert result.figures.calls["DeleteBackup"] >= 10 * 90
    assert result.figures.notes["backlog at each day's end"][-1] == 0


def test_naive_approaches_do_the_same_work(cloud):
    backup = scenarios.naive_backup_scenario(cloud, "naive-backup", tables=8, tagged=4, conditions=FAST)
    prune = scenarios.naive_prune_scenario(cloud, "naive-prune", seed=PruneSeed(tables=2, days=37), conditions=FAST)

    assert backup.problems == [] and backup.figures.calls["ListTagsOfResource"] == 8
    assert prune.problems == [] and prune.figures.calls["DeleteBackup"] == 4
