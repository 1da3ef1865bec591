"""Transfers over HTTP: temporary and formal, deciding, cancelling, expiry, lists and Idempotency-Key."""

import secrets
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.test_conventions import assert_problem

HOME_COUNTY = "div-110105"  # 北京市朝阳区
AWAY_COUNTY = "div-310101"  # 上海市黄浦区


def count(platform, org_id):
    return platform.get(f"/v1/orgs/{org_id}", platform.admin_token).json_body["member_count"]


def member_of(platform, token):
    return platform.get("/v1/members/me", token).json_body


def ask(platform, token, to, kind="formal", reason=None, headers=None, status=201):
    body = {"to_org_id": to, "kind": kind}
    if reason:
        body["reason"] = reason
    resp = platform.post("/v1/transfers", body, token, headers)
    assert resp.status_code == status, resp.body
    return resp.json_body


def act(platform, token, transfer_id, action, body=None, status=200):
    resp = platform.post(f"/v1/transfers/{transfer_id}/{action}", body, token)
    assert resp.status_code == status, resp.body
    return resp.json_body


@pytest.fixture(scope="module")
def away(platform):
    """A receiving branch in Shanghai with its secretary, who is a member of another branch."""
    branch = platform.new_branch(AWAY_COUNTY)
    secretary, token = platform.new_member(platform.new_branch(AWAY_COUNTY))
    platform.grant(branch, secretary, "secretary")
    return {"branch": branch, "secretary": secretary, "token": token}


@pytest.fixture
def mover(platform):
    """A member of a fresh branch in Beijing: (number, token, home branch)."""
    home = platform.new_branch(HOME_COUNTY)
    number, token = platform.new_member(home)
    return number, token, home


def test_a_temporary_transfer_attaches_at_once_and_keeps_the_home_branch(platform, away, mover):
    number, token, home = mover
    before = count(platform, home), count(platform, away["branch"])
    transfer = ask(platform, token, away["branch"], "temporary", reason="working in Shanghai")
    assert transfer["status"] == "effective" and transfer["kind"] == "temporary"
    assert transfer["from_org_id"] == home and transfer["to_org_id"] == away["branch"]
    assert transfer["effective_at"] == transfer["created_at"]
    me = member_of(platform, token)
    assert (me["home_branch"], me["attached_branch"]) == (home, away["branch"])
    # attachments are mobile members, not members of the receiving branch
    assert (count(platform, home), count(platform, away["branch"])) == before


def test_a_formal_transfer_waits_and_accepting_moves_the_home_and_both_counts(platform, away, mover):
    number, token, home = mover
    before = count(platform, home), count(platform, away["branch"])
    transfer = ask(platform, token, away["branch"], "formal", reason="moved for good")
    assert transfer["status"] == "pending" and transfer["effective_at"] is None
    assert transfer["expires_at"] is not None
    assert member_of(platform, token)["home_branch"] == home

    accepted = act(platform, away["token"], transfer["transfer_id"], "accept", {"reason": "welcome"})
    assert accepted["status"] == "effective" and accepted["decided_by"] == away["secretary"]
    assert member_of(platform, token)["home_branch"] == away["branch"]
    assert (count(platform, home), count(platform, away["branch"])) == (before[0] - 1, before[1] + 1)
    assert [(s["action"], s["status"], s["by"], s["reason"]) for s in accepted["history"]] == [
        ("requested", "pending", number, "moved for good"),
        ("accepted", "effective", away["secretary"], "welcome"),
    ]
    # decided: every further decision is a conflict
    for action in ("accept", "reject"):
        assert_problem(
            platform.post(f"/v1/transfers/{transfer['transfer_id']}/{action}", None, away["token"]), 409
        )
    assert_problem(platform.post(f"/v1/transfers/{transfer['transfer_id']}/cancel", None, token), 409)


def test_one_open_formal_transfer_at_a_time(platform, away, mover):
    _, token, _ = mover
    first = ask(platform, token, away["branch"])
    other = platform.new_branch(AWAY_COUNTY)
    body = assert_problem(platform.post("/v1/transfers", {"to_org_id": other, "kind": "formal"}, token), 409)
    assert first["transfer_id"] in body["detail"]
    # a temporary one meanwhile is fine
    ask(platform, token, other, "temporary")
    cancelled = act(platform, token, first["transfer_id"], "cancel", {"reason": "changed my mind"})
    assert cancelled["status"] == "cancelled" and cancelled["history"][-1]["reason"] == "changed my mind"
    assert ask(platform, token, other, "formal")["status"] == "pending"


