"""The inbox: transfers, join requests and cases waiting for the caller's decision, overdue ones counted."""

from datetime import UTC, datetime, timedelta

from tests.integration.test_transfers import AWAY_COUNTY, HOME_COUNTY, act, ask


def _ids(inbox):
    return [item["id"] for item in inbox["items"]]


def test_the_receiving_side_sees_what_waits_for_it_overdue_first(platform):
    from chalicelib.services.transfers import request_transfer

    branch = platform.new_branch(AWAY_COUNTY)
    secretary, sec_token = platform.new_member(platform.new_branch(AWAY_COUNTY))
    platform.grant(branch, secretary, "secretary")
    staff, staff_token = platform.new_member(platform.new_branch(AWAY_COUNTY))
    platform.grant(AWAY_COUNTY, staff)
    other, other_token = platform.new_member(platform.new_branch("div-440106"))
    platform.grant("div-440106", other)

    a, a_token = platform.new_member(platform.new_branch(HOME_COUNTY))
    b, _ = platform.new_member(platform.new_branch(HOME_COUNTY))
    c, _ = platform.new_member(platform.new_branch(HOME_COUNTY))
    fresh = ask(platform, a_token, branch)
    old = request_transfer(b, branch, "formal", "since last week", now=datetime.now(UTC) - timedelta(days=8))
    stale = request_transfer(c, branch, "formal", None, now=datetime.now(UTC) - timedelta(days=100))
    ask(platform, a_token, platform.new_branch(AWAY_COUNTY), "temporary")  # nothing to decide

    inbox = platform.get("/v1/inbox", sec_token).json_body
    mine = [i for i in inbox["items"] if i["id"] in {fresh["transfer_id"], old["transfer_id"]}]
    assert [i["id"] for i in mine] == [old["transfer_id"], fresh["transfer_id"]]
    assert [i["overdue"] for i in mine] == [True, False]
    assert inbox["overdue_count"] >= 1 and stale["transfer_id"] not in _ids(inbox)
    item = mine[0]
    assert item["kind"] == "transfer" and item["org_id"] == branch and item["transfer"]["to_org_id"] == branch
    # staff of the county above see the same ones; staff elsewhere nothing of it
    assert {fresh["transfer_id"], old["transfer_id"]} <= set(
        _ids(platform.get("/v1/inbox", staff_token).json_body)
    )
    assert fresh["transfer_id"] not in _ids(platform.get("/v1/inbox", other_token).json_body)
    assert platform.get("/v1/inbox", a_token).json_body == {
        "items": [],
        "overdue_count": 0,
        "truncated": False,
    }

    act(platform, sec_token, old["transfer_id"], "accept")
    after = platform.get("/v1/inbox", sec_token).json_body
    assert old["transfer_id"] not in _ids(after) and fresh["transfer_id"] in _ids(after)
    assert after["overdue_count"] == inbox["overdue_count"] - 1


def test_nobody_finds_their_own_transfer_in_their_inbox(platform):
    branch = platform.new_branch(AWAY_COUNTY)
    number, token = platform.new_member(platform.new_branch(HOME_COUNTY))
    platform.grant(branch, number, "secretary")
    ask(platform, token, branch)
    assert platform.get("/v1/inbox", token).json_body["items"] == []


def test_sources_are_pluggable(platform, monkeypatch):
    from chalicelib.services import inbox

    def joins(member, now):
        return [
            {
                "kind": "join_request",
                "id": "j1",
                "org_id": "vb-1",
                "created_at": "2020-01-01",
                "overdue": True,
            }
        ]

    monkeypatch.setattr(inbox, "SOURCES", [*inbox.SOURCES, f"{__name__}:_joins"])
    globals()["_joins"] = joins
    _, token = platform.new_member()
    body = platform.get("/v1/inbox", token).json_body
    assert body["items"][0]["kind"] == "join_request" and body["overdue_count"] == 1


def test_join_requests_and_cases_wait_in_the_inbox_of_those_who_decide_them(platform):
    from chalicelib.services.inbox import inbox
    from tests.integration.test_virtual_branches import found, join

    home = platform.new_branch("div-110111")
    secretary, sec_token = platform.new_member(home)
    applicant, applicant_token = platform.new_member(home)
    staff, staff_token = platform.new_member(platform.new_branch("div-110111"))
    platform.grant("div-110111", staff)
    vb = found(platform, sec_token)["org_id"]
    join(platform, vb, applicant_token)
    appeal = platform.post("/v1/appeals", {"subject": "复查", "body": "请复查"}, applicant_token).json_body

    sec_items = {i["id"]: i for i in platform.get("/v1/inbox", sec_token).json_body["items"]}
    request = sec_items[f"{vb}/{applicant}"]
    assert request["kind"] == "join_request" and request["org_id"] == vb and not request["overdue"]
    assert appeal["case_id"] not in sec_items  # the secretary does not handle cases
    staff_items = {i["id"]: i for i in platform.get("/v1/inbox", staff_token).json_body["items"]}
    case = staff_items[appeal["case_id"]]
    assert case["kind"] == "case" and case["org_id"] == "div-110111" and not case["overdue"]
    assert f"{vb}/{applicant}" not in staff_items
    assert platform.get("/v1/inbox", applicant_token).json_body["items"] == []

    # a join request waits 7 days, a case 15, before it is overdue
    later = inbox(staff, now=datetime.now(UTC) + timedelta(days=16))
    assert later["items"][0]["id"] == appeal["case_id"] and later["items"][0]["overdue"]
    assert inbox(secretary, now=datetime.now(UTC) + timedelta(days=8))["overdue_count"] == 1
    # decided: gone
    platform.post(f"/v1/virtual-branches/{vb}/join-requests/{applicant}/approve", None, sec_token)
    for status in ("accepted", "resolved"):  # a submitted case is accepted before it is resolved
        answer = {"body": "处理", "status": status}
        assert (
            platform.post(f"/v1/cases/{appeal['case_id']}/responses", answer, staff_token).status_code == 201
        )
    assert platform.get("/v1/inbox", sec_token).json_body["items"] == []
    assert appeal["case_id"] not in _ids(platform.get("/v1/inbox", staff_token).json_body)
