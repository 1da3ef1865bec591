"""Dues: the rate, recording a payment (credited home, with a transfer payment when paid while
attached), the member's ledger, a branch's ledger and the list of members who have not paid.

The platform records payments; it does not move money. The member pays through a payment
provider (bank, WeChat Pay, Alipay, ...), the app sends the provider's reference with the payment,
and the platform keeps the ledgers consistent with what was recorded.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from chalicelib.domain import dues as domain
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.observability import logger, member_ref
from chalicelib.services.authz import require_role

_ORG_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _now() -> datetime:
    return datetime.now(UTC)


def rate(monthly_income_fen: int | None, category: str = "employed") -> dict:
    """The monthly due for an income and a member category (no reads)."""
    return domain.due_for(category, monthly_income_fen).public()


@dataclass(frozen=True)
class NewPayment:
    period: str
    amount_fen: int
    monthly_income_fen: int | None
    category: str | None = None  # must match the member's category on record when given
    provider: str | None = None
    provider_reference: str | None = None


def pay(caller_number: str, req: NewPayment) -> dict:
    """Record the caller's dues for a period, credited to their home branch.

    Two DynamoDB calls: read the member, then one transaction with the payment (at most one per
    member and period), the ledger lines, the ledgers' totals and the provider's reference.
    While attached to another branch, that branch records the payment and a transfer payment of
    the same amount to the home branch, which records it as received.
    """
    from chalicelib.store import dues as store
    from chalicelib.store import members

    if (req.provider is None) != (req.provider_reference is None):
        missing = "provider_reference" if req.provider else "provider"
        raise ValidationFailed(
            "give the payment provider and its reference together",
            errors=[{"field": missing, "message": "required with the other"}],
        )
    member = members.get(caller_number)
    if member is None:
        raise NotFound("no such member")
    if req.category is not None and req.category != member.dues_category:
        raise ValidationFailed(
            f"your branch records you as {member.dues_category}",
            errors=[
                {"field": "category", "message": f"on record: {member.dues_category}; the branch changes it"}
            ],
        )
    now = _now()
    domain.check_payable(req.period, now, member.join_date)
    due = domain.due_for(member.dues_category, req.monthly_income_fen)
    domain.check_amount(due, req.amount_fen)
    home = member.home_branch_id
    paid_at = member.attached_branch_id or home
    payment = domain.Payment(
        payment_id="dp-" + secrets.token_hex(8),
        registration_number=caller_number,
        period=req.period,
        amount_fen=req.amount_fen,
        due_fen=due.amount_fen,
        category=due.category,
        monthly_income_fen=req.monthly_income_fen,
        rate_permille=due.rate_permille,
        home_branch_id=home,
        paid_at_branch_id=paid_at,
        paid_at=now.isoformat(timespec="milliseconds"),
        transfer_id=None if paid_at == home else "dtp-" + secrets.token_hex(8),
        provider=req.provider,
        provider_reference=req.provider_reference,
    )
    store.record_payment(payment, domain.postings(req.amount_fen, home, paid_at), member.name)
    logger.info(
        "dues paid",
        extra={
            "member": member_ref(caller_number),
            "period": req.period,
            "amount_fen": req.amount_fen,
            "credited_org_id": home,
            "paid_at_org_id": paid_at,
            "transfer_id": payment.transfer_id,
        },
    )
    return payment.public()


def set_category(caller_number: str, number: str, category: str) -> dict:
    """Record what a member pays dues by (retired, student, ...): the secretary of their home branch
    or staff above it, never the member alone. Two DynamoDB calls (both members, one update)."""
    from chalicelib.domain import roles
    from chalicelib.store import members

    if category not in domain.CATEGORIES:
        raise ValidationFailed("unknown category", errors=[{"field": "category", "message": "unknown"}])
    caller, member = members.get_pair(caller_number, number)
    if (
        caller is None
        or member is None
        or not roles.holds(caller.roles, member.home_path, ["staff", "secretary"])
    ):
        raise NotFound("no such member, or not yours to change")
    members.set_dues_category(number, category)
    logger.info("dues category set", extra={"member": member_ref(number), "category": category})
    return {"registration_number": number, "dues_category": category}


def my_payments(caller_number: str, limit: int, cursor: dict | None) -> tuple[list[dict], dict | None]:
    """The caller's own ledger: their payments, newest period first."""
    from chalicelib.store import dues as store

    page = store.member_payments(caller_number, limit, cursor)
    return [p.public() for p in page.items], page.last_key


def _branch_for_dues(caller_number: str, org_id: str, action: str):
    from chalicelib.store import members

    if not _ORG_ID.match(org_id):
        raise NotFound(f"no org {org_id}")
    caller, org = members.get_with_org(caller_number, org_id)
    require_role(caller, org, ["staff", "secretary"], action)
    if org.is_department:
        raise ValidationFailed(
            "dues ledgers are kept by branches",
            errors=[{"field": "org_id", "message": f"{org_id} is a {org.level}"}],
        )
    return org


def _period(period: str | None, now: datetime) -> str:
    period = period or domain.current_period(now)
    domain.check_listable(period, now)
    return period


def branch_ledger(
    caller_number: str, org_id: str, period: str | None, limit: int, cursor: dict | None
) -> tuple[str, dict, list[dict], dict | None]:
    """A branch's ledger for a period (its secretary, or staff of it or above): the lines and the
    totals. Returns (period, totals, items, last key)."""
    from chalicelib.store import dues as store

    period = _period(period, _now())
    _branch_for_dues(caller_number, org_id, "read this branch's dues ledger")
    page = store.ledger_entries(org_id, period, limit, cursor)
    totals = store.ledger_totals(org_id, period)
    return period, totals.public(), [e.public() for e in page.items], page.last_key


def unpaid(
    caller_number: str, org_id: str, period: str | None, limit: int, cursor: dict | None
) -> tuple[str, list[dict], dict | None]:
    """Members of a branch (by home) who have not paid `period`, each with their run of unpaid
    months; six in a row is flagged. A page may hold fewer than `limit` items: follow the cursor.

    Bounded: one Query for a page of the roll, then one BatchGetItem per 100 (member, month) keys.
    """
    from chalicelib.store import dues as store

    period = _period(period, _now())
    _branch_for_dues(caller_number, org_id, "list who has not paid dues")
    roll = store.home_members(org_id, limit, cursor)
    months = domain.streak_periods(period)
    paid = store.paid_periods((m.registration_number for m in roll.items), months)
    items = []
    for m in roll.items:
        if (m.registration_number, period) in paid:
            continue
        streak = domain.unpaid_streak(
            period, {p for p in months if (m.registration_number, p) in paid}, m.join_date
        )
        if streak == 0:  # joined after the period
            continue
        items.append(
            {
                "registration_number": m.registration_number,
                "name": m.name,
                "status": m.status,
                "attached_branch_id": m.attached_branch_id,
                "unpaid_months": streak,
                "flagged": domain.is_flagged(streak),
            }
        )
    return period, items, roll.last_key
