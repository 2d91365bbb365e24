"""Schedule expressions: what EventBridge Scheduler accepts, and the longest gap between two runs."""

from __future__ import annotations

import calendar
import itertools
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tablesafe.config.schedule_expr import parse_schedule

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("expression", "interval"),
    [
        ("cron(0 3 * * ? *)", DAY),
        ("cron(0 * * * ? *)", HOUR),
        ("cron(0/15 * * * ? *)", 15 * MINUTE),
        ("cron(*/15 * * * ? *)", 15 * MINUTE),
        ("cron(* * * * ? *)", MINUTE),
        ("cron(0 3,15 * * ? *)", 12 * HOUR),
        ("cron(0 2 ? * SUN *)", 7 * DAY),
        ("cron(0 2 ? * 1 *)", 7 * DAY),
        ("cron(0 2 ? * sun *)", 7 * DAY),
        ("cron(0 9 ? * MON-FRI *)", 3 * DAY),
        ("cron(0 3 ? * WED *)", 7 * DAY),  # a day name holding a W is not the W of day-of-month
        ("cron(0 3 ? * MON,WED,FRI *)", 3 * DAY),
        ("cron(0 0/1 * * ? *)", HOUR),  # "0/1": every hour from 0, not hour 0 alone
        ("cron(30 9/1 * * ? *)", 10 * HOUR),  # 23:30 -> 09:30
        ("cron(0/30 9-17 ? * MON-FRI *)", 2 * DAY + 15 * HOUR + 30 * MINUTE),  # Friday 17:30 -> Monday 09:00
        ("cron(0 4 1 * ? *)", 31 * DAY),
        ("cron(0 4 L * ? *)", 31 * DAY),
        ("cron(0 4 31 * ? *)", 61 * DAY),  # 31 May -> 31 July
        ("cron(0 4 1 JAN,JUL ? *)", 184 * DAY),  # 1 July -> 1 January
        ("cron(0 4 1 1,7 ? *)", 184 * DAY),
        ("cron(0 4 ? * 6#3 *)", 35 * DAY),  # third Friday: four or five weeks apart
        ("cron(0 4 ? * 6L *)", 35 * DAY),  # last Friday
        ("cron(0 4 ? * FRIL *)", 35 * DAY),
        ("cron(0 12 ? * L *)", 7 * DAY),  # AWS: L alone in day-of-week is the last day of the week, Saturday
        ("cron(0 9 29 2 ? *)", 1461 * DAY),  # leap days only: four years apart
        ("cron(0 3 * * ? 2030)", DAY),
        ("rate(1 minute)", MINUTE),
        ("rate(5 minutes)", 5 * MINUTE),
        ("rate(1 hour)", HOUR),
        ("rate(12 hours)", 12 * HOUR),
        ("rate(1 day)", DAY),
        ("rate(7 days)", 7 * DAY),
    ],
)
def test_the_interval_is_the_longest_gap_between_two_runs(expression: str, interval: timedelta) -> None:
    schedule = parse_schedule(expression)

    assert schedule.expression == expression
    assert schedule.interval == interval


def test_surrounding_blanks_are_dropped_from_the_expression() -> None:
    assert parse_schedule("  cron(0 3 * * ? *)\n").expression == "cron(0 3 * * ? *)"


