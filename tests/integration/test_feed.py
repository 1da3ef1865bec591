"""The member's feed: scopes, order, pagination while editions arrive, ETag/304, bounded reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.services import bulletins
from tests.integration import content_setup as c


def all_pages(platform, token, limit=100):
    ids, cursor = [], None
    for _ in range(500):
        path = f"/v1/feed?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        resp = platform.get(path, token)
        assert resp.status_code == 200, resp.body
        ids.extend(e["edition_id"] for e in resp.json_body["items"])
        cursor = resp.json_body["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("the feed never ended")


def publish_at(platform, monkeypatch, scope, when, kind="weekly"):
    monkeypatch.setattr(bulletins, "_now", lambda: when)
    doc = c.publish(platform, scope, c.edition(kind=kind))
    monkeypatch.undo()
    return doc["edition_id"]


def set_member(number, **attrs):
    from chalicelib.store import models

    models.Member(number).update(
        actions=[getattr(models.Member, k).set(v) for k, v in attrs.items()], add_version_condition=False
    )


def virtual_branch(supervisor_path):
    from chalicelib.domain.orgs import Org
    from chalicelib.store import orgs

    vb_id = c.new_id("vb")
    orgs.create(
        Org(
            vb_id,
            "线上支部",
            "virtual_branch",
            supervisor_path[-1],
            None,
            (*supervisor_path, vb_id),
            0,
            "2026",
        ),
        created_by="test",
    )
    return vb_id


def test_the_feed_holds_central_and_the_departments_above_every_branch_of_the_member(platform):
    from chalicelib.store import orgs

    branch = platform.new_branch("div-110105")
    number, token = platform.new_member(branch)
    seen_scopes = {
        "central",
        "110000",
        "110100",
        "110105",
        "310000",
        "310100",
        "310104",
        "440000",
        "440300",
        "440305",
    }
    unseen_scopes = {"110108", "120000", "440306"}
    published = {scope: c.publish(platform, scope)["edition_id"] for scope in seen_scopes | unseen_scopes}
    before = set(all_pages(platform, token))
    home = {published[s] for s in ("central", "110000", "110100", "110105")}
    others = {published[s] for s in seen_scopes | unseen_scopes} - home
    assert home <= before and not others & before
    away = platform.new_branch("div-310104")
    vb = virtual_branch(("central", "div-440000", "div-440300", "div-440305"))
    set_member(
        number,
        attached_branch_id=away,
        attached_path=list(orgs.get(away).path),
        virtual_branch_ids={vb},
    )
    after = set(all_pages(platform, token))
    assert {published[s] for s in seen_scopes} <= after
    assert not {published[s] for s in unseen_scopes} & after


def test_urgent_editions_of_the_last_7_days_first_then_newest_first(platform, monkeypatch):
    branch = platform.new_branch("div-130102")
    _, token = platform.new_member(branch)
    now = datetime.now(UTC)
    ids = {
        "weekly 2d": publish_at(platform, monkeypatch, "130102", now - timedelta(days=2)),
        "urgent 3d": publish_at(platform, monkeypatch, "130100", now - timedelta(days=3), "urgent"),
        "weekly 1h": publish_at(platform, monkeypatch, "130000", now - timedelta(hours=1)),
        "urgent 6d": publish_at(platform, monkeypatch, "130102", now - timedelta(days=6), "urgent"),
        "urgent 9d": publish_at(platform, monkeypatch, "130102", now - timedelta(days=9), "urgent"),
        "weekly 12d": publish_at(platform, monkeypatch, "130100", now - timedelta(days=12)),
        "weekly 8d": publish_at(platform, monkeypatch, "130000", now - timedelta(days=8)),
    }
    names = {v: k for k, v in ids.items()}
    for limit in (1, 3, 100):
        order = [names[i] for i in all_pages(platform, token, limit) if i in names]
        assert order == [
            "urgent 3d",
            "urgent 6d",
            "weekly 1h",
            "weekly 2d",
            "weekly 8d",
            "urgent 9d",
            "weekly 12d",
        ]
    page = platform.get("/v1/feed?limit=100", token).json_body["items"]
    pinned = {e["edition_id"]: e["pinned"] for e in page}
    assert pinned[ids["urgent 3d"]] and not pinned[ids["urgent 9d"]] and not pinned[ids["weekly 1h"]]


def test_pages_neither_repeat_nor_skip_while_editions_arrive(platform, monkeypatch):
    branch = platform.new_branch("div-130104")
    _, token = platform.new_member(branch)
    now = datetime.now(UTC)
    for i in range(12):
        publish_at(
            platform,
            monkeypatch,
            "130104",
            now - timedelta(hours=i + 1),
            "urgent" if i % 4 == 0 else "weekly",
        )
    snapshot = all_pages(platform, token)
    seen, cursor, pages = [], None, 0
    while True:
        path = "/v1/feed?limit=5" + (f"&cursor={cursor}" if cursor else "")
        body = platform.get(path, token).json_body
        seen.extend(e["edition_id"] for e in body["items"])
        cursor, pages = body["next_cursor"], pages + 1
        if cursor is None:
            break
        # new editions, weekly and urgent, in the member's scopes; a correction of one already seen
        c.publish(platform, "130104", c.edition(kind="urgent" if pages % 2 else "weekly"))
        c.publish(platform, "central")
    assert len(seen) == len(set(seen)), "an edition was shown twice"
    assert seen == snapshot, "the pages are the feed as it was when paging began"
    assert pages > 2


def test_an_unchanged_page_answers_304(platform):
    _, token = platform.new_member(platform.new_branch("div-130105"))
    c.publish(platform, "130105")
    first = platform.get("/v1/feed", token)
    etag = first.headers["ETag"]
    again = platform.get("/v1/feed", token, {"If-None-Match": etag})
    assert again.status_code == 304
    c.publish(platform, "130105")
    changed = platform.get("/v1/feed", token, {"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_a_cursor_is_the_members_own(platform):
    _, token = platform.new_member(platform.new_branch("div-130107"))
    _, other = platform.new_member(platform.new_branch("div-130107"))
    for _ in range(3):
        c.publish(platform, "130107")
    cursor = platform.get("/v1/feed?limit=1", token).json_body["next_cursor"]
    assert cursor
    assert platform.get(f"/v1/feed?limit=1&cursor={cursor}", other).status_code == 400
    assert platform.get("/v1/feed?cursor=garbage", token).status_code == 400
    assert platform.get("/v1/feed?limit=0", token).status_code == 400
    assert platform.get("/v1/feed").status_code == 401


@pytest.mark.parametrize("editions", [3, 40])
def test_a_feed_page_is_one_query_per_scope_whatever_the_number_of_editions(platform, editions):
    from chalicelib.domain.content import FeedEntry, iso, normal_sort_key
    from chalicelib.store import content, models

    county = "130108" if editions == 3 else "130109"
    _, token = platform.new_member(platform.new_branch(f"div-{county}"))
    now = datetime.now(UTC)
    entries = []
    for i in range(editions):
        at = iso(now - timedelta(minutes=i + 1))
        eid = c.new_id()
        entries.append(
            (
                f"div-{county}",
                FeedEntry(
                    normal_sort_key(at, eid), eid, county, "weekly", "t", None, at, at, 1, 1, ("theory",)
                ),
            )
        )
    content.put_feed_entries(entries)
    calls = []
    events = models.Member._get_connection().connection.client.meta.events

    def count(event_name, **kwargs):
        calls.append(event_name.rsplit(".", 1)[-1])

    events.register("before-call.dynamodb", count)
    try:
        first = platform.get("/v1/feed?limit=2", token).json_body
        first_calls, calls[:] = list(calls), []
        platform.get(f"/v1/feed?limit=2&cursor={first['next_cursor']}", token)
        second_calls = list(calls)
    finally:
        events.unregister("before-call.dynamodb", count)
    scopes = 4  # central, Hebei, Shijiazhuang, the county
    assert (
        first_calls.count("Query") == scopes
        and first_calls.count("GetItem") == 1
        and len(first_calls) == scopes + 1
    )
    assert second_calls.count("Query") <= scopes and len(second_calls) == second_calls.count("Query")
