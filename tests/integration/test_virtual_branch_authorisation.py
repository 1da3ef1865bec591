"""Who may call each virtual-branch route: anonymous, applicant, member, deputy, secretary,
supervising staff, staff of another subtree, and a member with no tie to the branch."""

from __future__ import annotations

import pytest

from tests.integration.test_conventions import assert_problem
from tests.integration.test_virtual_branches import BASE, add_member, found, join

ACTORS = ("anonymous", "applicant", "member", "deputy", "secretary", "supervisor", "other_staff", "outsider")

# (method, path, body, {actor: expected status}) — actors not listed must not be refused for
# authentication or authorisation (they may still meet a 409 for the branch's state)
ROUTES = [
    ("GET", "/rules", None, {}),
    ("GET", "", None, {}),
    ("GET", "/{vb}", None, {}),
    ("GET", "/{vb}/log", None, {}),
    ("POST", "", "found", {"anonymous": 401}),
    (
        "GET",
        "/{vb}/founding",
        None,
        {
            "anonymous": 401,
            "applicant": 403,
            "member": 403,
            "deputy": 403,
            "other_staff": 403,
            "outsider": 403,
        },
    ),
    ("POST", "/{vb}/join-requests", None, {"anonymous": 401}),
    (
        "GET",
        "/{vb}/join-requests",
        None,
        {
            "anonymous": 401,
            "applicant": 403,
            "member": 403,
            "supervisor": 403,
            "other_staff": 403,
            "outsider": 403,
        },
    ),
    (
        "GET",
        "/{vb}/join-requests/{applicant}",
        None,
        {"anonymous": 401, "member": 404, "supervisor": 404, "other_staff": 404, "outsider": 404},
    ),
    *[
        (
            "POST",
            f"/{{vb}}/join-requests/{{applicant}}/{action}",
            None,
            {
                "anonymous": 401,
                "applicant": 403,
                "member": 403,
                "supervisor": 403,
                "other_staff": 403,
                "outsider": 403,
            },
        )
        for action in ("approve", "reject")
    ],
    (
        "POST",
        "/{vb}/join-requests/{applicant}/withdraw",
        None,
        {
            "anonymous": 401,
            "member": 403,
            "deputy": 403,
            "secretary": 403,
            "supervisor": 403,
            "other_staff": 403,
            "outsider": 403,
        },
    ),
    (
        "POST",
        "/{vb}/leave",
        None,
        {
            "anonymous": 401,
            "applicant": 403,
            "secretary": 409,
            "supervisor": 403,
            "other_staff": 403,
            "outsider": 403,
        },
    ),
    (
        "POST",
        "/{vb}/handover",
        {"to": "{member}"},
        {
            "anonymous": 401,
            "applicant": 403,
            "member": 403,
            "deputy": 403,
            "supervisor": 403,
            "other_staff": 403,
            "outsider": 403,
        },
    ),
    (
        "GET",
        "/{vb}/members",
        None,
        {"anonymous": 401, "applicant": 403, "other_staff": 403, "outsider": 403},
    ),
    (
        "POST",
        "/{vb}/deputies",
        {"registration_number": "{member}"},
        {
            "anonymous": 401,
            "applicant": 403,
            "member": 403,
            "deputy": 403,
            "supervisor": 403,
            "other_staff": 403,
            "outsider": 403,
        },
    ),
    (
        "DELETE",
        "/{vb}/deputies/{deputy}",
        None,
        {
            "anonymous": 401,
            "applicant": 403,
            "member": 403,
            "supervisor": 403,
            "other_staff": 403,
            "outsider": 403,
        },
    ),
    *[
        (
            "POST",
            f"/{{vb}}/{action}",
            {"reason": "检查 check"},
            {
                "anonymous": 401,
                "applicant": 403,
                "member": 403,
                "deputy": 403,
                "secretary": 403,
                "other_staff": 403,
                "outsider": 403,
            },
        )
        for action in ("suspend", "reinstate", "dissolve")
    ],
    (
        "POST",
        "/{vb}/reassign",
        {"supervising_org_id": "div-110108", "reason": "x"},
        {
            "anonymous": 401,
            "applicant": 403,
            "member": 403,
            "deputy": 403,
            "secretary": 403,
            "supervisor": 403,  # a county has no other department inside its subtree
            "other_staff": 403,
            "outsider": 403,
        },
    ),
]

# routes that change something when allowed: the matrix exercises only their refusals on the
# shared branch; the allowed side is `ALLOWED` below, each case on a fresh branch of its own
CHANGES = {"POST", "DELETE"}


