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


NANJING_COUNTY = "div-320102"  # 南京市玄武区
NANJING_CITY = "div-320100"  # 南京市
NANJING_SIBLING = "div-320104"  # 南京市秦淮区


def _staff_of(platform, org_id):
    number, token = platform.new_member(platform.new_branch(org_id))
    platform.grant(org_id, number)
    return token


def _listed(platform, org_id, token, status=None):
    query = f"?status={status}&limit=100" if status else "?limit=100"
    resp = platform.get(f"/v1/orgs/{org_id}/transfers{query}", token)
    assert resp.status_code == 200, resp.body
    return {t["transfer_id"]: t for t in resp.json_body["items"]}


def test_a_transfer_inside_a_county_waits_for_the_county_the_city_and_the_centre(platform):
    from chalicelib.services.transfers import request_transfer

    home, to = platform.new_branch(NANJING_COUNTY), platform.new_branch(NANJING_COUNTY)
    county, city = _staff_of(platform, NANJING_COUNTY), _staff_of(platform, NANJING_CITY)
    sibling, elsewhere = _staff_of(platform, NANJING_SIBLING), _staff_of(platform, "div-440106")
    number, _ = platform.new_member(home)
    # asked 80 days ago, so it is among the oldest pending transfers of the whole session: the centre's
    # inbox lists the oldest 100 first, and other tests leave many pending
    asked = datetime.now(UTC) - timedelta(days=80)
    transfer_id = request_transfer(number, to, "formal", "across town", now=asked)["transfer_id"]

    waiting_for = {county: NANJING_COUNTY, city: NANJING_CITY, platform.admin_token: "central"}
    for token, org_id in waiting_for.items():
        items = {i["id"]: i for i in platform.get("/v1/inbox", token).json_body["items"]}
        assert transfer_id in items, org_id
        assert items[transfer_id]["org_id"] == org_id and items[transfer_id]["overdue"]
    for token in (sibling, elsewhere):
        assert transfer_id not in _ids(platform.get("/v1/inbox", token).json_body)

    # the departments above both branches list it as moving inside their subtree
    for org_id, token in ((NANJING_COUNTY, county), (NANJING_CITY, city)):
        assert _listed(platform, org_id, token)[transfer_id]["direction"] == "within"
        assert transfer_id in _listed(platform, org_id, token, "pending")
    assert _listed(platform, to, county)[transfer_id]["direction"] == "in"
    assert _listed(platform, home, county)[transfer_id]["direction"] == "out"
    assert transfer_id not in _listed(platform, NANJING_SIBLING, sibling)

    act(platform, county, transfer_id, "accept")
    for token in waiting_for:
        assert transfer_id not in _ids(platform.get("/v1/inbox", token).json_body)
    assert transfer_id not in _listed(platform, NANJING_COUNTY, county, "pending")
    assert _listed(platform, NANJING_COUNTY, county, "effective")[transfer_id]["direction"] == "within"


def test_an_item_is_listed_under_the_most_specific_org_the_member_decides_for(platform):
    branch, other = platform.new_branch(NANJING_COUNTY), platform.new_branch(NANJING_COUNTY)
    number, token = platform.new_member(platform.new_branch(NANJING_SIBLING))
    for org_id in (branch, NANJING_COUNTY, NANJING_CITY, "central"):  # the city's id sorts first
        platform.grant(org_id, number, "secretary" if org_id == branch else "staff")
    _, first = platform.new_member(platform.new_branch(HOME_COUNTY))
    _, second = platform.new_member(platform.new_branch(HOME_COUNTY))
    to_branch = ask(platform, first, branch)["transfer_id"]
    to_other = ask(platform, second, other)["transfer_id"]
    items = {i["id"]: i["org_id"] for i in platform.get("/v1/inbox", token).json_body["items"]}
    assert (items[to_branch], items[to_other]) == (branch, NANJING_COUNTY)


def test_the_inbox_queries_at_most_20_orgs_the_most_specific_first(platform, monkeypatch):
    from dataclasses import replace

    from chalicelib.services import transfers as service
    from chalicelib.store import members
    from chalicelib.store import transfers as store

    branch = platform.new_branch(NANJING_COUNTY)
    number, _ = platform.new_member(platform.new_branch(NANJING_SIBLING))
    _, mover = platform.new_member(platform.new_branch(HOME_COUNTY))
    transfer_id = ask(platform, mover, branch)["transfer_id"]
    counties = [f"div-3201{n:02d}" for n in range(2, 26)]  # 24 departments' staff, more than the bound
    roles = {f"staff@{c}" for c in counties} | {"staff@central", f"secretary@{branch}", "staff@div-320000"}
    member = replace(members.get(number), roles=frozenset(roles))

    queried = []
    real = store.awaiting

    def counting(org_id, after_id, limit):
        queried.append(org_id)
        return real(org_id, after_id, limit)

    monkeypatch.setattr(store, "awaiting", counting)
    items = service.inbox_items(member, datetime.now(UTC))
    assert len(queried) == service.INBOX_MAX_ORGS == 20
    assert queried[0] == branch and queried[1:] == sorted(counties)[:19]
    assert "central" not in queried and "div-320000" not in queried  # the broadest ones are left out
    assert [i["org_id"] for i in items if i["id"] == transfer_id] == [branch]
