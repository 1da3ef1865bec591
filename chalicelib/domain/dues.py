"""Membership dues: the rate table, member categories, periods and what counts as unpaid.

Every figure comes from the Organisation Department's *Regulations on the collection, use and
management of membership dues* (中组发〔2008〕3号, in force since 2008-04-01):

- Art. 2, members with a wage (`employed`): monthly income after tax up to 3,000 yuan (inclusive)
  0.5 %, up to 5,000 yuan 1 %, up to 10,000 yuan 1.5 %, above 2 %. This is the table of API.md.
- Art. 5, retired members (`retired`): pension (or retirement pay) up to 5,000 yuan (inclusive)
  0.5 %, above 1 %.
- Art. 6, farmers (`farmer`): 0.2 to 1 yuan a month; students (`student`), laid-off and unemployed
  members (`unemployed`), and members living on relief or the local minimum living allowance
  (`relief`): 0.2 yuan a month.
- "Members may voluntarily pay more without limit": an amount above the due is accepted.
- "Back-payment generally does not exceed 6 months": the oldest period a member may still pay here
  is 6 months before the current one; earlier arrears are settled with the branch.
- The Constitution (Art. 9) treats six consecutive months without paying dues, without good
  reason, as leaving the organisation: six unpaid months are flagged for the branch secretary.

Money is integer fen; percentages are held as per-mille integers so no float ever touches money;
half a fen rounds up (300,001 fen at 1 % is 3,000.01 fen -> 3,000 fen; 1,001 fen at 0.5 % is
5.005 -> 5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from chalicelib.domain.errors import ValidationFailed

# periods are calendar months in China's time zone (no daylight saving since 1991)
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
PERIOD_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
_PERIOD = re.compile(PERIOD_PATTERN)
MAX_BACK_PAYMENT_MONTHS = 6
FLAG_AFTER_UNPAID_MONTHS = 6
MAX_INCOME_FEN = 10**11  # a billion yuan a month: anything above is a typing error
MAX_AMOUNT_FEN = 10**9

# (inclusive upper bound of monthly income in fen or None for "above", rate in per mille)
EMPLOYED_BANDS: tuple[tuple[int | None, int], ...] = (
    (300_000, 5),
    (500_000, 10),
    (1_000_000, 15),
    (None, 20),
)
RETIRED_BANDS: tuple[tuple[int | None, int], ...] = ((500_000, 5), (None, 10))
# fixed monthly amounts in fen: (the due, the top of the standard range)
FIXED_FEN = {
    "farmer": (20, 100),
    "student": (20, 20),
    "unemployed": (20, 20),
    "relief": (20, 20),
}
CATEGORIES = ("employed", "retired", *FIXED_FEN)
BASIS = {
    "employed": "monthly income after tax",
    "retired": "monthly pension or retirement pay",
    "farmer": "fixed: 0.2 to 1 yuan a month",
    "student": "fixed: 0.2 yuan a month",
    "unemployed": "fixed: 0.2 yuan a month",
    "relief": "fixed: 0.2 yuan a month",
}


@dataclass(frozen=True)
class Due:
    """What a member of a category owes for one month."""

    category: str
    rate_permille: int | None  # None for the fixed amounts
    amount_fen: int
    basis: str
    standard_max_fen: int | None = None  # for a range (farmers): the top of it

    @property
    def rate(self) -> float | None:
        return None if self.rate_permille is None else self.rate_permille / 1000

    def public(self) -> dict:
        """The API shape: `{"rate", "amount_fen", ...}`; rate as a fraction (0.005 is 0.5 %)."""
        out = {
            "category": self.category,
            "rate": self.rate,
            "amount_fen": self.amount_fen,
            "basis": self.basis,
        }
        if self.standard_max_fen is not None and self.standard_max_fen != self.amount_fen:
            out["standard_max_fen"] = self.standard_max_fen
        return out


def _band_rate(income_fen: int, bands: tuple[tuple[int | None, int], ...]) -> int:
    for upper, permille in bands:
        if upper is None or income_fen <= upper:
            return permille
    raise AssertionError("the last band is open")  # pragma: no cover


def percent_of(income_fen: int, permille: int) -> int:
    """`permille`/1000 of an amount in fen, half a fen rounding up."""
    return (income_fen * permille * 2 + 1000) // 2000


def due_for(category: str, monthly_income_fen: int | None) -> Due:
    """The monthly due of a member of `category` with this income (income only matters by rate)."""
    if category not in CATEGORIES:
        raise ValidationFailed(
            "unknown member category",
            errors=[{"field": "category", "message": f"one of {', '.join(CATEGORIES)}"}],
        )
    if category in FIXED_FEN:
        due, top = FIXED_FEN[category]
        return Due(category, None, due, BASIS[category], top)
    if monthly_income_fen is None:
        raise ValidationFailed(
            f"members of category {category} pay a share of their monthly income",
            errors=[{"field": "monthly_income_fen", "message": "required for this category"}],
        )
    if not 0 <= monthly_income_fen <= MAX_INCOME_FEN:
        raise ValidationFailed(
            "income out of range",
            errors=[{"field": "monthly_income_fen", "message": f"0..{MAX_INCOME_FEN} fen"}],
        )
    bands = EMPLOYED_BANDS if category == "employed" else RETIRED_BANDS
    permille = _band_rate(monthly_income_fen, bands)
    return Due(category, permille, percent_of(monthly_income_fen, permille), BASIS[category])


def check_amount(due: Due, amount_fen: int) -> None:
    """The amount paid covers the due (paying more is allowed, without limit)."""
    if amount_fen < due.amount_fen:
        raise ValidationFailed(
            "the amount is less than the dues for this period",
            errors=[{"field": "amount_fen", "message": f"at least {due.amount_fen} fen"}],
        )
    if amount_fen > MAX_AMOUNT_FEN:
        raise ValidationFailed(
            "the amount is out of range",
            errors=[{"field": "amount_fen", "message": f"at most {MAX_AMOUNT_FEN} fen"}],
        )


# ---- periods ---------------------------------------------------------------------------------------


def current_period(now: datetime) -> str:
    """The month `now` falls in, in China's time zone: `2026-11`."""
    return now.astimezone(CHINA).strftime("%Y-%m")