def test_the_interval_does_not_depend_on_todays_date() -> None:
    # The functions parse plans at every cold start: a clock-dependent answer would change alarms between deploys and
    # could start rejecting a plan that synthesized. A past year is taken as written, as Scheduler would take it.
    assert parse_schedule("cron(0 3 * * ? 2020-2021)").interval == DAY


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("cron(0 3 * * *)", "a cron expression has 6 fields, this one has 5"),
        ("cron(0 3 * * ? * *)", "a cron expression has 6 fields, this one has 7"),
        ("cron(0 3 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 3 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 3 1 * MON *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(60 3 * * ? *)", "minutes: '60' is not a value from 0 to 59"),
        ("cron(0 24 * * ? *)", "hours: '24' is not a value from 0 to 23"),
        ("cron(0 3 0 * ? *)", "day-of-month: '0' is not a value from 1 to 31"),
        ("cron(0 3 32 * ? *)", "day-of-month: '32' is not a value from 1 to 31"),
        ("cron(0 3 1 13 ? *)", "month: '13' is not a value from 1 to 12"),
        ("cron(0 3 1 JANUARY ? *)", "month: 'JANUARY' is not a value from 1 to 12"),
        ("cron(0 3 ? * 0 *)", "day-of-week: '0' is not a value from 1 to 7"),
        ("cron(0 3 ? * 8 *)", "day-of-week: '8' is not a value from 1 to 7"),
        ("cron(0 3 * * ? 1969)", "year: '1969' is not a value from 1970 to 2199"),
        ("cron(0 3 * * ? 2200)", "year: '2200' is not a value from 1970 to 2199"),
        ("cron(MON 3 * * ? *)", "minutes: 'MON' is not a value from 0 to 59"),
        ("cron(-5 3 * * ? *)", "minutes: '' is not a value"),
        ("cron(\u0663 3 * * ? *)", "minutes: '\u0663' is not a value"),  # an Arabic-Indic three is not a digit to AWS
        ("cron(*/0 3 * * ? *)", "minutes: step '0' must be a positive number"),
        ("cron(0/x 3 * * ? *)", "minutes: step 'x' must be a positive number"),
        ("cron(0/ 3 * * ? *)", "minutes: step '' must be a positive number"),
        ("cron(30-10 3 * * ? *)", "minutes: range '30-10' runs backwards"),
        ("cron(0 3 ? * FRI-MON *)", "day-of-week: range 'FRI-MON' runs backwards"),
        ("cron(0 3 ? * 6#6 *)", "day-of-week '6#6': expected d#n (1 <= n <= 5) or dL"),
        ("cron(0 3 ? * 3#1,6#3 *)", "day-of-week '3#1,6#3'"),  # AWS allows one expression with '#'
        ("cron(0 3 ? * XYZ#1 *)", "day-of-week 'XYZ': expected 1-7 or SUN-SAT"),
        ("cron(0 3 0W * ? *)", "day-of-month '0W': expected L, L-n, LW or nW"),
        ("cron(0 3 32W * ? *)", "day-of-month '32W'"),
        ("cron(0 3 L-31 * ? *)", "day-of-month 'L-31'"),
        ("cron(0 3 1,L * ? *)", "day-of-month '1,L'"),
        ("cron(0 3 30 2 ? *)", "this cron expression never runs"),
        ("cron(0 3 31 APR,JUN,SEP,NOV ? *)", "this cron expression never runs"),
        ("cron(0 3 1 1 ? 2030)", "this cron expression runs only once"),
        ("rate(0 minutes)", "a rate value must be at least 1"),
        ("rate(0 minute)", "a rate value must be at least 1"),
        ("rate(1 days)", "use a singular unit for a rate of 1 and a plural unit otherwise"),
        ("rate(1 hours)", "use a singular unit for a rate of 1"),
        ("rate(5 minute)", "use a singular unit for a rate of 1 and a plural unit otherwise"),
        ("rate(99999999999 days)", "too large"),
        ("rate(2 weeks)", "expected cron("),
        ("rate(-1 days)", "expected cron("),
        ("rate(1.5 hours)", "expected cron("),
        ("rate(5minutes)", "expected cron("),
        ("rate(\u0665 minutes)", "expected cron("),
        ("at(2026-11-27T03:00:00)", "expected cron(minutes hours day-of-month month day-of-week year) or rate(N unit)"),
        ("0 3 * * ? *", "expected cron("),
        ("", "expected cron("),
    ],
)
def test_a_bad_expression_is_rejected_with_what_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_schedule(expression)

    assert message in str(caught.value)


UNIT = {"minute": MINUTE, "hour": HOUR, "day": DAY}


@settings(max_examples=200, deadline=None)
@given(value=st.integers(min_value=1, max_value=10**6), unit=st.sampled_from(sorted(UNIT)))
def test_a_rate_runs_every_value_times_unit(value: int, unit: str) -> None:
    expression = f"rate({value} {unit}{'' if value == 1 else 's'})"

    assert parse_schedule(expression).interval == value * UNIT[unit]


