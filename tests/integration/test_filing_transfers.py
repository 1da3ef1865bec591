"""The central filing of effective transfers, fed from the transfers stream: every org on either side
lists its month with one Query; replays change nothing; a poison record is reported alone."""

import copy
from datetime import UTC, datetime

import pytest

from chalicelib.local.pump import StreamTail
from tests.integration.test_conventions import assert_problem
from tests.integration.test_transfers import AWAY_COUNTY, HOME_COUNTY, act, ask

HOME_SIDE = ("div-110000", "div-110100", HOME_COUNTY)
AWAY_SIDE = ("div-310000", "div-310100", AWAY_COUNTY)


def _month():
    from chalicelib.domain.stats import month_of

    return month_of(datetime.now(UTC))


def _filed(platform, org_id, month=None, token=None):
    path = f"/v1/filings/transfers?org_id={org_id}&limit=100" + (f"&month={month}" if month else "")
    resp = platform.get(path, token or platform.admin_token)
    assert resp.status_code == 200, resp.body
    return resp.json_body["items"]


@pytest.fixture(scope="module")
def filed(platform):
    """A formal transfer Beijing -> Shanghai accepted, one rejected, and a temporary one, all filed."""
    tail = StreamTail("mmp-test-transfers")
    home = platform.new_branch(HOME_COUNTY)
    away = platform.new_branch(AWAY_COUNTY)
    number, token = platform.new_member(home)
    formal = ask(platform, token, away, reason="new job")
    accepted = act(platform, platform.admin_token, formal["transfer_id"], "accept")
    other, other_token = platform.new_member(home)
    refused = ask(platform, other_token, away)
    act(platform, platform.admin_token, refused["transfer_id"], "reject")
    temporary = ask(platform, other_token, away, "temporary")
    event = tail.event()
    assert platform.client.lambda_.invoke("transfer_filing", event).payload == {"batchItemFailures": []}
    return {
        "event": event,
        "home": home,
        "away": away,
        "number": number,
        "formal": accepted,
        "refused": refused,
        "temporary": temporary,
    }


def test_every_org_on_either_side_lists_the_transfer_with_its_side(platform, filed):
    expected = {"central": "within"}
    expected.update({o: "out" for o in (*HOME_SIDE, filed["home"])})
    expected.update({o: "in" for o in (*AWAY_SIDE, filed["away"])})
    for org_id, side in expected.items():
        rows = {r["transfer_id"]: r for r in _filed(platform, org_id)}
        row = rows[filed["formal"]["transfer_id"]]
        assert row["side"] == side and row["org_id"] == org_id
        assert (row["from_org_id"], row["to_org_id"], row["kind"]) == (filed["home"], filed["away"], "formal")
        assert row["effective_at"] == filed["formal"]["effective_at"]
        assert row["decided_by"] == platform.admin_number and row["reason"] == "new job"
        assert row["registration_number"] == filed["number"]
        assert filed["temporary"]["transfer_id"] in rows
        assert filed["refused"]["transfer_id"] not in rows


def test_a_month_lists_in_the_order_transfers_took_effect_and_pages(platform, filed):
    rows = _filed(platform, filed["away"], _month())
    assert [r["transfer_id"] for r in rows] == [
        filed["formal"]["transfer_id"],
        filed["temporary"]["transfer_id"],
    ]
    first = platform.get(
        f"/v1/filings/transfers?org_id={filed['away']}&limit=1", platform.admin_token
    ).json_body
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = platform.get(
        f"/v1/filings/transfers?org_id={filed['away']}&limit=1&cursor={first['next_cursor']}",
        platform.admin_token,
    ).json_body
    assert second["items"][0]["transfer_id"] == filed["temporary"]["transfer_id"]
    assert _filed(platform, filed["away"], "2020-01") == []


def test_redelivered_records_file_nothing_twice(platform, filed):
    before = {o: len(_filed(platform, o)) for o in ("central", filed["away"], filed["home"])}
    for _ in range(2):
        payload = platform.client.lambda_.invoke("transfer_filing", filed["event"]).payload
        assert payload == {"batchItemFailures": []}
    assert {o: len(_filed(platform, o)) for o in before} == before


def test_a_poison_record_is_reported_alone(platform):
    tail = StreamTail("mmp-test-transfers")
    _, token = platform.new_member(platform.new_branch(HOME_COUNTY))
    transfer = ask(platform, token, platform.new_branch(AWAY_COUNTY), "temporary")
    good = tail.event()["Records"][0]
    poison = copy.deepcopy(good)
    poison["eventID"] = "poison-" + good["eventID"]
    poison["dynamodb"]["SequenceNumber"] = "1" + good["dynamodb"]["SequenceNumber"]
    poison["dynamodb"]["NewImage"]["effective_at"] = {"S": "not a time"}
    payload = platform.client.lambda_.invoke("transfer_filing", {"Records": [poison, good]}).payload
    assert payload == {"batchItemFailures": [{"itemIdentifier": poison["dynamodb"]["SequenceNumber"]}]}
    assert transfer["transfer_id"] in [r["transfer_id"] for r in _filed(platform, "central")]


def test_the_month_must_be_a_month_that_has_begun(platform, filed):
    for month in ("2026-13", "26-11", "x"):
        assert_problem(
            platform.get(f"/v1/filings/transfers?org_id=central&month={month}", platform.admin_token), 400
        )
    assert_problem(
        platform.get("/v1/filings/transfers?org_id=central&month=2999-01", platform.admin_token), 400
    )
    assert_problem(platform.get("/v1/filings/transfers", platform.admin_token), 400)
    assert_problem(platform.get("/v1/filings/transfers?org_id=no-such-org", platform.admin_token), 404)
