"""Virtual branches end to end in-process: founding, the registry, joining, offices, supervision."""

from __future__ import annotations

import contextlib
import secrets

import pytest

from tests.integration.test_conventions import assert_problem

BASE = "/v1/virtual-branches"


@contextlib.contextmanager
def client_ip(address):
    """Make `chalice.test.Client` report `address` as API Gateway's `sourceIp` (it says 127.0.0.1)."""
    from chalice.local import LambdaEventConverter

    before = LambdaEventConverter.LOCAL_SOURCE_IP
    LambdaEventConverter.LOCAL_SOURCE_IP = address
    try:
        yield
    finally:
        LambdaEventConverter.LOCAL_SOURCE_IP = before


def current_versions(platform):
    rules = platform.get(f"{BASE}/rules").json_body
    return rules["rules_version"], rules["covenant_version"]


def found(platform, token, name=None, ip=None, description="学习交流 study together", expect=201):
    rules_v, covenant_v = current_versions(platform)
    body = {
        "name": name or f"虚拟支部 {secrets.token_hex(3)}",
        "description": description,
        "accepted_rules_version": rules_v,
        "accepted_covenant_version": covenant_v,
    }
    with client_ip(ip or "127.0.0.1"):
        resp = platform.post(BASE, body, token)
    assert resp.status_code == expect, resp.body
    return resp.json_body


def join(platform, org_id, token, expect=201):
    resp = platform.post(f"{BASE}/{org_id}/join-requests", None, token)
    assert resp.status_code == expect, resp.body
    return resp.json_body


def approve(platform, org_id, number, token, expect=200):
    resp = platform.post(f"{BASE}/{org_id}/join-requests/{number}/approve", None, token)
    assert resp.status_code == expect, resp.body
    return resp.json_body


def add_member(platform, org_id, secretary_token, **kw):
    """A new member who applied and was approved: (number, token)."""
    number, token = platform.new_member(**kw)
    join(platform, org_id, token)
    approve(platform, org_id, number, secretary_token)
    return number, token


def branch(platform, org_id):
    resp = platform.get(f"{BASE}/{org_id}")
    assert resp.status_code == 200, resp.body
    return resp.json_body


@pytest.fixture
def founder(platform):
    """A member of a branch in Chaoyang (Beijing) named 欧阳娜娜: (number, token, home branch)."""
    home = platform.new_branch("div-110105")
    number, token = platform.new_member(home, name="欧阳娜娜")
    return number, token, home


# ---- rules and founding ---------------------------------------------------------------------------


def test_the_rules_and_covenant_are_served_to_anyone_in_chinese_with_an_english_translation(platform):
    resp = platform.get(f"{BASE}/rules")
    assert resp.status_code == 200
    body = resp.json_body
    assert body["rules_version"] >= 1 and body["covenant_version"] >= 1
    assert "虚拟支部设立规则" in body["rules_text"] and "Rules for establishing" in body["rules_text"]
    assert "书记承诺书" in body["covenant_text"] and "Secretary Covenant" in body["covenant_text"]


def test_a_founder_becomes_secretary_and_the_founding_is_recorded(platform, founder):
    number, token, _ = founder
    created = found(platform, token, name="朝阳流动成员学习组")
    org_id = created["org_id"]
    assert org_id.startswith("vb-")
    assert created["secretary"] == number
    assert created["secretary_name"] == "欧阳**"
    assert created["status"] == "active" and created["member_count"] == 1
    me = platform.get("/v1/members/me", token).json_body
    assert org_id in me["virtual_branches"]
    assert {"org_id": org_id, "role": "secretary"} in me["roles"]
    org = platform.get(f"/v1/orgs/{org_id}", token).json_body
    assert org["level"] == "virtual_branch" and org["member_count"] == 1
    assert org["parent_id"] == created["supervising_org_id"]
    record = platform.get(f"{BASE}/{org_id}/founding", token).json_body
    rules_v, covenant_v = current_versions(platform)
    assert record["accepted_rules_version"] == rules_v and record["accepted_covenant_version"] == covenant_v
    assert record["source_ip"] == "127.0.0.1" and record["located_by"] == "home_branch"
    log = branch(platform, org_id)["log"]
    assert [e["action"] for e in log] == ["founded"]
    assert number not in str(log)


