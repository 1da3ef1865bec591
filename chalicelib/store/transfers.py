"""Transfers, the org links that list them and each member's transfer state; one transaction per step.

Every step that changes where a member stands writes, in one TransactWriteItems: the transfer (with
its version), the member item (version and the branches read, so no concurrent step is lost), the
member's transfer state (one open formal transfer, the transfer behind the attachment), both
branches' `member_count` when the home moves, the transfer an attachment supersedes, and the link
items through which orgs list the transfer. A condition that fails is a 409: someone else moved first.

Links: one item per org on either branch's path (`in`, `out` or `within`, see `link_directions`), so
every org lists its transfers, and a pending formal one waits (the sparse `awaiting` index) for the
receiving branch and every department above it: whoever may decide finds it with one Query per org
they act for. At most 9 links per transfer (two 5-level paths share the centre); the largest step,
an accept that supersedes an attachment, writes 2 * 9 links + 6 other items, far from the 100 items
a transaction may hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactGet, TransactWrite

from chalicelib.domain.errors import Conflict
from chalicelib.domain.members import Member
from chalicelib.domain.orgs import Org
from chalicelib.domain.transfers import (
    OpenFormal,
    Step,
    Transfer,
    awaits,
    link_directions,
    system_step,
)
from chalicelib.store import models
from chalicelib.store.errors import cancellation_codes, is_transaction_conflict
from chalicelib.store.members import to_domain as member_to_domain
from chalicelib.store.orgs import to_domain as org_to_domain
from chalicelib.store.pages import Page, query_page


@dataclass(frozen=True)
class TransferState:
    open_formal: OpenFormal | None = None
    attached_transfer_id: str | None = None
    attached_at: str | None = None
    attached_reason: str | None = None


@dataclass(frozen=True)
class Versioned:
    """A member with the version it was read at."""

    member: Member
    version: int | None


def _connection():
    return models.Transfer._get_connection().connection


# ---- mapping ----------------------------------------------------------------------------------------


def to_domain(item: models.Transfer) -> Transfer:
    return Transfer(
        transfer_id=item.transfer_id,
        registration_number=item.registration_number,
        member_name=item.member_name,
        kind=item.kind,
        status=item.status,
        from_org_id=item.from_org_id,
        from_path=tuple(item.from_path or ()),
        to_org_id=item.to_org_id,
        to_path=tuple(item.to_path or ()),
        created_at=item.created_at,
        updated_at=item.updated_at,
        reason=item.reason,
        effective_at=item.effective_at,
        ended_at=item.ended_at,
        decided_by=item.decided_by,
        history=tuple(Step(s.action, s.status, s.by, s.at, s.reason) for s in item.history or ()),
        version=int(item.version) if item.version is not None else None,
    )


def from_image(image: dict | None) -> Transfer | None:
    """A transfer from a stream image (already turned into plain Python values)."""
    if not image:
        return None
    return Transfer(
        transfer_id=str(image["transfer_id"]),
        registration_number=str(image["registration_number"]),
        member_name=str(image.get("member_name", "")),
        kind=str(image["kind"]),
        status=str(image["status"]),
        from_org_id=str(image["from_org_id"]),
        from_path=tuple(str(p) for p in image.get("from_path") or ()),
        to_org_id=str(image["to_org_id"]),
        to_path=tuple(str(p) for p in image.get("to_path") or ()),
        created_at=str(image["created_at"]),
        updated_at=str(image["updated_at"]),
        reason=image.get("reason"),
        effective_at=image.get("effective_at"),
        ended_at=image.get("ended_at"),
        decided_by=image.get("decided_by"),
    )


def _steps(transfer: Transfer) -> list[models.TransferStep]:
    return [
        models.TransferStep(action=s.action, status=s.status, by=s.by, at=s.at, reason=s.reason)
        for s in transfer.history
    ]


def _pending_day(transfer: Transfer) -> str | None:
    return transfer.created_at[:10] if transfer.status == "pending" else None


def _item(transfer: Transfer) -> models.Transfer:
    return models.Transfer(
        transfer.transfer_id,
        registration_number=transfer.registration_number,
        member_name=transfer.member_name,
        kind=transfer.kind,
        status=transfer.status,
        from_org_id=transfer.from_org_id,
        from_path=list(transfer.from_path),
        to_org_id=transfer.to_org_id,
        to_path=list(transfer.to_path),
        reason=transfer.reason,
        created_at=transfer.created_at,
        updated_at=transfer.updated_at,
        effective_at=transfer.effective_at,
        ended_at=transfer.ended_at,
        decided_by=transfer.decided_by,
        history=_steps(transfer),
        pending_day=_pending_day(transfer),
    )


def link_to_summary(item: models.TransferLink) -> dict:
    """A link item as the fields of a transfer summary, plus the org's direction."""
    return {
        "transfer_id": item.transfer_id,
        "registration_number": item.registration_number,
        "member_name": item.member_name,
        "kind": item.kind,
        "status": item.status,
        "from_org_id": item.from_org_id,
        "to_org_id": item.to_org_id,
        "reason": item.reason,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "effective_at": item.effective_at,
        "ended_at": item.ended_at,
        "decided_by": item.decided_by,
        "direction": item.direction,
        "org_id": item.org_id,
    }