# --- An independent oracle: enumerate every minute, keep those the expression names, measure the longest gap. ---

AWS_DAYS = {name: number for number, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}


def oracle_values(spec: str, low: int, high: int) -> set[int]:
    """Values of a plain cron field (numbers, day names, *, ranges, steps, lists)."""
    values: set[int] = set()
    for part in spec.split(","):
        base, _, step = part.partition("/")
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first, last = (AWS_DAYS.get(x) or int(x) for x in base.split("-"))
        else:
            first = AWS_DAYS.get(base) or int(base)
            last = high if step else first
        values.update(range(first, last + 1, int(step or 1)))
    return values


def brute_force_longest_gap(expression: str, start: datetime, days: int) -> timedelta:
    """Walk minute by minute from `start` for `days` days; the longest gap between two consecutive runs."""
    minutes, hours, dom, months, dow, _ = expression.removeprefix("cron(").removesuffix(")").split()
    minute_set, hour_set = oracle_values(minutes, 0, 59), oracle_values(hours, 0, 23)
    month_set = oracle_values(months, 1, 12)
    dom_set = None if dom == "?" else oracle_values(dom, 1, 31)
    dow_set = None if dow == "?" else oracle_values(dow, 1, 7)
    runs = []
    for offset in range(days * 24 * 60):
        t = start + timedelta(minutes=offset)
        aws_weekday = t.isoweekday() % 7 + 1  # SUN=1 .. SAT=7
        if (
            t.minute in minute_set
            and t.hour in hour_set
            and t.month in month_set
            and (dom_set is None or t.day in dom_set)
            and (dow_set is None or aws_weekday in dow_set)
        ):
            runs.append(t)
    return max(b - a for a, b in itertools.pairwise(runs))


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0/30 9-17 ? * MON-FRI *)",
        "cron(*/7 * * * ? *)",
        "cron(5,35 */6 * * ? *)",
        "cron(10-20/5 8,20 * * ? *)",
        "cron(45 23 ? * TUE,THU *)",
        "cron(0 0-5/2,22 * * ? *)",
        "cron(59 23 ? * SUN,SAT *)",
        "cron(3/20 1-3 ? * 2-6 *)",
        "cron(15 4/9 * * ? *)",
    ],
)
def test_the_interval_matches_a_minute_by_minute_walk(expression: str) -> None:
    # Three weeks hold every gap a schedule that repeats each week can have.
    expected = brute_force_longest_gap(expression, datetime(2026, 3, 2), days=21)

    assert parse_schedule(expression).interval == expected


def minute_or_hour_field(high: int) -> st.SearchStrategy[str]:
    """Random plain cron fields: lists of values, ranges and steps."""
    value = st.integers(0, high)
    part = st.one_of(
        value.map(str),
        st.integers(1, high + 1).map(lambda step: f"*/{step}"),
        st.tuples(value, st.integers(1, high + 1)).map(lambda vs: f"{vs[0]}/{vs[1]}"),
        st.tuples(value, value).map(lambda vs: f"{min(vs)}-{max(vs)}"),
        st.tuples(value, value, st.integers(1, 30)).map(lambda vs: f"{min(vs[:2])}-{max(vs[:2])}/{vs[2]}"),
    )
    return st.lists(part, min_size=1, max_size=3).map(",".join)


day_of_week_field = st.one_of(
    st.just("*"),
    st.lists(st.sampled_from(sorted(AWS_DAYS)), min_size=1, max_size=3, unique=True).map(",".join),
    st.tuples(st.integers(1, 7), st.integers(1, 7)).map(lambda vs: f"{min(vs)}-{max(vs)}"),
)


@settings(max_examples=50, deadline=None)
@given(minutes=minute_or_hour_field(59), hours=minute_or_hour_field(23), dow=day_of_week_field)
def test_random_minute_and_hour_fields_match_the_minute_by_minute_walk(minutes: str, hours: str, dow: str) -> None:
    expression = f"cron({minutes} {hours} ? * {dow} *)"

    expected = brute_force_longest_gap(expression, datetime(2026, 3, 2), days=15)

    assert parse_schedule(expression).interval == expected