def test_outdated_versions_are_refused_with_409(platform, founder):
    _, token, _ = founder
    rules_v, covenant_v = current_versions(platform)
    for body in (
        {"accepted_rules_version": rules_v + 1, "accepted_covenant_version": covenant_v},
        {"accepted_rules_version": rules_v, "accepted_covenant_version": covenant_v + 7},
        {"accepted_rules_version": rules_v - 1, "accepted_covenant_version": covenant_v},
        {"accepted_rules_version": 0, "accepted_covenant_version": covenant_v},
        {"accepted_rules_version": "v0", "accepted_covenant_version": covenant_v},
        {"accepted_rules_version": rules_v, "accepted_covenant_version": "2020-01"},
    ):
        resp = platform.post(BASE, {"name": "x", **body}, token)
        assert_problem(resp, 409)
        assert resp.json_body["errors"]


@pytest.mark.parametrize(
    ("address", "supervisor"),
    [
        ("220.181.38.148", "div-110100"),  # Beijing, Telecom: the municipality's one city-level department
        ("202.96.134.133", "div-440300"),  # Shenzhen, Guangdong
        ("116.228.111.118", "div-310100"),  # Shanghai
        ("61.139.2.69", "div-510100"),  # Chengdu, Sichuan
    ],
)
def test_the_supervising_department_comes_from_the_founding_address(platform, founder, address, supervisor):
    _, token, _ = founder
    created = found(platform, token, ip=address)
    assert created["supervising_org_id"] == supervisor
    assert created["located_by"] == "ip"
    assert created["supervising_division_code"] == supervisor.removeprefix("div-")
    org = platform.get(f"/v1/orgs/{created['org_id']}", token).json_body
    assert org["path"][-2] == supervisor and org["path"][0] == "central"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.2.3.4",
        "192.168.1.20",
        "8.8.8.8",
        "2001:db8::1",
        "240e::1",  # a global IPv6 address (China Telecom's block): the IPv4-only database cannot place it
        "36.132.128.1",  # ip2region: `中国|0|0|0|移动`, China with no province
    ],
)
def test_addresses_that_tell_nothing_fall_back_to_the_county_above_the_home_branch(platform, address):
    home = platform.new_branch("div-110108")
    _, token = platform.new_member(home)
    created = found(platform, token, ip=address)
    assert created["supervising_org_id"] == "div-110108"
    assert created["located_by"] == "home_branch"
    record = platform.get(f"{BASE}/{created['org_id']}/founding", token).json_body
    assert record["source_ip"] == address


def test_the_china_without_a_province_address_is_what_the_fallback_test_says_it_is():
    """The fallback list's 36.132.128.1 stays meaningful only while the database says this of it."""
    from chalicelib.domain import geo
    from chalicelib.store import geoip

    assert geo.parse_region(geoip.lookup("36.132.128.1")) == ("中国", None, None)
    assert geo.routable_ipv4("240e::1") is None


# ---- registry -----------------------------------------------------------------------------------------


def test_the_registry_is_public_masks_the_secretary_and_filters_by_subtree(platform, founder):
    number, token, _ = founder
    mine = found(platform, token, ip="202.96.134.133")["org_id"]  # Shenzhen
    resp = platform.get(f"{BASE}?supervising_org_id=div-440000&limit=100")
    assert resp.status_code == 200, resp.body
    items = resp.json_body["items"]
    assert mine in [i["org_id"] for i in items]
    assert all(i["supervising_org_id"].startswith("div-44") for i in items)
    text = str(resp.json_body)
    assert number not in text and "欧阳娜娜" not in text
    assert [i for i in items if i["org_id"] == mine][0]["secretary_name"] == "欧阳**"
    city = platform.get(f"{BASE}?supervising_org_id=div-440300").json_body["items"]
    assert mine in [i["org_id"] for i in city]
    assert mine not in [
        i["org_id"] for i in platform.get(f"{BASE}?supervising_org_id=div-110000").json_body["items"]
    ]
    assert platform.get(f"{BASE}?supervising_org_id=div-999999").json_body["items"] == []
    assert_problem(platform.get(f"{BASE}?supervising_org_id=br-123"), 400)