def is_period(value: str) -> bool:
    return bool(_PERIOD.match(value))


def _index(period: str) -> int:
    year, month = int(period[:4]), int(period[5:7])
    return year * 12 + month - 1


def _from_index(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def add_months(period: str, months: int) -> str:
    """`period` moved by `months` (negative: back)."""
    return _from_index(_index(period) + months)


def months_between(earlier: str, later: str) -> int:
    """How many months `later` is after `earlier`."""
    return _index(later) - _index(earlier)


def period_of(day: str | date) -> str:
    """The period of an ISO date (`2020-07-01` -> `2020-07`)."""
    return (day.isoformat() if isinstance(day, date) else day)[:7]


def check_payable(period: str, now: datetime, join_date: str | None = None) -> None:
    """A period may be paid in the app: not in the future, at most 6 months back, not before joining."""
    if not is_period(period):
        raise ValidationFailed("invalid period", errors=[{"field": "period", "message": "YYYY-MM"}])
    current = current_period(now)
    back = months_between(period, current)
    message = None
    if back < 0:
        message = "is in the future"
    elif back > MAX_BACK_PAYMENT_MONTHS:
        message = (
            f"is more than {MAX_BACK_PAYMENT_MONTHS} months back; older arrears are settled with the branch"
        )
    elif join_date and period < period_of(join_date):
        message = "is before the member joined"
    if message:
        raise ValidationFailed(
            f"period {period} cannot be paid", errors=[{"field": "period", "message": message}]
        )


def check_listable(period: str, now: datetime) -> None:
    """A period a ledger may be asked for: a real month, not after the current one."""
    if not is_period(period):
        raise ValidationFailed("invalid period", errors=[{"field": "period", "message": "YYYY-MM"}])
    if period > current_period(now):
        raise ValidationFailed("invalid period", errors=[{"field": "period", "message": "is in the future"}])


def unpaid_streak(period: str, paid: set[str], join_date: str | None) -> int:
    """Consecutive unpaid months ending with `period` (counting no month before joining), at most 6."""
    first = period_of(join_date) if join_date else None
    streak = 0
    for back in range(FLAG_AFTER_UNPAID_MONTHS):
        month = add_months(period, -back)
        if month in paid or (first is not None and month < first):
            break
        streak += 1
    return streak


def streak_periods(period: str) -> list[str]:
    """The months whose payments decide the streak of `period`: it and the 5 before."""
    return [add_months(period, -back) for back in range(FLAG_AFTER_UNPAID_MONTHS)]


def is_flagged(streak: int) -> bool:
    """Six consecutive unpaid months: the secretary must follow up (Constitution, Art. 9)."""
    return streak >= FLAG_AFTER_UNPAID_MONTHS


# ---- ledgers ---------------------------------------------------------------------------------------

# what an entry in a branch's ledger records
ENTRY_KINDS = ("payment", "transfer_out", "transfer_in")


@dataclass(frozen=True)
class Posting:
    """One line of a branch's ledger for a period; `amount_fen` is signed (out is negative)."""

    org_id: str
    kind: str
    amount_fen: int
    counterpart_org_id: str | None = None


def postings(amount_fen: int, home_branch_id: str, paid_at_branch_id: str) -> list[Posting]:
    """The ledger lines of one payment.

    Paid at home: one `payment` line at home. Paid while attached elsewhere: the attached branch
    records the `payment` it collected and a `transfer_out` of the same amount to the home branch,
    which records the `transfer_in` (the transfer payment between the two ledgers). Each branch's
    lines sum to what it keeps, and all lines of all branches sum to what members paid.
    """
    if paid_at_branch_id == home_branch_id:
        return [Posting(home_branch_id, "payment", amount_fen)]
    return [
        Posting(paid_at_branch_id, "payment", amount_fen, home_branch_id),
        Posting(paid_at_branch_id, "transfer_out", -amount_fen, home_branch_id),
        Posting(home_branch_id, "transfer_in", amount_fen, paid_at_branch_id),
    ]


@dataclass(frozen=True)
class Payment:
    """A recorded dues payment; the money itself moved through the payment provider."""

    payment_id: str
    registration_number: str
    period: str
    amount_fen: int
    due_fen: int
    category: str
    monthly_income_fen: int | None
    rate_permille: int | None
    home_branch_id: str
    paid_at_branch_id: str
    paid_at: str
    transfer_id: str | None = None
    provider: str | None = None
    provider_reference: str | None = None

    def public(self) -> dict:
        return {
            "payment_id": self.payment_id,
            "registration_number": self.registration_number,
            "period": self.period,
            "amount_fen": self.amount_fen,
            "due_fen": self.due_fen,
            "category": self.category,
            "monthly_income_fen": self.monthly_income_fen,
            "rate": None if self.rate_permille is None else self.rate_permille / 1000,
            "credited_org_id": self.home_branch_id,
            "paid_at_org_id": self.paid_at_branch_id,
            "transfer_id": self.transfer_id,
            "provider": self.provider,
            "provider_reference": self.provider_reference,
            "paid_at": self.paid_at,
        }


@dataclass(frozen=True)
class LedgerEntry:
    org_id: str
    period: str
    kind: str
    amount_fen: int
    registration_number: str
    name: str
    payment_id: str
    at: str
    transfer_id: str | None = None
    counterpart_org_id: str | None = None

    def public(self) -> dict:
        return {
            "org_id": self.org_id,
            "period": self.period,
            "kind": self.kind,
            "amount_fen": self.amount_fen,
            "registration_number": self.registration_number,
            "name": self.name,
            "payment_id": self.payment_id,
            "transfer_id": self.transfer_id,
            "counterpart_org_id": self.counterpart_org_id,
            "at": self.at,
        }


@dataclass(frozen=True)
class LedgerTotals:
    collected_fen: int = 0
    transferred_out_fen: int = 0
    transferred_in_fen: int = 0
    payments: int = 0
    credited_members: int = 0

    def public(self) -> dict:
        """Sums of one branch's period; `balance_fen` is what the branch keeps (collected - out + in)."""
        return {
            "collected_fen": self.collected_fen,
            "transferred_out_fen": self.transferred_out_fen,
            "transferred_in_fen": self.transferred_in_fen,
            "balance_fen": self.collected_fen - self.transferred_out_fen + self.transferred_in_fen,
            "payments": self.payments,
            "credited_members": self.credited_members,
        }


def totals_delta(posting: Posting) -> dict[str, int]:
    """What one ledger line adds to its branch's totals."""
    if posting.kind == "payment":
        delta = {"collected_fen": posting.amount_fen, "payments": 1}
        if posting.counterpart_org_id is None:
            delta["credited_members"] = 1
        return delta
    if posting.kind == "transfer_out":
        return {"transferred_out_fen": -posting.amount_fen}
    return {"transferred_in_fen": posting.amount_fen, "credited_members": 1}
