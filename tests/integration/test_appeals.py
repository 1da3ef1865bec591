"""Appeals: routed to the county department above the home branch, answered by it, kept, overdue."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.test_conventions import assert_problem


def appeal(platform, token, subject="我的权利 my rights", body="请复查 please review", headers=None):
    return platform.post("/v1/appeals", {"subject": subject, "body": body}, token, headers)


def answer(platform, token, case_id, status, body="收到 noted"):
    return platform.post(f"/v1/cases/{case_id}/responses", {"body": body, "status": status}, token)


@pytest.fixture(scope="module")
def chaoyang(platform):
    """A Chaoyang branch with a member, the county's staff, the city's staff, another county's staff."""
    branch = platform.new_branch("div-110105")
    member, member_token = platform.new_member(branch, name="王五")
    county, county_token = platform.new_member()
    platform.grant("div-110105", county)
    city, city_token = platform.new_member()
    platform.grant("div-110100", city)
    other, other_token = platform.new_member(platform.new_branch("div-110108"))
    platform.grant("div-110108", other)
    _, stranger_token = platform.new_member(branch)
    return {
        "branch": branch,
        "member": member,
        "member_token": member_token,
        "county": county_token,
        "city": city_token,
        "other_county": other_token,
        "stranger": stranger_token,
    }


def test_an_appeal_goes_to_the_county_above_the_home_branch(platform, chaoyang):
    resp = appeal(platform, chaoyang["member_token"])
    assert resp.status_code == 201, resp.body
    assert resp.json_body["status"] == "submitted"
    assert resp.json_body["handling_org_id"] == "div-110105"
    assert resp.json_body["case_id"].startswith("case-")


@pytest.mark.parametrize(
    ("parent", "handler"),
    [("div-110100", "div-110100"), ("div-110000", "div-110000"), ("central", "central")],
)
def test_without_a_county_above_the_nearest_department_handles_it(platform, parent, handler):
    _, token = platform.new_member(platform.new_branch(parent))
    assert appeal(platform, token).json_body["handling_org_id"] == handler


def test_the_central_administrator_appeals_to_the_central_department(platform):
    assert appeal(platform, platform.admin_token).json_body["handling_org_id"] == "central"


def test_an_appeal_moves_submitted_accepted_resolved_and_keeps_every_answer(platform, chaoyang):
    case_id = appeal(platform, chaoyang["member_token"]).json_body["case_id"]
    accepted = answer(platform, chaoyang["county"], case_id, "accepted", "已受理 accepted")
    assert accepted.status_code == 201, accepted.body
    assert accepted.json_body["status"] == "accepted"
    assert (
        answer(platform, chaoyang["county"], case_id, "accepted", "调查中 investigating").status_code == 201
    )
    resolved = answer(platform, chaoyang["county"], case_id, "resolved", "已解决 resolved").json_body
    assert resolved["status"] == "resolved" and resolved["response_count"] == 3
    assert [r["status"] for r in resolved["responses"]] == ["accepted", "accepted", "resolved"]
    assert resolved["submitted_by"] == {"registration_number": chaoyang["member"], "name": "王五"}

    mine = platform.get(f"/v1/cases/{case_id}", chaoyang["member_token"]).json_body
    assert mine["status"] == "resolved" and mine["body"] == "请复查 please review"
    assert [r["body"] for r in mine["responses"]] == [
        "已受理 accepted",
        "调查中 investigating",
        "已解决 resolved",
    ]
    assert all("responder" not in r for r in mine["responses"]) and "submitted_by" not in mine
    # closed: nothing more
    assert_problem(answer(platform, chaoyang["county"], case_id, "rejected"), 409)


def test_an_appeal_can_be_rejected_at_once_but_not_resolved_before_it_is_accepted(platform, chaoyang):
    case_id = appeal(platform, chaoyang["member_token"]).json_body["case_id"]
    assert_problem(answer(platform, chaoyang["county"], case_id, "resolved"), 409)
    assert answer(platform, chaoyang["county"], case_id, "rejected").json_body["status"] == "rejected"
    assert_problem(answer(platform, chaoyang["county"], case_id, "accepted"), 409)


