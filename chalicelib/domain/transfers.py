"""Transfers of the organisational relationship: the state machine, who may act, and what each step means.

Two kinds, one machine:

    temporary:  (request) -> effective --reject (receiving side, within 7 days)--> rejected
                                        --cancel (the member)------------------> ended
                                        --a newer attachment or a new home-----> superseded
    formal:     (request) -> pending   --accept (receiving side)---------------> effective
                                        --reject (receiving side)---------------> rejected
                                        --cancel (the member)-------------------> cancelled
                                        --90 days without a decision------------> expired

A temporary transfer attaches the member to the receiving branch at once; the home branch stays.
A formal transfer moves the home branch when it is accepted and ends any attachment (the member
now lives where the new home is). Every step is kept in `history` with who, when and why.

Decisions (where the issue is silent):
- `from` is always the home branch at the time of the request: the branch holding the
  relationship. Attachments do not count in a branch's `member_count` (they are the mobile members
  of the statistics).
- The receiving side is the secretary of the receiving branch or staff of it or any department
  above it; nobody decides their own transfer. Only the member cancels; cancelling an effective
  temporary transfer ends the attachment ("I am back home").
- A transfer to the home branch, or a temporary one to the branch already attached to, is a 409.
  Targets must be physical branches (400 otherwise).
- Every org on either branch's path lists the transfer (`link_directions`), and a pending formal
  one waits in the inbox of every org on the receiving side (`awaits`): a move between two
  branches of one county reaches the county, the city, the province and the centre too.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from chalicelib.domain import roles as roles_mod
from chalicelib.domain.errors import Conflict, Forbidden, ValidationFailed

KINDS = ("temporary", "formal")
STATUSES = ("pending", "effective", "rejected", "cancelled", "expired", "ended", "superseded")
ACTIONS = ("accept", "reject", "cancel")

REJECT_WINDOW = timedelta(days=7)  # a temporary transfer may be declined this long after it took effect
FORMAL_EXPIRY = timedelta(days=90)  # a formal transfer nobody decided expires after this
OVERDUE_AFTER = timedelta(days=7)  # a pending transfer older than this is overdue in the inbox

DECIDER_ROLES = ("secretary", "staff")

# (kind, status, action) -> (new status, who may do it: "receiver" | "member")
TRANSITIONS: dict[tuple[str, str, str], tuple[str, str]] = {
    ("formal", "pending", "accept"): ("effective", "receiver"),
    ("formal", "pending", "reject"): ("rejected", "receiver"),
    ("formal", "pending", "cancel"): ("cancelled", "member"),
    ("temporary", "effective", "reject"): ("rejected", "receiver"),
    ("temporary", "effective", "cancel"): ("ended", "member"),
}
# steps the system takes, with no actor
SYSTEM_TRANSITIONS: dict[tuple[str, str, str], str] = {
    ("formal", "pending", "expire"): "expired",
    ("temporary", "effective", "supersede"): "superseded",
}
# statuses in which a temporary transfer was effective at some point (filed, counted as attached)
WAS_EFFECTIVE = {
    "temporary": frozenset({"effective", "rejected", "ended", "superseded"}),
    "formal": frozenset({"effective"}),
}


class TransferExpired(Conflict):
    """A pending formal transfer past its expiry: the service writes the expiry, the client gets 409."""


def iso(moment: datetime) -> str:
    """Times are stored as ISO 8601 UTC with microseconds, so they sort as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def new_transfer_id(now: datetime) -> str:
    """`tr-` + milliseconds (12 hex) + 8 random hex: ids sort by creation time."""
    return f"{id_floor(now)}{secrets.token_hex(4)}"


def id_floor(moment: datetime) -> str:
    """A string that sorts before the id of every transfer asked for at or after `moment`."""
    return f"tr-{int(moment.timestamp() * 1000):012x}"


