"""Virtual branches at any size: exact counts under concurrency, equal cost at 10,000 members,
dissolution a page at a time through the stream, and the inbox source."""

from __future__ import annotations

import contextlib
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.local.pump import StreamTail
from tests.integration.test_virtual_branches import BASE, add_member, approve, branch, found, join


@contextlib.contextmanager
def dynamodb_calls():
    """The DynamoDB operations the app makes inside the block (its one shared botocore client)."""
    from chalicelib.store import models

    client = models.Org._get_connection().connection.client
    calls: list[str] = []

    def hook(model, **_):
        calls.append(model.name)

    client.meta.events.register("before-call", hook, unique_id="test-branch-calls")
    try:
        yield calls
    finally:
        client.meta.events.unregister("before-call", unique_id="test-branch-calls")


def registered(platform, count, region="110105", day=None):
    """`count` members registered straight through the service (no sign-in needed): their numbers."""
    from chalicelib.services.accounts import NewMember, register_member

    branch_id = platform.new_branch(f"div-{region}")
    day = day or date(2021, 1 + secrets.randbelow(12), 1 + secrets.randbelow(28))
    req = NewMember(name="并发成员", region_code=region, join_date=day, branch_id=branch_id)
    return [register_member(platform.admin_number, req)["registration_number"] for _ in range(count)]


def org_count(org_id):
    from chalicelib.store import models

    return int(models.Org.get(org_id, consistent_read=True).member_count)


def record_count(org_id):
    from chalicelib.store import models

    return int(models.VirtualBranch.get(org_id, consistent_read=True).member_count)


def memberships(org_id):
    from chalicelib.store import models

    return models.BranchMembership.count(org_id, consistent_read=True)


@contextlib.contextmanager
def overlapping_transactions_conflict():
    """Refuse a TransactWriteItems as DynamoDB does while another transaction holds one of its items.

    moto runs one call at a time and never answers `TransactionConflict`; DynamoDB cancels a
    transaction whose items another transaction in progress is writing. Here a transaction holds
    its items from the moment it is sent until its answer arrives (waiting for moto's lock counts,
    as a real one would be in progress), and one sent meanwhile touching any of them is cancelled
    with `TransactionConflict` before it reaches moto. Yields a counter of the conflicts answered.
    """
    import json
    import threading

    from botocore.awsrequest import AWSResponse

    from chalicelib.store import models

    client = models.Org._get_connection().connection.client
    keys_of = {m.Meta.table_name: (m._hash_keyname, m._range_keyname) for m in models.ALL_MODELS}
    held: set[tuple] = set()
    lock = threading.Lock()
    stats = {"conflicts": 0}

    def items(params):
        out = []
        for entry in params["TransactItems"]:
            (op,) = entry.values()
            body = op.get("Key") or op["Item"]
            hash_name, range_name = keys_of[op["TableName"]]
            out.append((op["TableName"], json.dumps(body[hash_name]), json.dumps(body.get(range_name))))
        return out

    def before(params, context, **_):
        mine = items(json.loads(params["body"]))
        with lock:
            if not held.intersection(mine):
                held.update(mine)
                context["held_for_test"] = mine
                return None
            stats["conflicts"] += 1
            reasons = [{"Code": "TransactionConflict" if k in held else "None"} for k in mine]
        parsed = {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": reasons,
        }
        return AWSResponse("https://dynamodb.test", 400, {}, None), parsed

    def after(context, **_):
        mine = context.pop("held_for_test", None)
        if mine:
            with lock:
                held.difference_update(mine)

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", before, unique_id="test-tx-held")
    client.meta.events.register("after-call.dynamodb.TransactWriteItems", after, unique_id="test-tx-free")
    try:
        yield stats
    finally:
        client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="test-tx-held")
        client.meta.events.unregister("after-call.dynamodb.TransactWriteItems", unique_id="test-tx-free")


def approve_all_at_once(secretary, org_id, applicants):
    """Every approval in its own thread, all released together: what each one answered."""
    import threading

    from chalicelib.domain.errors import Conflict
    from chalicelib.services import branches

    barrier = threading.Barrier(len(applicants))
    results: dict[str, str] = {}

    def one(number):
        barrier.wait(timeout=60)
        try:
            results[number] = branches.approve(secretary, org_id, number)["status"]
        except Conflict as exc:  # "the virtual branch is busy; retry": the retries ran out
            results[number] = f"409 {exc}"

    threads = [threading.Thread(target=one, args=(n,)) for n in applicants]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return [results.get(n, "no answer") for n in applicants]