@pytest.fixture(scope="module")
def cast(platform):
    """A branch supervised by Chaoyang with one person in each part."""
    home = platform.new_branch("div-110105")
    secretary, secretary_token = platform.new_member(home)
    org_id = found(platform, secretary_token)["org_id"]
    member, member_token = add_member(platform, org_id, secretary_token)
    deputy, deputy_token = add_member(platform, org_id, secretary_token)
    assert (
        platform.post(
            f"{BASE}/{org_id}/deputies", {"registration_number": deputy}, secretary_token
        ).status_code
        == 201
    )
    applicant, applicant_token = platform.new_member()
    join(platform, org_id, applicant_token)
    supervisor, supervisor_token = platform.new_member()
    platform.grant("div-110105", supervisor)
    other, other_token = platform.new_member(platform.new_branch("div-310101"))
    platform.grant("div-310101", other)
    _, outsider_token = platform.new_member()
    return {
        "ids": {"vb": org_id, "member": member, "deputy": deputy, "applicant": applicant},
        "tokens": {
            "anonymous": None,
            "applicant": applicant_token,
            "member": member_token,
            "deputy": deputy_token,
            "secretary": secretary_token,
            "supervisor": supervisor_token,
            "other_staff": other_token,
            "outsider": outsider_token,
        },
    }


def _fill(value, ids):
    if isinstance(value, str):
        for k, v in ids.items():
            value = value.replace("{" + k + "}", v)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _call(platform, method, path, body, token):
    if method == "GET":
        return platform.get(path, token)
    if method == "DELETE":
        return platform.delete(path, token)
    return platform.post(path, body, token)


def test_every_virtual_branch_route_is_in_this_matrix(platform):
    from chalicelib.api.http import OPERATIONS

    declared = {
        (op.method, op.path.replace("{org_id}", "{vb}").replace("{number}", "{x}"))
        for op in OPERATIONS
        if op.path.startswith(BASE)
    }
    covered = set()
    for method, path, _, _ in ROUTES:
        for name in ("applicant", "deputy"):
            path = path.replace("{" + name + "}", "{x}")
        covered.add((method, BASE + path))
    assert declared == covered


CASES = [
    pytest.param(method, path, body, actor, expected.get(actor), id=f"{method} {path or '/'} as {actor}")
    for method, path, body, expected in ROUTES
    for actor in ACTORS
    if expected.get(actor) is not None or method not in CHANGES
]


@pytest.mark.parametrize(("method", "path", "body", "actor", "expected"), CASES)
def test_route_authorisation(platform, cast, method, path, body, actor, expected):
    if body == "found":
        body = {"name": "x", "accepted_rules_version": 1, "accepted_covenant_version": 1}
    resp = _call(
        platform,
        method,
        BASE + _fill(path, cast["ids"]),
        _fill(body, cast["ids"]),
        cast["tokens"][actor],
    )
    if expected is None:
        assert resp.status_code < 400, (actor, resp.body)
    else:
        assert_problem(resp, expected)


# ---- the allowed side of the routes that change something -----------------------------------------

# A branch founded from a home branch in Nanshan (Shenzhen, Guangdong) is supervised by that county;
# above it are the city of Shenzhen, the province of Guangdong and the centre.
COUNTY, CITY, PROVINCE = "div-440305", "div-440300", "div-440000"


@pytest.fixture(scope="module")
def staff(platform):
    """Staff of the supervising county, of the city and province above it, and of the centre."""
    tokens = {"central_staff": platform.admin_token}
    for name, org_id in (("county_staff", COUNTY), ("city_staff", CITY), ("province_staff", PROVINCE)):
        number, token = platform.new_member(platform.new_branch(org_id))
        platform.grant(org_id, number, "staff")
        tokens[name] = token
    return tokens


@pytest.fixture
def fresh(platform, staff):
    """A branch of its own for one allowed call: secretary, a deputy, a member and an applicant."""
    _, secretary_token = platform.new_member(platform.new_branch(COUNTY))
    org_id = found(platform, secretary_token)["org_id"]
    member, member_token = add_member(platform, org_id, secretary_token)
    deputy, deputy_token = add_member(platform, org_id, secretary_token)
    resp = platform.post(f"{BASE}/{org_id}/deputies", {"registration_number": deputy}, secretary_token)
    assert resp.status_code == 201, resp.body
    applicant, applicant_token = platform.new_member()
    join(platform, org_id, applicant_token)
    tokens = {
        **staff,
        "secretary": secretary_token,
        "member": member_token,
        "deputy": deputy_token,
        "applicant": applicant_token,
    }
    return {"ids": {"vb": org_id, "applicant": applicant, "member": member}, "tokens": tokens}


def _detail(platform, org_id):
    return platform.get(f"{BASE}/{org_id}").json_body


def _suspended_first(platform, fresh):
    org_id = fresh["ids"]["vb"]
    resp = platform.post(
        f"{BASE}/{org_id}/suspend", {"reason": "先停 first"}, fresh["tokens"]["county_staff"]
    )
    assert resp.status_code == 200, resp.body


