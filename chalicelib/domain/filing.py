"""The monthly participation filing: member rows, org summaries, points buckets, archive bytes.

Pure Python. Everything here is deterministic: rows are sorted, numbers are integers (averages are
derived from integer totals, never averaged averages), and the archives carry no time of their own
making (`as_of` is the month's last second), so filing a month twice from the same data gives the
same bytes.

Decisions:
- A member is filed once, under the home branch they had at the month's last second (the county of
  that branch, and every department above it), whenever the filing runs: a formal transfer that
  took effect later, even while the run is going, changes nothing (`MonthEndMoves`). Their points
  are their whole month's, wherever they were when they earned them. A member who moved mid-month
  is therefore counted once, where they belonged when the month ended; attached (temporary) and
  virtual branches never attribute anyone. Members registered after the month are not in it.
- Active member: at least one counted activity in the month (a login is enough).
- `average_points` is the month's points over all members (active or not), rounded half up to two
  decimals; null for an org without members.
- A department's archive lists its child orgs (departments and its own branches) with their figures,
  and its own branches' members; its CSV is one row per member for a county (and a branch), one row
  per child org above.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from chalicelib.domain.scoring import KNOWN_TYPES, report_types

# points in a month -> bucket; the last one is open-ended
BUCKETS: tuple[tuple[int, int | None], ...] = ((0, 0), (1, 9), (10, 29), (30, 59), (60, 119), (120, None))
BUCKET_LABELS = tuple(
    f"{lo}+" if hi is None else (str(lo) if lo == hi else f"{lo}-{hi}") for lo, hi in BUCKETS
)
MEMBER_CSV_LEVELS = frozenset({"county", "branch"})


@dataclass(frozen=True)
class MonthEndMoves:
    """Formal moves into and out of one branch after a month ended, which the filing undoes.

    From the branch's own transfer links alone: a member whose first such move concerning the
    branch left it was in it at the month's end (`left`: number -> name); one whose first such move
    entered it was not (`arrived`). Everyone else is where they were then.
    """

    left: dict[str, str] = field(default_factory=dict)
    arrived: frozenset[str] = frozenset()

    @classmethod
    def of(cls, moves: Iterable[tuple[str, str, str, str]], month_end_at: str) -> MonthEndMoves:
        """From (effective_at, direction "in"|"out", number, name) of the branch's effective formal
        transfers; those at or before `month_end_at` (ISO times with offsets) are ignored."""
        from datetime import datetime, timedelta

        after = datetime.fromisoformat(month_end_at) + timedelta(seconds=1)  # the next month's start
        first: dict[str, tuple[datetime, str, str]] = {}
        for at, direction, number, name in moves:
            moment = datetime.fromisoformat(at)
            if moment < after:
                continue
            if number not in first or moment < first[number][0]:
                first[number] = (moment, direction, name)
        return cls(
            left={n: name for n, (_, d, name) in first.items() if d == "out"},
            arrived=frozenset(n for n, (_, d, _name) in first.items() if d == "in"),
        )


def registered_by(created_at: str, month_end_at: str) -> bool:
    """Was a member (registered at `created_at`) on the platform at the month's last second?
    An unknown or unreadable time counts as before: a member is never dropped for want of it."""
    from datetime import datetime, timedelta

    if not created_at:
        return True
    try:
        next_month = datetime.fromisoformat(month_end_at) + timedelta(seconds=1)
        return datetime.fromisoformat(created_at) < next_month
    except ValueError:
        return True


def bucket_of(points: int) -> int:
    """Index of the bucket holding `points`."""
    for i, (lo, hi) in enumerate(BUCKETS):
        if points >= lo and (hi is None or points <= hi):
            return i
    raise ValueError(f"negative points: {points}")


def average(points: int, members: int) -> float | None:
    """points / members, rounded half up to two decimals, from integers only."""
    if members <= 0:
        return None
    cents = (points * 100 * 2 + members) // (members * 2)
    return cents / 100


@dataclass(frozen=True)
class MemberRow:
    """One member's line in the filing."""

    registration_number: str
    name: str
    branch_id: str
    points: int = 0
    active_days: int = 0
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.active_days > 0

    def to_dict(self) -> dict:
        return {
            "registration_number": self.registration_number,
            "name": self.name,
            "branch_id": self.branch_id,
            "points": self.points,
            "active_days": self.active_days,
            "counts": dict(sorted(self.counts.items())),
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> MemberRow:
        return cls(
            registration_number=str(data["registration_number"]),
            name=str(data.get("name") or ""),
            branch_id=str(data["branch_id"]),
            points=int(data.get("points") or 0),
            active_days=int(data.get("active_days") or 0),
            counts={str(k): int(v) for k, v in (data.get("counts") or {}).items()},
        )


@dataclass
class Summary:
    """An org's figures for a month: sums that add up the tree."""

    members: int = 0
    active_members: int = 0
    points: int = 0
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))

    def add(self, row: MemberRow) -> None:
        self.members += 1
        self.active_members += 1 if row.active else 0
        self.points += row.points
        self.buckets[bucket_of(row.points)] += 1

    def merge(self, other: Summary) -> None:
        self.members += other.members
        self.active_members += other.active_members
        self.points += other.points
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]

    @property
    def average_points(self) -> float | None:
        return average(self.points, self.members)

    def to_dict(self) -> dict:
        return {
            "members": self.members,
            "active_members": self.active_members,
            "points": self.points,
            "average_points": self.average_points,
            "distribution": dict(zip(BUCKET_LABELS, self.buckets, strict=True)),
        }

    def to_state(self) -> dict:
        """A compact form to carry in a queue message or store on an item."""
        return {"m": self.members, "a": self.active_members, "p": self.points, "b": list(self.buckets)}

    @classmethod
    def from_state(cls, data: Mapping | None) -> Summary:
        if not data:
            return cls()
        buckets = [int(n) for n in data.get("b") or []]
        if len(buckets) != len(BUCKETS):
            buckets = [0] * len(BUCKETS)
        return cls(int(data.get("m", 0)), int(data.get("a", 0)), int(data.get("p", 0)), buckets)

    @classmethod
    def of(cls, rows: Iterable[MemberRow]) -> Summary:
        out = cls()
        for row in rows:
            out.add(row)
        return out

    @classmethod
    def total(cls, parts: Iterable[Summary]) -> Summary:
        out = cls()
        for part in parts:
            out.merge(part)
        return out