def test_50_approvals_at_once_count_exactly(platform):
    from chalicelib.services import branches

    secretary, token = platform.new_member()
    org_id = found(platform, token)["org_id"]
    applicants = registered(platform, 50)
    for number in applicants:
        branches.request_join(number, org_id, None)

    results = approve_all_at_once(secretary, org_id, applicants)

    assert results == ["approved"] * 50
    assert record_count(org_id) == org_count(org_id) == memberships(org_id) == 51
    assert branch(platform, org_id)["member_count"] == 51


def test_50_approvals_at_once_all_succeed_when_dynamodb_cancels_overlapping_transactions(platform):
    """Real contention: each approval writes the one branch record, so all but one of the
    transactions in progress at any moment are cancelled and retried; none may run out of retries."""
    from chalicelib.services import branches

    secretary, token = platform.new_member()
    org_id = found(platform, token)["org_id"]
    applicants = registered(platform, 50)
    for number in applicants:
        branches.request_join(number, org_id, None)

    with overlapping_transactions_conflict() as stats:
        results = approve_all_at_once(secretary, org_id, applicants)

    assert stats["conflicts"] > 0  # the contention was real
    assert results == ["approved"] * 50, [r for r in results if r != "approved"][:3]
    assert record_count(org_id) == org_count(org_id) == memberships(org_id) == 51


def test_the_same_request_approved_by_many_hands_at_once_counts_once(platform):
    from chalicelib.domain.errors import Conflict
    from chalicelib.services import branches

    secretary, token = platform.new_member()
    org_id = found(platform, token)["org_id"]
    deputy, _ = add_member(platform, org_id, token)
    assert (
        platform.post(f"{BASE}/{org_id}/deputies", {"registration_number": deputy}, token).status_code == 201
    )
    (applicant,) = registered(platform, 1)
    branches.request_join(applicant, org_id, None)

    def attempt(i):
        try:
            return branches.approve(secretary if i % 2 else deputy, org_id, applicant)["status"]
        except Conflict:
            return "409"

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(attempt, range(20)))
    assert outcomes.count("approved") == 1 and outcomes.count("409") == 19
    assert record_count(org_id) == org_count(org_id) == memberships(org_id) == 3


def test_joins_and_leaves_racing_keep_the_count_exact(platform):
    from chalicelib.services import branches

    secretary, token = platform.new_member()
    org_id = found(platform, token)["org_id"]
    stay = registered(platform, 20)
    go = registered(platform, 20)
    for number in stay + go:
        branches.request_join(number, org_id, None)
    for number in go:
        branches.approve(secretary, org_id, number)

    def act(job):
        kind, number = job
        if kind == "approve":
            branches.approve(secretary, org_id, number)
        else:
            branches.leave(number, org_id)

    jobs = [("approve", n) for n in stay] + [("leave", n) for n in go]
    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(act, jobs))
    assert record_count(org_id) == org_count(org_id) == memberships(org_id) == 21


