"""Who may do what with transfers, filings and statistics: every route against every kind of caller.

The cast: a member of a Beijing branch asking for a formal transfer to a Shanghai branch; the
receiving branch's secretary; staff of the receiving county (the right subtree); staff of the
sending county; staff of a Guangzhou county (another subtree); a plain member; nobody.
"""

import pytest

from tests.integration.test_conventions import assert_problem
from tests.integration.test_transfers import AWAY_COUNTY, HOME_COUNTY

CALLERS = (
    "anonymous",
    "member",
    "receiving secretary",
    "right staff",
    "sending staff",
    "other staff",
    "plain",
)

# route -> expected status per caller (same order as CALLERS)
EXPECTED = {
    ("POST", "/v1/transfers"): (401, 201, 201, 201, 201, 201, 201),
    ("GET", "/v1/transfers"): (401, 200, 200, 200, 200, 200, 200),
    ("GET", "/v1/transfers/{id}"): (401, 200, 200, 200, 200, 404, 404),
    ("POST", "/v1/transfers/{id}/accept"): (401, 403, 200, 200, 403, 404, 404),
    ("POST", "/v1/transfers/{id}/reject"): (401, 403, 200, 200, 403, 404, 404),
    ("POST", "/v1/transfers/{id}/cancel"): (401, 200, 403, 403, 403, 404, 404),
    ("GET", "/v1/orgs/{to}/transfers"): (401, 403, 200, 200, 403, 403, 403),
    ("GET", "/v1/orgs/{from}/transfers"): (401, 403, 403, 403, 200, 403, 403),
    ("GET", "/v1/filings/transfers?org_id={to_county}"): (401, 403, 403, 200, 403, 403, 403),
    ("GET", "/v1/filings/transfers?org_id={from_county}"): (401, 403, 403, 403, 200, 403, 403),
    ("GET", "/v1/stats/orgs/{to_county}"): (401, 403, 403, 200, 403, 403, 403),
    ("GET", "/v1/stats/orgs/{to}"): (401, 403, 403, 200, 403, 403, 403),
    ("GET", "/v1/inbox"): (401, 200, 200, 200, 200, 200, 200),
}


@pytest.fixture(scope="module")
def cast(platform):
    to = platform.new_branch(AWAY_COUNTY)
    tokens = {"anonymous": None}
    secretary, tokens["receiving secretary"] = platform.new_member(platform.new_branch(AWAY_COUNTY))
    platform.grant(to, secretary, "secretary")
    right, tokens["right staff"] = platform.new_member(platform.new_branch(AWAY_COUNTY))
    platform.grant(AWAY_COUNTY, right)
    sending, tokens["sending staff"] = platform.new_member(platform.new_branch(HOME_COUNTY))
    platform.grant(HOME_COUNTY, sending)
    other, tokens["other staff"] = platform.new_member(platform.new_branch("div-440106"))
    platform.grant("div-440106", other)
    _, tokens["plain"] = platform.new_member(platform.new_branch(HOME_COUNTY))
    return {"to": to, "tokens": tokens}


def _scene(platform, cast):
    """A fresh member of a Beijing branch with a pending formal transfer to the Shanghai branch."""
    home = platform.new_branch(HOME_COUNTY)
    _, token = platform.new_member(home)
    resp = platform.post("/v1/transfers", {"to_org_id": cast["to"], "kind": "formal"}, token)
    assert resp.status_code == 201, resp.body
    return {**cast["tokens"], "member": token}, resp.json_body["transfer_id"], home


@pytest.mark.parametrize(("method", "route"), list(EXPECTED))
def test_each_caller_gets_what_the_route_allows(platform, cast, method, route):
    tokens, transfer_id, home = _scene(platform, cast)
    path = (
        route.replace("{id}", transfer_id)
        .replace("{to}", cast["to"])
        .replace("{from}", home)
        .replace("{to_county}", AWAY_COUNTY)
        .replace("{from_county}", HOME_COUNTY)
    )
    got = []
    for caller in CALLERS:
        if method == "POST" and route.endswith(("accept", "reject", "cancel")):
            tokens, transfer_id, home = _scene(platform, cast)  # each decision on a fresh transfer
            path = route.replace("{id}", transfer_id)
        token = tokens[caller]
        if method == "POST":
            body = None
            if route == "/v1/transfers":
                body = {"to_org_id": platform.new_branch(AWAY_COUNTY), "kind": "temporary"}
            resp = platform.post(path, body, token)
        else:
            resp = platform.get(path, token)
        if resp.status_code >= 400:
            assert_problem(resp, resp.status_code)
        got.append(resp.status_code)
    assert dict(zip(CALLERS, got, strict=True)) == dict(zip(CALLERS, EXPECTED[(method, route)], strict=True))


def test_every_transfer_route_is_in_this_matrix():
    from chalicelib.api.http import OPERATIONS

    ours = {
        (op.method, op.path)
        for op in OPERATIONS
        if op.path.startswith(("/v1/transfers", "/v1/filings/transfers", "/v1/stats/", "/v1/inbox"))
        or op.path == "/v1/orgs/{org_id}/transfers"
    }
    covered = {
        (
            m,
            r.split("?")[0]
            .replace("{id}", "{transfer_id}")
            .replace("{to}", "{org_id}")
            .replace("{from}", "{org_id}"),
        )
        for m, r in EXPECTED
    }
    covered = {(m, p.replace("{to_county}", "{org_id}")) for m, p in covered}
    assert ours <= covered
