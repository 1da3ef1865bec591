"""Dues over HTTP: the rate, paying (replays, one payment per period, back-payment), payments while
attached credited home through a transfer payment in both ledgers, ledgers, and who has not paid."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest

from chalicelib.domain.dues import add_months, current_period
from tests.integration.test_conventions import assert_problem


def this_month():
    return current_period(datetime.now(UTC))


def months_ago(n):
    return add_months(this_month(), -n)


def attach(number, branch_id):
    """Test set-up: put a member on a temporary attachment, as an effective temporary transfer does."""
    from chalicelib.store import models

    org = models.Org.get(branch_id)
    models.Member(number).update(
        actions=[models.Member.attached_branch_id.set(branch_id), models.Member.attached_path.set(org.path)],
        add_version_condition=False,
    )


def pay(platform, token, period=None, amount=1_500, income=300_000, headers=None, **extra):
    body = {"period": period or this_month(), "amount_fen": amount, "monthly_income_fen": income, **extra}
    return platform.post("/v1/dues/payments", body, token, headers)


# ---- the rate ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("income", "rate", "amount"),
    [(300_000, 0.005, 1_500), (300_001, 0.01, 3_000), (500_000, 0.01, 5_000), (1_000_001, 0.02, 20_000)],
)
def test_anyone_can_ask_the_rate(platform, income, rate, amount):
    resp = platform.get(f"/v1/dues/rate?monthly_income_fen={income}")
    assert resp.status_code == 200, resp.body
    assert (resp.json_body["rate"], resp.json_body["amount_fen"]) == (rate, amount)


def test_the_rate_knows_member_categories(platform):
    retired = platform.get("/v1/dues/rate?monthly_income_fen=500001&category=retired").json_body
    assert (retired["rate"], retired["amount_fen"]) == (0.01, 5_000)
    student = platform.get("/v1/dues/rate?category=student").json_body
    assert (student["rate"], student["amount_fen"]) == (None, 20)


@pytest.mark.parametrize(
    "query",
    ["", "?monthly_income_fen=-1", "?monthly_income_fen=abc", "?category=astronaut&monthly_income_fen=1"],
)
def test_bad_rate_questions_get_400(platform, query):
    assert_problem(platform.get(f"/v1/dues/rate{query}"), 400)


# ---- paying ------------------------------------------------------------------------------------------


def test_a_payment_is_recorded_and_credited_home(platform):
    branch = platform.new_branch()
    number, token = platform.new_member(branch)
    resp = pay(platform, token, provider="wechat_pay", provider_reference="wx-4200001234")
    assert resp.status_code == 201, resp.body
    body = resp.json_body
    assert body["registration_number"] == number and body["period"] == this_month()
    assert (body["amount_fen"], body["due_fen"], body["rate"]) == (1_500, 1_500, 0.005)
    assert body["credited_org_id"] == body["paid_at_org_id"] == branch
    assert body["transfer_id"] is None
    assert (body["provider"], body["provider_reference"]) == ("wechat_pay", "wx-4200001234")
    datetime.fromisoformat(body["paid_at"])  # ISO 8601 with offset
    assert body["paid_at"].endswith("+00:00")

    ledger = platform.get(f"/v1/orgs/{branch}/dues?period={this_month()}", platform.admin_token).json_body
    assert [(e["kind"], e["amount_fen"], e["registration_number"]) for e in ledger["items"]] == [
        ("payment", 1_500, number)
    ]
    assert ledger["totals"]["balance_fen"] == 1_500 and ledger["totals"]["credited_members"] == 1


def test_a_replayed_payment_has_one_effect(platform):
    branch = platform.new_branch()
    _, token = platform.new_member(branch)
    first = pay(platform, token, headers={"Idempotency-Key": "dues-replay-1"})
    again = pay(platform, token, headers={"Idempotency-Key": "dues-replay-1"})
    assert first.status_code == again.status_code == 201
    assert again.json_body == first.json_body and again.headers.get("Idempotent-Replayed") == "true"
    other_body = pay(platform, token, amount=2_000, headers={"Idempotency-Key": "dues-replay-1"})
    assert_problem(other_body, 409)
    ledger = platform.get(f"/v1/orgs/{branch}/dues", platform.admin_token).json_body
    assert len(ledger["items"]) == 1 and ledger["totals"]["collected_fen"] == 1_500


def test_the_same_period_twice_is_a_conflict(platform):
    _, token = platform.new_member()
    assert pay(platform, token).status_code == 201
    assert_problem(pay(platform, token, amount=3_000), 409)
    assert pay(platform, token, period=months_ago(1)).status_code == 201


def test_concurrent_payments_for_one_period_record_one(platform):
    from chalicelib.domain.errors import Conflict
    from chalicelib.services.dues import NewPayment
    from chalicelib.services.dues import pay as pay_service

    branch = platform.new_branch()
    number, _ = platform.new_member(branch)

    def attempt(_):
        try:
            pay_service(number, NewPayment(this_month(), 1_500, 300_000))
            return 201
        except Conflict:
            return 409

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(12)))
    assert sorted(results) == [201] + [409] * 11
    ledger = platform.get(f"/v1/orgs/{branch}/dues", platform.admin_token).json_body
    assert ledger["totals"]["payments"] == 1 and len(ledger["items"]) == 1


def test_back_payment_reaches_six_months_not_seven_and_never_the_future(platform):
    _, token = platform.new_member()  # joined 2020
    assert pay(platform, token, period=months_ago(6)).status_code == 201
    for period in (months_ago(7), add_months(this_month(), 1), "2026-13", "2026-1"):
        body = assert_problem(pay(platform, token, period=period), 400)
        assert body["errors"][0]["field"] == "period"


def test_no_dues_for_months_before_joining(platform):
    today = datetime.now(UTC).date()
    _, token = platform.new_member(join_date=date(today.year, today.month, 1))
    assert_problem(pay(platform, token, period=months_ago(1)), 400)


def test_amounts_below_the_due_and_malformed_payments_get_400(platform):
    _, token = platform.new_member()
    body = assert_problem(pay(platform, token, amount=1_499), 400)
    assert body["errors"][0]["field"] == "amount_fen"
    assert_problem(pay(platform, token, income=None), 400)  # employed members give their income
    assert_problem(pay(platform, token, amount=True), 400)
    assert_problem(pay(platform, token, amount="1500"), 400)
    assert_problem(pay(platform, token, amount=0), 400)
    assert_problem(pay(platform, token, tip=5), 400)
    assert_problem(pay(platform, token, provider="alipay"), 400)  # the reference must come with it


def set_category(platform, number, category, token=None):
    body = {"category": category}
    return platform.put(f"/v1/members/{number}/dues-category", body, token or platform.admin_token)


def test_categories_with_fixed_amounts_need_no_income(platform):
    number, token = platform.new_member()
    assert set_category(platform, number, "student").json_body == {
        "registration_number": number,
        "dues_category": "student",
    }
    assert platform.get("/v1/members/me", token).json_body["dues_category"] == "student"
    resp = pay(platform, token, amount=20, income=None, category="student")
    assert resp.status_code == 201, resp.body
    assert (resp.json_body["due_fen"], resp.json_body["rate"], resp.json_body["category"]) == (
        20,
        None,
        "student",
    )
    assert (
        pay(platform, token, period=months_ago(1), amount=20, income=None).status_code == 201
    )  # as recorded


def test_a_member_pays_by_the_category_the_branch_records_not_one_they_claim(platform):
    branch = platform.new_branch()
    number, token = platform.new_member(branch)
    claimed = assert_problem(pay(platform, token, amount=20, income=None, category="student"), 400)
    assert claimed["errors"][0]["field"] == "category"
    assert_problem(pay(platform, token, amount=20, income=300_000), 400)  # employed: 1,500 is due
    # only the home branch's secretary or staff above it set the category; 404 to anyone else
    assert set_category(platform, number, "retired", token).status_code == 404  # not the member
    _, stranger = platform.new_member()
    assert set_category(platform, number, "retired", stranger).status_code == 404
    secretary, secretary_token = platform.new_member(branch)
    platform.grant(branch, secretary, "secretary")
    assert set_category(platform, number, "retired", secretary_token).status_code == 200
    assert set_category(platform, number, "astronaut", secretary_token).status_code == 400
    resp = pay(platform, token, amount=1_500, income=300_000)  # a pension of 3,000 yuan: 0.5 %
    assert resp.status_code == 201 and resp.json_body["category"] == "retired"


def test_one_provider_reference_pays_one_period(platform):
    _, token = platform.new_member()
    ref = {"provider": "alipay", "provider_reference": "2026112522001400000001"}
    assert pay(platform, token, **ref).status_code == 201
    assert_problem(pay(platform, token, period=months_ago(1), **ref), 409)
    assert pay(platform, token, period=months_ago(2)).status_code == 201  # without a reference


def test_anonymous_callers_cannot_pay(platform):
    assert_problem(pay(platform, None), 401)


# ---- paid while attached -----------------------------------------------------------------------------


def test_a_payment_while_attached_is_transferred_home_and_shows_in_both_ledgers(platform):
    home = platform.new_branch("div-110105")
    away = platform.new_branch("div-310101")
    number, token = platform.new_member(home)
    attach(number, away)

    resp = pay(platform, token, amount=4_000, income=400_000)
    assert resp.status_code == 201, resp.body
    payment = resp.json_body
    assert payment["credited_org_id"] == home and payment["paid_at_org_id"] == away
    assert payment["transfer_id"].startswith("dtp-")

    admin = platform.admin_token
    away_ledger = platform.get(f"/v1/orgs/{away}/dues?period={this_month()}", admin).json_body
    home_ledger = platform.get(f"/v1/orgs/{home}/dues?period={this_month()}", admin).json_body
    assert [(e["kind"], e["amount_fen"], e["counterpart_org_id"]) for e in away_ledger["items"]] == [
        ("payment", 4_000, home),
        ("transfer_out", -4_000, home),
    ]
    assert [(e["kind"], e["amount_fen"], e["counterpart_org_id"]) for e in home_ledger["items"]] == [
        ("transfer_in", 4_000, away)
    ]
    transfer_ids = {e["transfer_id"] for e in away_ledger["items"][1:] + home_ledger["items"]}
    assert transfer_ids == {payment["transfer_id"]}
    assert all(e["payment_id"] == payment["payment_id"] for e in away_ledger["items"] + home_ledger["items"])
    # the sums reconcile: the attached branch keeps nothing, the home branch is credited in full
    assert away_ledger["totals"] == {
        "collected_fen": 4_000,
        "transferred_out_fen": 4_000,
        "transferred_in_fen": 0,
        "balance_fen": 0,
        "payments": 1,
        "credited_members": 0,
    }
    assert home_ledger["totals"]["balance_fen"] == 4_000 and home_ledger["totals"]["credited_members"] == 1
    assert sum(e["amount_fen"] for e in away_ledger["items"] + home_ledger["items"]) == payment["amount_fen"]
    # the home branch counts the member as paid
    unpaid = platform.get(f"/v1/orgs/{home}/dues/unpaid", admin).json_body["items"]
    assert number not in {m["registration_number"] for m in unpaid}


# ---- ledgers -----------------------------------------------------------------------------------------


def test_a_member_reads_their_own_payments_newest_first(platform):
    number, token = platform.new_member()
    for back in (2, 0, 1):
        assert pay(platform, token, period=months_ago(back)).status_code == 201
    first = platform.get("/v1/dues/payments?limit=2", token).json_body
    assert [p["period"] for p in first["items"]] == [this_month(), months_ago(1)]
    rest = platform.get(f"/v1/dues/payments?limit=2&cursor={first['next_cursor']}", token).json_body
    assert [p["period"] for p in rest["items"]] == [months_ago(2)]
    assert all(p["registration_number"] == number for p in first["items"] + rest["items"])
    _, other = platform.new_member()
    assert platform.get("/v1/dues/payments", other).json_body["items"] == []


@pytest.fixture(scope="module")
def dues_cast(platform):
    """A branch in Chaoyang with a secretary and a member, and people who must not read its dues."""
    branch = platform.new_branch("div-110105")
    secretary, secretary_token = platform.new_member(branch)
    platform.grant(branch, secretary, "secretary")
    member, member_token = platform.new_member(branch)
    county_staff, county_token = platform.new_member()
    platform.grant("div-110105", county_staff)
    other_staff, other_token = platform.new_member(platform.new_branch("div-310101"))
    platform.grant("div-310101", other_staff)
    other_branch = platform.new_branch("div-110105")
    other_secretary, other_secretary_token = platform.new_member(other_branch)
    platform.grant(other_branch, other_secretary, "secretary")
    return {
        "branch": branch,
        "secretary": secretary_token,
        "member": member_token,
        "county": county_token,
        "other_staff": other_token,
        "other_secretary": other_secretary_token,
    }


@pytest.mark.parametrize("route", ["dues", "dues/unpaid"])
def test_branch_dues_are_for_its_secretary_and_staff_above(platform, dues_cast, route):
    path = f"/v1/orgs/{dues_cast['branch']}/{route}"
    for who in ("secretary", "county"):
        assert platform.get(path, dues_cast[who]).status_code == 200
    assert platform.get(path, platform.admin_token).status_code == 200
    for who in ("member", "other_staff", "other_secretary"):
        assert_problem(platform.get(path, dues_cast[who]), 403)
    assert_problem(platform.get(path, None), 401)
    assert_problem(platform.get(f"/v1/orgs/br-nope/{route}", platform.admin_token), 404)
    assert_problem(platform.get(f"/v1/orgs/div-110105/{route}", platform.admin_token), 400)
    assert_problem(platform.get(f"{path}?period={add_months(this_month(), 1)}", platform.admin_token), 400)
    assert_problem(platform.get(f"{path}?period=2026-00", platform.admin_token), 400)


def test_the_unpaid_list_flags_six_months_without_dues(platform):
    today = datetime.now(UTC).date()
    branch = platform.new_branch("div-110105")
    paid_now, paid_now_token = platform.new_member(branch)
    never, _ = platform.new_member(branch)  # joined 2020, never paid
    lapsed, lapsed_token = platform.new_member(branch)
    newcomer, _ = platform.new_member(branch, join_date=date(today.year, today.month, 1))
    assert pay(platform, paid_now_token).status_code == 201
    assert pay(platform, lapsed_token, period=months_ago(2)).status_code == 201

    resp = platform.get(f"/v1/orgs/{branch}/dues/unpaid?period={this_month()}", platform.admin_token)
    assert resp.status_code == 200, resp.body
    rows = {m["registration_number"]: m for m in resp.json_body["items"]}
    assert paid_now not in rows
    assert (rows[never]["unpaid_months"], rows[never]["flagged"]) == (6, True)
    assert (rows[lapsed]["unpaid_months"], rows[lapsed]["flagged"]) == (2, False)
    assert (rows[newcomer]["unpaid_months"], rows[newcomer]["flagged"]) == (1, False)
    assert rows[never]["name"] and rows[never]["status"] == "active"

    # an earlier period: the newcomer had not joined, the lapsed member had paid
    earlier = platform.get(f"/v1/orgs/{branch}/dues/unpaid?period={months_ago(2)}", platform.admin_token)
    assert {m["registration_number"] for m in earlier.json_body["items"]} == {paid_now, never}

    # paged by the roll: every unpaid member exactly once
    seen, cursor = [], None
    for _ in range(10):
        query = "?limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = platform.get(f"/v1/orgs/{branch}/dues/unpaid{query}", platform.admin_token).json_body
        seen += [m["registration_number"] for m in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted([never, lapsed, newcomer])


def test_a_cursor_from_one_branch_does_not_work_on_another(platform):
    branch = platform.new_branch()
    for _ in range(2):
        platform.new_member(branch)
    page = platform.get(f"/v1/orgs/{branch}/dues/unpaid?limit=1", platform.admin_token).json_body
    other = platform.new_branch()
    resp = platform.get(
        f"/v1/orgs/{other}/dues/unpaid?limit=1&cursor={page['next_cursor']}", platform.admin_token
    )
    assert_problem(resp, 400)
