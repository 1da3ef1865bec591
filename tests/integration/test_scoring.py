"""Scoring from the activity stream: caps, Asia/Shanghai days, redelivery, poison records, coalescing."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.domain.scoring import parse_at
from chalicelib.local.pump import StreamTail
from tests.integration.participation_support import fast_moto_queries

HANDLER = "participation_scoring"


@pytest.fixture(scope="module", autouse=True)
def fast_queries():
    fast_moto_queries()


@pytest.fixture
def tail(platform):
    return StreamTail("mmp-test-activity")


def record(number, type_, at, target=None):
    from chalicelib.store import activity

    assert activity.record(number, uuid.uuid4().hex, type_, parse_at(at), target)


def participation(platform, token, month):
    resp = platform.get(f"/v1/members/me/participation?month={month}", token)
    assert resp.status_code == 200, resp.body
    return resp.json_body


def test_a_login_is_scored_and_shown_to_the_member(platform, tail):
    number, token = platform.new_member()  # new_member signs in: one login activity
    result = platform.client.lambda_.invoke(HANDLER, tail.event()).payload
    assert result == {"batchItemFailures": []}
    from chalicelib.domain.scoring import current_month

    body = participation(platform, token, current_month())
    assert body["points"] == 1
    assert body["counts"] == {"login": 1}
    assert len(body["days"]) == 1 and body["days"][0]["points"] == 1
    assert body["month"] == current_month()


def test_caps_and_one_article_once_a_day_through_the_stream(platform, tail):
    number, token = platform.new_member()
    tail.event()  # the sign-in
    for i in range(8):
        record(number, "article_open", f"2026-03-10T09:0{i}:00+08:00", target=f"art-{i}")
    record(number, "article_open", "2026-03-10T10:00:00+08:00", target="art-0")  # again: no point
    for i in range(5):
        record(number, "reflection", f"2026-03-10T11:0{i}:00+08:00", target="art-1")
    for i in range(4):
        record(number, "group_post", f"2026-03-10T12:0{i}:00+08:00", target="g-1")
    record(number, "section_open", "2026-03-10T13:00:00+08:00", target="theory")
    record(number, "login", "2026-03-10T08:00:00+08:00")
    record(number, "login", "2026-03-10T20:00:00+08:00")
    assert platform.client.lambda_.invoke(HANDLER, tail.event()).payload == {"batchItemFailures": []}
    body = participation(platform, token, "2026-03")
    assert body["points"] == 6 + 4 * 2 + 3 + 0 + 1
    assert body["counts"] == {
        "article_open": 9,
        "group_post": 4,
        "login": 2,
        "reflection": 5,
        "section_open": 1,
    }
    assert body["active_days"] == 1


def test_days_turn_at_midnight_in_shanghai(platform, tail):
    number, token = platform.new_member()
    tail.event()
    record(number, "login", "2026-02-27T15:59:00+00:00")  # 23:59 on the 27th in Shanghai
    record(number, "login", "2026-02-27T16:01:00+00:00")  # 00:01 on the 28th
    record(number, "login", "2026-02-28T16:01:00+00:00")  # 00:01 on 1 March: the next month
    platform.client.lambda_.invoke(HANDLER, tail.event())
    february = participation(platform, token, "2026-02")
    assert [(d["date"], d["points"]) for d in february["days"]] == [("2026-02-27", 1), ("2026-02-28", 1)]
    march = participation(platform, token, "2026-03")
    assert [(d["date"], d["points"]) for d in march["days"]] == [("2026-03-01", 1)]


def test_a_record_delivered_twice_counts_once(platform, tail):
    number, token = platform.new_member()
    tail.event()
    record(number, "reflection", "2026-01-05T10:00:00+08:00", target="a")
    event = tail.event()
    for _ in range(3):
        assert platform.client.lambda_.invoke(HANDLER, event).payload == {"batchItemFailures": []}
    doubled = {"Records": event["Records"] * 2}
    platform.client.lambda_.invoke(HANDLER, doubled)
    body = participation(platform, token, "2026-01")
    assert body["points"] == 2 and body["counts"] == {"reflection": 1}


def test_a_poison_record_is_reported_alone_and_the_rest_are_scored(platform, tail):
    number, token = platform.new_member()
    tail.event()
    record(number, "login", "2025-12-01T10:00:00+08:00")
    record(number, "reflection", "2025-12-01T11:00:00+08:00", target="x")
    good = tail.event()["Records"]
    poison = copy.deepcopy(good[0])
    poison["dynamodb"]["SequenceNumber"] = "9" + poison["dynamodb"]["SequenceNumber"]
    poison["dynamodb"]["NewImage"]["at"] = {"S": "not a time"}
    result = platform.client.lambda_.invoke(HANDLER, {"Records": [good[0], poison, good[1]]}).payload
    assert result == {"batchItemFailures": [{"itemIdentifier": poison["dynamodb"]["SequenceNumber"]}]}
    assert participation(platform, token, "2025-12")["points"] == 3


def test_removals_by_ttl_change_nothing(platform, tail):
    number, token = platform.new_member()
    tail.event()
    record(number, "login", "2025-11-03T10:00:00+08:00")
    insert = tail.event()["Records"][0]
    platform.client.lambda_.invoke(HANDLER, {"Records": [insert]})
    removal = copy.deepcopy(insert)
    removal["eventName"] = "REMOVE"
    removal["dynamodb"]["OldImage"] = removal["dynamodb"].pop("NewImage")
    removal["dynamodb"]["SequenceNumber"] = "8" + insert["dynamodb"]["SequenceNumber"]
    assert platform.client.lambda_.invoke(HANDLER, {"Records": [removal]}).payload == {
        "batchItemFailures": []
    }
    assert participation(platform, token, "2025-11")["points"] == 1


def test_a_batch_writes_once_per_member_month(platform, tail, monkeypatch):
    from chalicelib.store import participation as store

    members = [platform.new_member()[0] for _ in range(3)]
    tail.event()
    for i in range(100):
        number = members[i % 3]
        record(number, "article_open", f"2025-10-{1 + i % 5:02d}T09:00:00+08:00", target=f"a{i}")
    event = tail.event()
    assert len(event["Records"]) == 100
    writes = []
    original = store.save_month
    monkeypatch.setattr(
        store, "save_month", lambda *a, **k: writes.append(a[0].registration_number) or original(*a, **k)
    )
    assert platform.client.lambda_.invoke(HANDLER, event).payload == {"batchItemFailures": []}
    assert sorted(writes) == sorted(members)  # 3 writes for 15 member-days


def test_a_lost_race_is_read_again_and_retried(platform, tail, monkeypatch):
    from chalicelib.store import participation as store

    number, token = platform.new_member()
    tail.event()
    record(number, "login", "2025-09-02T10:00:00+08:00")
    event = tail.event()
    original = store.save_month
    calls = []

    def racing(tally, version, now):
        calls.append(version)
        if len(calls) == 1:  # somebody else writes the month first
            other = tally.copy()
            other.days.clear()
            other.recent.clear()
            assert original(other, version, now)
        return original(tally, version, now)

    monkeypatch.setattr(store, "save_month", racing)
    assert platform.client.lambda_.invoke(HANDLER, event).payload == {"batchItemFailures": []}
    assert len(calls) == 2
    assert participation(platform, token, "2025-09")["points"] == 1


def test_participation_validates_the_month_and_needs_a_token(platform):
    _, token = platform.new_member()
    for bad in ("2026-13", "26-01", "2026-1", "x" * 50):
        resp = platform.get(f"/v1/members/me/participation?month={bad}", token)
        assert resp.status_code == 400, bad
        assert resp.headers["Content-Type"].startswith("application/problem+json")
    future = (datetime.now(UTC) + timedelta(days=40)).strftime("%Y-%m")
    assert platform.get(f"/v1/members/me/participation?month={future}", token).status_code == 400
    assert platform.get("/v1/members/me/participation").status_code == 401
    empty = participation(platform, token, "2024-01")
    assert empty == {"month": "2024-01", "points": 0, "active_days": 0, "counts": {}, "days": []}


def test_rules_are_served_and_new_versions_published_by_central_staff_only(platform):
    _, member_token = platform.new_member()
    rules = platform.get("/v1/participation/rules", member_token).json_body
    assert rules["types"]["login"] == {"points": 1, "daily_cap": 1, "once_per_target": False}
    assert rules["types"]["article_open"]["once_per_target"] is True
    assert rules["types"]["reflection"] == {"points": 2, "daily_cap": 4, "once_per_target": False}

    later = (date.today() + timedelta(days=3650 + int(uuid.uuid4().int % 1000))).isoformat()
    body = {"effective_from": later, "types": {"login": {"points": 2, "daily_cap": 1}}}
    assert platform.post("/v1/participation/rules", body, member_token).status_code == 403
    county_staff, county_token = platform.new_member()
    platform.grant("div-110105", county_staff)
    assert platform.post("/v1/participation/rules", body, county_token).status_code == 403

    today = date.today().isoformat()
    resp = platform.post("/v1/participation/rules", {**body, "effective_from": today}, platform.admin_token)
    assert resp.status_code == 400
    bad = {"effective_from": later, "types": {"login": {"points": -1, "daily_cap": 0}}}
    assert platform.post("/v1/participation/rules", bad, platform.admin_token).status_code == 400
    unknown = {**body, "extra": 1}
    assert platform.post("/v1/participation/rules", unknown, platform.admin_token).status_code == 400

    created = platform.post("/v1/participation/rules", body, platform.admin_token)
    assert created.status_code == 201, created.body
    assert created.json_body["effective_from"] == later and created.json_body["version"] >= 2
    upcoming = platform.get("/v1/participation/rules", member_token).json_body["upcoming"]
    assert any(r["version"] == created.json_body["version"] for r in upcoming)
    # today's rules are unchanged
    assert platform.get("/v1/participation/rules", member_token).json_body["types"]["login"]["points"] == 1
