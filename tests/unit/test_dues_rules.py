"""Dues rules: the rate table's exact boundaries, member categories, periods, streaks, ledger lines."""

from datetime import UTC, datetime

import pytest

from chalicelib.domain import dues
from chalicelib.domain.errors import ValidationFailed

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("income_fen", "permille", "amount_fen"),
    [
        (0, 5, 0),
        (1, 5, 0),
        (100, 5, 1),  # 0.5 fen rounds up
        (299_999, 5, 1_500),  # 1499.995 -> 1500
        (300_000, 5, 1_500),  # 3000 yuan is still 0.5 %
        (300_001, 10, 3_000),
        (500_000, 10, 5_000),
        (500_001, 15, 7_500),
        (1_000_000, 15, 15_000),
        (1_000_001, 20, 20_000),
        (2_500_000, 20, 50_000),
    ],
)
def test_employed_rate_table_boundaries_are_exact(income_fen, permille, amount_fen):
    due = dues.due_for("employed", income_fen)
    assert (due.rate_permille, due.amount_fen) == (permille, amount_fen)
    assert due.rate == permille / 1000


def test_rates_are_reported_as_fractions():
    assert dues.due_for("employed", 300_000).public() == {
        "category": "employed",
        "rate": 0.005,
        "amount_fen": 1_500,
        "basis": "monthly income after tax",
    }
    assert dues.due_for("employed", 1_000_000).public()["rate"] == 0.015


@pytest.mark.parametrize(
    ("pension_fen", "permille", "amount_fen"),
    [(0, 5, 0), (400_000, 5, 2_000), (500_000, 5, 2_500), (500_001, 10, 5_000), (800_000, 10, 8_000)],
)
def test_retired_members_pay_half_a_percent_up_to_5000_yuan_then_one(pension_fen, permille, amount_fen):
    due = dues.due_for("retired", pension_fen)
    assert (due.rate_permille, due.amount_fen) == (permille, amount_fen)


@pytest.mark.parametrize("category", ["student", "unemployed", "relief"])
def test_students_unemployed_and_members_on_relief_pay_20_fen(category):
    due = dues.due_for(category, None)
    assert (due.rate, due.amount_fen) == (None, 20)
    assert dues.due_for(category, 9_999_999).amount_fen == 20  # income does not matter


def test_farmers_pay_between_20_fen_and_one_yuan():
    due = dues.due_for("farmer", None)
    assert (due.amount_fen, due.standard_max_fen) == (20, 100)
    assert due.public()["standard_max_fen"] == 100


def test_a_share_of_income_needs_the_income():
    with pytest.raises(ValidationFailed) as err:
        dues.due_for("employed", None)
    assert err.value.errors[0]["field"] == "monthly_income_fen"


def test_unknown_categories_and_impossible_incomes_are_refused():
    with pytest.raises(ValidationFailed):
        dues.due_for("astronaut", 100)
    with pytest.raises(ValidationFailed):
        dues.due_for("employed", -1)
    with pytest.raises(ValidationFailed):
        dues.due_for("employed", dues.MAX_INCOME_FEN + 1)


def test_paying_more_than_the_due_is_allowed_less_is_not():
    due = dues.due_for("employed", 300_000)
    dues.check_amount(due, 1_500)
    dues.check_amount(due, 100_000)
    with pytest.raises(ValidationFailed) as err:
        dues.check_amount(due, 1_499)
    assert err.value.errors[0]["field"] == "amount_fen"


# ---- periods ---------------------------------------------------------------------------------------


def test_the_current_period_is_the_month_in_china():
    assert dues.current_period(datetime(2026, 11, 30, 15, 59, tzinfo=UTC)) == "2026-11"
    assert dues.current_period(datetime(2026, 11, 30, 16, 0, tzinfo=UTC)) == "2026-12"


def test_months_arithmetic_crosses_years():
    assert dues.add_months("2026-01", -1) == "2025-12"
    assert dues.add_months("2025-12", 1) == "2026-01"
    assert dues.months_between("2025-11", "2026-05") == 6
    assert dues.streak_periods("2026-02") == [
        "2026-02",
        "2026-01",
        "2025-12",
        "2025-11",
        "2025-10",
        "2025-09",
    ]