def test_the_member_sees_their_own_appeals(platform):
    _, token = platform.new_member()
    ids = [appeal(platform, token, subject=f"appeal {i}").json_body["case_id"] for i in range(3)]
    mine = platform.get("/v1/cases/mine", token).json_body["items"]
    assert [c["case_id"] for c in mine] == ids[::-1]
    assert {c["kind"] for c in mine} == {"appeal"}


def test_a_replayed_appeal_files_one_case(platform):
    _, token = platform.new_member()
    first = appeal(platform, token, headers={"Idempotency-Key": "appeal-1"})
    again = appeal(platform, token, headers={"Idempotency-Key": "appeal-1"})
    assert first.json_body == again.json_body
    assert len(platform.get("/v1/cases/mine", token).json_body["items"]) == 1


def test_the_department_queue_lists_open_cases_and_filters_by_status(platform):
    branch = platform.new_branch("div-110106")
    _, token = platform.new_member(branch)
    staff, staff_token = platform.new_member()
    platform.grant("div-110106", staff)
    first = appeal(platform, token, subject="first").json_body["case_id"]
    second = appeal(platform, token, subject="second").json_body["case_id"]
    answer(platform, staff_token, second, "accepted")
    done = appeal(platform, token, subject="done").json_body["case_id"]
    answer(platform, staff_token, done, "rejected")

    def ids(query):
        resp = platform.get(f"/v1/cases?org_id=div-110106{query}", staff_token)
        assert resp.status_code == 200, resp.body
        return [c["case_id"] for c in resp.json_body["items"]]

    assert ids("&status=open") == [first, second]  # longest untouched first
    assert ids("&status=submitted") == [first]
    assert ids("&status=accepted") == [second]
    assert ids("&status=rejected") == [done]
    assert ids("&status=resolved") == []
    assert ids("") == [first, second, done]
    page = platform.get("/v1/cases?org_id=div-110106&limit=2", staff_token).json_body
    rest = platform.get(f"/v1/cases?org_id=div-110106&limit=2&cursor={page['next_cursor']}", staff_token)
    assert [c["case_id"] for c in page["items"] + rest.json_body["items"]] == [first, second, done]
    queue_item = platform.get("/v1/cases?org_id=div-110106&status=submitted", staff_token).json_body["items"][
        0
    ]
    assert "body" not in queue_item and queue_item["submitted_by"]["name"]


def test_a_case_untouched_for_15_days_is_overdue_in_the_queue_and_the_inbox(platform, monkeypatch):
    from chalicelib.services import cases as service
    from chalicelib.store import members

    branch = platform.new_branch("div-110107")
    _, token = platform.new_member(branch)
    staff, staff_token = platform.new_member()
    platform.grant("div-110107", staff)
    real_now = service._now
    monkeypatch.setattr(service, "_now", lambda: real_now() - timedelta(days=15, minutes=1))
    old = appeal(platform, token, subject="old").json_body["case_id"]
    monkeypatch.setattr(service, "_now", lambda: real_now() - timedelta(days=14))
    recent = appeal(platform, token, subject="recent").json_body["case_id"]
    monkeypatch.setattr(service, "_now", real_now)

    queue = platform.get("/v1/cases?org_id=div-110107&status=open", staff_token).json_body["items"]
    assert [(c["case_id"], c["overdue"]) for c in queue] == [(old, True), (recent, False)]
    inbox = service.open_cases_for(members.get(staff))
    assert [(i["kind"], i["id"], i["overdue"], i["org_id"]) for i in inbox] == [
        ("case", old, True, "div-110107"),
        ("case", recent, False, "div-110107"),
    ]
    datetime.fromisoformat(inbox[0]["created_at"])

    # an answer touches the case: no longer overdue; a closed case leaves the inbox
    answer(platform, staff_token, old, "accepted")
    assert platform.get(f"/v1/cases/{old}", staff_token).json_body["overdue"] is False
    answer(platform, staff_token, recent, "rejected")
    assert [i["id"] for i in service.open_cases_for(staff)] == [old]


