"""The transfer state machine, every (kind, status, action, actor, time) combination; and what a transfer
means for the member, the orgs that list it, the filing and the statistics. No AWS."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from chalicelib.domain import stats
from chalicelib.domain import transfers as t
from chalicelib.domain.errors import Conflict, Forbidden, ValidationFailed

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
HOME = ("central", "div-110000", "div-110100", "div-110105", "br-home")
AWAY = ("central", "div-310000", "div-310100", "div-310101", "br-away")
NEAR = ("central", "div-110000", "div-110100", "div-110105", "br-near")
MEMBER = "110105202007010016"

ACTORS = {
    "member": (MEMBER, frozenset()),
    "receiving secretary": ("310101199001010011", frozenset({"secretary@br-away"})),
    "receiving county staff": ("310101199001010029", frozenset({"staff@div-310101"})),
    "central staff": ("110101202611250010", frozenset({"staff@central"})),
    "sending secretary": ("110105199001010011", frozenset({"secretary@br-home"})),
    "sending county staff": ("110105199001010029", frozenset({"staff@div-110105"})),
    "stranger": ("440101199001010011", frozenset({"staff@div-440101", "secretary@br-x"})),
    "member who is receiving secretary": (MEMBER, frozenset({"secretary@br-away"})),
}
RECEIVERS = {"receiving secretary", "receiving county staff", "central staff"}
# when the action happens, after the transfer took its current status
MOMENTS = {
    "at once": timedelta(0),
    "after 6 days": timedelta(days=6, hours=23),
    "after 8 days": timedelta(days=8),
    "after 89 days": timedelta(days=89),
    "after 90 days": timedelta(days=90),
}


def _placement(attached=None):
    return t.Placement(
        MEMBER,
        "张三",
        "br-home",
        HOME,
        attached[-1] if attached else None,
        attached or (),
    )


def _transfer(kind, status):
    base = t.request(
        "tr-0000000000000000000a", _placement(), t.Target("br-away", "branch", AWAY), kind, None, T0
    )
    if status == base.status:
        return base
    # a transfer in `status` as of T0 (the moment it got there)
    effective_at = t.iso(T0) if status == "effective" or kind == "temporary" else None
    return replace(base, status=status, effective_at=effective_at, updated_at=t.iso(T0))


def expected(kind, status, action, actor, moment):
    """The rules, written out independently of the implementation."""
    number, _ = ACTORS[actor]
    is_member = number == MEMBER
    if kind == "temporary" and action == "accept":
        return Conflict
    if action == "cancel":
        if not is_member:
            return Forbidden
    elif is_member or actor not in RECEIVERS:
        return Forbidden
    if kind == "formal" and status == "pending" and moment >= timedelta(days=90):
        return t.TransferExpired
    if kind == "formal":
        if status != "pending":
            return Conflict
        return {"accept": "effective", "reject": "rejected", "cancel": "cancelled"}[action]
    if status != "effective":
        return Conflict
    if action == "reject":
        return "rejected" if moment <= timedelta(days=7) else Conflict
    return "ended"


CASES = list(product(t.KINDS, t.STATUSES, t.ACTIONS, ACTORS, MOMENTS))


@pytest.mark.parametrize(("kind", "status", "action", "actor", "moment"), CASES)
def test_every_decision_follows_the_rules(kind, status, action, actor, moment):
    transfer = _transfer(kind, status)
    number, roles = ACTORS[actor]
    now = T0 + MOMENTS[moment]
    want = expected(kind, status, action, actor, MOMENTS[moment])
    if isinstance(want, type):
        with pytest.raises(want) as err:
            t.decide(transfer, action, number, roles, now, "why")
        assert type(err.value) is want or (want is Conflict and isinstance(err.value, Conflict))
        if want is Conflict:
            assert not isinstance(err.value, t.TransferExpired)
        return
    after = t.decide(transfer, action, number, roles, now, "why")
    assert after.status == want
    step = after.history[-1]
    assert (step.status, step.by, step.at, step.reason) == (want, number, t.iso(now), "why")
    assert after.history[:-1] == transfer.history
    assert after.updated_at == t.iso(now)
    if want == "effective":
        assert after.effective_at == t.iso(now) and after.decided_by == number
    if status == "effective":
        assert after.ended_at == t.iso(now)
    if action == "reject":
        assert after.decided_by == number


def test_the_table_of_transitions_is_what_the_issue_asks():
    assert t.TRANSITIONS == {
        ("formal", "pending", "accept"): ("effective", "receiver"),
        ("formal", "pending", "reject"): ("rejected", "receiver"),
        ("formal", "pending", "cancel"): ("cancelled", "member"),
        ("temporary", "effective", "reject"): ("rejected", "receiver"),
        ("temporary", "effective", "cancel"): ("ended", "member"),
    }


@pytest.mark.parametrize(
    ("kind", "status", "action"), list(product(t.KINDS, t.STATUSES, ["expire", "supersede"]))
)
def test_system_steps_only_expire_stale_formal_and_supersede_effective_temporary(kind, status, action):
    transfer = _transfer(kind, status)
    later = T0 + timedelta(days=91)
    allowed = (kind, status, action) in {
        ("formal", "pending", "expire"),
        ("temporary", "effective", "supersede"),
    }
    if not allowed:
        with pytest.raises(Conflict):
            t.system_step(transfer, action, later)
        return
    after = t.system_step(transfer, action, later, "because")
    assert after.status == {"expire": "expired", "supersede": "superseded"}[action]
    assert after.history[-1].by is None and after.history[-1].reason == "because"


def test_a_formal_transfer_does_not_expire_before_90_days():
    transfer = _transfer("formal", "pending")
    with pytest.raises(Conflict):
        t.system_step(transfer, "expire", T0 + timedelta(days=89, hours=23))
    assert transfer.display_status(T0 + timedelta(days=89)) == "pending"
    assert transfer.display_status(T0 + timedelta(days=90)) == "expired"


def test_a_temporary_request_is_effective_at_once_and_a_formal_one_pending():
    temp = t.request("tr-1", _placement(), t.Target("br-away", "branch", AWAY), "temporary", "work", T0)
    formal = t.request("tr-2", _placement(), t.Target("br-away", "branch", AWAY), "formal", None, T0)
    assert (temp.status, temp.effective_at, temp.from_org_id, temp.to_path) == (
        "effective",
        t.iso(T0),
        "br-home",
        AWAY,
    )
    assert (formal.status, formal.effective_at) == ("pending", None)
    assert temp.history == (t.Step("requested", "effective", MEMBER, t.iso(T0), "work"),)
    assert formal.summary(T0)["expires_at"] == t.iso(T0 + timedelta(days=90))
    assert temp.summary(T0)["reject_until"] == t.iso(T0 + timedelta(days=7))


@pytest.mark.parametrize("kind", t.KINDS)
def test_requests_that_cannot_be(kind):
    away = t.Target("br-away", "branch", AWAY)
    with pytest.raises(ValidationFailed):
        t.request("tr-1", _placement(), None, kind, None, T0)
    for level in ("county", "virtual_branch", "central"):
        with pytest.raises(ValidationFailed) as err:
            t.request("tr-1", _placement(), t.Target("x", level, ("central", "x")), kind, None, T0)
        assert err.value.errors[0]["field"] == "to_org_id"
    with pytest.raises(Conflict):
        t.request("tr-1", _placement(), t.Target("br-home", "branch", HOME), kind, None, T0)
    attached = _placement(attached=AWAY)
    if kind == "temporary":
        with pytest.raises(Conflict):
            t.request("tr-1", attached, away, kind, None, T0)
    else:  # a formal transfer to the branch one is attached to makes it home
        assert t.request("tr-1", attached, away, kind, None, T0).status == "pending"
    with pytest.raises(ValidationFailed):
        t.request("tr-1", _placement(), away, "permanent", None, T0)


def test_one_open_formal_transfer_at_a_time_unless_it_expired():
    away = t.Target("br-away", "branch", AWAY)
    open_one = t.OpenFormal("tr-old", t.iso(T0 + timedelta(days=90)))
    with pytest.raises(Conflict):
        t.request("tr-1", _placement(), away, "formal", None, T0 + timedelta(days=10), open_one)
    assert t.request("tr-1", _placement(), away, "temporary", None, T0, open_one).status == "effective"
    assert (
        t.request("tr-1", _placement(), away, "formal", None, T0 + timedelta(days=90), open_one).status
        == "pending"
    )


def test_placement_follows_the_transfer():
    member = _placement()
    temp = _transfer("temporary", "effective")
    attached = t.placement_after(member, temp)
    assert (attached.home_branch_id, attached.attached_branch_id, attached.attached_path) == (
        "br-home",
        "br-away",
        AWAY,
    )
    ended = t.decide(temp, "cancel", MEMBER, frozenset(), T0, None)
    assert t.placement_after(attached, ended) == member
    accepted = t.decide(_transfer("formal", "pending"), "accept", *ACTORS["receiving secretary"], T0, None)
    moved = t.placement_after(_placement(attached=NEAR), accepted)
    assert (moved.home_branch_id, moved.home_path, moved.attached_branch_id) == ("br-away", AWAY, None)
    rejected = t.decide(_transfer("formal", "pending"), "reject", *ACTORS["receiving secretary"], T0, None)
    assert t.placement_after(member, rejected) == member


def test_every_org_on_either_path_lists_the_transfer_and_filing_sides_match():
    far = _transfer("formal", "pending")
    assert t.link_directions(far) == {
        "central": "within",
        **{o: "out" for o in HOME[1:]},
        **{o: "in" for o in AWAY[1:]},
    }
    near = replace(far, to_org_id="br-near", to_path=NEAR)
    assert t.link_directions(near) == {
        "central": "within",
        "div-110000": "within",
        "div-110100": "within",
        "div-110105": "within",
        "br-home": "out",
        "br-near": "in",
    }
    assert t.filing_sides(near) == t.link_directions(near)
    assert t.filing_sides(far) == t.link_directions(far)


@pytest.mark.parametrize("to_path", [AWAY, NEAR], ids=["across provinces", "inside a county"])
def test_a_pending_formal_transfer_waits_for_every_org_that_may_decide_it(to_path):
    pending = replace(_transfer("formal", "pending"), to_org_id=to_path[-1], to_path=to_path)
    waiting = {org for org in t.link_directions(pending) if t.awaits(pending, org)}
    assert waiting == set(to_path)
    # exactly the orgs whose secretary or staff `is_receiver` lets decide
    for org in t.link_directions(pending):
        assert t.is_receiver({f"staff@{org}"}, pending) == (org in waiting)
    for status in ("effective", "rejected", "cancelled", "expired"):
        decided = replace(pending, status=status)
        assert not any(t.awaits(decided, org) for org in to_path)
    temporary = replace(_transfer("temporary", "effective"), to_org_id=to_path[-1], to_path=to_path)
    assert not any(t.awaits(temporary, org) for org in to_path)  # nothing to decide in the inbox


def test_decider_orgs_are_most_specific_first():
    keys = {
        "staff@central",
        "staff@div-110000",
        "staff@div-110100",
        "staff@div-110105",
        "staff@br-b",
        "secretary@br-z",
        "secretary@br-b",
        "editor@div-310101",
        "secretary@vb-0123456789ab",
        "deputy@vb-0123456789ab",
    }
    assert t.decider_orgs(keys) == [
        "br-b",
        "br-z",
        "div-110105",
        "div-110100",
        "div-110000",
        "central",
    ]
    assert t.decider_orgs(()) == []


def test_ids_sort_by_time():
    ids = [t.new_transfer_id(T0 + timedelta(milliseconds=ms)) for ms in (0, 1, 1000, 86_400_000)]
    assert ids == sorted(ids) and len(set(ids)) == 4
    assert t.id_floor(T0) < ids[0] < t.id_floor(T0 + timedelta(milliseconds=1))


# ---- statistics ----------------------------------------------------------------------------------


def _fields(deltas):
    return {(d.org_id, d.bucket, d.field): d.n for d in deltas}


def test_months_are_china_standard_time():
    assert stats.month_of("2026-11-30T15:59:59+00:00") == "2026-11"
    assert stats.month_of("2026-11-30T16:00:00+00:00") == "2026-12"


def test_hot_levels_are_sharded_by_the_record_and_the_rest_are_not():
    shards = {stats.shard_for(0, f"tr-{i}") for i in range(200)}
    assert shards == set(range(stats.SHARDS))
    assert {stats.shard_for(2, f"tr-{i}") for i in range(50)} == {0}


def test_a_temporary_transfer_is_counted_when_it_attaches_and_when_it_ends():
    temp = _transfer("temporary", "effective")
    attach = _fields(stats.transfer_deltas(None, temp))
    assert attach == {
        **{(o, "2026-11", "attached"): 1 for o in AWAY},
        **{(o, "g", "mobile_members"): 1 for o in AWAY},
    }
    assert stats.transfer_deltas(temp, temp) == []
    ended = t.decide(temp, "cancel", MEMBER, frozenset(), T0 + timedelta(days=20), None)
    detach = _fields(stats.transfer_deltas(temp, ended))
    assert detach == {
        **{(o, "2026-12", "detached"): 1 for o in AWAY},
        **{(o, "g", "mobile_members"): -1 for o in AWAY},
    }


def test_a_formal_transfer_counts_inflow_and_outflow_only_across_boundaries():
    pending = replace(_transfer("formal", "pending"), to_org_id="br-near", to_path=NEAR)
    assert stats.transfer_deltas(None, pending) == []
    accepted = t.decide(pending, "accept", "x", frozenset({"staff@central"}), T0, None)
    assert _fields(stats.transfer_deltas(pending, accepted)) == {
        ("br-near", "2026-11", "inflow"): 1,
        ("br-home", "2026-11", "outflow"): 1,
    }
    rejected = t.decide(pending, "reject", "x", frozenset({"staff@central"}), T0, None)
    assert stats.transfer_deltas(pending, rejected) == []


def test_a_month_reads_flows_of_that_month_and_levels_back_from_now():
    buckets = [
        ("2026-10", {"inflow": 2, "outflow": 1, "registered": 3, "attached": 1}),
        ("2026-11", {"inflow": 1, "registered": 1}),
        ("2026-11", {"inflow": 1, "attached": 2, "detached": 1}),  # another shard
        ("2026-12", {"registered": 5, "outflow": 2, "attached": 1}),
        ("g", {"mobile_members": 4, "virtual_branches": 2}),
        ("g", {"mobile_members": 1}),
    ]
    nov = stats.month_view("2026-11", 100, [b for b in buckets if b[0] >= "2026-11"])
    assert nov == {
        "month": "2026-11",
        "members": 100 - (5 - 2),
        "mobile_members": 5 - 1,
        "inflow": 2,
        "outflow": 0,
        "registered": 1,
        "attached": 2,
        "detached": 1,
        "virtual_branches": 2,
    }
    dec = stats.month_view("2026-12", 100, [b for b in buckets if b[0] >= "2026-12"])
    assert (dec["members"], dec["mobile_members"], dec["outflow"]) == (100, 5, 2)