def test_transfers_that_cannot_be_asked_for(platform, away, mover):
    _, token, home = mover
    for kind in ("temporary", "formal"):
        assert_problem(platform.post("/v1/transfers", {"to_org_id": home, "kind": kind}, token), 409)
        body = assert_problem(
            platform.post("/v1/transfers", {"to_org_id": AWAY_COUNTY, "kind": kind}, token), 400
        )
        assert body["errors"][0]["field"] == "to_org_id"
        assert_problem(platform.post("/v1/transfers", {"to_org_id": "br-nowhere", "kind": kind}, token), 400)
    ask(platform, token, away["branch"], "temporary")
    assert_problem(
        platform.post("/v1/transfers", {"to_org_id": away["branch"], "kind": "temporary"}, token), 409
    )
    for body in (
        {"to_org_id": away["branch"], "kind": "permanent"},
        {"to_org_id": away["branch"]},
        {"to_org_id": away["branch"], "kind": "formal", "when": "now"},
        {"to_org_id": away["branch"], "kind": "formal", "reason": ""},
        {"to_org_id": "x" * 200, "kind": "formal"},
    ):
        assert_problem(platform.post("/v1/transfers", body, token), 400)


def test_a_virtual_branch_is_listed_by_division_but_is_no_transfer_target(platform, mover):
    from tests.integration.test_virtual_branches import found

    _, founder = platform.new_member(platform.new_branch(HOME_COUNTY))
    vb = found(platform, founder)["org_id"]
    _, token, _ = mover
    for kind in ("temporary", "formal"):
        body = assert_problem(platform.post("/v1/transfers", {"to_org_id": vb, "kind": kind}, token), 400)
        assert "physical branch" in body["detail"]
        message = "is a virtual_branch, not a physical branch"
        assert body["errors"] == [{"field": "to_org_id", "message": message}]
    assert platform.get("/v1/transfers", token).json_body["items"] == []
    schema = platform.get("/v1/openapi.json").json_body["components"]["schemas"]["CreateTransfer"]
    assert "physical branch" in schema["properties"]["to_org_id"]["description"]


def test_the_receiving_side_may_decline_a_temporary_transfer_within_7_days(platform, away, mover):
    from chalicelib.domain.errors import Conflict
    from chalicelib.services.transfers import decide

    _, token, home = mover
    transfer = ask(platform, token, away["branch"], "temporary")
    later = datetime.now(UTC) + timedelta(days=7, minutes=1)
    with pytest.raises(Conflict):
        decide(away["secretary"], transfer["transfer_id"], "reject", None, now=later)
    rejected = act(platform, away["token"], transfer["transfer_id"], "reject", {"reason": "no room"})
    assert rejected["status"] == "rejected" and rejected["ended_at"] is not None
    assert member_of(platform, token)["attached_branch"] is None
    assert_problem(platform.post(f"/v1/transfers/{transfer['transfer_id']}/accept", None, away["token"]), 409)


def test_the_member_ends_an_attachment_by_cancelling_it(platform, away, mover):
    _, token, _ = mover
    transfer = ask(platform, token, away["branch"], "temporary")
    ended = act(platform, token, transfer["transfer_id"], "cancel")
    assert ended["status"] == "ended"
    assert member_of(platform, token)["attached_branch"] is None
    assert_problem(platform.post(f"/v1/transfers/{transfer['transfer_id']}/cancel", None, token), 409)


def test_a_newer_attachment_supersedes_the_older_one(platform, away, mover):
    _, token, _ = mover
    first = ask(platform, token, away["branch"], "temporary")
    nearer = platform.new_branch(HOME_COUNTY)
    second = ask(platform, token, nearer, "temporary")
    assert member_of(platform, token)["attached_branch"] == nearer
    old = platform.get(f"/v1/transfers/{first['transfer_id']}", token).json_body
    assert old["status"] == "superseded" and old["ended_at"] is not None
    assert (
        old["history"][-1]["action"] == "superseded" and second["transfer_id"] in old["history"][-1]["reason"]
    )
    listed = platform.get(f"/v1/orgs/{away['branch']}/transfers?status=superseded", away["token"]).json_body
    assert first["transfer_id"] in [t["transfer_id"] for t in listed["items"]]


