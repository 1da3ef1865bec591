"""Statistics per org and month, fed from the transfers and members streams: counted once per record,
rolled up to every ancestor, sharded on the hot levels, and readable for past months."""

import copy
from datetime import UTC, datetime, timedelta

from chalicelib.local.pump import StreamTail
from tests.integration.test_conventions import assert_problem
from tests.integration.test_transfers import AWAY_COUNTY, HOME_COUNTY, act, ask

FIELDS = ("members", "mobile_members", "inflow", "outflow", "registered", "attached", "detached")


def stats(platform, org_id, month=None):
    resp = platform.get(
        f"/v1/stats/orgs/{org_id}" + (f"?month={month}" if month else ""), platform.admin_token
    )
    assert resp.status_code == 200, resp.body
    return resp.json_body


def figures(platform, *org_ids):
    return {o: {k: stats(platform, o)[k] for k in FIELDS} for o in org_ids}


def feed(platform, transfers_tail, members_tail=None):
    event = transfers_tail.event()
    assert platform.client.lambda_.invoke("transfer_stats", event).payload == {"batchItemFailures": []}
    if members_tail is not None:
        members = members_tail.event()
        for handler in ("member_stats", "org_member_counts"):
            assert platform.client.lambda_.invoke(handler, members).payload == {"batchItemFailures": []}
    return event


def changed(before, after):
    return {
        org: {k: after[org][k] - before[org][k] for k in FIELDS if after[org][k] != before[org][k]}
        for org in before
    }


def test_transfers_move_the_figures_of_every_org_whose_subtree_they_cross(platform):
    transfers, members = StreamTail("mmp-test-transfers"), StreamTail("mmp-test-members")
    home, away = platform.new_branch(HOME_COUNTY), platform.new_branch(AWAY_COUNTY)
    orgs = ("central", "div-110000", HOME_COUNTY, home, "div-310000", AWAY_COUNTY, away)
    before = figures(platform, *orgs)

    _, token = platform.new_member(home)
    formal = ask(platform, token, away)
    act(platform, platform.admin_token, formal["transfer_id"], "accept")
    _, other_token = platform.new_member(home)
    ask(platform, other_token, away, "temporary")
    feed(platform, transfers, members)

    assert changed(before, figures(platform, *orgs)) == {
        "central": {"members": 2, "registered": 2, "mobile_members": 1, "attached": 1},
        "div-110000": {"members": 1, "registered": 2, "outflow": 1},
        HOME_COUNTY: {"members": 1, "registered": 2, "outflow": 1},
        home: {"members": 1, "registered": 2, "outflow": 1},
        "div-310000": {"members": 1, "inflow": 1, "mobile_members": 1, "attached": 1},
        AWAY_COUNTY: {"members": 1, "inflow": 1, "mobile_members": 1, "attached": 1},
        away: {"members": 1, "inflow": 1, "mobile_members": 1, "attached": 1},
    }


def test_records_count_once_and_a_poison_record_is_reported_alone(platform):
    transfers = StreamTail("mmp-test-transfers")
    away = platform.new_branch(AWAY_COUNTY)
    _, token = platform.new_member(platform.new_branch(HOME_COUNTY))
    before = figures(platform, away, "central")
    transfer = ask(platform, token, away, "temporary")
    act(platform, token, transfer["transfer_id"], "cancel")
    event = feed(platform, transfers)
    for _ in range(2):  # delivered again, twice
        assert platform.client.lambda_.invoke("transfer_stats", event).payload == {"batchItemFailures": []}
    assert changed(before, figures(platform, away, "central")) == {
        away: {"attached": 1, "detached": 1},
        "central": {"attached": 1, "detached": 1},
    }
    poison = copy.deepcopy(event["Records"][0])
    poison["eventID"] = "poison-" + poison["eventID"]
    poison["dynamodb"]["SequenceNumber"] = "9" + poison["dynamodb"]["SequenceNumber"]
    poison["dynamodb"]["NewImage"]["effective_at"] = {"S": "not a time"}
    good = copy.deepcopy(event["Records"][0])
    good["eventID"] = "fresh-" + good["eventID"]  # never seen: counts
    payload = platform.client.lambda_.invoke("transfer_stats", {"Records": [poison, good]}).payload
    assert payload == {"batchItemFailures": [{"itemIdentifier": poison["dynamodb"]["SequenceNumber"]}]}
    assert stats(platform, away)["attached"] == before[away]["attached"] + 2