def test_the_registry_pages_newest_first(platform, founder):
    _, token, _ = founder
    made = [found(platform, token, ip="183.60.1.1")["org_id"] for _ in range(3)]  # Shenzhen
    seen, cursor = [], None
    for _ in range(10):
        url = f"{BASE}?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = platform.get(url).json_body
        seen += [i["org_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor or set(made) <= set(seen):
            break
    assert [o for o in seen if o in made] == made[::-1]


def test_unknown_and_malformed_branch_ids_are_404(platform):
    for org_id in ("vb-000000000000", "div-110105", "x" * 300, "vb-ZZZ"):
        assert_problem(platform.get(f"{BASE}/{org_id}"), 404)
    assert_problem(platform.get(f"{BASE}/vb-000000000000/log"), 404)


# ---- joining ----------------------------------------------------------------------------------------


def test_join_approve_and_the_count_moves_on_both_records(platform, founder):
    number, token, _ = founder
    org_id = found(platform, token)["org_id"]
    applicant, applicant_token = platform.new_member(name="李四")
    request = join(platform, org_id, applicant_token)
    assert request["status"] == "pending" and request["registration_number"] == applicant
    assert_problem(platform.post(f"{BASE}/{org_id}/join-requests", None, applicant_token), 409)
    queue = platform.get(f"{BASE}/{org_id}/join-requests", token).json_body["items"]
    assert [(r["registration_number"], r["name"], r["overdue"]) for r in queue] == [
        (applicant, "李四", False)
    ]
    decided = approve(platform, org_id, applicant, token)
    assert decided["status"] == "approved" and decided["decided_as"] == "secretary"
    assert_problem(platform.post(f"{BASE}/{org_id}/join-requests/{applicant}/approve", None, token), 409)
    assert branch(platform, org_id)["member_count"] == 2
    assert platform.get(f"/v1/orgs/{org_id}", token).json_body["member_count"] == 2
    assert org_id in platform.get("/v1/members/me", applicant_token).json_body["virtual_branches"]
    assert_problem(platform.post(f"{BASE}/{org_id}/join-requests", None, applicant_token), 409)
    members = platform.get(f"{BASE}/{org_id}/members", applicant_token).json_body["items"]
    assert sorted((m["name"], m["role"]) for m in members) == [("李四", "member"), ("欧阳娜娜", "secretary")]
    # a plain member sees names and dates, and only their own number
    assert [m.get("registration_number") for m in members if m["name"] == "欧阳娜娜"] == [None]
    with_numbers = platform.get(f"{BASE}/{org_id}/members", token).json_body["items"]
    assert {m["registration_number"] for m in with_numbers} == {number, applicant}


def test_a_join_request_may_carry_a_message_and_be_withdrawn_or_rejected_and_made_again(platform, founder):
    _, token, _ = founder
    org_id = found(platform, token)["org_id"]
    applicant, applicant_token = platform.new_member()
    resp = platform.post(f"{BASE}/{org_id}/join-requests", {"message": "我在深圳工作"}, applicant_token)
    assert resp.status_code == 201 and resp.json_body["message"] == "我在深圳工作"
    assert_problem(platform.post(f"{BASE}/{org_id}/join-requests", {"nope": 1}, applicant_token), 400)
    seen = platform.get(f"{BASE}/{org_id}/join-requests/{applicant}", applicant_token).json_body
    assert seen["status"] == "pending"
    withdrawn = platform.post(f"{BASE}/{org_id}/join-requests/{applicant}/withdraw", None, applicant_token)
    assert withdrawn.json_body["status"] == "withdrawn"
    join(platform, org_id, applicant_token)
    rejected = platform.post(f"{BASE}/{org_id}/join-requests/{applicant}/reject", None, token)
    assert rejected.status_code == 200 and rejected.json_body["status"] == "rejected"
    history = platform.get(f"{BASE}/{org_id}/join-requests?status=rejected", token).json_body["items"]
    assert [r["registration_number"] for r in history] == [applicant]
    join(platform, org_id, applicant_token)
    assert approve(platform, org_id, applicant, token)["status"] == "approved"


def test_leaving_is_free_but_the_secretary_hands_over_first_unless_alone(platform, founder):
    number, token, _ = founder
    org_id = found(platform, token)["org_id"]
    member, member_token = add_member(platform, org_id, token)
    assert_problem(platform.post(f"{BASE}/{org_id}/leave", None, token), 409)
    resp = platform.post(f"{BASE}/{org_id}/leave", None, member_token)
    assert resp.status_code == 200 and resp.json_body == {"org_id": org_id, "left": True, "dissolved": False}
    assert org_id not in platform.get("/v1/members/me", member_token).json_body["virtual_branches"]
    assert branch(platform, org_id)["member_count"] == 1
    assert_problem(platform.post(f"{BASE}/{org_id}/leave", None, member_token), 403)
    alone = platform.post(f"{BASE}/{org_id}/leave", None, token)
    assert alone.json_body == {"org_id": org_id, "left": True, "dissolved": True}
    after = branch(platform, org_id)
    assert after["status"] == "dissolved" and after["member_count"] == 0
    assert after["log"][0]["action"] == "dissolved"
    me = platform.get("/v1/members/me", token).json_body
    assert org_id not in me["virtual_branches"] and {"org_id": org_id, "role": "secretary"} not in me["roles"]
    assert platform.get(f"/v1/orgs/{org_id}", token).json_body["member_count"] == 0


def test_handover_passes_the_office_to_another_member(platform, founder):
    number, token, _ = founder
    org_id = found(platform, token)["org_id"]
    other, other_token = add_member(platform, org_id, token, name="王小明")
    outsider, _ = platform.new_member()
    resp = platform.post(f"{BASE}/{org_id}/handover", {"to": outsider}, token)
    assert_problem(resp, 400)
    assert_problem(platform.post(f"{BASE}/{org_id}/handover", {"to": number}, other_token), 403)
    resp = platform.post(f"{BASE}/{org_id}/handover", {"to": other}, token)
    assert resp.status_code == 200, resp.body
    assert resp.json_body["secretary"] == other and resp.json_body["secretary_name"] == "王**"
    assert branch(platform, org_id)["secretary_name"] == "王**"
    assert {"org_id": org_id, "role": "secretary"} in platform.get("/v1/members/me", other_token).json_body[
        "roles"
    ]
    assert {"org_id": org_id, "role": "secretary"} not in platform.get("/v1/members/me", token).json_body[
        "roles"
    ]
    assert platform.post(f"{BASE}/{org_id}/leave", None, token).json_body["left"] is True
    log = branch(platform, org_id)["log"]
    assert log[0]["action"] == "handover" and log[0]["details"]["to_secretary_name"] == "王**"


def test_a_secretary_names_up_to_five_deputies_who_decide_join_requests(platform, founder):
    _, token, _ = founder
    org_id = found(platform, token)["org_id"]
    people = [add_member(platform, org_id, token) for _ in range(6)]
    for number, _ in people[:5]:
        resp = platform.post(f"{BASE}/{org_id}/deputies", {"registration_number": number}, token)
        assert resp.status_code == 201, resp.body
    assert_problem(
        platform.post(f"{BASE}/{org_id}/deputies", {"registration_number": people[5][0]}, token), 409
    )
    deputy, deputy_token = people[0]
    # a deputy decides join requests, but names no deputies
    applicant, applicant_token = platform.new_member()
    join(platform, org_id, applicant_token)
    assert approve(platform, org_id, applicant, deputy_token)["decided_as"] == "deputy"
    resp = platform.post(f"{BASE}/{org_id}/deputies", {"registration_number": applicant}, deputy_token)
    assert_problem(resp, 403)
    assert {"org_id": org_id, "role": "deputy"} in platform.get("/v1/members/me", deputy_token).json_body[
        "roles"
    ]
    # stepping down
    resp = platform.delete(f"{BASE}/{org_id}/deputies/{deputy}", deputy_token)
    assert resp.status_code == 200 and resp.json_body["role"] == "member"
    applicant2, applicant2_token = platform.new_member()
    join(platform, org_id, applicant2_token)
    assert_problem(
        platform.post(f"{BASE}/{org_id}/join-requests/{applicant2}/approve", None, deputy_token), 403
    )
    # now there is room for a fifth again; a deputy named secretary stops being a deputy
    assert (
        platform.post(f"{BASE}/{org_id}/deputies", {"registration_number": people[5][0]}, token).status_code
        == 201
    )
    second = people[1][0]
    resp = platform.post(f"{BASE}/{org_id}/handover", {"to": second}, token)
    assert resp.status_code == 200, resp.body
    assert resp.json_body["deputy_count"] == 4
    roles = platform.get("/v1/members/me", people[1][1]).json_body["roles"]
    assert {"org_id": org_id, "role": "secretary"} in roles and {
        "org_id": org_id,
        "role": "deputy",
    } not in roles
    actions = [e["action"] for e in branch(platform, org_id)["log"]]
    assert actions[:3] == ["handover", "deputy_removed", "deputy_named"]


@contextlib.contextmanager
def failing_transaction(when):
    """Make the app's TransactWriteItems calls for which `when(params)` holds fail with a DynamoDB
    server error before anything is written; yields the parameters of every TransactWriteItems call."""
    from botocore.exceptions import ClientError

    from chalicelib.store import models

    client = models.Org._get_connection().connection.client
    event = "before-parameter-build.dynamodb.TransactWriteItems"
    writes: list[dict] = []

    def hook(params, **_):
        writes.append(params)
        if when(params):
            error = {"Error": {"Code": "InternalServerError", "Message": "test fault"}}
            raise ClientError(error, "TransactWriteItems")

    client.meta.events.register(event, hook, unique_id="test-vb-fault")
    try:
        yield writes
    finally:
        client.meta.events.unregister(event, unique_id="test-vb-fault")


def _moves_the_office(params) -> bool:
    """Does this transaction write the branch record's secretary (the handover itself)?"""
    return any(
        "secretary_name" in (item.get("Update", {}).get("ExpressionAttributeNames") or {}).values()
        for item in params["TransactItems"]
    )


def test_a_deputy_named_secretary_changes_office_all_at_once_or_not_at_all(platform, founder):
    from pynamodb.exceptions import TransactWriteError

    from chalicelib.services import branches as service
    from chalicelib.store import models

    number, token, _ = founder
    org_id = found(platform, token)["org_id"]
    deputy, deputy_token = add_member(platform, org_id, token, name="王小明")
    assert (
        platform.post(f"{BASE}/{org_id}/deputies", {"registration_number": deputy}, token).status_code == 201
    )

    def offices():
        me = platform.get("/v1/members/me", deputy_token).json_body["roles"]
        mine = sorted(r["role"] for r in me if r["org_id"] == org_id)
        grants = sorted(g.grant for g in models.RoleGrant.query(org_id, consistent_read=True))
        record = models.VirtualBranch.get(org_id, consistent_read=True)
        membership = models.BranchMembership.get(org_id, deputy, consistent_read=True).role
        return mine, grants, record.secretary, sorted(record.deputies or ()), membership

    before = offices()
    assert before == (
        ["deputy"],
        sorted([f"deputy#{deputy}", f"secretary#{number}"]),
        number,
        [deputy],
        "deputy",
    )
    log_before = [e["action"] for e in branch(platform, org_id)["log"]]

    # the write that moves the office fails: the deputy is still a deputy, nothing else moved
    with failing_transaction(_moves_the_office), pytest.raises(TransactWriteError) as failed:
        service.handover(number, org_id, deputy)
    assert failed.value.cause_response_code == "InternalServerError"
    assert offices() == before
    assert [e["action"] for e in branch(platform, org_id)["log"]] == log_before
    applicant, applicant_token = platform.new_member()
    join(platform, org_id, applicant_token)
    assert approve(platform, org_id, applicant, deputy_token)["decided_as"] == "deputy"

    # without the fault: one transaction does all of it
    with failing_transaction(lambda _: False) as writes:
        resp = platform.post(f"{BASE}/{org_id}/handover", {"to": deputy}, token)
    assert resp.status_code == 200, resp.body
    assert len(writes) == 1
    assert offices() == (["secretary"], [f"secretary#{deputy}"], deputy, [], "secretary")
    assert [e["action"] for e in branch(platform, org_id)["log"]][:2] == ["handover", "deputy_removed"]


def test_a_handover_to_a_deputy_whose_roles_changed_since_the_read_is_refused_whole(platform, founder):
    from chalicelib.domain.errors import Conflict
    from chalicelib.store import branches as store
    from chalicelib.store import models

    number, token, _ = founder
    org_id = found(platform, token)["org_id"]
    deputy, deputy_token = add_member(platform, org_id, token)
    platform.post(f"{BASE}/{org_id}/deputies", {"registration_number": deputy}, token)
    ctx = store.read(org_id, other_membership=deputy, member=deputy)
    platform.grant(platform.new_branch(), deputy)  # a role granted between the read and the write
    held = models.Member.get(deputy, consistent_read=True).roles
    log = store.LogEntry(action="handover", at="2026-01-01T00:00:00+00:00", by="secretary")
    with pytest.raises(Conflict):
        store.handover(ctx.branch, number, ctx.other_membership, log, new_roles=ctx.member.roles)
    assert models.Member.get(deputy, consistent_read=True).roles == held  # nothing overwritten
    record = models.VirtualBranch.get(org_id, consistent_read=True)
    assert record.secretary == number and record.deputies == {deputy}
    # read again, it goes through and keeps the new role
    resp = platform.post(f"{BASE}/{org_id}/handover", {"to": deputy}, token)
    assert resp.status_code == 200, resp.body
    roles = models.Member.get(deputy, consistent_read=True).roles
    assert roles == (held - {f"deputy@{org_id}"}) | {f"secretary@{org_id}"}


# ---- supervision ------------------------------------------------------------------------------------


@pytest.fixture
def supervised(platform, founder):
    """A branch supervised by Chaoyang (div-110105), with its county staff and other people."""
    number, token, _ = founder
    org_id = found(platform, token)["org_id"]
    assert branch(platform, org_id)["supervising_org_id"] == "div-110105"
    staff, staff_token = platform.new_member()
    platform.grant("div-110105", staff)
    _, other_staff_token = platform.new_member(platform.new_branch("div-310101"))
    platform.grant("div-310101", _)
    return {"org_id": org_id, "secretary": token, "staff": staff_token, "other_staff": other_staff_token}


def test_suspension_stops_joins_until_reinstated_and_is_logged_publicly(platform, supervised):
    org_id, token = supervised["org_id"], supervised["secretary"]
    applicant, applicant_token = platform.new_member()
    join(platform, org_id, applicant_token)
    for who in (token, supervised["other_staff"]):
        assert_problem(platform.post(f"{BASE}/{org_id}/suspend", {"reason": "x"}, who), 403)
    resp = platform.post(
        f"{BASE}/{org_id}/suspend", {"reason": "名称不实 misleading name"}, supervised["staff"]
    )
    assert resp.status_code == 200 and resp.json_body["status"] == "suspended"
    assert_problem(platform.post(f"{BASE}/{org_id}/suspend", {"reason": "again"}, supervised["staff"]), 409)
    assert_problem(platform.post(f"{BASE}/{org_id}/join-requests/{applicant}/approve", None, token), 409)
    _, late_token = platform.new_member()
    assert_problem(platform.post(f"{BASE}/{org_id}/join-requests", None, late_token), 409)
    resp = platform.post(f"{BASE}/{org_id}/reinstate", {"reason": "已整改 fixed"}, platform.admin_token)
    assert resp.status_code == 200 and resp.json_body["status"] == "active"
    approve(platform, org_id, applicant, token)
    log = branch(platform, org_id)["log"]
    assert [(e["action"], e["by"], e["by_org_id"]) for e in log[:2]] == [
        ("reinstated", "supervising department", "central"),
        ("suspended", "supervising department", "div-110105"),
    ]
    assert log[1]["reason"] == "名称不实 misleading name"


def test_reassignment_stays_inside_the_acting_departments_subtree(platform, supervised):
    org_id = supervised["org_id"]
    staff = supervised["staff"]
    resp = platform.post(
        f"{BASE}/{org_id}/reassign", {"supervising_org_id": "div-110108", "reason": "x"}, staff
    )
    assert_problem(resp, 403)  # a county cannot hand a branch to a neighbouring county
    city_staff, city_token = platform.new_member()
    platform.grant("div-110100", city_staff)
    resp = platform.post(
        f"{BASE}/{org_id}/reassign",
        {"supervising_org_id": "div-110108", "reason": "成员多在海淀"},
        city_token,
    )
    assert resp.status_code == 200, resp.body
    assert resp.json_body["supervising_org_id"] == "div-110108"
    org = platform.get(f"/v1/orgs/{org_id}", city_token).json_body
    assert org["parent_id"] == "div-110108" and org["path"][-2:] == ["div-110108", org_id]
    # the old county no longer supervises it
    assert_problem(platform.post(f"{BASE}/{org_id}/suspend", {"reason": "x"}, staff), 403)
    entry = branch(platform, org_id)["log"][0]
    assert entry["action"] == "reassigned" and entry["by_org_id"] == "div-110100"
    assert entry["details"]["to_org_id"] == "div-110108" and entry["reason"] == "成员多在海淀"
    haidian = platform.get(f"{BASE}?supervising_org_id=div-110108&limit=100").json_body["items"]
    assert org_id in [i["org_id"] for i in haidian]
    chaoyang = platform.get(f"{BASE}?supervising_org_id=div-110105&limit=100").json_body["items"]
    assert org_id not in [i["org_id"] for i in chaoyang]
    for target, status in (("div-110108", 409), ("br-central-office", 400), ("div-000000", 400)):
        resp = platform.post(
            f"{BASE}/{org_id}/reassign", {"supervising_org_id": target, "reason": "x"}, platform.admin_token
        )
        assert_problem(resp, status)


def test_supervising_staff_see_the_members_and_the_founding_record(platform, supervised):
    org_id = supervised["org_id"]
    assert platform.get(f"{BASE}/{org_id}/members", supervised["staff"]).status_code == 200
    assert platform.get(f"{BASE}/{org_id}/founding", supervised["staff"]).status_code == 200
    assert_problem(platform.get(f"{BASE}/{org_id}/members", supervised["other_staff"]), 403)
    assert_problem(platform.get(f"{BASE}/{org_id}/founding", supervised["other_staff"]), 403)


def test_the_generic_roles_route_changes_no_office_of_a_virtual_branch(platform, supervised, founder):
    """Secretary and deputies change only through founding, handover and /deputies: staff granting
    `secretary@vb-...` to a stranger would show them applicants in their inbox, and revoking it would
    leave the branch record naming a secretary without the role."""
    org_id, token, staff = supervised["org_id"], supervised["secretary"], supervised["staff"]
    secretary = founder[0]
    deputy, deputy_token = add_member(platform, org_id, token)
    assert (
        platform.post(f"{BASE}/{org_id}/deputies", {"registration_number": deputy}, token).status_code == 201
    )
    stranger, stranger_token = platform.new_member()
    applicant, applicant_token = platform.new_member()
    join(platform, org_id, applicant_token)
    grants_before = platform.get(f"/v1/orgs/{org_id}/roles", staff).json_body["items"]

    for who in (staff, platform.admin_token):
        for role in ("secretary", "staff", "editor"):
            resp = platform.post(
                f"/v1/orgs/{org_id}/roles", {"registration_number": stranger, "role": role}, who
            )
            assert_problem(resp, 400)
            assert resp.json_body["errors"][0]["field"] == "role"
        for number, role in ((secretary, "secretary"), (deputy, "deputy"), (stranger, "staff")):
            assert_problem(platform.delete(f"/v1/orgs/{org_id}/roles/{number}/{role}", who), 400)

    assert platform.get(f"/v1/orgs/{org_id}/roles", staff).json_body["items"] == grants_before
    stranger_roles = platform.get("/v1/members/me", stranger_token).json_body["roles"]
    assert all(r["org_id"] != org_id for r in stranger_roles)
    inbox = platform.get("/v1/inbox", stranger_token).json_body["items"]
    assert [i for i in inbox if i["org_id"] == org_id] == []
    assert {"org_id": org_id, "role": "secretary"} in platform.get("/v1/members/me", token).json_body["roles"]
    assert {"org_id": org_id, "role": "deputy"} in platform.get("/v1/members/me", deputy_token).json_body[
        "roles"
    ]
    detail = branch(platform, org_id)
    assert detail["secretary_name"] == "欧阳**" and detail["deputy_count"] == 1
    assert [e["action"] for e in detail["log"]][0] == "deputy_named"
    # the offices still work
    assert approve(platform, org_id, applicant, deputy_token)["decided_as"] == "deputy"
    # an unknown role is still not found, and a plain branch keeps its secretary through this route
    assert_problem(platform.delete(f"/v1/orgs/{org_id}/roles/{stranger}/nope", staff), 404)
    assert_problem(platform.delete(f"/v1/orgs/{platform.new_branch()}/roles/{stranger}/deputy", staff), 404)


# ---- conventions ------------------------------------------------------------------------------------


def test_a_retried_founding_with_the_same_idempotency_key_founds_once(platform, founder):
    _, token, _ = founder
    rules_v, covenant_v = current_versions(platform)
    body = {"name": "重试支部", "accepted_rules_version": rules_v, "accepted_covenant_version": covenant_v}
    first = platform.post(BASE, body, token, headers={"Idempotency-Key": "found-once"})
    again = platform.post(BASE, body, token, headers={"Idempotency-Key": "found-once"})
    assert first.status_code == again.status_code == 201
    assert first.json_body["org_id"] == again.json_body["org_id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    roles = platform.get("/v1/members/me", token).json_body["roles"]
    assert [r for r in roles if r["role"] == "secretary"] == [
        {"org_id": first.json_body["org_id"], "role": "secretary"}
    ]


def test_a_retried_approval_with_the_same_key_answers_the_same(platform, founder):
    _, token, _ = founder
    org_id = found(platform, token)["org_id"]
    applicant, applicant_token = platform.new_member()
    join(platform, org_id, applicant_token)
    path = f"{BASE}/{org_id}/join-requests/{applicant}/approve"
    first = platform.post(path, None, token, headers={"Idempotency-Key": "approve-1"})
    again = platform.post(path, None, token, headers={"Idempotency-Key": "approve-1"})
    assert first.status_code == again.status_code == 200 and first.json_body == again.json_body
    assert branch(platform, org_id)["member_count"] == 2


def test_bodies_are_validated_field_by_field(platform, founder):
    _, token, _ = founder
    resp = platform.post(BASE, {"name": "", "accepted_rules_version": [1], "extra": 1}, token)
    assert_problem(resp, 400)
    fields = {e["field"] for e in resp.json_body["errors"]}
    assert {"name", "accepted_rules_version", "accepted_covenant_version", "extra"} <= fields
    org_id = found(platform, token)["org_id"]
    assert_problem(platform.post(f"{BASE}/{org_id}/handover", {"to": "nope"}, token), 400)
    assert_problem(platform.post(f"{BASE}/{org_id}/suspend", {"reason": ""}, platform.admin_token), 400)
    assert_problem(platform.post(f"{BASE}/{org_id}/join-requests", b"{not json", token), 400)
    assert_problem(platform.get(f"{BASE}/{org_id}/join-requests?status=maybe", token), 400)
    assert_problem(platform.post(f"{BASE}/{org_id}/join-requests/123/approve", None, token), 404)