def link_to_transfer(item: models.TransferLink) -> Transfer:
    """Enough of a transfer to show it in a list (no paths, no history)."""
    return Transfer(
        transfer_id=item.transfer_id,
        registration_number=item.registration_number,
        member_name=item.member_name,
        kind=item.kind,
        status=item.status,
        from_org_id=item.from_org_id,
        from_path=(),
        to_org_id=item.to_org_id,
        to_path=(),
        created_at=item.created_at,
        updated_at=item.updated_at,
        reason=item.reason,
        effective_at=item.effective_at,
        ended_at=item.ended_at,
        decided_by=item.decided_by,
    )


def _state(item: models.MemberTransfers | None) -> TransferState:
    if item is None:
        return TransferState()
    open_formal = None
    if item.open_formal_id:
        open_formal = OpenFormal(item.open_formal_id, item.open_formal_expires_at or "")
    return TransferState(
        open_formal=open_formal,
        attached_transfer_id=item.attached_transfer_id,
        attached_at=item.attached_at,
        attached_reason=item.attached_reason,
    )


def _resolve(future):
    try:
        return future.get()
    except Exception:  # the future raises its model's DoesNotExist when the item was absent
        return None


def _versioned(item: models.Member | None) -> Versioned | None:
    if item is None:
        return None
    return Versioned(member_to_domain(item), int(item.version) if item.version is not None else None)


# ---- reads ------------------------------------------------------------------------------------------


def load_request(number: str, to_org_id: str) -> tuple[Versioned | None, Org | None, TransferState]:
    """The member, the target org and the member's transfer state: one TransactGetItems."""
    with TransactGet(connection=_connection()) as tx:
        member_f = tx.get(models.Member, number)
        org_f = tx.get(models.Org, to_org_id)
        state_f = tx.get(models.MemberTransfers, number)
    org = _resolve(org_f)
    return _versioned(_resolve(member_f)), org_to_domain(org) if org else None, _state(_resolve(state_f))


def load_with_caller(caller: str, transfer_id: str) -> tuple[Member | None, Transfer | None]:
    """The caller and a transfer: one TransactGetItems."""
    with TransactGet(connection=_connection()) as tx:
        member_f = tx.get(models.Member, caller)
        transfer_f = tx.get(models.Transfer, transfer_id)
    member, transfer = _resolve(member_f), _resolve(transfer_f)
    return (member_to_domain(member) if member else None), (to_domain(transfer) if transfer else None)


def load_member(number: str) -> tuple[Versioned | None, TransferState]:
    """A member and their transfer state: one TransactGetItems."""
    with TransactGet(connection=_connection()) as tx:
        member_f = tx.get(models.Member, number)
        state_f = tx.get(models.MemberTransfers, number)
    return _versioned(_resolve(member_f)), _state(_resolve(state_f))


