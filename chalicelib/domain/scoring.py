"""Participation scoring: versioned rules, Asia/Shanghai days, daily caps, once-per-target, dedupe.

Pure Python. An activity (login, article_open, ...) is scored on its Asia/Shanghai day by the rules
version in force that day. Per member and month one tally holds the points and counts of every day;
applying a batch of activities to it is a function of the tally and the activities, so a stream
batch turns into one write per member-month, whatever its size.

Decisions:
- `at` is ISO 8601 with an offset; the day is the calendar day in Asia/Shanghai. China has kept
  UTC+8 without daylight saving since 1991, so a fixed offset is exact and needs no tz database.
- Every activity counts in `counts` once (by its activity id), whether or not it scores: over the
  cap, an article already opened that day, a 0-point `section_open`, a type the rules do not know.
- "At most N a day" caps the number of scored activities of that type per day (6 article opens,
  4 reflections = 8 points, 3 group posts, 1 login).
- A once-per-target type scores once per (day, target): the same article opened twice in a day earns
  one point; an `article_open` without a target is counted but never scored.
- Redelivered stream records are recognised by a digest of their activity id kept for
  `DEDUPE_WINDOW_SECONDS` after it was applied, longer than a stream keeps a record (24 h).
- At most `MAX_COUNTED_PER_DAY` activities of a member are counted on one day; the rest are
  dropped (not counted, not remembered). No reader does that many things in a day, and it keeps a
  month's tally item small whatever a script sends: at most 9 days (the 7 days back that clients
  may report, today, a day's margin) of digests are within the window, so the item stays far
  below DynamoDB's 400 KB.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

from chalicelib.domain.errors import ValidationFailed

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
RULES_NAME = "participation"
DEDUPE_WINDOW_SECONDS = 26 * 3600  # a stream keeps a record 24 h: any redelivery comes sooner
MAX_COUNTED_PER_DAY = 300
MAX_TYPES = 20
_TYPE = re.compile(r"^[a-z][a-z_]{0,31}$")
_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
DIGEST_CHARS = 16

# API.md's rules, seeded as version 1; later versions are published with a future effective date
DEFAULT_RULES: dict = {
    "version": 1,
    "effective_from": "2000-01-01",
    "types": {
        "login": {"points": 1, "daily_cap": 1},
        "article_open": {"points": 1, "daily_cap": 6, "once_per_target": True},
        "section_open": {"points": 0, "daily_cap": None},
        "reflection": {"points": 2, "daily_cap": 4},
        "group_post": {"points": 1, "daily_cap": 3},
    },
}
# the order of types in reports; types the rules add later follow, sorted
KNOWN_TYPES = ("login", "article_open", "section_open", "reflection", "group_post")


# ---- days and months -----------------------------------------------------------------------------


def parse_at(value: str | datetime) -> datetime:
    """An aware datetime from ISO 8601 text with an offset; ValueError for anything else."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the time has no UTC offset")
    return moment


def shanghai_day(at: str | datetime) -> date:
    """The Asia/Shanghai calendar day of a moment."""
    return parse_at(at).astimezone(SHANGHAI).date()


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def current_month(now: datetime | None = None) -> str:
    """This month in Asia/Shanghai."""
    return month_of((now or datetime.now(UTC)).astimezone(SHANGHAI).date())


