"""Transfers: members ask, receiving branches decide, members cancel; lists, the inbox source, expiry.

DynamoDB calls per request (uncontended): asking is two (one TransactGet of member, target and
transfer state; one TransactWrite); accepting is three (caller and transfer; member and state; one
TransactWrite); rejecting and cancelling are two.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from chalicelib.domain import transfers as rules
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.members import Member
from chalicelib.observability import logger, member_ref
from chalicelib.services.authz import require_role

INBOX_LIMIT_PER_ORG = 100
INBOX_MAX_ORGS = 20
EXPIRY_CATCH_UP_DAYS = 7


def _now() -> datetime:
    return datetime.now(UTC)


def request_transfer(
    caller: str, to_org_id: str, kind: str, reason: str | None, now: datetime | None = None
) -> dict:
    """A member asks to move to a branch: temporary (effective at once) or formal (pending)."""
    from chalicelib.store import transfers as store

    now = now or _now()
    read, target, state = store.load_request(caller, to_org_id)
    if read is None:
        raise NotFound("no such member")
    m = read.member
    placement = rules.Placement(
        m.registration_number, m.name, m.home_branch_id, m.home_path, m.attached_branch_id, m.attached_path
    )
    goal = rules.Target(target.org_id, target.level, target.path) if target else None
    transfer = rules.request(
        rules.new_transfer_id(now), placement, goal, kind, reason, now, state.open_formal
    )
    if kind == "temporary":
        store.create_temporary(transfer, read, state, now)
    else:
        expired = None
        if state.open_formal is not None:  # it has expired, or `request` would have refused
            old = store.get(state.open_formal.transfer_id)
            if old is not None and old.status == "pending":
                expired = (old, rules.system_step(old, "expire", now))
        store.create_formal(transfer, state, expired)
    logger.info(
        "transfer requested",
        extra={
            "transfer_id": transfer.transfer_id,
            "kind": kind,
            "status": transfer.status,
            "member": member_ref(caller),
            "from_org_id": transfer.from_org_id,
            "to_org_id": transfer.to_org_id,
        },
    )
    return transfer.public(now)


def decide(
    caller: str, transfer_id: str, action: str, reason: str | None, now: datetime | None = None
) -> dict:
    """accept / reject (the receiving side) or cancel (the member); 404 to anyone not a party."""
    from chalicelib.store import transfers as store

    now = now or _now()
    member, transfer = store.load_with_caller(caller, transfer_id)
    if member is None or transfer is None or not rules.is_party(caller, member.roles, transfer):
        raise NotFound("no such transfer, or not yours to see")
    try:
        after = rules.decide(transfer, action, caller, member.roles, now, reason)
    except rules.TransferExpired:
        with contextlib.suppress(Conflict):  # someone else closed it meanwhile: the answer is the same
            store.close_formal(transfer, rules.system_step(transfer, "expire", now))
        raise
    if transfer.kind == "formal" and after.status == "effective":
        read, state = store.load_member(transfer.registration_number)
        if read is None:
            raise Conflict("the member no longer exists")
        store.accept_formal(transfer, after, read, state, now)
    elif transfer.kind == "formal":
        store.close_formal(transfer, after)
    else:
        store.end_temporary(transfer, after)
    logger.info(
        "transfer decided",
        extra={
            "transfer_id": transfer_id,
            "action": action,
            "status": after.status,
            "by": member_ref(caller),
            "to_org_id": transfer.to_org_id,
        },
    )
    return after.public(now)


def get_transfer(caller: str, transfer_id: str, now: datetime | None = None) -> dict:
    """One transfer with its history, for the member and secretaries and staff on either side."""
    from chalicelib.store import transfers as store

    member, transfer = store.load_with_caller(caller, transfer_id)
    if member is None or transfer is None or not rules.is_party(caller, member.roles, transfer):
        raise NotFound("no such transfer, or not yours to see")
    return transfer.public(now or _now())


def my_transfers(caller: str, limit: int, cursor: dict | None, now: datetime | None = None):
    """The caller's own transfers, newest first: one Query."""
    from chalicelib.store import transfers as store

    now = now or _now()
    page = store.of_member(caller, limit, cursor)
    return [t.summary(now) for t in page.items], page.last_key