def test_a_batch_mixing_old_and_new_records_counts_the_new_ones_in_two_transactions(platform):
    from chalicelib.store import models

    transfers = StreamTail("mmp-test-transfers")
    away = platform.new_branch(AWAY_COUNTY)
    first_token = platform.new_member(platform.new_branch(HOME_COUNTY))[1]
    ask(platform, first_token, away, "temporary")
    seen = feed(platform, transfers)
    before = figures(platform, away)
    for _ in range(3):
        ask(platform, platform.new_member(platform.new_branch(HOME_COUNTY))[1], away, "temporary")
    fresh = transfers.event()
    calls = []
    hooks = models.OrgStat._get_connection().connection.client.meta.events

    def count(event_name, **kwargs):
        calls.append(event_name.rsplit(".", 1)[-1])

    hooks.register("before-call.dynamodb", count)
    try:
        mixed = {"Records": seen["Records"] + fresh["Records"]}
        assert platform.client.lambda_.invoke("transfer_stats", mixed).payload == {"batchItemFailures": []}
    finally:
        hooks.unregister("before-call.dynamodb", count)
    assert changed(before, figures(platform, away)) == {away: {"attached": 3, "mobile_members": 3}}
    # one transaction refused for the marks seen before, one without them: not one per record
    assert calls == ["TransactWriteItems", "TransactWriteItems"]


def test_the_hot_levels_are_spread_over_shards_and_summed_on_read(platform):
    from chalicelib.domain.stats import SHARDS, month_of
    from chalicelib.store import models

    transfers = StreamTail("mmp-test-transfers")
    before = stats(platform, "central")["attached"]
    for _ in range(12):
        _, token = platform.new_member(platform.new_branch(HOME_COUNTY))
        ask(platform, token, platform.new_branch(AWAY_COUNTY), "temporary")
    feed(platform, transfers)
    month = month_of(datetime.now(UTC))
    keys = [
        i.stat_key for i in models.OrgStat.query("central", models.OrgStat.stat_key.startswith(f"{month}#"))
    ]
    assert 1 < len(keys) <= SHARDS
    county_keys = [
        i.stat_key for i in models.OrgStat.query(AWAY_COUNTY, models.OrgStat.stat_key.startswith(month))
    ]
    assert county_keys == [f"{month}#00"]
    assert stats(platform, "central")["attached"] == before + 12


def test_a_past_month_reads_its_own_flows_and_levels_at_its_end(platform):
    from chalicelib.services.transfers import decide, request_transfer

    transfers, members = StreamTail("mmp-test-transfers"), StreamTail("mmp-test-members")
    home, away = platform.new_branch(HOME_COUNTY), platform.new_branch(AWAY_COUNTY)
    number, _ = platform.new_member(home)
    last_month = datetime.now(UTC).replace(day=1) - timedelta(days=3)
    request_transfer(number, away, "temporary", None, now=last_month)
    formal = request_transfer(number, away, "formal", None, now=last_month + timedelta(hours=1))
    decide(platform.admin_number, formal["transfer_id"], "accept", None, now=last_month + timedelta(hours=2))
    feed(platform, transfers, members)
    previous = stats(platform, away, last_month.strftime("%Y-%m"))
    current = stats(platform, away)
    # last month: the member arrived (an attachment, then the home); this month nothing moved
    assert (previous["inflow"], previous["attached"], previous["detached"]) == (1, 1, 1)
    assert (current["inflow"], current["attached"], current["members"]) == (0, 0, 1)
    assert previous["members"] == 1 and previous["mobile_members"] == 0
    # the home branch registered the member this month, after they had left it "last month"
    assert stats(platform, home)["registered"] == 1
    assert_problem(platform.get(f"/v1/stats/orgs/{away}?month=2999-12", platform.admin_token), 400)


def test_figures_not_yet_measured_say_so(platform):
    from chalicelib.domain.stats import month_of

    body = stats(platform, "central")
    assert body["active_members"] == 0 and body["average_points"] is None
    assert body["month"] == month_of(datetime.now(UTC))


def test_virtual_branches_are_counted_where_they_are_supervised_and_follow_reassignment(platform):
    from tests.integration.test_virtual_branches import BASE, found

    branches = StreamTail("mmp-test-virtual_branches")
    home = platform.new_branch("div-120101")  # Tianjin Heping: no usable IP, so its county supervises
    _, token = platform.new_member(home)

    def vb_counts():
        return {o: stats(platform, o)["virtual_branches"] for o in ("div-120000", "div-120101", "div-120102")}

    def feed_branches():
        event = branches.event()
        assert platform.client.lambda_.invoke("branch_stats", event).payload == {"batchItemFailures": []}
        return event

    before = vb_counts()
    org_id = found(platform, token)["org_id"]
    first = feed_branches()
    assert platform.client.lambda_.invoke("branch_stats", first).payload == {
        "batchItemFailures": []
    }  # replay
    after_founding = vb_counts()
    assert {o: after_founding[o] - before[o] for o in before} == {
        "div-120000": 1,
        "div-120101": 1,
        "div-120102": 0,
    }

    moved = platform.post(
        f"{BASE}/{org_id}/reassign",
        {"supervising_org_id": "div-120102", "reason": "更近"},
        platform.admin_token,
    )
    assert moved.status_code == 200, moved.body
    feed_branches()
    after_move = vb_counts()
    assert {o: after_move[o] - before[o] for o in before} == {
        "div-120000": 1,
        "div-120101": 0,
        "div-120102": 1,
    }

    gone = platform.post(f"{BASE}/{org_id}/dissolve", {"reason": "不再活动"}, platform.admin_token)
    assert gone.status_code == 200, gone.body
    feed_branches()
    assert vb_counts() == before
