"""Request and response models of dues: the rate, payments, ledgers and who has not paid."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictInt

from chalicelib.api.schemas import Model, PageQuery, Query, Strict
from chalicelib.domain.dues import CATEGORIES, MAX_AMOUNT_FEN, MAX_INCOME_FEN, PERIOD_PATTERN

Category = Literal[CATEGORIES]  # type: ignore[valid-type]


class DuesRateQuery(Query):
    monthly_income_fen: int | None = Field(None, ge=0, le=MAX_INCOME_FEN)
    category: Category = "employed"


class DuesRate(Model):
    category: str
    rate: float | None = Field(description="share of the income, 0.005 is 0.5 %; null for fixed amounts")
    amount_fen: int
    basis: str
    standard_max_fen: int | None = None


class CreateDuesPayment(Strict):
    period: str = Field(pattern=PERIOD_PATTERN, description="YYYY-MM, at most 6 months back")
    amount_fen: StrictInt = Field(ge=1, le=MAX_AMOUNT_FEN)
    monthly_income_fen: StrictInt | None = Field(None, ge=0, le=MAX_INCOME_FEN)
    category: Category | None = Field(
        None, description="optional: must be the category the branch records for you (GET /v1/members/me)"
    )
    provider: str | None = Field(
        None, pattern=r"^[a-z0-9_]{1,32}$", description="payment provider, e.g. wechat_pay, alipay, unionpay"
    )
    provider_reference: str | None = Field(
        None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:/-]+$", description="the provider's id"
    )


class SetDuesCategory(Strict):
    category: Category


class DuesCategory(Model):
    registration_number: str
    dues_category: str


class DuesPaymentView(Model):
    payment_id: str
    registration_number: str
    period: str
    amount_fen: int
    due_fen: int
    category: str
    monthly_income_fen: int | None
    rate: float | None
    credited_org_id: str
    paid_at_org_id: str
    transfer_id: str | None
    provider: str | None
    provider_reference: str | None
    paid_at: str


class DuesPaymentPage(Model):
    items: list[DuesPaymentView]
    next_cursor: str | None


class DuesLedgerQuery(PageQuery):
    period: str | None = Field(None, pattern=PERIOD_PATTERN, description="YYYY-MM; default the current month")


class DuesLedgerEntryView(Model):
    org_id: str
    period: str
    kind: Literal["payment", "transfer_out", "transfer_in"]
    amount_fen: int
    registration_number: str
    name: str
    payment_id: str
    transfer_id: str | None
    counterpart_org_id: str | None
    at: str


class DuesLedgerTotals(Model):
    collected_fen: int
    transferred_out_fen: int
    transferred_in_fen: int
    balance_fen: int
    payments: int
    credited_members: int


class DuesLedgerPage(Model):
    org_id: str
    period: str
    totals: DuesLedgerTotals
    items: list[DuesLedgerEntryView]
    next_cursor: str | None


class DuesUnpaidMember(Model):
    registration_number: str
    name: str
    status: str
    attached_branch_id: str | None
    unpaid_months: int = Field(description="consecutive unpaid months ending with the period, up to 6")
    flagged: bool = Field(description="six months in a row unpaid")


class DuesUnpaidPage(Model):
    org_id: str
    period: str
    items: list[DuesUnpaidMember]
    next_cursor: str | None