@dataclass(frozen=True)
class OrgRow:
    """A child org's line in its parent's filing."""

    org_id: str
    name: str
    level: str
    summary: Summary

    def to_dict(self) -> dict:
        return {"org_id": self.org_id, "name": self.name, "level": self.level, **self.summary.to_dict()}


def member_row(
    number: str, name: str, branch_id: str, points: int, active_days: int, counts: Mapping[str, int]
) -> MemberRow:
    return MemberRow(number, name, branch_id, int(points), int(active_days), dict(counts))


# ---- archives ------------------------------------------------------------------------------------


def archive_keys(month: str, org_id: str) -> tuple[str, str]:
    """Where a month's filing of an org is archived in the content bucket: (JSON key, CSV key)."""
    return f"filings/{month}/{org_id}.json", f"filings/{month}/{org_id}.csv"


def archive_json(
    header: Mapping, summary: Summary, children: Sequence[OrgRow], members: Sequence[MemberRow]
) -> bytes:
    """The filing of one org as JSON bytes: sorted keys and rows, UTF-8, a final newline."""
    doc = {
        **header,
        "summary": summary.to_dict(),
        "children": [c.to_dict() for c in sorted(children, key=lambda c: c.org_id)],
        "members": [m.to_dict() for m in sort_members(members)],
    }
    return (json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode("utf-8")


def sort_members(rows: Iterable[MemberRow]) -> list[MemberRow]:
    return sorted(rows, key=lambda r: (r.branch_id, r.registration_number))


def members_csv(rows: Sequence[MemberRow]) -> bytes:
    """One line per member; a column per activity type seen (known types first). UTF-8 with BOM for Excel."""
    types = report_types(set(KNOWN_TYPES) | {t for row in rows for t in row.counts})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["registration_number", "name", "branch_id", "points", "active_days", *types])
    for row in sort_members(rows):
        writer.writerow(
            [
                row.registration_number,
                row.name,
                row.branch_id,
                row.points,
                row.active_days,
                *(row.counts.get(t, 0) for t in types),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def orgs_csv(rows: Sequence[OrgRow]) -> bytes:
    """One line per child org with its figures and distribution. UTF-8 with BOM for Excel."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "org_id",
            "name",
            "level",
            "members",
            "active_members",
            "points",
            "average_points",
            *(f"points_{label}" for label in BUCKET_LABELS),
        ]
    )
    for row in sorted(rows, key=lambda r: r.org_id):
        s = row.summary
        avg = s.average_points
        writer.writerow(
            [
                row.org_id,
                row.name,
                row.level,
                s.members,
                s.active_members,
                s.points,
                "" if avg is None else f"{avg:.2f}",
                *s.buckets,
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def archive_csv(level: str, children: Sequence[OrgRow], members: Sequence[MemberRow]) -> bytes:
    """Members for a county or branch, child orgs above."""
    return members_csv(members) if level in MEMBER_CSV_LEVELS else orgs_csv(children)