def org_transfers(
    caller: str, org_id: str, status: str | None, limit: int, cursor: dict | None, now: datetime | None = None
):
    """Transfers entering (`in`), leaving (`out`) or moving inside (`within`) an org's subtree, for its
    secretary or staff or staff above: one read for the authorisation, one Query."""
    from chalicelib.store import transfers as store

    now = now or _now()
    member, org = store.load_caller_and_org(caller, org_id)
    require_role(member, org, rules.DECIDER_ROLES, "list this org's transfers")
    after = rules.id_floor(now - rules.FORMAL_EXPIRY) if status == "pending" else None
    page = store.of_org(org_id, status, limit, cursor, after_id=after)
    items = [{**transfer.summary(now), "direction": direction} for transfer, direction in page.items]
    return items, page.last_key


def inbox_items(member: Member, now: datetime) -> list[dict]:
    """Inbox source: formal transfers waiting for this member's decision as secretary or staff.

    A pending formal transfer waits for the receiving branch and every department above it (see
    `domain.transfers.awaits`), so each org the member decides for is one Query of the sparse
    `awaiting` index, oldest first, expired ones (over 90 days) left out by the key condition.

    Bounded: at most `INBOX_MAX_ORGS` (20) orgs, `INBOX_LIMIT_PER_ORG` (100) transfers each, so at
    most 20 Queries and 2,000 items. The orgs are taken most specific first (branches where the
    member is secretary, branches where they are staff, then counties, cities, provinces, the
    centre): one who acts for more orgs than that loses the broadest ones, whose transfers largely
    repeat those of the narrower ones. A transfer found through several orgs is listed once, under
    the most specific one (`org_id`). The member's own transfers are left out.
    """
    from chalicelib.store import transfers as store

    orgs = rules.decider_orgs(member.roles)
    if len(orgs) > INBOX_MAX_ORGS:
        logger.info("inbox orgs capped", extra={"orgs": len(orgs), "queried": INBOX_MAX_ORGS})
        orgs = orgs[:INBOX_MAX_ORGS]
    after = rules.id_floor(now - rules.FORMAL_EXPIRY)
    found: dict[str, dict] = {}
    for org_id in orgs:
        for transfer in store.awaiting(org_id, after, INBOX_LIMIT_PER_ORG):
            if transfer.registration_number == member.registration_number or transfer.transfer_id in found:
                continue
            created = rules.parse_time(transfer.created_at)
            found[transfer.transfer_id] = {
                "kind": "transfer",
                "id": transfer.transfer_id,
                "org_id": org_id,
                "created_at": transfer.created_at,
                "due_at": rules.iso(created + rules.OVERDUE_AFTER),
                "overdue": now - created > rules.OVERDUE_AFTER,
                "action": "decide",
                "title": f"{transfer.member_name}: formal transfer to {transfer.to_org_id}",
                "transfer": transfer.summary(now),
            }
    return list(found.values())


def expire_stale(now: datetime | None = None) -> int:
    """The daily sweep: write `expired` on formal transfers pending for over 90 days.

    Reads the sparse `pending_by_day` index for the days 90 days back and a week before (catching up
    on missed runs); each transfer is closed in its own transaction. Returns how many were closed.
    """
    from chalicelib.store import transfers as store

    now = now or _now()
    closed = 0
    newest = (now - rules.FORMAL_EXPIRY).date()
    for back in range(EXPIRY_CATCH_UP_DAYS + 1):
        day = (newest - timedelta(days=back)).isoformat()
        for transfer_id in store.pending_on_day(day):
            transfer = store.get(transfer_id)
            if transfer is None or not transfer.is_expired(now):
                continue
            state = store.state_of(transfer.registration_number)
            held = state.open_formal is not None and state.open_formal.transfer_id == transfer_id
            try:
                store.expire_stale(transfer, rules.system_step(transfer, "expire", now), held)
            except Conflict:
                continue  # decided at this very moment: nothing to expire
            closed += 1
    if closed:
        logger.info("stale transfers expired", extra={"count": closed})
    return closed
