"""Activity: article opens and client-reported events are counted once each; bad events alone are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration import content_setup as c


def activities(number):
    from chalicelib.store import models

    return [(a.type, a.target) for a in models.Activity.query(number)]


def event(event_id=None, type_="section_open", target="theory", at=None):
    return {
        "event_id": event_id or c.new_id("ev"),
        "type": type_,
        "target": target,
        "at": (at or datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
    }


def test_opening_an_article_counts_as_an_article_open(platform):
    number, token = platform.new_member()
    doc = c.publish(platform)
    article_id = doc["articles"][0]["article_id"]
    assert platform.get(f"/v1/articles/{article_id}", token).status_code == 200
    assert ("article_open", article_id) in activities(number)
    assert platform.get("/v1/articles/no-such-article", token).status_code == 404
    assert platform.get(f"/v1/articles/{article_id}").status_code == 401


def test_a_batch_is_recorded_and_each_event_counts_once(platform):
    number, token = platform.new_member()
    events = [event(), event(type_="article_open", target="a-1"), event(at=datetime.now(UTC).astimezone())]
    resp = platform.post("/v1/activity", {"events": events}, token)
    assert resp.status_code == 202, resp.body
    assert resp.json_body["accepted"] == 3 and resp.json_body["duplicate"] == 0
    again = platform.post("/v1/activity", {"events": events}, token).json_body
    assert (again["accepted"], again["duplicate"]) == (0, 3)
    # the same event id with another time is still the same event
    moved = dict(events[0], at=(datetime.now(UTC) - timedelta(hours=2)).isoformat())
    assert platform.post("/v1/activity", {"events": [moved]}, token).json_body["duplicate"] == 1
    mine = activities(number)
    assert mine.count(("section_open", "theory")) == 2 and mine.count(("article_open", "a-1")) == 1


def test_a_repeated_id_within_one_batch_counts_once(platform):
    number, token = platform.new_member()
    e = event()
    body = platform.post("/v1/activity", {"events": [e, e]}, token).json_body
    assert [r["status"] for r in body["results"]] == ["accepted", "duplicate"]


def test_other_members_event_ids_do_not_collide(platform):
    _, first = platform.new_member()
    _, second = platform.new_member()
    e = event()
    assert platform.post("/v1/activity", {"events": [e]}, first).json_body["accepted"] == 1
    assert platform.post("/v1/activity", {"events": [e]}, second).json_body["accepted"] == 1


def test_each_invalid_event_is_rejected_on_its_own_with_a_reason(platform):
    number, token = platform.new_member()
    now = datetime.now(UTC)
    good = event()
    events = [
        good,
        event(at=now - timedelta(days=8)),
        event(at=now + timedelta(hours=1)),
        event(type_="login"),
        event(target="sports"),
        dict(event(), extra=1),
        {"event_id": "x"},
        "not an object",
        dict(event(), at="2026-11-25T08:00:00"),
        dict(event(), event_id="bad id with spaces"),
        event(type_="article_open", target="../../etc"),
        dict(event(), at="0001-01-01T00:00:00+08:00"),  # out of datetime's range once in UTC
        dict(event(), at="9999-12-31T23:59:59-08:00"),
    ]
    resp = platform.post("/v1/activity", {"events": events}, token)
    assert resp.status_code == 202
    results = resp.json_body["results"]
    assert [r["status"] for r in results] == ["accepted"] + ["rejected"] * 12
    reasons = [r["reason"] for r in results[1:]]
    assert "older than 7 days" in reasons[0] and "future" in reasons[1] and "type" in reasons[2]
    assert "section" in reasons[3] and "unknown field" in reasons[4] and "offset" in reasons[7]
    assert results[0]["event_id"] == good["event_id"]


def test_the_batch_itself_is_validated(platform):
    _, token = platform.new_member()
    assert platform.post("/v1/activity", {"events": []}, token).status_code == 400
    assert platform.post("/v1/activity", {"events": [event() for _ in range(101)]}, token).status_code == 400
    assert platform.post("/v1/activity", {"events": [event()], "x": 1}, token).status_code == 400
    assert platform.post("/v1/activity", {"events": "x"}, token).status_code == 400
    assert platform.post("/v1/activity", {"events": [event()]}).status_code == 401


def test_a_full_batch_of_100_costs_a_bounded_number_of_calls(platform):
    from chalicelib.store import models

    _, token = platform.new_member()
    calls = []
    hooks = models.Activity._get_connection().connection.client.meta.events

    def count(event_name, **kwargs):
        calls.append(event_name.rsplit(".", 1)[-1])

    hooks.register("before-call.dynamodb", count)
    try:
        body = platform.post("/v1/activity", {"events": [event() for _ in range(100)]}, token).json_body
    finally:
        hooks.unregister("before-call.dynamodb", count)
    assert body["accepted"] == 100
    # the hourly allowance (one conditional add), the marks seen before, two transactions of 50
    assert calls == ["UpdateItem", "BatchGetItem", "TransactWriteItems", "TransactWriteItems"]


def test_more_events_than_an_hour_allows_get_429_and_record_nothing(platform, monkeypatch):
    from chalicelib.services import activity

    monkeypatch.setattr(activity, "EVENTS_PER_HOUR", 150)
    number, token = platform.new_member()
    first = platform.post("/v1/activity", {"events": [event() for _ in range(100)]}, token)
    assert first.status_code == 202 and first.json_body["accepted"] == 100
    over = platform.post("/v1/activity", {"events": [event() for _ in range(51)]}, token)
    assert over.status_code == 429, over.body
    assert over.headers["Content-Type"] == "application/problem+json"
    assert 0 < int(over.headers["Retry-After"]) <= 3600
    assert activities(number).count(("section_open", "theory")) == 100  # the refused batch: nothing
    # what is left of the hour may still be used, by this member only; others have their own
    assert platform.post("/v1/activity", {"events": [event() for _ in range(50)]}, token).status_code == 202
    assert platform.post("/v1/activity", {"events": [event()]}, token).status_code == 429
    _, other = platform.new_member()
    assert platform.post("/v1/activity", {"events": [event()]}, other).status_code == 202


def test_concurrent_uploads_cannot_exceed_the_allowance_together(platform, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.services import activity

    monkeypatch.setattr(activity, "EVENTS_PER_HOUR", 100)
    _, token = platform.new_member()

    def upload(_):
        return platform.post("/v1/activity", {"events": [event() for _ in range(20)]}, token).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(upload, range(12)))
    assert statuses.count(202) == 5 and statuses.count(429) == 7


def test_a_retried_batch_with_the_same_idempotency_key_gets_the_first_answer(platform):
    _, token = platform.new_member()
    batch = {"events": [event(), event()]}
    first = platform.post("/v1/activity", batch, token, {"Idempotency-Key": "sync-1"})
    again = platform.post("/v1/activity", batch, token, {"Idempotency-Key": "sync-1"})
    assert first.status_code == again.status_code == 202
    assert first.json_body == again.json_body and first.json_body["accepted"] == 2
    other = platform.post("/v1/activity", {"events": [event()]}, token, {"Idempotency-Key": "sync-1"})
    assert other.status_code == 409
