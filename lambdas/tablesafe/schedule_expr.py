"""EventBridge Scheduler `cron(...)` and `rate(...)` expressions: validation and the longest gap between runs.

Follows the Scheduler user guide, "Schedule types on EventBridge Scheduler": cron has six fields
(minutes hours day-of-month month day-of-week year), one of day-of-month and day-of-week must be `?`, day-of-week
counts 1-7 from Sunday, and `L`, `W` and `#` are allowed where AWS allows them. The interval (the longest gap between
two consecutive runs, in UTC) sizes the "no recent backup" alarm and the CLI's staleness flag.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}
_DAYS = {name.upper(): i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}
_HORIZON_YEARS = 4


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
        return ScheduleExpression(text, timedelta(seconds=value * _UNIT_SECONDS[unit.rstrip("s")]))
    cron = _CRON.match(text)
    if not cron:
        raise ValueError("expected cron(minutes hours day-of-month month day-of-week year) or rate(N unit)")
    return ScheduleExpression(text, _Cron(cron[1].split()).interval())


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
        self.dom = dom
        self.dow = dow
        self._dom_values = None if dom == "?" or _special(dom) else _values(dom, 1, 31, {}, "day-of-month")
        self._dow_values = None if dow == "?" or _special(dow) else _values(dow, 1, 7, _DAYS, "day-of-week")
        if dom != "?" and _special(dom):
            _check_dom_special(dom)
        if dow != "?" and _special(dow):
            _check_dow_special(dow)

    def matches(self, day: date) -> bool:
        if day.month not in self.months or day.year not in self.years:
            return False
        if self.dom != "?":
            return self._dom_matches(day)
        return self._dow_matches(day)

    def _dom_matches(self, day: date) -> bool:
        if self._dom_values is not None:
            return day.day in self._dom_values
        last = calendar.monthrange(day.year, day.month)[1]
        spec = self.dom
        if spec == "L":
            return day.day == last
        if spec.startswith("L-"):
            return day.day == last - int(spec[2:])
        if spec == "LW":
            return day == _nearest_weekday(day.year, day.month, last)
        target = int(spec[:-1])  # nW
        return target <= last and day == _nearest_weekday(day.year, day.month, target)

    def _dow_matches(self, day: date) -> bool:
        weekday = (day.isoweekday() % 7) + 1  # SUN=1 .. SAT=7
        if self._dow_values is not None:
            return weekday in self._dow_values
        spec = self.dow
        if "#" in spec:
            wanted, nth = spec.split("#")
            return weekday == _day_number(wanted) and (day.day - 1) // 7 + 1 == int(nth)
        wanted = spec[:-1]  # nL: last such weekday of the month
        last = calendar.monthrange(day.year, day.month)[1]
        return weekday == _day_number(wanted) and day.day + 7 > last

    def interval(self) -> timedelta:
        times = sorted(h * 60 + m for h in self.hours for m in self.minutes)
        start_year = max(min(self.years), date.today().year)
        start = date(min(start_year, 2199), 1, 1)
        days = [start + timedelta(days=i) for i in range(366 * _HORIZON_YEARS)]
        matching = [d for d in days if self.matches(d)]
        if not matching:
            raise ValueError("this cron expression never runs")
        gap = 0
        if len(times) > 1:
            gap = max(b - a for a, b in zip(times, times[1:], strict=False))
        for first, second in zip(matching, matching[1:], strict=False):
            across = (second - first).days * 1440 + times[0] - times[-1]
            gap = max(gap, across)
        if len(matching) == 1 and len(times) == 1:
            raise ValueError("this cron expression runs only once; use a repeating schedule")
        return timedelta(minutes=gap or 1440 * 366)


def _special(spec: str) -> bool:
    return any(c in spec for c in "LW#")


def _check_dom_special(spec: str) -> None:
    if spec in ("L", "LW") or re.fullmatch(r"L-([1-9]|[12]\d|30)", spec) or re.fullmatch(r"([1-9]|[12]\d|3[01])W", spec):
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
    if "/" in part:
        part, step_text = part.split("/", 1)
        if not step_text.isdigit() or int(step_text) < 1:
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
        last = high if step > 1 else first
    return set(range(first, last + 1, step))


def _number(text: str, low: int, high: int, names: dict[str, int], field: str) -> int:
    key = text.upper().title() if names is _MONTHS else text.upper()
    if key in names:
        return names[key]
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{field}: {text!r} is not a value from {low} to {high}")
    return int(text)