def test_accepting_a_formal_transfer_ends_the_attachment(platform, away, mover):
    _, token, _ = mover
    elsewhere = platform.new_branch(AWAY_COUNTY)
    attachment = ask(platform, token, elsewhere, "temporary")
    formal = ask(platform, token, away["branch"], "formal")
    act(platform, away["token"], formal["transfer_id"], "accept")
    me = member_of(platform, token)
    assert (me["home_branch"], me["attached_branch"]) == (away["branch"], None)
    assert (
        platform.get(f"/v1/transfers/{attachment['transfer_id']}", token).json_body["status"] == "superseded"
    )


def test_a_formal_transfer_to_the_attached_branch_makes_it_home(platform, away, mover):
    _, token, _ = mover
    ask(platform, token, away["branch"], "temporary")
    formal = ask(platform, token, away["branch"], "formal")
    act(platform, away["token"], formal["transfer_id"], "accept")
    me = member_of(platform, token)
    assert (me["home_branch"], me["attached_branch"]) == (away["branch"], None)


def test_a_pending_formal_transfer_expires_after_90_days(platform, away, mover):
    from chalicelib.services.transfers import request_transfer

    number, token, _ = mover
    long_ago = datetime.now(UTC) - timedelta(days=91)
    stale = request_transfer(number, away["branch"], "formal", None, now=long_ago)
    shown = platform.get(f"/v1/transfers/{stale['transfer_id']}", token).json_body
    assert shown["status"] == "expired"
    assert_problem(platform.post(f"/v1/transfers/{stale['transfer_id']}/accept", None, away["token"]), 409)
    stored = platform.get(f"/v1/transfers/{stale['transfer_id']}", token).json_body
    assert stored["history"][-1]["action"] == "expired"
    # the slot is free again
    assert ask(platform, token, away["branch"])["status"] == "pending"


def test_a_new_formal_transfer_closes_an_expired_one_in_the_same_step(platform, away, mover):
    from chalicelib.services.transfers import request_transfer

    number, token, _ = mover
    stale = request_transfer(
        number, away["branch"], "formal", None, now=datetime.now(UTC) - timedelta(days=95)
    )
    fresh = ask(platform, token, platform.new_branch(AWAY_COUNTY))
    assert fresh["status"] == "pending"
    old = platform.get(f"/v1/transfers/{stale['transfer_id']}", token).json_body
    assert old["history"][-1]["action"] == "expired"
    pending = platform.get(f"/v1/orgs/{away['branch']}/transfers?status=expired", away["token"]).json_body
    assert stale["transfer_id"] in [t["transfer_id"] for t in pending["items"]]


def test_the_daily_sweep_expires_stale_transfers(platform, away, mover):
    from chalicelib.local.pump import fire_schedule
    from chalicelib.services.transfers import request_transfer

    number, token, _ = mover
    stale = request_transfer(
        number, away["branch"], "formal", None, now=datetime.now(UTC) - timedelta(days=92)
    )
    result = fire_schedule(platform.client._app, "transfer_expiry")
    assert result["expired"] >= 1
    stored = platform.get(f"/v1/transfers/{stale['transfer_id']}", token).json_body
    assert stored["status"] == "expired" and stored["history"][-1]["by"] is None
    listed = platform.get(f"/v1/orgs/{away['branch']}/transfers?status=pending", away["token"]).json_body
    assert stale["transfer_id"] not in [t["transfer_id"] for t in listed["items"]]
    assert ask(platform, token, away["branch"])["status"] == "pending"