def _rejected(platform, fresh, body):
    org_id, applicant = fresh["ids"]["vb"], fresh["ids"]["applicant"]
    assert body["status"] == "rejected" and body["decided_as"] == "deputy"
    seen = platform.get(f"{BASE}/{org_id}/join-requests/{applicant}", fresh["tokens"]["applicant"]).json_body
    assert seen["status"] == "rejected"
    queue = platform.get(f"{BASE}/{org_id}/join-requests", fresh["tokens"]["secretary"]).json_body["items"]
    assert queue == []
    assert _detail(platform, org_id)["member_count"] == 3


def _status_by(status, action, by_org_id):
    def check(platform, fresh, body):
        org_id = fresh["ids"]["vb"]
        assert body["status"] == status
        detail = _detail(platform, org_id)
        assert detail["status"] == status
        entry = detail["log"][0]
        assert (entry["action"], entry["by"], entry["by_org_id"]) == (
            action,
            "supervising department",
            by_org_id,
        )
        _, late_token = platform.new_member()
        takes_joins = platform.post(f"{BASE}/{org_id}/join-requests", None, late_token).status_code
        assert takes_joins == (201 if status == "active" else 409)
        if status == "dissolved":  # the offices end at once
            roles = platform.get("/v1/members/me", fresh["tokens"]["secretary"]).json_body["roles"]
            assert all(r["org_id"] != org_id for r in roles)

    return check


def _reassigned_to(target, city, by_org_id):
    def check(platform, fresh, body):
        org_id = fresh["ids"]["vb"]
        assert body["supervising_org_id"] == target
        org = platform.get(f"/v1/orgs/{org_id}", fresh["tokens"]["secretary"]).json_body
        assert org["parent_id"] == target and org["path"][-2:] == [target, org_id]
        entry = _detail(platform, org_id)["log"][0]
        assert (entry["action"], entry["by_org_id"]) == ("reassigned", by_org_id)
        assert entry["details"]["from_org_id"] == COUNTY and entry["details"]["to_org_id"] == target
        listed = platform.get(f"{BASE}?supervising_org_id={city}&limit=100").json_body["items"]
        assert org_id in [i["org_id"] for i in listed]
        # the old county no longer supervises it
        old = platform.post(f"{BASE}/{org_id}/suspend", {"reason": "x"}, fresh["tokens"]["county_staff"])
        assert_problem(old, 403)

    return check


REASON = {"reason": "检查 check"}
# (actor, path, body, prepare, check of the effect)
ALLOWED = {
    "reject as a deputy": ("deputy", "/{vb}/join-requests/{applicant}/reject", None, None, _rejected),
    "reinstate as the supervising county's staff": (
        "county_staff",
        "/{vb}/reinstate",
        REASON,
        _suspended_first,
        _status_by("active", "reinstated", COUNTY),
    ),
    "suspend as the city's staff": (
        "city_staff",
        "/{vb}/suspend",
        REASON,
        None,
        _status_by("suspended", "suspended", CITY),
    ),
    "suspend as the province's staff": (
        "province_staff",
        "/{vb}/suspend",
        REASON,
        None,
        _status_by("suspended", "suspended", PROVINCE),
    ),
    "dissolve as the city's staff": (
        "city_staff",
        "/{vb}/dissolve",
        REASON,
        None,
        _status_by("dissolved", "dissolved", CITY),
    ),
    "dissolve as the province's staff": (
        "province_staff",
        "/{vb}/dissolve",
        REASON,
        None,
        _status_by("dissolved", "dissolved", PROVINCE),
    ),
    "reassign as the province's staff to a county of another city (Tianhe, Guangzhou)": (
        "province_staff",
        "/{vb}/reassign",
        {"supervising_org_id": "div-440106", "reason": "成员多在广州"},
        None,
        _reassigned_to("div-440106", "div-440100", PROVINCE),
    ),
    "reassign as the centre's staff to a county of a city elsewhere (Jinjiang, Chengdu)": (
        "central_staff",
        "/{vb}/reassign",
        {"supervising_org_id": "div-510104", "reason": "成员多在成都"},
        None,
        _reassigned_to("div-510104", "div-510100", "central"),
    ),
}


@pytest.mark.parametrize("case", list(ALLOWED))
def test_allowed_changes_succeed_and_take_effect(platform, fresh, case):
    actor, path, body, prepare, check = ALLOWED[case]
    if prepare is not None:
        prepare(platform, fresh)
    resp = platform.post(BASE + _fill(path, fresh["ids"]), body, fresh["tokens"][actor])
    assert 200 <= resp.status_code < 300, (case, resp.status_code, resp.body)
    check(platform, fresh, resp.json_body)