def load_caller_and_org(caller: str, org_id: str) -> tuple[Member | None, Org | None]:
    """The caller and an org: one TransactGetItems."""
    with TransactGet(connection=_connection()) as tx:
        member_f = tx.get(models.Member, caller)
        org_f = tx.get(models.Org, org_id)
    member, org = _resolve(member_f), _resolve(org_f)
    return (member_to_domain(member) if member else None), (org_to_domain(org) if org else None)


def get(transfer_id: str) -> Transfer | None:
    try:
        return to_domain(models.Transfer.get(transfer_id, consistent_read=True))
    except models.Transfer.DoesNotExist:
        return None


def of_member(number: str, limit: int, cursor: dict | None) -> Page:
    """A member's transfers, newest first: one Query."""
    return query_page(models.Transfer.by_member, number, limit, cursor, to_domain, scan_index_forward=False)


def of_org(
    org_id: str, status: str | None, limit: int, cursor: dict | None, after_id: str | None = None
) -> Page:
    """Transfers entering, leaving or moving inside an org's subtree, newest first, optionally of one
    status (and asked for after `after_id`): one Query."""
    L = models.TransferLink
    condition = L.transfer_id > after_id if after_id else None
    if status is None:
        return query_page(
            L, org_id, limit, cursor, _link, range_key_condition=condition, scan_index_forward=False
        )
    return query_page(
        L.by_status,
        f"{org_id}#{status}",
        limit,
        cursor,
        _link,
        range_key_condition=condition,
        scan_index_forward=False,
    )


def _link(item: models.TransferLink) -> tuple[Transfer, str]:
    return link_to_transfer(item), item.direction


def awaiting(org_id: str, after_id: str, limit: int) -> list[Transfer]:
    """Pending formal transfers to a branch of an org's subtree (the org itself, for a branch) asked
    for after `after_id`, oldest first, whichever subtree they come from: one Query."""
    result = models.TransferLink.awaiting_index.query(
        org_id, models.TransferLink.transfer_id > after_id, limit=limit, page_size=limit
    )
    return [link_to_transfer(item) for item in result]


def pending_on_day(day: str) -> list[str]:
    """Ids of the formal transfers asked for on a UTC day and still pending (the expiry sweep)."""
    return [item.transfer_id for item in models.Transfer.pending_by_day.query(day)]


# ---- writes -----------------------------------------------------------------------------------------


def _bumped(model_cls, *key):
    """An item handle whose update increments the stored version without a version condition.

    PynamoDB sets the version to 1 when the handle carries none; a placeholder makes it ADD 1.
    """
    item = model_cls(*key)
    item.version = 0
    return item


def _versioned_handle(model_cls, version: int | None, *key):
    item = model_cls(*key)
    item.version = version
    return item


def _links_put(tx: TransactWrite, transfer: Transfer) -> None:
    for org_id, direction in link_directions(transfer).items():
        tx.save(_link_item(transfer, org_id, direction))


def _link_item(transfer: Transfer, org_id: str, direction: str) -> models.TransferLink:
    return models.TransferLink(
        org_id,
        transfer.transfer_id,
        direction=direction,
        org_status=f"{org_id}#{transfer.status}",
        awaiting=org_id if awaits(transfer, org_id) else None,
        registration_number=transfer.registration_number,
        member_name=transfer.member_name,
        kind=transfer.kind,
        status=transfer.status,
        from_org_id=transfer.from_org_id,
        to_org_id=transfer.to_org_id,
        reason=transfer.reason,
        created_at=transfer.created_at,
        updated_at=transfer.updated_at,
        effective_at=transfer.effective_at,
        ended_at=transfer.ended_at,
        decided_by=transfer.decided_by,
    )


def _transfer_put(tx: TransactWrite, before: Transfer, after: Transfer) -> None:
    """The transfer moves from `before` (as read, with its version) to `after`: the whole item is
    written, on condition that nobody moved it since (version and status)."""
    item = _item(after)
    item.version = before.version
    tx.save(item, condition=models.Transfer.status == before.status)


