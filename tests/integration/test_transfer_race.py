"""Twenty requests for one member at once: exactly one wins, and every count stays right."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from chalicelib.domain.errors import Conflict
from tests.integration.test_transfers import AWAY_COUNTY, HOME_COUNTY, count

N = 20


def _race(calls):
    def attempt(call):
        try:
            return call()
        except Conflict:
            return "409"

    with ThreadPoolExecutor(max_workers=N) as pool:
        return list(pool.map(attempt, calls))


def _state(number):
    from chalicelib.store import models

    member = models.Member.get(number, consistent_read=True)
    transfers = list(models.Transfer.by_member.query(number))
    state = models.MemberTransfers.get(number, consistent_read=True)
    return member, transfers, state


def _mobile(platform, org_id):
    return platform.get(f"/v1/stats/orgs/{org_id}", platform.admin_token).json_body["mobile_members"]


def test_twenty_temporary_requests_at_once_leave_one_effective(platform):
    """A request that read the member before another committed gets a 409; one that read after it
    supersedes it (as it would one second later): either way one attachment stands."""
    from chalicelib.local.pump import StreamTail
    from chalicelib.services.transfers import request_transfer

    home = platform.new_branch(HOME_COUNTY)
    number, _ = platform.new_member(home)
    targets = [platform.new_branch(AWAY_COUNTY) for _ in range(N)]
    before = [count(platform, b) for b in [home, *targets]]
    tail = StreamTail("mmp-test-transfers")
    mobile_before = _mobile(platform, AWAY_COUNTY)

    results = _race([lambda b=b: request_transfer(number, b, "temporary", None) for b in targets])

    winners = [r for r in results if r != "409"]
    assert winners and results.count("409") == N - len(winners)
    member, transfers, state = _state(number)
    assert len(transfers) == len(winners)
    effective = [t for t in transfers if t.status == "effective"]
    assert len(effective) == 1
    assert Counter(t.status for t in transfers) == {"effective": 1, "superseded": len(winners) - 1}
    assert member.attached_branch_id == effective[0].to_org_id
    assert state.attached_transfer_id == effective[0].transfer_id
    assert [count(platform, b) for b in [home, *targets]] == before
    payload = platform.client.lambda_.invoke("transfer_stats", tail.event()).payload
    assert payload == {"batchItemFailures": []}
    assert _mobile(platform, AWAY_COUNTY) == mobile_before + 1


def test_twenty_formal_requests_at_once_leave_one_pending(platform):
    from chalicelib.services.transfers import request_transfer

    number, _ = platform.new_member(platform.new_branch(HOME_COUNTY))
    targets = [platform.new_branch(AWAY_COUNTY) for _ in range(N)]
    results = _race([lambda b=b: request_transfer(number, b, "formal", None) for b in targets])
    assert Counter(r if r == "409" else r["status"] for r in results) == {"pending": 1, "409": N - 1}
    _, transfers, state = _state(number)
    assert [t.status for t in transfers] == ["pending"]
    assert state.open_formal_id == transfers[0].transfer_id


def test_twenty_deciders_at_once_decide_once_and_move_the_member_once(platform):
    from chalicelib.services.transfers import decide, request_transfer

    home = platform.new_branch(HOME_COUNTY)
    number, _ = platform.new_member(home)
    attached_to = platform.new_branch(AWAY_COUNTY)
    request_transfer(number, attached_to, "temporary", None)
    target = platform.new_branch(AWAY_COUNTY)
    deciders = []
    for _ in range(4):
        who, _ = platform.new_member(platform.new_branch(AWAY_COUNTY))
        platform.grant(target, who, "secretary")
        deciders.append(who)
    transfer = request_transfer(number, target, "formal", None)
    before = count(platform, home), count(platform, target)

    calls = [
        lambda i=i: decide(deciders[i % 4], transfer["transfer_id"], "accept" if i % 2 else "reject", None)
        for i in range(N - 4)
    ]
    # the member meanwhile tries to cancel and to attach elsewhere
    calls += [lambda: decide(number, transfer["transfer_id"], "cancel", None)] * 2
    calls += [lambda: request_transfer(number, platform.new_branch(AWAY_COUNTY), "temporary", None)] * 2
    results = _race(calls)

    decisions = [r for r in results[: N - 2] if r != "409"]
    assert len(decisions) == 1
    outcome = decisions[0]["status"]
    member, transfers, state = _state(number)
    formal = next(t for t in transfers if t.kind == "formal")
    assert formal.status == outcome and state.open_formal_id is None
    effective_temporary = [t for t in transfers if t.kind == "temporary" and t.status == "effective"]
    if outcome == "effective":
        assert member.home_branch_id == target and member.attached_branch_id is None
        assert effective_temporary == []
        assert (count(platform, home), count(platform, target)) == (before[0] - 1, before[1] + 1)
    else:
        assert member.home_branch_id == home
        assert (count(platform, home), count(platform, target)) == before
        assert len(effective_temporary) == 1 and member.attached_branch_id == effective_temporary[0].to_org_id
    assert state.attached_transfer_id == (effective_temporary[0].transfer_id if effective_temporary else None)