def previous_month(moment: datetime) -> str:
    """The month before the Asia/Shanghai month of `moment` (what a filing on the 1st files)."""
    first = moment.astimezone(SHANGHAI).date().replace(day=1)
    return month_of(first - timedelta(days=1))


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of `YYYY-MM`; ValueError if it is not a month."""
    match = _MONTH.match(month or "")
    if not match:
        raise ValueError(f"{month!r} is not YYYY-MM")
    first = date(int(match[1]), int(match[2]), 1)
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


def check_month(month: str | None, now: datetime | None = None, *, allow_current: bool = True) -> str:
    """The month asked for (default this one); 400 for a bad, future (or, if asked, unfinished) month."""
    current = current_month(now)
    if month is None:
        return current
    try:
        month_bounds(month)
    except ValueError:
        raise ValidationFailed(
            "month must be YYYY-MM", errors=[{"field": "month", "message": "not YYYY-MM"}]
        ) from None
    if month > current or (not allow_current and month == current):
        why = "has not ended yet" if month == current else "is in the future"
        raise ValidationFailed(f"that month {why}", errors=[{"field": "month", "message": why}])
    if month < "2000-01":
        raise ValidationFailed("no month before 2000", errors=[{"field": "month", "message": "before 2000"}])
    return month


def month_end(month: str) -> str:
    """The last second of a month in Asia/Shanghai, as ISO text: the stable `as_of` of its filing."""
    _, last = month_bounds(month)
    return datetime(last.year, last.month, last.day, 23, 59, 59, tzinfo=SHANGHAI).isoformat()


# ---- rules ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeRule:
    points: int
    daily_cap: int | None = None  # scored activities of this type per day; None: no cap
    once_per_target: bool = False  # scores once per (day, target)

    def to_dict(self) -> dict:
        return {"points": self.points, "daily_cap": self.daily_cap, "once_per_target": self.once_per_target}


@dataclass(frozen=True)
class Rules:
    version: int
    effective_from: date
    types: Mapping[str, TypeRule]

    def to_dict(self) -> dict:
        return {
            "version": self.version,
            "effective_from": self.effective_from.isoformat(),
            "types": {name: rule.to_dict() for name, rule in sorted(self.types.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> Rules:
        """Rules from their stored or submitted form; ValidationFailed names every problem."""
        errors: list[dict] = []
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            errors.append({"field": "version", "message": "a positive integer"})
        try:
            effective = date.fromisoformat(str(data.get("effective_from")))
        except ValueError:
            errors.append({"field": "effective_from", "message": "a date YYYY-MM-DD"})
            effective = date.min
        types = data.get("types")
        parsed: dict[str, TypeRule] = {}
        if not isinstance(types, Mapping) or not types:
            errors.append({"field": "types", "message": "at least one activity type"})
            types = {}
        elif len(types) > MAX_TYPES:
            errors.append({"field": "types", "message": f"at most {MAX_TYPES} activity types"})
        for name, rule in types.items():
            where = f"types.{name}"
            if not isinstance(name, str) or not _TYPE.match(name):
                errors.append({"field": where, "message": "a type is lower_case letters, up to 32"})
                continue
            if not isinstance(rule, Mapping):
                errors.append({"field": where, "message": "an object with points and daily_cap"})
                continue
            points, cap, once = rule.get("points"), rule.get("daily_cap"), rule.get("once_per_target", False)
            if not isinstance(points, int) or isinstance(points, bool) or not 0 <= points <= 100:
                errors.append({"field": f"{where}.points", "message": "an integer 0..100"})
                continue
            if cap is not None and (
                not isinstance(cap, int) or isinstance(cap, bool) or not 1 <= cap <= 1000
            ):
                errors.append({"field": f"{where}.daily_cap", "message": "null or an integer 1..1000"})
                continue
            if not isinstance(once, bool):
                errors.append({"field": f"{where}.once_per_target", "message": "true or false"})
                continue
            parsed[name] = TypeRule(points=points, daily_cap=cap, once_per_target=once)
        if errors:
            raise ValidationFailed("the scoring rules are not valid", errors=errors)
        return cls(version=version, effective_from=effective, types=parsed)


def default_rules() -> Rules:
    return Rules.from_dict(DEFAULT_RULES)


def rules_for_day(versions: Sequence[Rules], day: date) -> Rules:
    """The version in force on `day`: the latest effective on or before it (the oldest if none is)."""
    if not versions:
        raise LookupError("no scoring rules are stored")
    in_force = [r for r in versions if r.effective_from <= day]
    if not in_force:
        return min(versions, key=lambda r: (r.effective_from, r.version))
    return max(in_force, key=lambda r: (r.effective_from, r.version))


def report_types(names: Iterable[str]) -> list[str]:
    """Types in report order: the known ones first, then any others sorted."""
    names = set(names)
    return [t for t in KNOWN_TYPES if t in names] + sorted(names - set(KNOWN_TYPES))


# ---- activities ----------------------------------------------------------------------------------


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_CHARS]


@dataclass(frozen=True)
class Activity:
    """One counted action, as the activity table's stream delivers it."""

    registration_number: str
    activity_id: str
    type: str
    at: datetime
    target: str | None = None

    @property
    def day(self) -> date:
        return self.at.astimezone(SHANGHAI).date()

    @property
    def month(self) -> str:
        return month_of(self.day)

    @property
    def key(self) -> str:
        """Identifies the activity among all of this member's: redeliveries share it."""
        return digest(self.activity_id)