def test_the_inbox_source_is_empty_for_members_without_a_department(platform):
    from chalicelib.services.cases import open_cases_for

    number, _ = platform.new_member()
    assert open_cases_for(number) == []


# ---- who may do what ---------------------------------------------------------------------------------


def test_only_the_member_and_staff_over_the_handling_department_see_an_appeal(platform, chaoyang):
    case_id = appeal(platform, chaoyang["member_token"]).json_body["case_id"]
    for who in ("member_token", "county", "city"):
        assert platform.get(f"/v1/cases/{case_id}", chaoyang[who]).status_code == 200
    assert platform.get(f"/v1/cases/{case_id}", platform.admin_token).status_code == 200
    for who in ("stranger", "other_county"):  # another member; staff of another subtree
        assert_problem(platform.get(f"/v1/cases/{case_id}", chaoyang[who]), 404)
    assert_problem(platform.get(f"/v1/cases/{case_id}", None), 401)
    assert_problem(platform.get("/v1/cases/case-0000000000000000", chaoyang["county"]), 404)
    assert_problem(platform.get("/v1/cases/not-a-case-id", chaoyang["county"]), 404)


def test_only_the_handling_department_answers(platform, chaoyang):
    case_id = appeal(platform, chaoyang["member_token"]).json_body["case_id"]
    assert_problem(answer(platform, chaoyang["city"], case_id, "accepted"), 403)  # above: reads, not answers
    assert_problem(answer(platform, platform.admin_token, case_id, "accepted"), 403)
    assert_problem(answer(platform, chaoyang["member_token"], case_id, "accepted"), 403)
    assert_problem(answer(platform, chaoyang["stranger"], case_id, "accepted"), 404)
    assert_problem(answer(platform, chaoyang["other_county"], case_id, "accepted"), 404)
    assert_problem(answer(platform, None, case_id, "accepted"), 401)
    assert platform.get(f"/v1/cases/{case_id}", chaoyang["member_token"]).json_body["status"] == "submitted"


def test_a_department_queue_is_for_its_staff_and_staff_above(platform, chaoyang):
    appeal(platform, chaoyang["member_token"])
    for who in ("county", "city"):
        assert platform.get("/v1/cases?org_id=div-110105", chaoyang[who]).status_code == 200
    for who in ("member_token", "stranger", "other_county"):
        assert_problem(platform.get("/v1/cases?org_id=div-110105", chaoyang[who]), 403)
    assert_problem(platform.get("/v1/cases?org_id=div-110105", None), 401)
    assert_problem(platform.get("/v1/cases?org_id=div-999999", chaoyang["county"]), 404)
    assert_problem(platform.get(f"/v1/cases?org_id={chaoyang['branch']}", chaoyang["county"]), 400)
    assert_problem(platform.get("/v1/cases", chaoyang["county"]), 400)
    assert_problem(platform.get("/v1/cases?org_id=div-110105&status=lost", chaoyang["county"]), 400)


def test_malformed_appeals_and_answers_get_400(platform, chaoyang):
    token = chaoyang["member_token"]
    assert_problem(platform.post("/v1/appeals", {"subject": "", "body": "x"}, token), 400)
    assert_problem(platform.post("/v1/appeals", {"subject": "s"}, token), 400)
    assert_problem(platform.post("/v1/appeals", {"subject": "s", "body": "b", "anonymous": True}, token), 400)
    assert_problem(platform.post("/v1/appeals", {"subject": "s", "body": "x" * 10_001}, token), 400)
    case_id = appeal(platform, token).json_body["case_id"]
    assert_problem(answer(platform, chaoyang["county"], case_id, "submitted"), 400)
    assert_problem(
        platform.post(f"/v1/cases/{case_id}/responses", {"status": "accepted"}, chaoyang["county"]), 400
    )
    assert_problem(appeal(platform, None), 401)
    assert datetime.now(UTC)  # keep the import meaningful for readers of the timing test above
