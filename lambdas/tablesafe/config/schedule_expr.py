"""EventBridge Scheduler `cron(...)` and `rate(...)` expressions: validation and the longest gap between runs.

Follows the Scheduler user guide, "Schedule types on EventBridge Scheduler": cron has six fields
(minutes hours day-of-month month day-of-week year), one of day-of-month and day-of-week must be `?`, day-of-week
counts 1-7 from Sunday, and `L`, `W` and `#` are allowed where AWS allows them. The interval (the longest gap between
two consecutive runs, in UTC) sizes the "no recent backup" alarm and the CLI's staleness flag.
"""

from __future__ import annotations

import calendar
import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

_RATE = re.compile(r"^rate\(([0-9]+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}
_DAYS = {name.upper(): i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}
_YEARS = frozenset(range(1970, 2200))
# From 1901 to 2099 the calendar (weekdays and leap days) repeats every 28 years, so one cycle holds every gap an
# expression without a year restriction can have; the year it starts in does not matter.
_CYCLE_START = date(2001, 1, 1)
_CYCLE_END = date(2029, 1, 1)


@dataclass(frozen=True)
class ScheduleExpression:
    """A validated schedule expression and its longest gap between runs."""

    expression: str
    interval: timedelta


def parse_schedule(expression: str) -> ScheduleExpression:
    """Validate a cron(...) or rate(...) expression; ValueError says what is wrong."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        value, unit = int(rate[1]), rate[2]
        if value < 1:
            raise ValueError("a rate value must be at least 1")
        if (value == 1) != (not unit.endswith("s")):
            raise ValueError("use a singular unit for a rate of 1 and a plural unit otherwise, e.g. rate(1 day)")
        try:
            interval = timedelta(seconds=value * _UNIT_SECONDS[unit.rstrip("s")])
        except OverflowError:
            raise ValueError(f"a rate of {value} {unit} is too large") from None
        return ScheduleExpression(text, interval)
    cron = _CRON.match(text)
    if not cron:
        raise ValueError("expected cron(minutes hours day-of-month month day-of-week year) or rate(N unit)")
    return ScheduleExpression(text, _Cron(cron[1].split()).interval())


def run_times(expression: str, start: datetime, end: datetime, zone: tzinfo = UTC) -> list[datetime]:
    """When the schedule fires in [start, end], in UTC, its cron read in `zone`; a rate runs from `start` on."""
    schedule = parse_schedule(expression)
    if schedule.expression.startswith("rate("):
        count = int((end - start) / schedule.interval)
        return [start + schedule.interval * i for i in range(count + 1)]
    cron = _Cron(schedule.expression[len("cron(") : -1].split())
    times = []
    day = start.astimezone(zone).date() - timedelta(days=1)
    while day <= end.astimezone(zone).date() + timedelta(days=1):
        if day.year in cron.years and day.month in cron.months and day.day in cron.days_in_month(day.year, day.month):
            for hour in sorted(cron.hours):
                for minute in sorted(cron.minutes):
                    moment = datetime.combine(day, time(hour, minute), zone).astimezone(UTC)
                    if start <= moment <= end:
                        times.append(moment)
        day += timedelta(days=1)
    return times


class _Cron:
    def __init__(self, fields: list[str]) -> None:
        if len(fields) != 6:
            raise ValueError(f"a cron expression has 6 fields, this one has {len(fields)}")
        minutes, hours, dom, months, dow, years = fields
        if (dom == "?") == (dow == "?"):
            raise ValueError("exactly one of day-of-month and day-of-week must be '?'")
        self.minutes = _values(minutes, 0, 59, {}, "minutes")
        self.hours = _values(hours, 0, 23, {}, "hours")
        self.months = _values(months, 1, 12, _MONTHS, "month")
        self.years = _values(years, 1970, 2199, {}, "year")
        if dow == "L":  # AWS: L alone in day-of-week is the last day of the week
            dow = "SAT"
        # Only L and W are special in day-of-month, L and # in day-of-week ("WED" is a plain day name).
        dom_special = dom != "?" and any(c in dom for c in "LW")
        dow_special = dow != "?" and any(c in dow for c in "L#")
        self.dom = dom
        self.dow = dow
        self._dom_values = None if dom == "?" or dom_special else _values(dom, 1, 31, {}, "day-of-month")
        self._dow_values = None if dow == "?" or dow_special else _values(dow, 1, 7, _DAYS, "day-of-week")
        if dom_special:
            _check_dom_special(dom)
        if dow_special:
            _check_dow_special(dow)

    def days_in_month(self, year: int, month: int) -> list[int]:
        """The days of a month the expression runs on (month and year not checked)."""
        last = calendar.monthrange(year, month)[1]
        if self.dom != "?":
            if self._dom_values is not None:
                return [d for d in sorted(self._dom_values) if d <= last]
            spec = self.dom
            if spec == "L":
                return [last]
            if spec.startswith("L-"):
                return [last - int(spec[2:])] if last - int(spec[2:]) >= 1 else []
            target = last if spec == "LW" else int(spec[:-1])  # LW or nW
            return [_nearest_weekday(year, month, target).day] if target <= last else []
        first = date(year, month, 1).isoweekday() % 7 + 1  # the 1st's day of the week, SUN=1 .. SAT=7
        if self._dow_values is not None:
            return [d for d in range(1, last + 1) if (first + d - 2) % 7 + 1 in self._dow_values]
        wanted, _, nth = self.dow.partition("#") if "#" in self.dow else (self.dow[:-1], "", "")
        first_wanted = 1 + (_day_number(wanted) - first) % 7
        if nth:  # d#n: the nth such day, when the month has one
            day = first_wanted + 7 * (int(nth) - 1)
            return [day] if day <= last else []
        return [first_wanted + 7 * ((last - first_wanted) // 7)]  # dL: the last such day

    def interval(self) -> timedelta:
        # Computed from the expression alone, never from today's date: the same plan gives the same alarms at every
        # synth and cold start, and a plan that synthesized is never rejected later.
        times = sorted(h * 60 + m for h in self.hours for m in self.minutes)
        repeats_forever = self.years == _YEARS
        if repeats_forever:
            start, end = _CYCLE_START, _CYCLE_END
        else:
            # Two cycles from the first year hold every gap between runs in the years named.
            start = date(min(self.years), 1, 1)
            end = date(min(max(self.years) + 1, start.year + 56), 1, 1)
        matching = self._run_days(start, end)
        if not matching:
            raise ValueError("this cron expression never runs")
        if len(matching) == 1 and len(times) == 1 and not repeats_forever:
            raise ValueError("this cron expression runs only once; use a repeating schedule")
        gap = max((b - a for a, b in itertools.pairwise(times)), default=0)
        pairs = list(itertools.pairwise(matching))
        if repeats_forever:
            pairs.append((matching[-1], matching[0] + (end - start)))  # into the next cycle
        for first, second in pairs:
            gap = max(gap, (second - first).days * 1440 + times[0] - times[-1])
        return timedelta(minutes=gap)

    def _run_days(self, start: date, end: date) -> list[date]:
        """The days in [start, end) on which the expression runs."""
        days: list[date] = []
        for year in range(start.year, end.year):
            if year in self.years:
                for month in sorted(self.months):
                    days.extend(date(year, month, d) for d in self.days_in_month(year, month))
        return days


def _check_dom_special(spec: str) -> None:
    if (
        spec in ("L", "LW")
        or re.fullmatch(r"L-([1-9]|[12]\d|30)", spec)
        or re.fullmatch(r"([1-9]|[12]\d|3[01])W", spec)
    ):
        return
    raise ValueError(f"day-of-month {spec!r}: expected L, L-n, LW or nW")


def _check_dow_special(spec: str) -> None:
    match = re.fullmatch(r"([1-7]|[A-Z]{3})(#[1-5]|L)", spec.upper())
    if not match:
        raise ValueError(f"day-of-week {spec!r}: expected d#n (1 <= n <= 5) or dL")
    _day_number(match[1])


def _day_number(text: str) -> int:
    text = text.upper()
    if text.isdigit() and 1 <= int(text) <= 7:
        return int(text)
    if text in _DAYS:
        return _DAYS[text]
    raise ValueError(f"day-of-week {text!r}: expected 1-7 or SUN-SAT")


def _nearest_weekday(year: int, month: int, target: int) -> date:
    day = date(year, month, target)
    last = calendar.monthrange(year, month)[1]
    if day.weekday() == 5:  # Saturday -> Friday, or Monday when the 1st is a Saturday
        return day - timedelta(days=1) if target > 1 else day + timedelta(days=2)
    if day.weekday() == 6:  # Sunday -> Monday, or Friday when it is the last day
        return day + timedelta(days=1) if target < last else day - timedelta(days=2)
    return day


def _values(spec: str, low: int, high: int, names: dict[str, int], field: str) -> frozenset[int]:
    result: set[int] = set()
    for part in spec.split(","):
        result |= _part(part, low, high, names, field)
    return frozenset(result)


def _part(part: str, low: int, high: int, names: dict[str, int], field: str) -> set[int]:
    step = 1
    stepped = "/" in part
    if stepped:
        part, step_text = part.split("/", 1)
        if not _is_number(step_text) or int(step_text) < 1:
            raise ValueError(f"{field}: step {step_text!r} must be a positive number")
        step = int(step_text)
    if part == "*":
        first, last = low, high
    elif "-" in part:
        a, b = part.split("-", 1)
        first, last = _number(a, low, high, names, field), _number(b, low, high, names, field)
        if first > last:
            raise ValueError(f"{field}: range {part!r} runs backwards")
    else:
        first = _number(part, low, high, names, field)
        last = high if stepped else first  # "5/15" runs from 5 to the end of the field, and so does "5/1"
    return set(range(first, last + 1, step))


def _number(text: str, low: int, high: int, names: dict[str, int], field: str) -> int:
    key = text.upper().title() if names is _MONTHS else text.upper()
    if key in names:
        return names[key]
    if not _is_number(text) or not low <= int(text) <= high:
        raise ValueError(f"{field}: {text!r} is not a value from {low} to {high}")
    return int(text)


def _is_number(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes other scripts' digits, which AWS rejects."""
    return text.isascii() and text.isdigit()
