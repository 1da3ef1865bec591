"""Statistics per org and month, fed from the transfers and members streams, read by staff.

Each stream record is applied once: its counter deltas and a `StreamMark` are written in one
transaction, so a redelivered record changes nothing. Virtual branches are counted from their own
stream (founded, dissolved, reassigned). `active_members` and `average_points` come from the
month's participation filing: 0 and null until the month is filed.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from chalicelib.domain import stats as rules
from chalicelib.services.authz import require_role
from chalicelib.services.filings import check_month

MARK_TTL_SECONDS = 7 * 24 * 3600  # longer than a stream keeps records (24 h)


def _expiry() -> int:
    return int(time.time()) + MARK_TTL_SECONDS


def _apply(deltas: list, mark_id: str) -> bool:
    from chalicelib.store import stats

    if not deltas:
        return True
    return stats.apply(deltas, mark_id, _expiry())


def transfer_deltas(old_image: dict | None, new_image: dict | None) -> list:
    """The counters one change of a transfer moves (attached, detached, inflow, outflow)."""
    from chalicelib.store.transfers import from_image

    return rules.transfer_deltas(from_image(old_image), from_image(new_image))


def member_deltas(old_image: dict | None, new_image: dict | None, at: str) -> list:
    """A registration (a new member item) or a removal; home changes are counted as transfers."""
    if new_image and not old_image:
        image, when, n = new_image, new_image.get("created_at") or at, 1
    elif old_image and not new_image:
        image, when, n = old_image, at, -1
    else:
        return []
    path = [str(p) for p in image.get("home_path") or ()]
    if not path:
        return []
    key = str(image.get("registration_number", ""))
    return rules.membership_deltas(path, str(when), key, n)


def virtual_branch_deltas(old_image: dict | None, new_image: dict | None, at: str) -> list:
    """A virtual branch founded, dissolved or reassigned: counted along its supervising path."""
    from chalicelib.domain.branches import DISSOLVED

    def counted(image: dict | None) -> tuple[str, ...] | None:
        if not image or image.get("status") == DISSOLVED:
            return None
        return tuple(str(p) for p in image.get("supervising_path") or ()) or None

    before, after = counted(old_image), counted(new_image)
    if before == after:
        return []
    key = str((new_image or old_image or {}).get("org_id", ""))
    deltas = []
    if before:
        deltas += rules.virtual_branch_deltas(before, at, key, -1)
    if after:
        founded = not old_image and (new_image or {}).get("created_at")
        deltas += rules.virtual_branch_deltas(after, str(founded or at), key, 1)
    return rules.merge(deltas)


def apply_changes(changes: list[tuple[str, list]]) -> set[str]:
    """Apply many records at once (their deltas summed per item, a mark each); returns the marks done.

    Records with nothing to count are done at once; those of a transaction that failed are not in
    the answer and go through `apply_transfer_change` / `apply_member_change` one by one.
    """
    from chalicelib.store import stats

    done = {mark for mark, deltas in changes if not deltas}
    return done | stats.apply_many([(m, d) for m, d in changes if d], _expiry())


def apply_transfer_change(mark_id: str, old_image: dict | None, new_image: dict | None) -> bool:
    """Count one change of a transfer; False if this record was counted before."""
    return _apply(transfer_deltas(old_image, new_image), mark_id)


def apply_member_change(mark_id: str, old_image: dict | None, new_image: dict | None, at: str) -> bool:
    """Count one change of a member (registered or removed); False if counted before."""
    return _apply(member_deltas(old_image, new_image, at), mark_id)


def apply_virtual_branch_change(
    mark_id: str, old_image: dict | None, new_image: dict | None, at: str
) -> bool:
    """Count one change of a virtual branch (founded, dissolved, reassigned); False if counted before."""
    return _apply(virtual_branch_deltas(old_image, new_image, at), mark_id)


def org_stats(caller: str, org_id: str, month: str | None, now: datetime | None = None) -> dict:
    """One org's figures for a month, for its staff or staff above: three DynamoDB calls (caller
    and org, the counters, the month's filing)."""
    from chalicelib.services.participation import participation_summary
    from chalicelib.store import stats
    from chalicelib.store.transfers import load_caller_and_org

    now = now or datetime.now(UTC)
    month = check_month(month, now)
    member, org = load_caller_and_org(caller, org_id)
    require_role(member, org, ["staff"], "read this org's statistics")
    view = rules.month_view(month, org.member_count, stats.buckets_from(org_id, month))
    return {
        "org_id": org_id,
        **view,
        **participation_summary(org, month),  # from the month's filing: 0 and null until it is filed
        "as_of": now.isoformat(timespec="seconds"),
    }