# --- A second oracle for L, W and #: walk day by day over two 28-year calendar cycles. ---


def closest_weekday(year: int, month: int, target: int) -> int:
    """The Monday-to-Friday day of the same month closest to `target`."""
    last = calendar.monthrange(year, month)[1]
    weekdays = [d for d in range(1, last + 1) if date(year, month, d).weekday() < 5]
    return min(weekdays, key=lambda d: abs(d - target))


def day_matches(day: date, dom: str, dow: str) -> bool:
    """Whether `day` is named by the special day-of-month or day-of-week form, read straight from AWS's wording."""
    last = calendar.monthrange(day.year, day.month)[1]
    aws_weekday = day.isoweekday() % 7 + 1
    same_weekday = [d for d in range(1, last + 1) if date(day.year, day.month, d).isoweekday() % 7 + 1 == aws_weekday]
    if dom == "L":
        return day.day == last
    if dom.startswith("L-"):
        return day.day == last - int(dom[2:])
    if dom == "LW":
        return day.day == closest_weekday(day.year, day.month, last)
    if dom.endswith("W"):
        return int(dom[:-1]) <= last and day.day == closest_weekday(day.year, day.month, int(dom[:-1]))
    if dow == "L":
        return aws_weekday == 7
    if dow.endswith("L"):
        return aws_weekday == int(dow[:-1]) and day.day == same_weekday[-1]
    wanted, nth = dow.split("#")
    return aws_weekday == int(wanted) and len(same_weekday) >= int(nth) and day.day == same_weekday[int(nth) - 1]


def day_by_day_longest_gap(dom: str, months: str, dow: str) -> timedelta:
    month_set = oracle_values(
        months.replace("JAN", "1").replace("APR", "4").replace("JUL", "7").replace("OCT", "10"), 1, 12
    )
    start = date(2001, 1, 1)
    runs = [
        d
        for d in (start + timedelta(days=i) for i in range((date(2057, 1, 1) - start).days))
        if d.month in month_set and day_matches(d, dom, dow)
    ]
    return max(b - a for a, b in itertools.pairwise(runs))


@pytest.mark.parametrize(
    ("dom", "months", "dow"),
    [
        ("L", "*", "?"),
        ("L-3", "*", "?"),
        ("LW", "*", "?"),
        ("15W", "*", "?"),
        ("1W", "*", "?"),
        ("31W", "*", "?"),
        ("LW", "12", "?"),
        ("15W", "JAN,APR,JUL,OCT", "?"),
        ("1W", "2", "?"),
        ("?", "*", "6#3"),
        ("?", "*", "2#5"),
        ("?", "12", "2#5"),
        ("?", "JAN,APR,JUL,OCT", "6#5"),
        ("?", "*", "1L"),
        ("?", "2", "6L"),
        ("?", "2", "6#5"),  # a fifth Friday in February: once in 28 years
        ("?", "*", "L"),
    ],
)
def test_last_nearest_weekday_and_nth_weekday_match_a_day_by_day_walk(dom: str, months: str, dow: str) -> None:
    expected = day_by_day_longest_gap(dom, months, dow)

    assert parse_schedule(f"cron(0 9 {dom} {months} {dow} *)").interval == expected


def test_run_times_lists_when_a_schedule_fires_in_utc():
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from tablesafe.config.schedule_expr import run_times

    start, end = datetime(2026, 3, 28, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC)
    assert run_times("cron(0 3 * * ? *)", start, end) == [datetime(2026, 3, d, 3, tzinfo=UTC) for d in (28, 29, 30)]
    # Read in Paris time: 03:00 is 02:00 UTC before the switch to summer time (29 March) and 01:00 UTC after it.
    paris = run_times("cron(0 3 * * ? *)", start, end, ZoneInfo("Europe/Paris"))
    assert [t.hour for t in paris] == [2, 1, 1]
    assert run_times("rate(12 hours)", start, start.replace(day=29)) == [
        start,
        start.replace(hour=12),
        start.replace(day=29),
    ]
    assert run_times("cron(0 4 ? * SUN *)", start, end) == [datetime(2026, 3, 29, 4, tzinfo=UTC)]
