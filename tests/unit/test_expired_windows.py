"""The expired windows cover [oldest, cutoff) exactly once, whatever order ListBackups answers in, none larger than
an invocation can take, resuming at a cursor, and jumping gaps in a few calls."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from tablesafe.aws.dynamodb import Backup
from tablesafe.prune.expired import MAX_BACKUPS, ExpiredWindows, Window
from tests.unit.test_recent import Account

CUTOFF = datetime(2026, 5, 26, 4, 30, tzinfo=UTC)


def made_at(*moments: datetime) -> list[Backup]:
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/t/backup/"
    return [Backup(f"{arn}{i:07d}", f"b{i}", "t", when, "AVAILABLE", "USER") for i, when in enumerate(moments)]


def walk(account: Account, cursor: datetime | None = None, stop_after: int | None = None) -> list[Window]:
    windows = ExpiredWindows(account, CUTOFF, cursor)  # type: ignore[arg-type]
    walked: list[Window] = []
    while (window := windows.next()) is not None and (stop_after is None or len(walked) < stop_after):
        walked.append(window)
        windows.advance(window)
    return walked


def assert_covers_once(windows: list[Window], backups: list[Backup], cursor: datetime | None = None) -> None:
    expected = sorted(b.arn for b in backups if b.created < CUTOFF and (cursor is None or b.created >= cursor))
    assert sorted(b.arn for w in windows for b in w.backups) == expected  # each exactly once
    for before, after in itertools.pairwise(windows):
        assert before.end == after.start  # consecutive: nothing falls between two windows
    for window in windows:
        assert all(window.holds(b) for b in window.backups)


def test_daily_backups_of_years_are_covered_exactly_once_in_windows_an_invocation_can_take() -> None:
    days = [CUTOFF - timedelta(days=d, hours=1, seconds=i % 60) for d in range(1, 700) for i in range(30)]
    backups = made_at(*days, CUTOFF, CUTOFF + timedelta(days=1))
    account = Account(backups)

    windows = walk(account)

    assert_covers_once(windows, backups)
    assert windows[-1].end == CUTOFF
    assert max(len(w.backups) for w in windows) <= MAX_BACKUPS
    assert sum(len(w.backups) for w in windows) / len(windows) > 400  # about a thousand, not a day each


def test_a_small_account_is_one_window_from_the_first_look_ahead() -> None:
    backups = made_at(*(CUTOFF - timedelta(days=d) for d in range(1, 120)))
    account = Account(backups)

    windows = walk(account)

    assert [len(w.backups) for w in windows] == [119]
    assert account.listings == [(None, CUTOFF)]


def test_a_cluster_denser_than_a_window_allows_is_dropped_and_listed_again_narrower() -> None:
    burst = CUTOFF - timedelta(days=3)
    backups = made_at(*(burst + timedelta(seconds=i / 4) for i in range(12_000)))  # 12,000 in fifty minutes
    account = Account(backups)

    windows = walk(account)

    assert_covers_once(windows, backups)
    assert max(len(w.backups) for w in windows) <= MAX_BACKUPS


def test_a_gap_of_years_between_old_kept_backups_and_the_rest_is_jumped_in_a_few_calls() -> None:
    old = [datetime(2019, 1, 1, tzinfo=UTC), datetime(2021, 6, 1, tzinfo=UTC)]
    recent = [CUTOFF - timedelta(days=d, hours=1) for d in range(1, 30) for _ in range(20)]
    backups = made_at(*old, *recent)
    account = Account(backups)

    windows = walk(account)

    assert_covers_once(windows, backups)
    assert len(account.listings) <= 12


def test_a_continuation_resumes_at_its_cursor_and_lists_nothing_before_it() -> None:
    backups = made_at(*(CUTOFF - timedelta(days=d, minutes=m) for d in range(1, 400) for m in range(0, 60, 10)))
    account = Account(backups)
    first = walk(account, stop_after=2)
    cursor = first[-1].end

    again = Account(backups)
    rest = walk(again, cursor)

    assert_covers_once(first + rest, backups)
    assert again.listings and all(start is not None and start >= cursor for start, _ in again.listings)
    assert rest[0].start == cursor


def test_nothing_before_the_cutoff_is_one_empty_window_and_the_walk_is_done() -> None:
    account = Account(made_at(CUTOFF, CUTOFF + timedelta(hours=5)))

    assert [len(w.backups) for w in walk(account)] == [0]
