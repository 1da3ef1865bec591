"""Dues payments, branch ledgers and their totals; maps items to `domain.dues` objects.

A payment, its ledger lines in one or two branches' ledgers, the totals of those ledgers and the
provider's reference are written in one TransactWriteItems, so the ledgers always reconcile with
the payments: there is no moment at which one branch shows money the other does not.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from dataclasses import dataclass

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.dues import LedgerEntry, LedgerTotals, Payment, Posting, totals_delta
from chalicelib.domain.errors import Conflict
from chalicelib.store import models
from chalicelib.store.errors import cancellation_codes, is_transaction_conflict
from chalicelib.store.pages import Page, query_page

TOTAL_SHARDS = 4  # totals of a busy branch's month are spread so concurrent payments rarely collide
_ENTRY_PREFIX = "e#"
_TOTALS_PREFIX = "t#"
_RETRIES = 5


def ledger_id(org_id: str, period: str) -> str:
    return f"{org_id}#{period}"


def reference_key(provider: str, reference: str) -> str:
    return f"{provider}#{reference}"


def to_payment(item: models.DuesPayment) -> Payment:
    return Payment(
        payment_id=item.payment_id,
        registration_number=item.registration_number,
        period=item.period,
        amount_fen=int(item.amount_fen),
        due_fen=int(item.due_fen),
        category=item.category,
        monthly_income_fen=None if item.monthly_income_fen is None else int(item.monthly_income_fen),
        rate_permille=None if item.rate_permille is None else int(item.rate_permille),
        home_branch_id=item.home_branch_id,
        paid_at_branch_id=item.paid_at_branch_id,
        paid_at=item.paid_at,
        transfer_id=item.transfer_id,
        provider=item.provider,
        provider_reference=item.provider_reference,
    )


def to_entry(item: models.DuesLedgerEntry) -> LedgerEntry:
    org_id, _, period = item.ledger_id.rpartition("#")
    return LedgerEntry(
        org_id=org_id,
        period=period,
        kind=item.kind,
        amount_fen=int(item.amount_fen or 0),
        registration_number=item.registration_number,
        name=item.name or "",
        payment_id=item.payment_id,
        at=item.at,
        transfer_id=item.transfer_id,
        counterpart_org_id=item.counterpart_org_id,
    )


def _payment_item(p: Payment) -> models.DuesPayment:
    return models.DuesPayment(
        p.registration_number,
        p.period,
        payment_id=p.payment_id,
        amount_fen=p.amount_fen,
        due_fen=p.due_fen,
        category=p.category,
        monthly_income_fen=p.monthly_income_fen,
        rate_permille=p.rate_permille,
        home_branch_id=p.home_branch_id,
        paid_at_branch_id=p.paid_at_branch_id,
        transfer_id=p.transfer_id,
        provider=p.provider,
        provider_reference=p.provider_reference,
        paid_at=p.paid_at,
    )


def _entry_item(p: Payment, posting: Posting, name: str) -> models.DuesLedgerEntry:
    return models.DuesLedgerEntry(
        ledger_id(posting.org_id, p.period),
        f"{_ENTRY_PREFIX}{p.paid_at}#{p.payment_id}#{posting.kind}",
        kind=posting.kind,
        amount_fen=posting.amount_fen,
        registration_number=p.registration_number,
        name=name,
        payment_id=p.payment_id,
        transfer_id=p.transfer_id if posting.kind != "payment" else None,
        counterpart_org_id=posting.counterpart_org_id,
        at=p.paid_at,
    )


def _totals_actions(deltas: dict[str, int]) -> list:
    attrs = models.DuesLedgerEntry
    return [getattr(attrs, name).add(value) for name, value in sorted(deltas.items()) if value]


@dataclass(frozen=True)
class _Write:
    payment: Payment
    postings: tuple[Posting, ...]
    name: str


def record_payment(payment: Payment, postings: Iterable[Posting], name: str) -> None:
    """Write the payment, its ledger lines, the ledgers' totals and the provider reference at once.

    409 when the member already paid the period or the provider reference was used before;
    transaction conflicts on the totals (other payments at the same moment) are retried.
    """
    write = _Write(payment, tuple(postings), name)
    for attempt in range(_RETRIES):
        try:
            _transact(write)
            return
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)
            if codes[:1] == ["ConditionalCheckFailed"]:
                raise Conflict(f"dues for {payment.period} are already paid") from exc
            if payment.provider and codes[1:2] == ["ConditionalCheckFailed"]:
                raise Conflict("this payment provider reference was already recorded") from exc
            if not is_transaction_conflict(exc) or attempt == _RETRIES - 1:
                raise
            time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))


def _transact(write: _Write) -> None:
    p = write.payment
    per_org: dict[str, dict[str, int]] = {}
    for posting in write.postings:
        org_deltas = per_org.setdefault(posting.org_id, {})
        for name, value in totals_delta(posting).items():
            org_deltas[name] = org_deltas.get(name, 0) + value
    shard = random.randrange(TOTAL_SHARDS)
    with TransactWrite(connection=models.DuesPayment._get_connection().connection) as tx:
        tx.save(
            _payment_item(p),
            condition=models.DuesPayment.registration_number.does_not_exist(),
        )
        if p.provider and p.provider_reference:
            tx.save(
                models.DuesReference(
                    reference_key(p.provider, p.provider_reference),
                    registration_number=p.registration_number,
                    period=p.period,
                    payment_id=p.payment_id,
                ),
                condition=models.DuesReference.reference.does_not_exist(),
            )
        for posting in write.postings:
            tx.save(_entry_item(p, posting, write.name))
        for org_id, deltas in sorted(per_org.items()):
            tx.update(
                models.DuesLedgerEntry(ledger_id(org_id, p.period), f"{_TOTALS_PREFIX}{shard}"),
                actions=_totals_actions(deltas),
            )


def member_payments(number: str, limit: int, cursor: dict | None) -> Page:
    """A member's payments, newest period first: one Query."""
    return query_page(models.DuesPayment, number, limit, cursor, to_payment, scan_index_forward=False)