def activity_from_image(image: Mapping) -> Activity:
    """An activity from a stream record's new image (plain values); ValueError for a malformed one."""
    number = image.get("registration_number")
    activity_id = image.get("activity_id")
    type_ = image.get("type")
    at = image.get("at")
    if not isinstance(number, str) or not 1 <= len(number) <= 32:
        raise ValueError("registration_number missing")
    if not isinstance(activity_id, str) or not activity_id:
        raise ValueError("activity_id missing")
    if not isinstance(type_, str) or not _TYPE.match(type_):
        raise ValueError("type missing or malformed")
    if not isinstance(at, str):
        raise ValueError("at missing")
    target = image.get("target")
    if target is not None and not isinstance(target, str):
        raise ValueError("target is not text")
    return Activity(number, activity_id, type_, parse_at(at), target or None)


# ---- tallies -------------------------------------------------------------------------------------


@dataclass
class DayTally:
    points: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # every activity, scored or not
    scored: dict[str, int] = field(default_factory=dict)  # the ones that earned points
    targets: set[str] = field(default_factory=set)  # digests of (type, target) scored this day
    version: int | None = None  # the rules version the day was scored by

    def to_dict(self) -> dict:
        out: dict = {"p": self.points, "c": dict(sorted(self.counts.items()))}
        if self.scored:
            out["s"] = dict(sorted(self.scored.items()))
        if self.targets:
            out["t"] = sorted(self.targets)
        if self.version is not None:
            out["v"] = self.version
        return out

    @classmethod
    def from_dict(cls, data: Mapping) -> DayTally:
        return cls(
            points=int(data.get("p", 0)),
            counts={k: int(v) for k, v in (data.get("c") or {}).items()},
            scored={k: int(v) for k, v in (data.get("s") or {}).items()},
            targets=set(data.get("t") or ()),
            version=data.get("v"),
        )


@dataclass
class MonthTally:
    """A member's month: every day's tally and the recently applied activity digests."""

    registration_number: str
    month: str
    days: dict[str, DayTally] = field(default_factory=dict)  # "YYYY-MM-DD" -> tally
    recent: dict[str, int] = field(default_factory=dict)  # activity digest -> epoch applied

    @property
    def points(self) -> int:
        return sum(d.points for d in self.days.values())

    @property
    def active_days(self) -> int:
        return sum(1 for d in self.days.values() if d.counts)

    @property
    def counts(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for day in self.days.values():
            for name, n in day.counts.items():
                total[name] = total.get(name, 0) + n
        return dict(sorted(total.items()))

    def copy(self) -> MonthTally:
        return MonthTally(
            self.registration_number,
            self.month,
            {k: DayTally.from_dict(v.to_dict()) for k, v in self.days.items()},
            dict(self.recent),
        )

    def view(self) -> dict:
        """The member's own view: points, counts per type and a daily breakdown."""
        return {
            "month": self.month,
            "points": self.points,
            "active_days": self.active_days,
            "counts": self.counts,
            "days": [
                {"date": day, "points": t.points, "counts": dict(sorted(t.counts.items()))}
                for day, t in sorted(self.days.items())
            ],
        }


def apply(
    tally: MonthTally, activities: Iterable[Activity], rules_for: Callable[[date], Rules], now_epoch: int
) -> tuple[MonthTally, int]:
    """Score activities of one member and month into a copy of `tally`: (new tally, how many were new).

    Activities are taken in time order so a batch scores as if they had arrived one by one; those
    already applied (same activity id) are skipped, which makes redelivery harmless.
    """
    out = tally.copy()
    horizon = now_epoch - DEDUPE_WINDOW_SECONDS
    out.recent = {k: v for k, v in out.recent.items() if v >= horizon}
    applied = 0
    for activity in sorted(activities, key=lambda a: (a.at, a.activity_id)):
        if activity.registration_number != tally.registration_number or activity.month != tally.month:
            raise ValueError("an activity of another member or month")
        key = activity.key
        if key in out.recent:
            continue
        day = activity.day
        day_tally = out.days.setdefault(day.isoformat(), DayTally())
        if sum(day_tally.counts.values()) >= MAX_COUNTED_PER_DAY:
            continue
        out.recent[key] = now_epoch
        applied += 1
        rules = rules_for(day)
        if day_tally.version is None:
            day_tally.version = rules.version
        day_tally.counts[activity.type] = day_tally.counts.get(activity.type, 0) + 1
        rule = rules.types.get(activity.type)
        if rule is None or rule.points == 0:
            continue
        scored = day_tally.scored.get(activity.type, 0)
        if rule.daily_cap is not None and scored >= rule.daily_cap:
            continue
        if rule.once_per_target:
            if not activity.target:
                continue
            target = digest(f"{activity.type}\0{activity.target}")
            if target in day_tally.targets:
                continue
            day_tally.targets.add(target)
        day_tally.scored[activity.type] = scored + 1
        day_tally.points += rule.points
    return out, applied