def _supersede(tx: TransactWrite, member: Member, state: TransferState, now: datetime, reason: str) -> None:
    """End the member's current attachment, known from the member item and their transfer state.

    The attachment's transfer runs from the home branch to the attached branch and took effect when
    it was asked for, so its links are rewritten without reading it; its history gets one step.
    """
    after = system_step(_attachment_stub(member, state), "supersede", now, reason)
    T = models.Transfer
    step = after.history[-1]
    tx.update(
        _bumped(T, after.transfer_id),
        actions=[
            T.status.set(after.status),
            T.updated_at.set(after.updated_at),
            T.ended_at.set(after.ended_at),
            T.history.set(
                T.history.append(
                    [models.TransferStep(action=step.action, status=step.status, at=step.at, reason=reason)]
                )
            ),
        ],
        condition=T.status == "effective",
        add_version_condition=False,
    )
    _links_put(tx, after)


def _attachment_stub(member: Member, state: TransferState) -> Transfer:
    at = state.attached_at or ""
    return Transfer(
        transfer_id=state.attached_transfer_id or "",
        registration_number=member.registration_number,
        member_name=member.name,
        kind="temporary",
        status="effective",
        from_org_id=member.home_branch_id,
        from_path=tuple(member.home_path),
        to_org_id=member.attached_branch_id or "",
        to_path=tuple(member.attached_path),
        created_at=at,
        updated_at=at,
        effective_at=at,
        reason=state.attached_reason,
    )


def _member_condition(read: Versioned):
    M = models.Member
    m = read.member
    condition = M.home_branch_id == m.home_branch_id
    if m.attached_branch_id:
        condition &= M.attached_branch_id == m.attached_branch_id
    else:
        condition &= M.attached_branch_id.does_not_exist()
    return condition


def _state_condition(state: TransferState, *, formal: bool = False, attached: bool = False):
    S = models.MemberTransfers
    conditions = []
    if formal:
        of = state.open_formal
        conditions.append(S.open_formal_id == of.transfer_id if of else S.open_formal_id.does_not_exist())
    if attached:
        att = state.attached_transfer_id
        conditions.append(S.attached_transfer_id == att if att else S.attached_transfer_id.does_not_exist())
    condition = conditions[0]
    for c in conditions[1:]:
        condition &= c
    return condition


def _commit(build) -> None:
    """Run one TransactWriteItems; any failed condition or concurrent transaction is a 409."""
    try:
        with TransactWrite(connection=_connection()) as tx:
            build(tx)
    except TransactWriteError as exc:
        codes = cancellation_codes(exc)
        if "ConditionalCheckFailed" in codes or is_transaction_conflict(exc):
            raise Conflict(
                "the transfer or the member changed while this request ran; read it again and retry"
            ) from exc
        raise


def create_temporary(transfer: Transfer, read: Versioned, state: TransferState, now: datetime) -> None:
    """An effective temporary transfer: the transfer, the attachment, the state, the links; the
    attachment it replaces is superseded."""
    M, S = models.Member, models.MemberTransfers
    member = read.member

    def build(tx: TransactWrite) -> None:
        tx.save(_item(transfer), condition=models.Transfer.transfer_id.does_not_exist())
        tx.update(
            _versioned_handle(M, read.version, member.registration_number),
            actions=[
                M.attached_branch_id.set(transfer.to_org_id),
                M.attached_path.set(list(transfer.to_path)),
            ],
            condition=_member_condition(read),
        )
        tx.update(
            S(member.registration_number),
            actions=[
                S.attached_transfer_id.set(transfer.transfer_id),
                S.attached_at.set(transfer.effective_at),
                S.attached_reason.set(transfer.reason) if transfer.reason else S.attached_reason.remove(),
            ],
            condition=_state_condition(state, attached=True),
        )
        _links_put(tx, transfer)
        if member.attached_branch_id and state.attached_transfer_id:
            _supersede(tx, member, state, now, f"replaced by {transfer.transfer_id}")

    _commit(build)


