"""Dues routes: the rate, paying, the member's ledger, a branch's ledger and who has not paid."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import Call, Created, Paged, encode_cursor, endpoint
from chalicelib.api.schemas import PageQuery
from chalicelib.api.schemas import dues as s

bp = Blueprint(__name__)


@endpoint(
    bp,
    "/v1/dues/rate",
    summary="Monthly dues for an income and member category",
    auth=False,
    query=s.DuesRateQuery,
    response=s.DuesRate,
    errors=(400,),
)
def dues_rate(call: Call) -> dict:
    from chalicelib.services.dues import rate

    return rate(call.query.monthly_income_fen, call.query.category)


@endpoint(
    bp,
    "/v1/dues/payments",
    "POST",
    summary="Record the caller's dues for a period, credited to their home branch",
    body=s.CreateDuesPayment,
    response=s.DuesPaymentView,
    status=201,
    idempotent=True,
    errors=(400, 401, 404, 409),
)
def pay_dues(call: Call) -> Created:
    from chalicelib.observability import count
    from chalicelib.services.dues import NewPayment, pay

    b = call.body
    result = pay(
        call.caller,
        NewPayment(
            period=b.period,
            amount_fen=b.amount_fen,
            monthly_income_fen=b.monthly_income_fen,
            category=b.category,
            provider=b.provider,
            provider_reference=b.provider_reference,
        ),
    )
    count("DuesPayments")
    return Created(result)


@endpoint(
    bp,
    "/v1/members/{number}/dues-category",
    "PUT",
    summary="Record what a member pays dues by (the home branch's secretary or staff above it)",
    body=s.SetDuesCategory,
    response=s.DuesCategory,
    errors=(400, 401, 404),
)
def set_dues_category(call: Call) -> dict:
    from chalicelib.services.dues import set_category

    return set_category(call.caller, call.params["number"].upper(), call.body.category)


@endpoint(
    bp,
    "/v1/dues/payments",
    summary="The caller's dues payments, newest period first",
    query=PageQuery,
    response=s.DuesPaymentPage,
    paginated=True,
    errors=(400, 401),
)
def my_dues_payments(call: Call) -> Paged:
    from chalicelib.services.dues import my_payments

    items, last = my_payments(call.caller, call.query.limit, call.cursor)
    return Paged(items, last)


@endpoint(
    bp,
    "/v1/orgs/{org_id}/dues",
    summary="A branch's dues ledger for a period, with totals (its secretary, staff of it or above)",
    query=s.DuesLedgerQuery,
    response=s.DuesLedgerPage,
    paginated=True,
    errors=(400, 401, 403, 404),
)
def branch_dues_ledger(call: Call) -> dict:
    from chalicelib.services.dues import branch_ledger

    org_id = call.params["org_id"]
    period, totals, items, last = branch_ledger(
        call.caller, org_id, call.query.period, call.query.limit, call.cursor
    )
    return {
        "org_id": org_id,
        "period": period,
        "totals": totals,
        "items": items,
        "next_cursor": encode_cursor(call.cursor_scope(), last),
    }


@endpoint(
    bp,
    "/v1/orgs/{org_id}/dues/unpaid",
    summary="Members of a branch who have not paid a period; six months unpaid flagged",
    query=s.DuesLedgerQuery,
    response=s.DuesUnpaidPage,
    paginated=True,
    errors=(400, 401, 403, 404),
)
def branch_dues_unpaid(call: Call) -> dict:
    from chalicelib.services.dues import unpaid

    org_id = call.params["org_id"]
    period, items, last = unpaid(call.caller, org_id, call.query.period, call.query.limit, call.cursor)
    return {
        "org_id": org_id,
        "period": period,
        "items": items,
        "next_cursor": encode_cursor(call.cursor_scope(), last),
    }