@dataclass(frozen=True)
class Step:
    """One step of a transfer's life: what happened, the status after it, who, when and why."""

    action: str
    status: str
    by: str | None
    at: str
    reason: str | None = None

    def public(self) -> dict:
        return {
            "action": self.action,
            "status": self.status,
            "by": self.by,
            "at": self.at,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Transfer:
    transfer_id: str
    registration_number: str
    member_name: str
    kind: str
    status: str
    from_org_id: str
    from_path: tuple[str, ...]
    to_org_id: str
    to_path: tuple[str, ...]
    created_at: str
    updated_at: str
    reason: str | None = None
    effective_at: str | None = None
    ended_at: str | None = None
    decided_by: str | None = None
    history: tuple[Step, ...] = field(default_factory=tuple)
    version: int | None = None  # the store's optimistic-locking token, opaque here

    @property
    def deadline(self) -> datetime | None:
        """Until when the open question stays open: expiry of a pending formal transfer, or the end of
        a temporary transfer's window to decline it."""
        if self.kind == "formal" and self.status == "pending":
            return parse_time(self.created_at) + FORMAL_EXPIRY
        if self.kind == "temporary" and self.status == "effective" and self.effective_at:
            return parse_time(self.effective_at) + REJECT_WINDOW
        return None

    def is_expired(self, now: datetime) -> bool:
        return self.kind == "formal" and self.status == "pending" and now >= self.deadline

    def display_status(self, now: datetime) -> str:
        """The status a reader sees: a pending transfer past its expiry reads `expired` before the
        daily sweep has written it."""
        return "expired" if self.is_expired(now) else self.status

    def summary(self, now: datetime) -> dict:
        """The list shape."""
        deadline = self.deadline
        status = self.display_status(now)
        return {
            "transfer_id": self.transfer_id,
            "registration_number": self.registration_number,
            "member_name": self.member_name,
            "kind": self.kind,
            "status": status,
            "from_org_id": self.from_org_id,
            "to_org_id": self.to_org_id,
            "reason": self.reason,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "effective_at": self.effective_at,
            "ended_at": self.ended_at,
            "decided_by": self.decided_by,
            "expires_at": iso(deadline)
            if deadline and self.kind == "formal" and status == "pending"
            else None,
            "reject_until": iso(deadline) if deadline and self.kind == "temporary" else None,
        }

    def public(self, now: datetime) -> dict:
        """The full shape, with every step."""
        return {**self.summary(now), "history": [s.public() for s in self.history]}

    @property
    def was_effective(self) -> bool:
        return self.status in WAS_EFFECTIVE[self.kind]


@dataclass(frozen=True)
class Placement:
    """Where a member stands: the home branch and the branch attached to, if any."""

    registration_number: str
    name: str
    home_branch_id: str
    home_path: tuple[str, ...]
    attached_branch_id: str | None = None
    attached_path: tuple[str, ...] = ()


@dataclass(frozen=True)
class OpenFormal:
    """The member's open formal transfer, as remembered next to the member."""

    transfer_id: str
    expires_at: str

    def expired(self, now: datetime) -> bool:
        return now >= parse_time(self.expires_at)


@dataclass(frozen=True)
class Target:
    org_id: str
    level: str
    path: tuple[str, ...]


def request(
    transfer_id: str,
    member: Placement,
    target: Target | None,
    kind: str,
    reason: str | None,
    now: datetime,
    open_formal: OpenFormal | None = None,
) -> Transfer:
    """A member asks to move: a temporary transfer is effective at once, a formal one pending."""
    if kind not in KINDS:
        raise ValidationFailed("unknown kind", errors=[{"field": "kind", "message": "temporary or formal"}])
    if target is None:
        raise ValidationFailed("unknown branch", errors=[{"field": "to_org_id", "message": "no such org"}])
    if target.level != "branch":
        raise ValidationFailed(
            "transfers go to a physical branch (level `branch`); virtual branches and departments "
            "cannot hold a member's relationship",
            errors=[{"field": "to_org_id", "message": f"is a {target.level}, not a physical branch"}],
        )
    if target.org_id == member.home_branch_id:
        raise Conflict("you are already a member of this branch")
    if kind == "temporary" and target.org_id == member.attached_branch_id:
        raise Conflict("you are already attached to this branch")
    if kind == "formal" and open_formal is not None and not open_formal.expired(now):
        raise Conflict(
            f"you already have an open formal transfer ({open_formal.transfer_id}); cancel it first"
        )
    at = iso(now)
    status = "effective" if kind == "temporary" else "pending"
    return Transfer(
        transfer_id=transfer_id,
        registration_number=member.registration_number,
        member_name=member.name,
        kind=kind,
        status=status,
        from_org_id=member.home_branch_id,
        from_path=tuple(member.home_path),
        to_org_id=target.org_id,
        to_path=tuple(target.path),
        created_at=at,
        updated_at=at,
        reason=reason,
        effective_at=at if status == "effective" else None,
        history=(Step("requested", status, member.registration_number, at, reason),),
    )


def is_receiver(role_keys: Iterable[str], transfer: Transfer) -> bool:
    """Secretary of the receiving branch, or staff of it or of a department above it."""
    return roles_mod.holds(role_keys, transfer.to_path, DECIDER_ROLES)


def decider_orgs(role_keys: Iterable[str]) -> list[str]:
    """The orgs on which a member may decide transfers, most specific first.

    Branches where they are secretary, then branches where they are staff, then counties, cities,
    provinces and the centre (told apart by their ids: `div-` + a GB/T 2260 code, `xxxx00` a city,
    `xx0000` a province). A pending transfer waits for every org on its receiving side, so the most
    specific org lists the fewest and the centre all of them. Virtual branches are left out: no
    transfer goes to one.
    """
    ranks: dict[str, int] = {}
    for key in role_keys or ():
        role, _, org_id = key.partition("@")
        if role in DECIDER_ROLES and not org_id.startswith("vb-"):
            rank = _specificity(role, org_id)
            ranks[org_id] = min(rank, ranks.get(org_id, rank))
    return sorted(ranks, key=lambda org_id: (ranks[org_id], org_id))


def _specificity(role: str, org_id: str) -> int:
    if org_id == "central":
        return 5
    if org_id.startswith("div-"):
        code = org_id[4:]
        return 4 if code.endswith("0000") else 3 if code.endswith("00") else 2
    return 0 if role == "secretary" else 1  # a branch


def is_party(number: str, role_keys: Iterable[str], transfer: Transfer) -> bool:
    """May see the transfer: the member, and secretaries and staff on either side."""
    keys = frozenset(role_keys or ())
    return (
        number == transfer.registration_number
        or roles_mod.holds(keys, transfer.to_path, DECIDER_ROLES)
        or roles_mod.holds(keys, transfer.from_path, DECIDER_ROLES)
    )


def decide(
    transfer: Transfer, action: str, actor: str, role_keys: Iterable[str], now: datetime, reason: str | None
) -> Transfer:
    """Apply `action` by `actor`; Forbidden if they may not, Conflict if the state does not allow it."""
    if action not in ACTIONS:
        raise ValidationFailed(f"unknown action {action}")
    allowed_by = {who for (k, _s, a), (_n, who) in TRANSITIONS.items() if k == transfer.kind and a == action}
    if not allowed_by:
        raise Conflict(f"a {transfer.kind} transfer cannot be {_past(action)}")
    is_member = actor == transfer.registration_number
    if "member" in allowed_by and not is_member:
        raise Forbidden("only the member may cancel their transfer")
    if "receiver" in allowed_by:
        if is_member:
            raise Forbidden("nobody decides their own transfer")
        if not is_receiver(role_keys, transfer):
            raise Forbidden(
                "only the receiving branch's secretary or staff of it or above may decide this transfer"
            )
    if transfer.is_expired(now):
        raise TransferExpired("this transfer expired after 90 days without a decision")
    step = TRANSITIONS.get((transfer.kind, transfer.status, action))
    if step is None:
        raise Conflict(f"this transfer is {transfer.status}; it cannot be {_past(action)} now")
    if transfer.kind == "temporary" and action == "reject" and now > transfer.deadline:
        raise Conflict("the 7 days in which the receiving branch may decline this transfer are over")
    new_status, _ = step
    return _advance(transfer, action, new_status, actor, now, reason)


def system_step(transfer: Transfer, action: str, now: datetime, reason: str | None = None) -> Transfer:
    """A step nobody asks for: `expire` a stale formal transfer, `supersede` an attachment."""
    new_status = SYSTEM_TRANSITIONS.get((transfer.kind, transfer.status, action))
    if new_status is None:
        raise Conflict(f"a {transfer.kind} transfer that is {transfer.status} cannot be {_past(action)}")
    if action == "expire" and not transfer.is_expired(now):
        raise Conflict("this transfer has not expired yet")
    return _advance(transfer, action, new_status, None, now, reason)


def _advance(
    transfer: Transfer, action: str, status: str, actor: str | None, now: datetime, reason: str | None
) -> Transfer:
    at = iso(now)
    changes: dict = {"status": status, "updated_at": at}
    if status == "effective":
        changes["effective_at"] = at
    elif transfer.status == "effective":
        changes["ended_at"] = at  # an attachment ends
    if action in ("accept", "reject"):
        changes["decided_by"] = actor
    return replace(
        transfer, history=(*transfer.history, Step(_past(action), status, actor, at, reason)), **changes
    )


def _past(action: str) -> str:
    return {
        "accept": "accepted",
        "reject": "rejected",
        "cancel": "cancelled",
        "expire": "expired",
        "supersede": "superseded",
    }.get(action, action)


# ---- what a transfer means for the member and for the orgs around it --------------------------------


def placement_after(member: Placement, transfer: Transfer) -> Placement:
    """Where the member stands once `transfer` (just changed) has taken or lost effect."""
    if transfer.kind == "temporary":
        if transfer.status == "effective":
            return replace(member, attached_branch_id=transfer.to_org_id, attached_path=transfer.to_path)
        if member.attached_branch_id == transfer.to_org_id:
            return replace(member, attached_branch_id=None, attached_path=())
        return member
    if transfer.status == "effective":
        return replace(
            member,
            home_branch_id=transfer.to_org_id,
            home_path=transfer.to_path,
            attached_branch_id=None,
            attached_path=(),
        )
    return member


def link_directions(transfer: Transfer) -> dict[str, str]:
    """Every org that lists the transfer as its own, with its direction: `out` (the transfer leaves
    its subtree), `in` (enters it) or `within` (both branches are in its subtree).

    That is every org on either path, so each org whose secretary or staff may see or decide the
    transfer lists it with one Query of its own, common ancestors (the lowest common department up
    to the centre) included. Bounded by the two paths: at most 2 * depth - 1 orgs (9 for branches
    under counties). The centre's partition takes one link write per transfer step nationwide, far
    below what one partition sustains (1,000 writes a second) at any rate members move.
    """
    dst = set(transfer.to_path)
    out = {org: ("within" if org in dst else "out") for org in transfer.from_path}
    out.update({org: "in" for org in transfer.to_path if org not in out})
    return out


def awaits(transfer: Transfer, org_id: str) -> bool:
    """Does the transfer wait for a decision by this org's secretary or staff? A pending formal
    transfer waits for every org on the receiving side: the receiving branch and every department
    above it, which is who `is_receiver` lets decide."""
    return transfer.kind == "formal" and transfer.status == "pending" and org_id in transfer.to_path


def filing_sides(transfer: Transfer) -> dict[str, str]:
    """Every org on either side, for the central filing: `in`, `out` or `within` (both sides)."""
    return link_directions(transfer)


def became_effective(old: Transfer | None, new: Transfer | None) -> bool:
    """Did this change make the transfer effective (the moment it is filed)?"""
    return new is not None and new.status == "effective" and (old is None or old.status != "effective")