@pytest.mark.parametrize("period", ["2026-11", "2026-10", "2026-05"])
def test_the_current_month_and_six_back_can_be_paid(period):
    dues.check_payable(period, NOW, "2000-01-01")


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("2026-12", "future"),
        ("2027-01", "future"),
        ("2026-04", "more than 6 months back"),
        ("2020-01", "more than 6 months back"),
        ("2026-13", "YYYY-MM"),
        ("2026-1", "YYYY-MM"),
        ("26-11", "YYYY-MM"),
    ],
)
def test_future_and_old_periods_are_refused(period, message):
    with pytest.raises(ValidationFailed) as err:
        dues.check_payable(period, NOW, "2000-01-01")
    assert message in err.value.errors[0]["message"]


def test_no_dues_before_joining():
    dues.check_payable("2026-09", NOW, "2026-09-30")
    with pytest.raises(ValidationFailed) as err:
        dues.check_payable("2026-08", NOW, "2026-09-01")
    assert "before the member joined" in err.value.errors[0]["message"]


def test_ledgers_can_be_read_for_past_months_not_future_ones():
    dues.check_listable("2019-01", NOW)
    with pytest.raises(ValidationFailed):
        dues.check_listable("2026-12", NOW)


# ---- unpaid streaks ----------------------------------------------------------------------------------


def test_six_unpaid_months_in_a_row_are_flagged():
    assert dues.unpaid_streak("2026-11", set(), "2000-01-01") == 6
    assert dues.is_flagged(6)


def test_a_payment_breaks_the_streak():
    assert dues.unpaid_streak("2026-11", {"2026-11"}, "2000-01-01") == 0
    assert dues.unpaid_streak("2026-11", {"2026-09"}, "2000-01-01") == 2
    assert dues.unpaid_streak("2026-11", {"2026-06"}, "2000-01-01") == 5
    assert not dues.is_flagged(5)


def test_months_before_joining_are_not_counted_as_unpaid():
    assert dues.unpaid_streak("2026-11", set(), "2026-10-15") == 2
    assert dues.unpaid_streak("2026-11", set(), "2026-11-01") == 1
    assert dues.unpaid_streak("2026-11", set(), "2026-12-01") == 0


# ---- ledger lines ------------------------------------------------------------------------------------


def test_a_payment_at_home_is_one_line_in_the_home_ledger():
    assert dues.postings(1_500, "br-home", "br-home") == [dues.Posting("br-home", "payment", 1_500)]


def test_a_payment_while_attached_is_collected_there_and_transferred_home():
    lines = dues.postings(1_500, "br-home", "br-away")
    assert [(p.org_id, p.kind, p.amount_fen, p.counterpart_org_id) for p in lines] == [
        ("br-away", "payment", 1_500, "br-home"),
        ("br-away", "transfer_out", -1_500, "br-home"),
        ("br-home", "transfer_in", 1_500, "br-away"),
    ]
    by_branch: dict[str, int] = {}
    for p in lines:
        by_branch[p.org_id] = by_branch.get(p.org_id, 0) + p.amount_fen
    assert by_branch == {"br-away": 0, "br-home": 1_500}  # reconciles: the money ends up home


def test_totals_count_collections_transfers_and_credited_members():
    away, out, home = dues.postings(1_500, "br-home", "br-away")
    assert dues.totals_delta(away) == {"collected_fen": 1_500, "payments": 1}
    assert dues.totals_delta(out) == {"transferred_out_fen": 1_500}
    assert dues.totals_delta(home) == {"transferred_in_fen": 1_500, "credited_members": 1}
    (local,) = dues.postings(20, "br-home", "br-home")
    assert dues.totals_delta(local) == {"collected_fen": 20, "payments": 1, "credited_members": 1}
    totals = dues.LedgerTotals(collected_fen=1_500, transferred_out_fen=1_500, payments=1)
    assert totals.public()["balance_fen"] == 0