def test_a_member_lists_their_transfers_newest_first_page_by_page(platform, away, mover):
    _, token, _ = mover
    ids = [
        ask(platform, token, platform.new_branch(AWAY_COUNTY), "temporary")["transfer_id"] for _ in range(3)
    ]
    seen, cursor = [], None
    while True:
        page = platform.get(
            "/v1/transfers?limit=2" + (f"&cursor={cursor}" if cursor else ""), token
        ).json_body
        seen += [t["transfer_id"] for t in page["items"]]
        assert all("history" not in t for t in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids[::-1]
    statuses = [t["status"] for t in platform.get("/v1/transfers", token).json_body["items"]]
    assert statuses == ["effective", "superseded", "superseded"]


def test_orgs_list_transfers_in_out_and_within(platform, away, mover):
    number, token, home = mover
    transfer = ask(platform, token, away["branch"])
    incoming = platform.get(f"/v1/orgs/{away['branch']}/transfers", away["token"]).json_body["items"]
    assert [(t["transfer_id"], t["direction"]) for t in incoming][:1] == [(transfer["transfer_id"], "in")]
    outgoing = platform.get(f"/v1/orgs/{home}/transfers", platform.admin_token).json_body["items"]
    assert [(t["transfer_id"], t["direction"]) for t in outgoing] == [(transfer["transfer_id"], "out")]
    province = platform.get("/v1/orgs/div-310000/transfers?status=pending", platform.admin_token).json_body
    assert transfer["transfer_id"] in [t["transfer_id"] for t in province["items"]]
    # the centre is above both sides: the transfer moves inside its subtree
    central = platform.get("/v1/orgs/central/transfers", platform.admin_token).json_body["items"]
    assert [(t["transfer_id"], t["direction"]) for t in central][:1] == [(transfer["transfer_id"], "within")]
    effective = platform.get(f"/v1/orgs/{away['branch']}/transfers?status=effective", away["token"]).json_body
    assert transfer["transfer_id"] not in [t["transfer_id"] for t in effective["items"]]
    act(platform, away["token"], transfer["transfer_id"], "accept")
    effective = platform.get(f"/v1/orgs/{away['branch']}/transfers?status=effective", away["token"]).json_body
    assert transfer["transfer_id"] in [t["transfer_id"] for t in effective["items"]]
    assert_problem(platform.get(f"/v1/orgs/{away['branch']}/transfers?status=gone", away["token"]), 400)


def test_idempotency_key_makes_one_transfer(platform, away, mover):
    _, token, _ = mover
    key = {"Idempotency-Key": secrets.token_hex(8)}
    first = ask(platform, token, away["branch"], "temporary", headers=key)
    again = platform.post("/v1/transfers", {"to_org_id": away["branch"], "kind": "temporary"}, token, key)
    assert again.status_code == 201 and again.json_body == first
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(platform.get("/v1/transfers", token).json_body["items"]) == 1
    other = platform.post("/v1/transfers", {"to_org_id": away["branch"], "kind": "formal"}, token, key)
    assert_problem(other, 409)


def test_decisions_replay_with_the_same_idempotency_key(platform, away, mover):
    _, token, _ = mover
    transfer = ask(platform, token, away["branch"])
    key = {"Idempotency-Key": secrets.token_hex(8)}
    path = f"/v1/transfers/{transfer['transfer_id']}/accept"
    first = platform.post(path, None, away["token"], key)
    second = platform.post(path, None, away["token"], key)
    assert first.status_code == second.status_code == 200
    assert second.json_body == first.json_body and second.headers.get("Idempotent-Replayed") == "true"


def test_decision_bodies_are_optional_but_checked(platform, away, mover):
    _, token, _ = mover
    transfer = ask(platform, token, away["branch"])
    path = f"/v1/transfers/{transfer['transfer_id']}/reject"
    body = assert_problem(platform.post(path, {"reason": "x", "extra": 1}, away["token"]), 400)
    assert any(e["field"] == "extra" for e in body["errors"])
    assert_problem(platform.post(path, b"{", away["token"]), 400)
    assert_problem(platform.post(path, {"reason": "y" * 501}, away["token"]), 400)
    assert platform.post(path, {}, away["token"]).status_code == 200


def test_ids_that_cannot_be_transfers_are_not_found(platform, mover):
    _, token, _ = mover
    for path in ("/v1/transfers/nope", "/v1/transfers/tr-00000000000000000000"):
        assert_problem(platform.get(path, token), 404)
    assert_problem(platform.post("/v1/transfers/" + "x" * 3000 + "/accept", None, token), 404)
    assert_problem(platform.get("/v1/orgs/" + "y" * 3000 + "/transfers", token), 404)