def ledger_entries(org_id: str, period: str, limit: int, cursor: dict | None) -> Page:
    """A branch's ledger lines for a period in the order they were written: one Query."""
    return query_page(
        models.DuesLedgerEntry,
        ledger_id(org_id, period),
        limit,
        cursor,
        to_entry,
        range_key_condition=models.DuesLedgerEntry.entry_id.startswith(_ENTRY_PREFIX),
    )


def ledger_totals(org_id: str, period: str) -> LedgerTotals:
    """The sums of a branch's period: one Query over its few totals shards."""
    sums = dict.fromkeys(
        ("collected_fen", "transferred_out_fen", "transferred_in_fen", "payments", "credited_members"), 0
    )
    for item in models.DuesLedgerEntry.query(
        ledger_id(org_id, period),
        range_key_condition=models.DuesLedgerEntry.entry_id.startswith(_TOTALS_PREFIX),
    ):
        for name in sums:
            sums[name] += int(getattr(item, name) or 0)
    return LedgerTotals(**sums)


@dataclass(frozen=True)
class RollEntry:
    """A member on a branch's roll, as the unpaid list needs them."""

    registration_number: str
    name: str
    join_date: str
    status: str
    attached_branch_id: str | None


def home_members(branch_id: str, limit: int, cursor: dict | None) -> Page:
    """The members whose home is `branch_id`, by number: one Query on `by_home_branch`."""
    return query_page(
        models.Member.by_home_branch,
        branch_id,
        limit,
        cursor,
        lambda m: RollEntry(m.registration_number, m.name, m.join_date, m.status, m.attached_branch_id),
    )


def paid_periods(numbers: Iterable[str], periods: Iterable[str]) -> set[tuple[str, str]]:
    """Which (member, period) pairs have a payment: BatchGetItem, 100 keys a call."""
    keys = [(n, p) for n in dict.fromkeys(numbers) for p in dict.fromkeys(periods)]
    if not keys:
        return set()
    return {
        (item.registration_number, item.period)
        for item in models.DuesPayment.batch_get(keys, attributes_to_get=["registration_number", "period"])
    }
