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

# routes that change something when allowed: only the refusals are exercised here (the allowed
# calls are the behaviour tests of test_virtual_branches.py)
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
