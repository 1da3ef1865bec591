"""Statistics per org and month: which counters a change moves, and how a month is read back.

Counters are kept per org in two kinds of bucket, both split into shards for the orgs every change
hits (the centre and the provinces, positions 0 and 1 of a path), so no single item is hot:

- a month bucket (`2026-11`): flows in that month: `registered`, `removed`, `inflow`, `outflow`
  (formal transfers across the org's boundary), `attached`, `detached` (temporary attachments
  starting and ending in its subtree), `virtual_branches_net`;
- the gauge bucket (`g`): levels now: `mobile_members` (members attached to a branch of the subtree
  other than their home), `virtual_branches`.

A month is read with one Query of the org's buckets from that month on: the month's flows are summed
over shards, and levels at the end of a past month are the level now minus the flows of the months
after it. `members` is the org's `member_count` (kept on the request path for branches and from the
members stream for departments) minus later registrations and net inflow.

Months are calendar months in China Standard Time (UTC+8, the organisation's own calendar).
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from chalicelib.domain.transfers import Transfer, became_effective

CST = timezone(timedelta(hours=8), "Asia/Shanghai")
SHARDS = 8
SHARDED_POSITIONS = 2  # central (0) and provinces (1) take every change below them: shard those
GAUGE = "g"
MONTH_COUNTERS = (
    "registered",
    "removed",
    "inflow",
    "outflow",
    "attached",
    "detached",
    "virtual_branches_net",
)
GAUGES = ("mobile_members", "virtual_branches")


def month_of(moment: str | datetime) -> str:
    """`YYYY-MM` of a time (ISO text or datetime) in China Standard Time."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(CST).strftime("%Y-%m")


def shard_for(position: int, key: str) -> int:
    """Which shard of an org's bucket a change lands in: spread by the change's own key on hot levels."""
    if position >= SHARDED_POSITIONS:
        return 0
    return zlib.crc32(key.encode()) % SHARDS


@dataclass(frozen=True)
class Delta:
    org_id: str
    bucket: str  # a month `YYYY-MM` or GAUGE
    shard: int
    field: str
    n: int


def _along(path: Iterable[str], bucket: str, field: str, n: int, key: str, only=None) -> list[Delta]:
    return [
        Delta(org, bucket, shard_for(pos, key), field, n)
        for pos, org in enumerate(path)
        if only is None or org in only
    ]


def merge(deltas: Iterable[Delta]) -> list[Delta]:
    """One delta per (org, bucket, shard, field), zeros dropped: one update per item."""
    total: Counter = Counter()
    for d in deltas:
        total[(d.org_id, d.bucket, d.shard, d.field)] += d.n
    return [Delta(o, b, s, f, n) for (o, b, s, f), n in sorted(total.items()) if n]


def transfer_deltas(old: Transfer | None, new: Transfer | None) -> list[Delta]:
    """The counters one change of a transfer moves (none for most changes)."""
    if new is None:
        return []
    key = new.transfer_id
    out: list[Delta] = []
    if new.kind == "temporary":
        if became_effective(old, new):
            month = month_of(new.effective_at)
            out += _along(new.to_path, month, "attached", 1, key)
            out += _along(new.to_path, GAUGE, "mobile_members", 1, key)
        elif old is not None and old.status == "effective" and new.status != "effective":
            month = month_of(new.ended_at or new.updated_at)
            out += _along(new.to_path, month, "detached", 1, key)
            out += _along(new.to_path, GAUGE, "mobile_members", -1, key)
    elif became_effective(old, new):
        month = month_of(new.effective_at)
        src, dst = set(new.from_path), set(new.to_path)
        out += _along(new.to_path, month, "inflow", 1, key, only=dst - src)
        out += _along(new.from_path, month, "outflow", 1, key, only=src - dst)
    return merge(out)


def membership_deltas(path: Iterable[str], at: str, key: str, n: int) -> list[Delta]:
    """A member registered into (n=1) or removed from (n=-1) the branch at the end of `path`."""
    field = "registered" if n > 0 else "removed"
    return merge(_along(list(path), month_of(at), field, 1, key))


def virtual_branch_deltas(path: Iterable[str], at: str, key: str, n: int) -> list[Delta]:
    """A virtual branch founded (n=1) or dissolved (n=-1) under the departments of `path`."""
    path = list(path)
    return merge(
        _along(path, month_of(at), "virtual_branches_net", n, key)
        + _along(path, GAUGE, "virtual_branches", n, key)
    )


def month_view(month: str, member_count: int, buckets: Iterable[tuple[str, dict]]) -> dict:
    """The figures of one org for `month` from its buckets of that month on (any shard order)."""
    this: Counter = Counter()
    later: Counter = Counter()
    gauge: Counter = Counter()
    for bucket, counters in buckets:
        if bucket == GAUGE:
            gauge.update(counters)
        elif bucket == month:
            this.update(counters)
        elif bucket > month:
            later.update(counters)
    members = member_count - (later["registered"] - later["removed"] + later["inflow"] - later["outflow"])
    return {
        "month": month,
        "members": members,
        "mobile_members": gauge["mobile_members"] - (later["attached"] - later["detached"]),
        "inflow": this["inflow"],
        "outflow": this["outflow"],
        "registered": this["registered"],
        "attached": this["attached"],
        "detached": this["detached"],
        "virtual_branches": gauge["virtual_branches"] - later["virtual_branches_net"],
    }
