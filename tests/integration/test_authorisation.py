"""Every authenticated route refuses anonymous callers, members without the role and other subtrees."""

import pytest

from tests.integration.test_conventions import assert_problem

# (method, path, body) for every route that needs a signed-in caller
ROUTES = [
    ("GET", "/v1/members/me", None),
    ("GET", "/v1/members/{member}", None),
    (
        "POST",
        "/v1/members",
        {"name": "x", "region_code": "110105", "join_date": "2020-01-01", "branch_id": "{branch}"},
    ),
    ("GET", "/v1/orgs/div-110105", None),
    ("GET", "/v1/orgs?parent_id=central", None),
    ("POST", "/v1/orgs", {"name": "b", "parent_id": "div-110105"}),
    ("POST", "/v1/orgs/div-110105/roles", {"registration_number": "{member}", "role": "staff"}),
    ("GET", "/v1/orgs/div-110105/roles", None),
    ("DELETE", "/v1/orgs/div-110105/roles/{member}/staff", None),
]
# the only routes anyone may call without signing in; adding one here is a decision, not a default
PUBLIC = {
    ("GET", "/v1/openapi.json"),
    ("GET", "/v1/registration-numbers/{number}"),
    ("POST", "/v1/auth/login"),
    ("POST", "/v1/auth/activate"),
    ("POST", "/v1/auth/refresh"),
    ("GET", "/v1/dues/rate"),
    ("GET", "/v1/virtual-branches"),
    ("GET", "/v1/virtual-branches/rules"),
    ("GET", "/v1/virtual-branches/{org_id}"),
    ("GET", "/v1/virtual-branches/{org_id}/log"),
}
# routes any signed-in member may use
MEMBER_ROUTES = {"/v1/members/me", "/v1/orgs/div-110105", "/v1/orgs?parent_id=central"}


@pytest.fixture(scope="module")
def cast(platform):
    """A branch in Chaoyang (Beijing) with a member, and people who must not act on it."""
    branch = platform.new_branch("div-110105")
    member, _ = platform.new_member(branch)
    _, plain_token = platform.new_member(platform.new_branch("div-110105"))
    other_staff, other_token = platform.new_member(platform.new_branch("div-310101"))
    platform.grant("div-310101", other_staff)
    return {"branch": branch, "member": member, "plain": plain_token, "other_staff": other_token}


def _fill(value, cast):
    if isinstance(value, str):
        return value.replace("{branch}", cast["branch"]).replace("{member}", cast["member"])
    if isinstance(value, dict):
        return {k: _fill(v, cast) for k, v in value.items()}
    return value


def _call(platform, method, path, body, token):
    if method == "GET":
        return platform.get(path, token)
    if method == "DELETE":
        return platform.delete(path, token)
    if method == "PUT":
        return platform.put(path, body, token)
    return platform.post(path, body, token)


def _declared():
    from app import app  # noqa: F401  (registers every blueprint's operations)
    from chalicelib.api.http import OPERATIONS

    return OPERATIONS


def test_only_the_listed_routes_are_public():
    assert {(op.method, op.path) for op in _declared() if not op.auth} == PUBLIC


def test_the_identity_and_org_matrix_covers_their_routes():
    declared = {(op.method, op.path) for op in _declared() if op.tag in ("identity", "orgs")}
    covered = {
        (
            m,
            p.split("?")[0]
            .replace("div-110105", "{org_id}")
            .replace("{member}", "{number}")
            .replace("/staff", "/{role}"),
        )
        for m, p, _ in ROUTES
    }
    assert declared - PUBLIC <= covered


@pytest.mark.parametrize("op", [op for op in _declared() if op.auth], ids=lambda op: f"{op.method} {op.path}")
def test_every_signed_in_route_refuses_anonymous_callers(platform, op):
    import re

    path = re.sub(r"\{[a-z_]+\}", "x1", op.path)
    resp = _call(platform, op.method, path, {}, None)
    assert_problem(resp, 401)


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_anonymous_callers_get_401(platform, cast, method, path, body):
    assert_problem(_call(platform, method, _fill(path, cast), _fill(body, cast), None), 401)


@pytest.mark.parametrize(("method", "path", "body"), [r for r in ROUTES if r[1] not in MEMBER_ROUTES])
def test_members_without_the_role_are_refused(platform, cast, method, path, body):
    resp = _call(platform, method, _fill(path, cast), _fill(body, cast), cast["plain"])
    assert resp.status_code in (403, 404), resp.body


@pytest.mark.parametrize(("method", "path", "body"), [r for r in ROUTES if r[1] not in MEMBER_ROUTES])
def test_staff_of_another_subtree_are_refused(platform, cast, method, path, body):
    resp = _call(platform, method, _fill(path, cast), _fill(body, cast), cast["other_staff"])
    assert resp.status_code in (403, 404), resp.body


def test_staff_of_a_county_act_on_their_subtree(platform):
    staff, token = platform.new_member()
    platform.grant("div-110105", staff)
    branch = platform.new_branch("div-110105", token=token)
    created = platform.register(branch, token=token)
    assert created["home_branch"] == branch
    # but not on the city above
    resp = platform.post("/v1/orgs", {"name": "b", "parent_id": "div-110100"}, token)
    assert_problem(resp, 403)


def test_roles_can_be_granted_listed_and_taken_back(platform):
    number, token = platform.new_member()
    branch = platform.new_branch("div-110108")
    platform.grant(branch, number, "secretary")
    me = platform.get("/v1/members/me", token).json_body
    assert {"org_id": branch, "role": "secretary"} in me["roles"]
    listed = platform.get(f"/v1/orgs/{branch}/roles", platform.admin_token).json_body["items"]
    assert [(g["registration_number"], g["role"]) for g in listed] == [(number, "secretary")]
    again = platform.post(
        f"/v1/orgs/{branch}/roles", {"registration_number": number, "role": "secretary"}, platform.admin_token
    )
    assert_problem(again, 409)
    gone = platform.delete(f"/v1/orgs/{branch}/roles/{number}/secretary", platform.admin_token)
    assert gone.status_code == 200, gone.body
    assert platform.get("/v1/members/me", token).json_body["roles"] == []
    assert_problem(platform.delete(f"/v1/orgs/{branch}/roles/{number}/secretary", platform.admin_token), 404)


def test_roles_that_mean_nothing_on_a_level_are_refused(platform):
    number, _ = platform.new_member()
    resp = platform.post(
        "/v1/orgs/div-110105/roles",
        {"registration_number": number, "role": "secretary"},
        platform.admin_token,
    )
    assert_problem(resp, 400)


def test_revoked_staff_lose_access_at_once(platform):
    staff, token = platform.new_member()
    platform.grant("div-110105", staff)
    assert platform.post("/v1/orgs", {"name": "b", "parent_id": "div-110105"}, token).status_code == 201
    platform.delete(f"/v1/orgs/div-110105/roles/{staff}/staff", platform.admin_token)
    assert_problem(platform.post("/v1/orgs", {"name": "b", "parent_id": "div-110105"}, token), 403)


def test_the_last_central_staff_cannot_be_removed(platform):
    resp = platform.delete(f"/v1/orgs/central/roles/{platform.admin_number}/staff", platform.admin_token)
    assert_problem(resp, 409)
