"""Retention: which backups a prune deletes, decided from the backups, the plans and the time alone."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import find, given, settings
from hypothesis import strategies as st

from tablesafe.aws.dynamodb import Backup
from tablesafe.config.plans import Plan, parse_plans
from tablesafe.rules.naming import manual_name, scheduled_name
from tablesafe.rules.retention import Decision, Verdict, decide, past_retention, shortest_retention

PREFIX = "tablesafe"
NOW = datetime(2026, 6, 30, 4, 30, tzinfo=UTC)
PLANS = parse_plans(
    {
        "daily": [
            {"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3},
            {"name": "monthly", "schedule": "cron(0 4 1 * ? *)", "retentionDays": 365, "minKeep": 2},
        ],
        "hourly": [{"name": "hourly", "schedule": "rate(1 hour)", "retentionDays": 2, "minKeep": 1}],
    }
)
_arns = itertools.count()
OLD_TABLE = "11111111-1111-4111-8111-111111111111"  # TableIds: `orders` deleted, then created again
NEW_TABLE = "22222222-2222-4222-8222-222222222222"


def backup(
    days_old: float,
    *,
    plan: str = "daily",
    rule: str = "daily",
    table: str = "orders",
    status: str = "AVAILABLE",
    backup_type: str = "USER",
    name: str | None = None,
    table_id: str | None = None,
) -> Backup:
    """A backup of `table` (the one with `table_id`) taken `days_old` days before NOW, named as the rule names it."""
    created = NOW - timedelta(days=days_old)
    return Backup(
        arn=f"arn:aws:dynamodb:eu-west-1:123456789012:table/{table}/backup/{next(_arns):017d}",
        name=name if name is not None else scheduled_name(PREFIX, plan, rule, created),
        table_name=table,
        created=created,
        status=status,
        backup_type=backup_type,
        size_bytes=1000,
        table_id=table_id,
    )


def verdicts(backups: list[Backup], plans: dict[str, Plan] | None = None) -> dict[str, Verdict]:
    return {d.backup.arn: d.verdict for d in decide(backups, PLANS if plans is None else plans, PREFIX, NOW)}


def daily_history(days: range, **kwargs: object) -> list[Backup]:
    return [backup(d, **kwargs) for d in days]  # type: ignore[arg-type]


def test_an_expired_backup_beyond_min_keep_is_deleted() -> None:
    # given a table backed up every day for 40 days (daily rule: 35 days, minKeep 3)
    history = daily_history(range(40))

    # when the prune decides
    result = verdicts(history)

    # then exactly the backups older than 35 days are deleted
    deleted = {b.arn for b in history if result[b.arn] is Verdict.DELETE}
    assert deleted == {b.arn for b in history if NOW - b.created > timedelta(days=35)}
    assert len(deleted) == 4


def test_a_backup_within_retention_is_kept_with_the_reason() -> None:
    young = backup(34.9)

    [decision] = decide([young, *daily_history(range(3))], PLANS, PREFIX, NOW)[:1]

    assert decision.verdict is Verdict.KEEP
    assert "within retention" in decision.reason
    assert (decision.plan, decision.rule) == ("daily", "daily")


def test_a_backup_exactly_retention_days_old_is_kept_and_one_second_older_is_deleted() -> None:
    newer = daily_history(range(3))
    at_boundary = backup(35)
    just_past = backup(35 + 1 / 86_400)

    result = verdicts([*newer, at_boundary, just_past])

    assert result[at_boundary.arn] is Verdict.KEEP
    assert result[just_past.arn] is Verdict.DELETE


def test_the_newest_min_keep_available_backups_are_kept_even_when_expired() -> None:
    # given a table whose backups stopped 100 days ago (untagged or deleted): five old backups
    history = daily_history(range(100, 105))

    result = verdicts(history)

    # then the newest three (minKeep) stay, the two oldest go
    kept = [b for b in history if result[b.arn] is Verdict.KEEP]
    assert sorted(b.created for b in kept) == sorted(b.created for b in history)[-3:]
    assert sum(v is Verdict.DELETE for v in result.values()) == 2


def test_two_copies_of_one_slot_count_once_towards_min_keep() -> None:
    # given backups that stopped 100 days ago, the newest slot holding two copies (overlapping manual re-runs)
    history = daily_history(range(100, 105))
    newest = history[0]
    copy = backup(100, name=newest.name)

    result = verdicts([*history, copy])

    # then minKeep=3 keeps three slots: both copies of the newest, and the next two slots
    kept = {b.name for b in [*history, copy] if result[b.arn] is Verdict.KEEP}
    assert kept == {b.name for b in history[:3]}
    assert result[copy.arn] is Verdict.KEEP and result[newest.arn] is Verdict.KEEP
    assert sum(v is Verdict.DELETE for v in result.values()) == 2


def test_a_deleted_table_keeps_its_last_min_keep_backups_forever() -> None:
    # given the last three backups of a table deleted years ago (DynamoDB keeps backups of deleted tables)
    history = daily_history(range(1000, 1003), table="gone")

    decisions = decide(history, PLANS, PREFIX, NOW)

    assert all(d.verdict is Verdict.KEEP for d in decisions)
    assert all("minKeep" in d.reason for d in decisions)


def test_creating_backups_do_not_count_towards_min_keep_and_are_never_deleted() -> None:
    # given three backups being created right now (and an old one being created: a stuck backup)
    creating = [backup(0.01 * i, status="CREATING") for i in range(3)]
    stuck = backup(50, status="CREATING")
    # and four expired available ones
    expired = daily_history(range(40, 44))

    result = verdicts([*creating, stuck, *expired])

    # then the CREATING ones are kept, and minKeep protects the three newest AVAILABLE ones, not the CREATING ones
    assert all(result[b.arn] is Verdict.KEEP for b in [*creating, stuck])
    assert [result[b.arn] for b in expired] == [Verdict.KEEP] * 3 + [Verdict.DELETE]


def test_deleted_status_backups_are_neither_deleted_nor_counted() -> None:
    already = daily_history(range(40, 43), status="DELETED")
    available = daily_history(range(50, 54))

    result = verdicts([*already, *available])

    assert all(result[b.arn] is Verdict.KEEP for b in already)
    assert [result[b.arn] for b in available] == [Verdict.KEEP] * 3 + [Verdict.DELETE]


def test_backups_of_a_plan_no_longer_configured_are_orphaned_not_deleted() -> None:
    history = daily_history(range(100, 110), plan="weekly", rule="weekly")

    decisions = decide(history, PLANS, PREFIX, NOW)

    assert {d.verdict for d in decisions} == {Verdict.ORPHANED}
    assert all("plan 'weekly' is no longer configured" in d.reason for d in decisions)
    assert {(d.plan, d.rule) for d in decisions} == {("weekly", "weekly")}


def test_backups_of_a_rule_removed_from_its_plan_are_orphaned_not_deleted() -> None:
    history = daily_history(range(100, 110), plan="daily", rule="weekly")

    decisions = decide(history, PLANS, PREFIX, NOW)

    assert {d.verdict for d in decisions} == {Verdict.ORPHANED}
    assert all("rule 'weekly' is no longer configured in plan 'daily'" in d.reason for d in decisions)


def test_foreign_manual_system_and_aws_backup_backups_are_never_touched() -> None:
    old = NOW - timedelta(days=900)
    foreign = [
        backup(900, name="nightly-orders-2024"),
        backup(900, name=scheduled_name("other", "daily", "daily", old)),
        backup(900, name=manual_name(PREFIX, old)),
        backup(900, name=scheduled_name(PREFIX, "daily", "daily", old), backup_type="SYSTEM"),
        backup(900, name=scheduled_name(PREFIX, "daily", "daily", old), backup_type="AWS_BACKUP"),
    ]

    decisions = decide(foreign, PLANS, PREFIX, NOW)

    assert [d.verdict for d in decisions] == [Verdict.FOREIGN] * 5
    assert "manual" in decisions[2].reason
    assert "SYSTEM" in decisions[3].reason


def test_foreign_backups_do_not_count_towards_min_keep() -> None:
    manual = [backup(0.5, name=manual_name(PREFIX, NOW - timedelta(hours=i))) for i in range(5)]
    ours = daily_history(range(40, 44))

    result = verdicts([*manual, *ours])

    assert [result[b.arn] for b in ours] == [Verdict.KEEP] * 3 + [Verdict.DELETE]


def test_each_rule_of_a_table_has_its_own_retention_and_min_keep() -> None:
    # given one table with a daily rule (35 d, minKeep 3) and a monthly rule (365 d, minKeep 2)
    daily = daily_history(range(0, 60, 2))
    monthly = [backup(30 * m + 1, rule="monthly") for m in range(15)]

    result = verdicts([*daily, *monthly])

    # then daily backups expire after 35 days, monthly ones after 365, and neither rule's backups protect the other's
    assert {b.arn for b in daily if result[b.arn] is Verdict.DELETE} == {
        b.arn for b in daily if NOW - b.created > timedelta(days=35)
    }
    assert {b.arn for b in monthly if result[b.arn] is Verdict.DELETE} == {
        b.arn for b in monthly if NOW - b.created > timedelta(days=365)
    }


def test_min_keep_counts_per_table() -> None:
    # given two tables: one with many fresh backups, one whose backups all expired
    fresh = daily_history(range(10), table="fresh")
    stale = daily_history(range(40, 43), table="stale")

    result = verdicts([*fresh, *stale])

    # then the stale table keeps its newest three: another table's backups do not count for it
    assert all(result[b.arn] is Verdict.KEEP for b in stale)


def test_a_re_created_table_of_the_same_name_does_not_push_the_deleted_tables_last_backups_out() -> None:
    # given `orders` deleted with its last backups 50-60 days old, and a new `orders` backed up daily for 40 days
    old = daily_history(range(50, 61), table_id=OLD_TABLE)
    new = daily_history(range(40), table_id=NEW_TABLE)

    result = verdicts([*old, *new])

    # then each table keeps its own newest three: the deleted table's 50, 51 and 52 days old stay for good
    assert [result[b.arn] for b in old] == [Verdict.KEEP] * 3 + [Verdict.DELETE] * 8
    assert {b.arn for b in new if result[b.arn] is Verdict.DELETE} == {b.arn for b in new[36:]}


def test_the_issue_s_three_last_backups_of_a_deleted_table_are_all_kept() -> None:
    old = daily_history(range(50, 53), table_id=OLD_TABLE)
    new = daily_history(range(40), table_id=NEW_TABLE)

    decisions = decide([*new, *old], PLANS, PREFIX, NOW)

    kept = [d for d in decisions if d.backup in old]
    assert [d.verdict for d in kept] == [Verdict.KEEP] * 3
    assert all("minKeep" in d.reason for d in kept)


def test_a_backup_whose_table_id_is_unknown_is_neither_pushed_out_by_nor_protects_a_known_table() -> None:
    # given a name's old backups from an answer without TableId, and a known table's 40 daily backups
    unknown = daily_history(range(50, 53))
    known = daily_history(range(40), table_id=NEW_TABLE)

    result = verdicts([*unknown, *known])

    # then the unknown ones count among themselves (kept by minKeep), and the known table prunes as on its own
    assert all(result[b.arn] is Verdict.KEEP for b in unknown)
    assert {b.arn for b in known if result[b.arn] is Verdict.DELETE} == {b.arn for b in known[36:]}
    assert result == verdicts(unknown) | verdicts(known)


def test_a_backup_listed_twice_is_decided_once_and_does_not_fill_min_keep_twice() -> None:
    history = daily_history(range(40, 44))
    newest = history[0]

    decisions = decide([newest, *history, newest], PLANS, PREFIX, NOW)

    assert len(decisions) == 4
    assert [d.verdict for d in decisions] == [Verdict.KEEP] * 3 + [Verdict.DELETE]


def test_the_deletion_reason_says_age_retention_and_newer_count() -> None:
    history = daily_history(range(40, 44))

    delete = next(d for d in decide(history, PLANS, PREFIX, NOW) if d.verdict is Verdict.DELETE)

    assert delete.reason == "expired: 43.00 days old, retention 35 days, 3 newer available"
    assert delete.age_days(NOW) == 43


def test_past_retention_ignores_min_keep_but_not_status_name_or_configuration() -> None:
    assert past_retention(backup(36), PLANS, PREFIX, NOW)
    assert not past_retention(backup(34), PLANS, PREFIX, NOW)
    assert not past_retention(backup(36, status="CREATING"), PLANS, PREFIX, NOW)
    assert not past_retention(backup(36, plan="weekly", rule="weekly"), PLANS, PREFIX, NOW)
    assert not past_retention(backup(36, name=manual_name(PREFIX, NOW - timedelta(days=36))), PLANS, PREFIX, NOW)
    assert not past_retention(backup(36, backup_type="SYSTEM"), PLANS, PREFIX, NOW)


def test_shortest_retention_is_the_minimum_over_every_rule_of_every_plan() -> None:
    assert shortest_retention(PLANS) == timedelta(days=2)


# -- properties ----------------------------------------------------------------------------------------------------

NAMES = [("daily", "daily"), ("daily", "monthly"), ("hourly", "hourly"), ("weekly", "weekly"), ("daily", "gone")]
backups_strategy = st.lists(
    st.builds(
        lambda days, which, table, table_id, status, kind: backup(
            days,
            plan=NAMES[which][0],
            rule=NAMES[which][1],
            table=table,
            table_id=table_id,
            status=status,
            **kind,
        ),
        days=st.floats(min_value=-1, max_value=800, allow_nan=False),
        which=st.integers(min_value=0, max_value=len(NAMES) - 1),
        table=st.sampled_from(["a", "b", "c"]),
        table_id=st.sampled_from([None, OLD_TABLE, NEW_TABLE]),  # a name re-used, and answers without a TableId
        status=st.sampled_from(["AVAILABLE", "AVAILABLE", "AVAILABLE", "CREATING", "DELETED"]),
        kind=st.sampled_from(
            [
                {},
                {},
                {},
                {"backup_type": "SYSTEM"},
                {"backup_type": "AWS_BACKUP"},
                {"name": "someone-elses-backup"},
                {"name": manual_name(PREFIX, NOW)},
                {"name": "other.daily.daily.20260101T0300Z"},
            ]
        ),
    ),
    max_size=60,
)
props = settings(max_examples=300, deadline=None)


def _deleted(decisions: list[Decision[Backup]]) -> list[Decision[Backup]]:
    return [d for d in decisions if d.verdict is Verdict.DELETE]


@props
@given(backups_strategy)
def test_property_never_deletes_a_backup_within_its_rules_retention(backups: list[Backup]) -> None:
    for decision in _deleted(decide(backups, PLANS, PREFIX, NOW)):
        rule = PLANS[decision.plan].rule(decision.rule)
        assert rule is not None
        assert NOW - decision.backup.created > rule.retention


@props
@given(backups_strategy)
def test_property_always_keeps_the_newest_min_keep_available_per_table_plan_and_rule(backups: list[Backup]) -> None:
    decisions = decide(backups, PLANS, PREFIX, NOW)
    groups: dict[tuple[str, str, str], list[Decision[Backup]]] = defaultdict(list)
    for d in decisions:
        if d.backup.status == "AVAILABLE" and d.verdict in (Verdict.KEEP, Verdict.DELETE):
            groups[(d.backup.table_name, d.plan, d.rule)].append(d)
    for (_, plan, rule_name), members in groups.items():
        rule = PLANS[plan].rule(rule_name)
        assert rule is not None
        for gone in _deleted(members):
            # at least minKeep available backups at least as new as a deleted one are kept
            newer_kept = [
                d
                for d in members
                if d is not gone and d.verdict is Verdict.KEEP and d.backup.created >= gone.backup.created
            ]
            assert len(newer_kept) >= rule.min_keep
        kept = [d for d in members if d.verdict is Verdict.KEEP]
        assert len(kept) >= min(rule.min_keep, len(members))


@props
@given(backups_strategy)
def test_property_never_deletes_a_foreign_unconfigured_or_unavailable_backup(backups: list[Backup]) -> None:
    for decision in _deleted(decide(backups, PLANS, PREFIX, NOW)):
        b = decision.backup
        assert b.backup_type == "USER"
        assert b.status == "AVAILABLE"
        assert b.name.startswith(f"{PREFIX}.{decision.plan}.{decision.rule}.")
        assert decision.plan in PLANS and PLANS[decision.plan].rule(decision.rule) is not None


@props
@given(backups_strategy, st.randoms(use_true_random=False))
def test_property_the_decision_does_not_depend_on_the_order_of_the_listing(
    backups: list[Backup], rnd: random.Random
) -> None:
    shuffled = list(backups)
    rnd.shuffle(shuffled)

    first = {d.backup.arn: d.verdict for d in decide(backups, PLANS, PREFIX, NOW)}
    second = {d.backup.arn: d.verdict for d in decide(shuffled, PLANS, PREFIX, NOW)}

    assert first == second


@props
@given(backups_strategy)
def test_property_only_a_backup_past_retention_can_be_deleted(backups: list[Backup]) -> None:
    for decision in _deleted(decide(backups, PLANS, PREFIX, NOW)):
        assert past_retention(decision.backup, PLANS, PREFIX, NOW)


@props
@given(backups_strategy)
def test_property_each_table_of_a_name_keeps_its_own_newest_min_keep(backups: list[Backup]) -> None:
    decisions = decide(backups, PLANS, PREFIX, NOW)
    groups: dict[tuple[str, str | None, str, str], list[Decision[Backup]]] = defaultdict(list)
    for d in decisions:
        if d.backup.status == "AVAILABLE" and d.verdict in (Verdict.KEEP, Verdict.DELETE):
            groups[(d.backup.table_name, d.backup.table_id, d.plan, d.rule)].append(d)
    for (_, _, plan, rule_name), members in groups.items():
        rule = PLANS[plan].rule(rule_name)
        assert rule is not None
        for gone in _deleted(members):
            newer_kept = [d for d in members if d.verdict is Verdict.KEEP and d.backup.created >= gone.backup.created]
            assert len({d.backup.name for d in newer_kept}) >= rule.min_keep


@props
@given(backups_strategy)
def test_property_table_ids_never_delete_more_than_grouping_by_name(backups: list[Backup]) -> None:
    by_name = [replace(b, table_id=None) for b in backups]

    with_ids = {d.backup.arn for d in _deleted(decide(backups, PLANS, PREFIX, NOW))}
    names_only = {d.backup.arn for d in _deleted(decide(by_name, PLANS, PREFIX, NOW))}

    assert with_ids <= names_only


def test_the_properties_above_see_deletions_so_they_cannot_hold_vacuously() -> None:
    # They assert about every deleted backup: were the strategy never to yield one, they would check nothing.
    found = find(
        backups_strategy,
        lambda backups: len(_deleted(decide(backups, PLANS, PREFIX, NOW))) >= 2,
        # the same search on every run, and no deadline: a loaded machine must not cut the search short
        settings=settings(max_examples=5000, derandomize=True, database=None, deadline=None),
    )

    assert len(_deleted(decide(found, PLANS, PREFIX, NOW))) >= 2