def create_formal(
    transfer: Transfer, state: TransferState, expired: tuple[Transfer, Transfer] | None
) -> None:
    """A pending formal transfer: the transfer, the state's one open formal slot, the links; an
    expired one still holding the slot is closed in the same transaction."""
    S = models.MemberTransfers
    expires_at = transfer.deadline.isoformat(timespec="microseconds")

    def build(tx: TransactWrite) -> None:
        tx.save(_item(transfer), condition=models.Transfer.transfer_id.does_not_exist())
        tx.update(
            S(transfer.registration_number),
            actions=[S.open_formal_id.set(transfer.transfer_id), S.open_formal_expires_at.set(expires_at)],
            condition=_state_condition(state, formal=True),
        )
        _links_put(tx, transfer)
        if expired is not None:
            before, after = expired
            _transfer_put(tx, before, after)
            _links_put(tx, after)

    _commit(build)


def accept_formal(
    before: Transfer, after: Transfer, read: Versioned, state: TransferState, now: datetime
) -> None:
    """The home moves: transfer, member, state, both branches' counts, links, and the attachment
    (if any) superseded, in one transaction."""
    M, S, OrgItem = models.Member, models.MemberTransfers, models.Org
    member = read.member

    def build(tx: TransactWrite) -> None:
        _transfer_put(tx, before, after)
        _links_put(tx, after)
        tx.update(
            _versioned_handle(M, read.version, member.registration_number),
            actions=[
                M.home_branch_id.set(after.to_org_id),
                M.home_path.set(list(after.to_path)),
                M.attached_branch_id.remove(),
                M.attached_path.remove(),
            ],
            condition=_member_condition(read) & (M.home_branch_id == before.from_org_id),
        )
        tx.update(
            S(member.registration_number),
            actions=[
                S.open_formal_id.remove(),
                S.open_formal_expires_at.remove(),
                S.attached_transfer_id.remove(),
                S.attached_at.remove(),
                S.attached_reason.remove(),
            ],
            condition=_state_condition(state, formal=True, attached=True)
            & (S.open_formal_id == before.transfer_id),
        )
        for org_id, n in ((before.from_org_id, -1), (after.to_org_id, 1)):
            tx.update(
                _bumped(OrgItem, org_id),
                actions=[OrgItem.member_count.add(n)],
                condition=OrgItem.org_id.exists(),
                add_version_condition=False,
            )
        if member.attached_branch_id and state.attached_transfer_id:
            _supersede(tx, member, state, now, f"home moved by {after.transfer_id}")

    _commit(build)


def close_formal(before: Transfer, after: Transfer) -> None:
    """A pending formal transfer rejected, cancelled or expired: the member's open slot is freed."""
    S = models.MemberTransfers

    def build(tx: TransactWrite) -> None:
        _transfer_put(tx, before, after)
        _links_put(tx, after)
        tx.update(
            S(before.registration_number),
            actions=[S.open_formal_id.remove(), S.open_formal_expires_at.remove()],
            condition=S.open_formal_id == before.transfer_id,
        )

    _commit(build)


def expire_stale(before: Transfer, after: Transfer, slot_held: bool) -> None:
    """The sweep closes an expired transfer; the slot is freed only if it still holds it."""
    if slot_held:
        close_formal(before, after)
        return

    def build(tx: TransactWrite) -> None:
        _transfer_put(tx, before, after)
        _links_put(tx, after)

    _commit(build)


def end_temporary(before: Transfer, after: Transfer) -> None:
    """An attachment rejected by the receiving side or ended by the member: the member is detached."""
    M, S = models.Member, models.MemberTransfers

    def build(tx: TransactWrite) -> None:
        _transfer_put(tx, before, after)
        _links_put(tx, after)
        tx.update(
            _bumped(M, before.registration_number),
            actions=[M.attached_branch_id.remove(), M.attached_path.remove()],
            condition=M.attached_branch_id == before.to_org_id,
            add_version_condition=False,
        )
        tx.update(
            S(before.registration_number),
            actions=[S.attached_transfer_id.remove(), S.attached_at.remove(), S.attached_reason.remove()],
            condition=S.attached_transfer_id == before.transfer_id,
        )

    _commit(build)


def state_of(number: str) -> TransferState:
    try:
        return _state(models.MemberTransfers.get(number, consistent_read=True))
    except models.MemberTransfers.DoesNotExist:
        return TransferState()
