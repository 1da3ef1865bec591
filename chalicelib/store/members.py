"""Members, their registration-number sequences and role grants; maps items to `domain.members.Member`."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError
from pynamodb.transactions import TransactGet, TransactWrite

from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.members import Member
from chalicelib.domain.orgs import Org
from chalicelib.domain.registration import MAX_SEQUENCE, compose
from chalicelib.store import models
from chalicelib.store.errors import cancellation_codes, is_conditional_failure, is_transaction_conflict
from chalicelib.store.orgs import to_domain as org_to_domain


def to_domain(item: models.Member) -> Member:
    return Member(
        registration_number=item.registration_number,
        name=item.name,
        region_code=item.region_code,
        join_date=item.join_date,
        home_branch_id=item.home_branch_id,
        home_path=tuple(item.home_path or ()),
        attached_branch_id=item.attached_branch_id,
        attached_path=tuple(item.attached_path or ()),
        virtual_branch_ids=frozenset(item.virtual_branch_ids or ()),
        roles=frozenset(item.roles or ()),
        status=item.status,
        phone=item.phone,
        created_at=item.created_at,
        dues_category=item.dues_category or "employed",
    )


def _connection():
    return models.Member._get_connection().connection


def get(number: str) -> Member | None:
    """One GetItem."""
    try:
        return to_domain(models.Member.get(number))
    except models.Member.DoesNotExist:
        return None


def set_dues_category(number: str, category: str) -> None:
    """One UpdateItem (the member exists: it was just read)."""
    models.Member(number).update(
        actions=[models.Member.dues_category.set(category)],
        condition=models.Member.registration_number.exists(),
        add_version_condition=False,
    )


def get_pair(first: str, second: str) -> tuple[Member | None, Member | None]:
    """Two members in one BatchGetItem (a caller and the member they ask about)."""
    found = {m.registration_number: to_domain(m) for m in models.Member.batch_get(list({first, second}))}
    return found.get(first), found.get(second)


def get_with_org(number: str, org_id: str) -> tuple[Member | None, Org | None]:
    """A member and an org in one TransactGetItems (a caller and the org they act on)."""
    with TransactGet(connection=_connection()) as tx:
        member_f = tx.get(models.Member, number)
        org_f = tx.get(models.Org, org_id)
    return _resolve(member_f, to_domain), _resolve(org_f, org_to_domain)


def _resolve(future, convert):
    try:
        return convert(future.get())
    except Exception:  # the future raises DoesNotExist of its model when the item was absent
        return None


@dataclass(frozen=True)
class RegistrationContext:
    caller: Member | None
    branch: Org | None
    last_sequence: int


def load_registration_context(caller: str, branch_id: str, seq_key: str) -> RegistrationContext:
    """Caller, target branch and the region-day sequence in one TransactGetItems."""
    with TransactGet(connection=_connection()) as tx:
        member_f = tx.get(models.Member, caller)
        org_f = tx.get(models.Org, branch_id)
        seq_f = tx.get(models.Sequence, seq_key)
    seq = _resolve(seq_f, lambda s: int(s.last or 0))
    return RegistrationContext(
        caller=_resolve(member_f, to_domain),
        branch=_resolve(org_f, org_to_domain),
        last_sequence=seq or 0,
    )


def _member_item(member: Member, number: str, code_hash: str, expires_at: int) -> models.Member:
    return models.Member(
        number,
        name=member.name,
        phone=member.phone,
        region_code=member.region_code,
        join_date=member.join_date,
        home_branch_id=member.home_branch_id,
        home_path=list(member.home_path),
        status="registered",
        activation_code_hash=code_hash,
        activation_expires_at=expires_at,
        created_at=member.created_at,
    )


def _exhausted(region_code: str, join_date: str) -> Conflict:
    return Conflict(
        f"all {MAX_SEQUENCE} registration numbers for region {region_code} on {join_date} are taken; "
        "register the member under another join date or region"
    )


def create_with_next_number(
    member: Member, seq_key: str, last_seen: int, code_hash_for, expires_at: int
) -> str:
    """Claim the next sequence number and create the member and branch count in one go.

    Fast path: one transaction that moves the sequence from the value just read (compare-and-set),
    puts the member and counts it on the home branch. If another writer moved the sequence first,
    fall back to an atomic increment (which always makes progress) followed by a transaction for
    the member. Either way no two members ever get one number.
    """
    region, day = seq_key.split("#")
    join_date = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    if last_seen >= MAX_SEQUENCE:
        raise _exhausted(region, join_date)
    seq = last_seen + 1
    number = _number(member, seq)
    seq_condition = (
        models.Sequence.key.does_not_exist() if last_seen == 0 else models.Sequence.last == last_seen
    )
    try:
        _write_member(
            member,
            number,
            code_hash_for(number),
            expires_at,
            seq_key=seq_key,
            seq=seq,
            seq_condition=seq_condition,
        )
        return number
    except TransactWriteError as exc:
        codes = cancellation_codes(exc)
        lost_race = codes[:1] in (
            ["ConditionalCheckFailed"],
            ["TransactionConflict"],
        ) or is_transaction_conflict(exc)
        if not lost_race:
            _raise_branch_gone(exc, member)
            raise
    for _ in range(10):
        seq = _claim_sequence(seq_key, region, join_date)
        number = _number(member, seq)
        try:
            _write_member(member, number, code_hash_for(number), expires_at)
            return number
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)
            if codes[-1:] == ["ConditionalCheckFailed"]:
                _raise_branch_gone(exc, member)
            if is_transaction_conflict(exc) or codes[:1] == ["ConditionalCheckFailed"]:
                continue  # number taken or contended: claim the next (a gap is harmless, a duplicate not)
            raise
    raise Conflict("registration is busy for this region and day; retry")


def _number(member: Member, seq: int) -> str:
    from datetime import date

    return compose(member.region_code, date.fromisoformat(member.join_date), seq)


def _claim_sequence(seq_key: str, region: str, join_date: str) -> int:
    item = models.Sequence(seq_key)
    try:
        item.update(
            actions=[models.Sequence.last.add(1)],
            condition=models.Sequence.last.does_not_exist() | (models.Sequence.last < MAX_SEQUENCE),
        )
    except UpdateError as exc:
        if is_conditional_failure(exc):
            raise _exhausted(region, join_date) from exc
        raise
    return int(item.last)


def _write_member(member, number, code_hash, expires_at, *, seq_key=None, seq=None, seq_condition=None):
    with TransactWrite(connection=_connection()) as tx:
        if seq_key is not None:
            tx.save(models.Sequence(seq_key, last=seq), condition=seq_condition)
        tx.save(
            _member_item(member, number, code_hash, expires_at),
            condition=models.Member.registration_number.does_not_exist(),
        )
        tx.update(
            models.Org(member.home_branch_id),
            actions=[models.Org.member_count.add(1)],
            condition=models.Org.org_id.exists(),
            add_version_condition=False,
        )


def _raise_branch_gone(exc: PynamoDBException, member: Member) -> None:
    codes = cancellation_codes(exc)
    if codes and codes[-1] == "ConditionalCheckFailed":
        raise NotFound(f"branch {member.home_branch_id} no longer exists") from exc


def claim_activation(number: str, code_hash: str, activated_at: str, now: int | None = None) -> bool:
    """Mark the member active if the stored code hash is still `code_hash` (each code works once).

    With `now`, the code must also not have expired by then.
    """
    condition = models.Member.activation_code_hash == code_hash
    if now is not None:
        condition &= models.Member.activation_expires_at >= now
    try:
        models.Member(number).update(
            actions=[
                models.Member.status.set("active"),
                models.Member.activated_at.set(activated_at),
                models.Member.activation_code_hash.remove(),
                models.Member.activation_expires_at.remove(),
            ],
            condition=condition,
            add_version_condition=False,
        )
    except UpdateError as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def restore_activation(number: str, code_hash: str, expires_at: int) -> None:
    """Undo `claim_activation` when the identity provider refused the account."""
    models.Member(number).update(
        actions=[
            models.Member.status.set("registered"),
            models.Member.activated_at.remove(),
            models.Member.activation_code_hash.set(code_hash),
            models.Member.activation_expires_at.set(expires_at),
        ],
        add_version_condition=False,
    )


def activation_state(number: str) -> tuple[str | None, int | None, str | None]:
    """(code hash, expiry, status) of a member, read consistently; (None, None, None) if unknown."""
    try:
        item = models.Member.get(
            number,
            consistent_read=True,
            attributes_to_get=["activation_code_hash", "activation_expires_at", "status"],
        )
    except models.Member.DoesNotExist:
        return None, None, None
    expires = int(item.activation_expires_at) if item.activation_expires_at is not None else None
    return item.activation_code_hash, expires, item.status


def grant_role(org_id: str, number: str, role_key: str, grant: str, granted_by: str, at: str) -> None:
    """Record the grant on the org and the role on the member in one transaction."""
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.save(
                models.RoleGrant(org_id, grant, granted_by=granted_by, granted_at=at),
                condition=models.RoleGrant.grant.does_not_exist(),
            )
            tx.update(
                models.Member(number),
                actions=[models.Member.roles.add({role_key})],
                condition=models.Member.registration_number.exists(),
                add_version_condition=False,
            )
    except TransactWriteError as exc:
        codes = cancellation_codes(exc)
        if codes[:1] == ["ConditionalCheckFailed"]:
            raise Conflict("the member already holds this role on this org") from exc
        if codes[1:2] == ["ConditionalCheckFailed"]:
            raise NotFound(f"no member {number}") from exc
        raise


def revoke_role(org_id: str, number: str, role_key: str, grant: str) -> None:
    """Take a role back from the org's list and the member's roles in one transaction."""
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.delete(models.RoleGrant(org_id, grant), condition=models.RoleGrant.grant.exists())
            tx.update(
                models.Member(number),
                actions=[models.Member.roles.delete({role_key})],
                condition=models.Member.registration_number.exists(),
                add_version_condition=False,
            )
    except TransactWriteError as exc:
        if "ConditionalCheckFailed" in cancellation_codes(exc):
            raise NotFound("the member does not hold this role on this org") from exc
        raise


def grants(org_id: str, limit: int, cursor: dict | None, role: str | None = None):
    """Role grants on an org, one Query (optionally only one role)."""
    from chalicelib.store.pages import query_page

    condition = models.RoleGrant.grant.startswith(f"{role}#") if role else None
    return query_page(
        models.RoleGrant,
        org_id,
        limit,
        cursor,
        lambda g: {
            "org_id": g.org_id,
            "role": g.grant.split("#", 1)[0],
            "registration_number": g.grant.split("#", 1)[1],
            "granted_at": g.granted_at,
        },
        range_key_condition=condition,
    )