def test_a_10000_member_branch_costs_what_a_small_one_does(platform):
    from chalicelib.store import branches as store

    _, small_token = platform.new_member()
    small = found(platform, small_token)["org_id"]
    big_secretary, big_token = platform.new_member()
    big = found(platform, big_token)["org_id"]
    rows = [(f"11010520190101{i:04d}", f"成员{i}", "2024-01-01T00:00:00+00:00") for i in range(9_999)]
    assert store.add_memberships_in_bulk(big, rows) == 9_999
    assert branch(platform, big)["member_count"] == 10_000

    def cost(org_id, secretary_token):
        number, member_token = platform.new_member()
        with dynamodb_calls() as joining:
            join(platform, org_id, member_token)
        with dynamodb_calls() as approving:
            approve(platform, org_id, number, secretary_token)
        with dynamodb_calls() as listing:
            page = platform.get(f"{BASE}/{org_id}/members?limit=50", member_token).json_body
        assert len(page["items"]) == min(50, branch(platform, org_id)["member_count"])
        with dynamodb_calls() as leaving:
            assert platform.post(f"{BASE}/{org_id}/leave", None, member_token).status_code == 200
        return {"join": joining, "approve": approving, "list": listing, "leave": leaving}

    small_cost, big_cost = cost(small, small_token), cost(big, big_token)
    assert small_cost == big_cost
    assert all(len(calls) <= 2 for calls in big_cost.values()), big_cost
    assert record_count(big) == org_count(big) == memberships(big) == 10_000
    # pages follow on from each other (paging all 10,000 through moto would only measure moto)
    seen, cursor = [], None
    for _ in range(3):
        url = f"{BASE}/{big}/members?limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = platform.get(url, big_token).json_body
        seen += [m["registration_number"] for m in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 300 and seen == sorted(seen) and cursor


@pytest.fixture
def small_pages(monkeypatch):
    from chalicelib.services import branches

    monkeypatch.setattr(branches, "DISSOLUTION_PAGE", 40)


def drain(platform, tail, limit=50):
    """Deliver the branch stream to the dissolution consumer until it falls silent."""
    rounds = 0
    while rounds < limit:
        event = tail.event()
        if not event["Records"]:
            return rounds
        result = platform.client.lambda_.invoke("branch_dissolution", event).payload
        assert result == {"batchItemFailures": []}
        rounds += 1
    raise AssertionError("the dissolution did not finish")


def test_dissolving_removes_memberships_in_the_background_a_page_at_a_time(platform, small_pages):
    from chalicelib.store import models

    secretary, token = platform.new_member()
    org_id = found(platform, token)["org_id"]
    member, member_token = add_member(platform, org_id, token)
    deputy, deputy_token = add_member(platform, org_id, token)
    platform.post(f"{BASE}/{org_id}/deputies", {"registration_number": deputy}, token)
    bulk_members(org_id, "11010520180101", 100)
    _, applicant_token = platform.new_member()
    join(platform, org_id, applicant_token)
    staff_token = supervising_staff(platform)
    tail = StreamTail("mmp-test-virtual_branches")

    resp = platform.post(f"{BASE}/{org_id}/dissolve", {"reason": "长期无活动 inactive"}, staff_token)
    assert resp.status_code == 200 and resp.json_body["status"] == "dissolved"
    # the offices end at once, the memberships follow
    assert {"org_id": org_id, "role": "secretary"} not in platform.get("/v1/members/me", token).json_body[
        "roles"
    ]
    assert_dissolved = platform.post(f"{BASE}/{org_id}/join-requests", None, platform.new_member()[1])
    assert assert_dissolved.status_code == 409
    assert platform.post(f"{BASE}/{org_id}/leave", None, member_token).status_code == 409

    rounds = drain(platform, tail)
    assert rounds >= 3  # 103 members in pages of 40, then the pending request, then done
    assert memberships(org_id) == 0
    assert record_count(org_id) == org_count(org_id) == 0
    for t in (token, member_token, deputy_token):
        me = platform.get("/v1/members/me", t).json_body
        assert org_id not in me["virtual_branches"]
        assert all(r["org_id"] != org_id for r in me["roles"])
    assert list(models.RoleGrant.query(org_id)) == []
    request = platform.get(
        f"{BASE}/{org_id}/join-requests/{platform_number(applicant_token, platform)}", applicant_token
    )
    assert request.json_body["status"] == "closed"
    detail = branch(platform, org_id)
    assert detail["status"] == "dissolved" and detail["log"][0]["reason"] == "长期无活动 inactive"
    # a record delivered again changes nothing
    assert drain(platform, tail) == 0


def bulk_members(org_id, prefix, count):
    """`count` members written straight into a branch (numbers `{prefix}0000`...), as the scale tests need."""
    from chalicelib.store import branches as store

    store.add_memberships_in_bulk(org_id, [(f"{prefix}{i:04d}", "成员", "2024-01-01") for i in range(count)])


def supervising_staff(platform):
    """A token of staff of 朝阳区, the department supervising the branches founded here."""
    staff, staff_token = platform.new_member()
    platform.grant("div-110105", staff)
    return staff_token


def platform_number(token, platform):
    return platform.get("/v1/members/me", token).json_body["registration_number"]


def test_a_repeated_stream_record_does_not_remove_twice(platform, small_pages):

    _, token = platform.new_member()
    org_id = found(platform, token)["org_id"]
    bulk_members(org_id, "11010520170101", 60)
    staff_token = supervising_staff(platform)
    tail = StreamTail("mmp-test-virtual_branches")
    platform.post(f"{BASE}/{org_id}/dissolve", {"reason": "x"}, staff_token)
    first = tail.event()
    for _ in range(3):  # the same record, three times
        platform.client.lambda_.invoke("branch_dissolution", first)
    assert memberships(org_id) == 61 - 40
    assert record_count(org_id) == 61 - 40
    drain(platform, tail)
    assert record_count(org_id) == org_count(org_id) == memberships(org_id) == 0


def _dissolved_an_hour_ago(org_id):
    """Backdate a dissolution, as if its stream chain had stopped long before the sweep runs."""
    from chalicelib.store import models

    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    models.VirtualBranch(org_id).update(
        actions=[models.VirtualBranch.dissolved_at.set(hour_ago)], add_version_condition=False
    )


def _sweep(platform):
    from chalicelib.local.pump import fire_schedule

    return fire_schedule(platform.client._app, "branch_dissolution_sweep")


def _dissolving_ids():
    from chalicelib.store import models

    return {i.org_id for i in models.VirtualBranch.dissolving_index.query("pending")}


def test_a_dissolution_whose_stream_delivery_was_lost_is_finished_by_the_sweep(platform, small_pages):
    from chalicelib.store import models

    _, token = platform.new_member()
    org_id = found(platform, token)["org_id"]
    member, member_token = add_member(platform, org_id, token)
    bulk_members(org_id, "11010520160101", 60)
    _, applicant_token = platform.new_member()
    join(platform, org_id, applicant_token)
    _, recent_token = platform.new_member()
    recent = found(platform, recent_token)["org_id"]
    staff_token = supervising_staff(platform)
    tail = StreamTail("mmp-test-virtual_branches")
    assert platform.post(f"{BASE}/{org_id}/dissolve", {"reason": "x"}, staff_token).status_code == 200
    assert platform.post(f"{BASE}/{recent}/dissolve", {"reason": "x"}, staff_token).status_code == 200
    _dissolved_an_hour_ago(org_id)
    assert {org_id, recent} <= _dissolving_ids()
    tail.event()  # the stream records are lost: the chain never starts
    assert memberships(org_id) == 62

    # the sweep runs the step the branch is at (one page); its write restarts the chain
    assert _sweep(platform).get("members", 0) >= 1
    assert memberships(org_id) == 62 - 40
    assert memberships(recent) == 1  # dissolved within the grace period: left to its own stream
    drain(platform, tail)
    assert memberships(org_id) == 0
    assert record_count(org_id) == org_count(org_id) == 0
    assert models.VirtualBranch.get(org_id, consistent_read=True).members_removed_at
    assert org_id not in platform.get("/v1/members/me", member_token).json_body["virtual_branches"]
    assert list(models.RoleGrant.query(org_id, consistent_read=True)) == []
    me = platform_number(applicant_token, platform)
    request = platform.get(f"{BASE}/{org_id}/join-requests/{me}", applicant_token).json_body
    assert request["status"] == "closed"
    # done: out of the sweep's index, so the next sweeps leave it alone
    assert org_id not in _dissolving_ids() and recent in _dissolving_ids()


def test_the_sweep_alone_finishes_a_dissolution_when_every_stream_record_is_lost(platform, small_pages):

    _, token = platform.new_member()
    org_id = found(platform, token)["org_id"]
    bulk_members(org_id, "11010520150101", 90)
    staff_token = supervising_staff(platform)
    platform.post(f"{BASE}/{org_id}/dissolve", {"reason": "x"}, staff_token)
    _dissolved_an_hour_ago(org_id)
    runs = 0
    while org_id in _dissolving_ids():
        runs += 1
        assert runs <= 5, "the sweep did not finish the dissolution"
        _sweep(platform)  # and no stream record is ever delivered
    assert runs == 4  # 91 members in pages of 40, then done
    assert record_count(org_id) == org_count(org_id) == memberships(org_id) == 0


def test_the_clean_up_reads_the_branch_and_its_members_strongly_consistently(platform, small_pages):
    from chalicelib.services.branches import continue_dissolution
    from chalicelib.store import models

    _, token = platform.new_member()
    org_id = found(platform, token)["org_id"]
    bulk_members(org_id, "11010520140101", 5)
    staff_token = supervising_staff(platform)
    platform.post(f"{BASE}/{org_id}/dissolve", {"reason": "x"}, staff_token)
    client = models.Org._get_connection().connection.client
    reads = []

    def hook(params, model, **_):
        if model.name in ("GetItem", "Query"):
            reads.append((model.name, params["TableName"], params.get("ConsistentRead", False)))

    client.meta.events.register("before-parameter-build.dynamodb", hook, unique_id="test-vb-consistent")
    try:
        assert continue_dissolution(org_id, 0) == "members"
        assert continue_dissolution(org_id, 1) == "done"
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb", unique_id="test-vb-consistent")
    base_table_reads = [r for r in reads if not r[1].endswith("vb_join_requests")]  # a GSI: never consistent
    assert {t.removeprefix("mmp-test-") for _, t, _ in base_table_reads} == {
        "virtual_branches",
        "vb_memberships",
        "role_grants",
    }
    assert all(consistent for _, _, consistent in base_table_reads), reads


def test_the_inbox_source_lists_pending_requests_of_the_branches_a_member_runs(platform):
    from chalicelib.services.branches import pending_join_requests_for

    secretary, token = platform.new_member()
    first = found(platform, token)["org_id"]
    second = found(platform, token)["org_id"]
    deputy, deputy_token = add_member(platform, first, token)
    platform.post(f"{BASE}/{first}/deputies", {"registration_number": deputy}, token)
    applicants = [platform.new_member() for _ in range(3)]
    join(platform, first, applicants[0][1])
    join(platform, second, applicants[1][1])
    join(platform, first, applicants[2][1])
    platform.post(f"{BASE}/{first}/join-requests/{applicants[2][0]}/reject", None, token)

    with dynamodb_calls() as calls:
        items = pending_join_requests_for(secretary)
    assert len(calls) == 1 + 2  # the member item, then one Query per branch
    # oldest first; requests made within one second (the stored resolution) are in id order
    assert items == sorted(items, key=lambda i: (i["created_at"], i["id"]))
    assert {(i["org_id"], i["registration_number"]) for i in items} == {
        (first, applicants[0][0]),
        (second, applicants[1][0]),
    }
    assert all(i["more_pending"] is False for i in items)
    assert all(i["kind"] == "join_request" and i["overdue"] is False and i["created_at"] for i in items)
    assert {i["id"] for i in items} == {f"{first}/{applicants[0][0]}", f"{second}/{applicants[1][0]}"}
    assert [i["org_id"] for i in pending_join_requests_for(deputy)] == [first]
    assert pending_join_requests_for(applicants[0][0]) == []


def test_the_inbox_source_is_bounded_secretaries_branches_first_and_says_when_a_queue_holds_more(
    platform, monkeypatch
):
    from chalicelib.domain import branches as rules
    from chalicelib.services import branches as service

    monkeypatch.setattr(rules, "INBOX_BRANCH_LIMIT", 2)
    monkeypatch.setattr(service, "INBOX_PER_BRANCH", 2)
    runner, runner_token = platform.new_member()
    own = found(platform, runner_token)["org_id"]
    deputy_of = []
    for _ in range(2):
        _, other_token = platform.new_member()
        org_id = found(platform, other_token)["org_id"]
        add_member_as_deputy(platform, org_id, other_token, runner_token, runner)
        deputy_of.append(org_id)
    for org_id in (own, *deputy_of):
        for n in registered(platform, 3):
            service.request_join(n, org_id, None)

    with dynamodb_calls() as calls:
        items = service.pending_join_requests_for(runner)
    assert len(calls) == 1 + 2  # the member item, then one Query per branch read: no more
    assert len(items) <= rules.INBOX_BRANCH_LIMIT * service.INBOX_PER_BRANCH
    shown = sorted({i["org_id"] for i in items})
    # the branch they are secretary of comes first; of the deputies' ones, the first by id
    assert shown == sorted([own, min(deputy_of)])
    assert len(items) == 4 and all(i["more_pending"] is True for i in items)
    assert {i["queue_path"] for i in items} == {
        f"{BASE}/{org_id}/join-requests?status=pending" for org_id in shown
    }
    # what the inbox makes of it: the items pass through with their fields
    inbox = platform.get("/v1/inbox", runner_token).json_body["items"]
    mine = [i for i in inbox if i["kind"] == "join_request"]
    assert len(mine) == 4 and all(i["more_pending"] for i in mine)


def add_member_as_deputy(platform, org_id, secretary_token, token, number):
    join(platform, org_id, token)
    approve(platform, org_id, number, secretary_token)
    resp = platform.post(f"{BASE}/{org_id}/deputies", {"registration_number": number}, secretary_token)
    assert resp.status_code == 201, resp.body
