"""EventBridge schedule expressions, evaluated in UTC: `cron(...)` with six fields and `rate(...)`.

Cron fields are minutes, hours, day-of-month, month, day-of-week and year, as AWS defines them:
`*`, `?`, numbers, lists, ranges, steps, month and day names, day-of-week numbered SUN=1..SAT=7,
`L`, `LW` and `nW` in day-of-month, `nL` and `n#k` in day-of-week. Exactly one of the two day
fields must be `?`.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}
MONTHS = {k.upper(): v for k, v in MONTHS.items()}
DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}

# name -> (lowest, highest, names)
_FIELDS = {
    "minutes": (0, 59, {}),
    "hours": (0, 23, {}),
    "day_of_month": (1, 31, {}),
    "month": (1, 12, MONTHS),
    "day_of_week": (1, 7, DAYS),
    "year": (1970, 2199, {}),
}
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$", re.IGNORECASE)
_CRON = re.compile(r"^cron\((.*)\)$", re.IGNORECASE)
_UNIT = {"minute": 60, "hour": 3600, "day": 86400}


class ScheduleError(ValueError):
    """A schedule expression EventBridge would not accept (or this evaluator does not know)."""


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _aws_weekday(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1  # Monday=0 in Python; SUN=1 .. SAT=7 in AWS


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _number(token: str, name: str) -> int:
    low, high, names = _FIELDS[name]
    upper = token.upper()
    if upper in names:
        return names[upper]
    if not token.isdigit():
        raise ScheduleError(f"{name}: {token!r} is not a number")
    value = int(token)
    if not low <= value <= high:
        raise ScheduleError(f"{name}: {value} is outside {low}-{high}")
    return value


def _values(item: str, name: str) -> set[int]:
    """The values of one list item: `*`, `N`, `N-M`, each optionally `/step`."""
    low, high, _ = _FIELDS[name]
    base, _, step_text = item.partition("/")
    step = 1
    if step_text:
        if not step_text.isdigit() or int(step_text) == 0:
            raise ScheduleError(f"{name}: bad step {step_text!r}")
        step = int(step_text)
    if base == "*":
        start, end = low, high
    elif "-" in base:
        first, _, last = base.partition("-")
        start, end = _number(first, name), _number(last, name)
    else:
        start = _number(base, name)
        end = high if step_text else start
    if start <= end:
        return set(range(start, end + 1, step))
    # a wrapping range such as FRI-MON or NOV-FEB
    span = list(range(start, high + 1)) + list(range(low, end + 1))
    return set(span[::step])


@dataclass
class _DaySpec:
    any: bool = False  # `?`
    values: set[int] = field(default_factory=set)
    last: bool = False  # day-of-month `L`
    last_weekday: bool = False  # day-of-month `LW`
    nearest_weekday: set[int] = field(default_factory=set)  # day-of-month `nW`
    last_of: set[int] = field(default_factory=set)  # day-of-week `nL`
    nth: set[tuple[int, int]] = field(default_factory=set)  # day-of-week `n#k`


def _parse_day_of_month(text: str) -> _DaySpec:
    spec = _DaySpec()
    if text == "?":
        spec.any = True
        return spec
    for item in text.split(","):
        upper = item.upper()
        if upper == "L":
            spec.last = True
        elif upper == "LW":
            spec.last_weekday = True
        elif upper.endswith("W"):
            spec.nearest_weekday.add(_number(upper[:-1], "day_of_month"))
        else:
            spec.values |= _values(item, "day_of_month")
    return spec


def _parse_day_of_week(text: str) -> _DaySpec:
    spec = _DaySpec()
    if text == "?":
        spec.any = True
        return spec
    for item in text.split(","):
        upper = item.upper()
        if upper == "L":
            spec.values.add(DAYS["SAT"])
        elif "#" in upper:
            day, _, nth = upper.partition("#")
            if not nth.isdigit() or not 1 <= int(nth) <= 5:
                raise ScheduleError(f"day_of_week: bad {item!r}")
            spec.nth.add((_number(day, "day_of_week"), int(nth)))
        elif upper.endswith("L"):
            spec.last_of.add(_number(upper[:-1], "day_of_week"))
        else:
            spec.values |= _values(item, "day_of_week")
    return spec


def _nearest_weekday(year: int, month: int, day: int) -> int | None:
    last = _last_day(year, month)
    if day > last:
        return None
    weekday = date(year, month, day).weekday()
    if weekday == 5:  # Saturday: Friday before, unless that leaves the month
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: Monday after, unless that leaves the month
        return day + 1 if day < last else day - 2
    return day


class Cron:
    """A parsed `cron(...)` expression."""

    def __init__(self, expression: str) -> None:
        match = _CRON.match(expression.strip())
        if not match:
            raise ScheduleError(f"not a cron expression: {expression!r}")
        parts = match.group(1).split()
        if len(parts) != 6:
            raise ScheduleError("cron needs six fields: minutes hours day-of-month month day-of-week year")
        minutes, hours, dom, month, dow, year = parts
        if (dom == "?") == (dow == "?"):
            raise ScheduleError("exactly one of day-of-month and day-of-week must be '?'")
        self.expression = expression.strip()
        self.minutes = sorted(set().union(*(_values(i, "minutes") for i in minutes.split(","))))
        self.hours = sorted(set().union(*(_values(i, "hours") for i in hours.split(","))))
        self.months = set().union(*(_values(i, "month") for i in month.split(",")))
        self.years = set().union(*(_values(i, "year") for i in year.split(",")))
        self.day_of_month = _parse_day_of_month(dom)
        self.day_of_week = _parse_day_of_week(dow)

    def matches_day(self, day: date) -> bool:
        """Whether the day fields (and month and year) select `day`."""
        if day.year not in self.years or day.month not in self.months:
            return False
        if self.day_of_week.any:
            spec = self.day_of_month
            last = _last_day(day.year, day.month)
            if day.day in spec.values or (spec.last and day.day == last):
                return True
            if spec.last_weekday and day.day == _nearest_weekday(day.year, day.month, last):
                return True
            return any(_nearest_weekday(day.year, day.month, n) == day.day for n in spec.nearest_weekday)
        spec = self.day_of_week
        weekday = _aws_weekday(day)
        if weekday in spec.values:
            return True
        last = _last_day(day.year, day.month)
        if weekday in spec.last_of and day.day + 7 > last:
            return True
        return (weekday, (day.day - 1) // 7 + 1) in spec.nth

    def matches(self, moment: datetime) -> bool:
        """Whether the minute holding `moment` (UTC) is a firing time."""
        moment = _as_utc(moment)
        return moment.minute in self.minutes and moment.hour in self.hours and self.matches_day(moment.date())

    def next_after(self, moment: datetime) -> datetime | None:
        """The first firing time strictly after `moment`, in UTC; None if there is none."""
        start = _as_utc(moment).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        last_year = max(self.years)
        while day.year <= last_year:
            if day.year not in self.years:
                day = date(day.year + 1, 1, 1)
                continue
            if day.month not in self.months:
                day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
                continue
            if self.matches_day(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                        if candidate >= start:
                            return candidate
            day += timedelta(days=1)
        return None


class Rate:
    """A parsed `rate(N unit)` expression, counted from an anchor (when the schedule was created)."""

    def __init__(self, expression: str, anchor: datetime | None = None) -> None:
        match = _RATE.match(expression.strip())
        if not match:
            raise ScheduleError(f"not a rate expression: {expression!r}")
        value, unit = int(match.group(1)), match.group(2).lower().rstrip("s")
        if value < 1:
            raise ScheduleError("rate value must be at least 1")
        self.expression = expression.strip()
        self.period = timedelta(seconds=value * _UNIT[unit])
        self.anchor = _as_utc(anchor or datetime.now(UTC))

    def next_after(self, moment: datetime) -> datetime:
        """The first firing time strictly after `moment`: anchor plus a whole number of periods."""
        elapsed = _as_utc(moment) - self.anchor
        periods = max(0, elapsed // self.period) + 1
        return self.anchor + self.period * periods


def parse_schedule(expression: str, anchor: datetime | None = None) -> Cron | Rate:
    """Parse `cron(...)` or `rate(...)`; `anchor` is where a rate starts counting (default now)."""
    text = expression.strip()
    if text.lower().startswith("rate("):
        return Rate(text, anchor)
    return Cron(text)
