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
        # new editions, weekly and urgent, in the member's scopes (corrections: the test below)
        c.publish(platform, "130104", c.edition(kind="urgent" if pages % 2 else "weekly"))
        c.publish(platform, "central")
    assert len(seen) == len(set(seen)), "an edition was shown twice"
    assert seen == snapshot, "the pages are the feed as it was when paging began"
    assert pages > 2


def publish_when(platform, scope, when, doc):
    """Publish `doc` (a new edition or a correction) as if ingest ran at `when`."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(bulletins, "_now", lambda: when)
        return c.publish(platform, scope, doc)["edition_id"]


def walk(platform, token, limit, between=None):
    """Page through the feed to its end, calling `between(page_number, items)` after each page."""
    seen, cursor, pages = [], None, 0
    while True:
        path = f"/v1/feed?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        resp = platform.get(path, token)
        assert resp.status_code == 200, resp.body
        items = resp.json_body["items"]
        seen.extend((e["edition_id"], e["pinned"]) for e in items)
        cursor, pages = resp.json_body["next_cursor"], pages + 1
        if cursor is None:
            return seen
        if between:
            between(pages, items)
        assert pages < 500


def test_corrections_and_an_urgent_expiry_while_paging_neither_repeat_nor_skip(platform, monkeypatch):
    """One walk through the feed judges urgency at the instant it began, whatever happens meanwhile.

    While the member pages (one edition a page): an urgent edition already shown passes its 7 days;
    another already shown is corrected to weekly; one not reached yet is corrected to weekly; a
    weekly one not reached yet is corrected to urgent; new editions arrive. The walk is the feed as
    it was when it began: nothing twice, nothing missing, the same order. A walk begun afterwards
    sees the new state.
    """
    from chalicelib.services import feed

    county = "130181"
    _, token = platform.new_member(platform.new_branch(f"div-{county}"))
    t0 = datetime.now(UTC)
    clock = [t0]
    monkeypatch.setattr(feed, "_now", lambda: clock[0])
    docs = {}

    def edition(name, kind, age):
        docs[name] = c.edition(kind=kind)
        publish_when(platform, county, t0 - age, docs[name])
        return docs[name]["edition_id"]

    ids = {
        "shown, then weekly": edition("shown, then weekly", "urgent", timedelta(hours=1)),
        "weekly, then urgent": edition("weekly, then urgent", "weekly", timedelta(hours=2)),
        "unseen, then weekly": edition("unseen, then weekly", "urgent", timedelta(days=3)),
        "shown, then expired": edition(
            "shown, then expired", "urgent", timedelta(days=7) - timedelta(minutes=30)
        ),
        **{f"weekly {i}": edition(f"weekly {i}", "weekly", timedelta(hours=3 + i)) for i in range(4)},
    }
    names = {v: k for k, v in ids.items()}
    snapshot = walk(platform, token, 1)  # nothing changes during this one
    assert {names[i]: p for i, p in snapshot if i in names} == {
        "shown, then weekly": True,
        "weekly, then urgent": False,
        "unseen, then weekly": True,
        "shown, then expired": True,
        **{f"weekly {i}": False for i in range(4)},
    }
    done = set()

    def correct(name, kind, at):
        publish_when(platform, county, at, dict(docs[name], kind=kind, title=f"{docs[name]['title']} 更正"))
        done.add(name)

    def meanwhile(page, items):
        shown = {names.get(e["edition_id"]) for e in items}
        later = clock[0] + timedelta(minutes=1)
        if page == 1:
            correct("weekly, then urgent", "urgent", later)
            correct("unseen, then weekly", "weekly", later)
            assert "unseen, then weekly" not in shown and "shown, then expired" not in shown
        if "shown, then weekly" in shown:
            correct("shown, then weekly", "weekly", later)
        if "shown, then expired" in shown:
            clock[0] = t0 + timedelta(minutes=31)  # its 7 days are over now
            done.add("expired")
        if page <= 3:  # and new editions arrive (central's now: its feed is every member's)
            publish_when(platform, county, later, c.edition())
            c.publish(platform, "central", c.edition(kind="urgent"))
        clock[0] = max(clock[0], later)

    seen = walk(platform, token, 1, meanwhile)
    assert done == {"weekly, then urgent", "unseen, then weekly", "shown, then weekly", "expired"}
    ids_seen = [i for i, _ in seen]
    assert len(ids_seen) == len(set(ids_seen)), "an edition was shown twice"
    assert seen == snapshot, "the walk is the feed as it was when it began"
    # a walk that begins now sees the corrections and the expiry
    after = {names[i]: p for i, p in walk(platform, token, 50) if i in names}
    assert after == {
        "shown, then weekly": False,
        "weekly, then urgent": True,
        "unseen, then weekly": False,
        "shown, then expired": False,
        **{f"weekly {i}": False for i in range(4)},
    }


def test_an_unchanged_page_answers_304(platform, monkeypatch):
    from chalicelib.services import feed

    _, token = platform.new_member(platform.new_branch("div-130105"))
    c.publish(platform, "130105")
    c.publish(platform, "130105")
    now = datetime.now(UTC)
    later = now.replace(second=59, microsecond=999_999)  # time passes, nothing changes
    for limit in (20, 1):  # a page with a cursor to the next one too
        monkeypatch.setattr(feed, "_now", lambda: now)
        first = platform.get(f"/v1/feed?limit={limit}", token)
        etag = first.headers["ETag"]
        assert limit == 20 or first.json_body["next_cursor"]
        monkeypatch.setattr(feed, "_now", lambda: later)
        again = platform.get(f"/v1/feed?limit={limit}", token, {"If-None-Match": etag})
        assert again.status_code == 304, limit
    monkeypatch.undo()
    etag = platform.get("/v1/feed", token).headers["ETag"]
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


def test_a_container_reuses_a_scopes_first_page_for_a_moment(platform, monkeypatch):
    """At a peak every member's first page asks for central's head: a container reads it once per
    `feed_head_ttl`, members next door share their departments' heads, and cursors always read."""
    from chalicelib import config
    from chalicelib.store import content, models

    county = "130110"
    _, token = platform.new_member(platform.new_branch(f"div-{county}"))
    _, neighbour = platform.new_member(platform.new_branch(f"div-{county}"))
    for _ in range(3):
        c.publish(platform, county)
    monkeypatch.setenv("MMP_FEED_HEAD_TTL", "30")
    config.reset_settings()
    assert config.get_settings().feed_head_ttl == 30
    content.forget_feed_heads()
    calls = []
    events = models.Member._get_connection().connection.client.meta.events

    def count(event_name, **kwargs):
        calls.append(event_name.rsplit(".", 1)[-1])

    def page(path, who):
        calls.clear()
        body = platform.get(path, who).json_body
        return body, list(calls)

    events.register("before-call.dynamodb", count)
    try:
        first, cold = page("/v1/feed?limit=2", token)
        again, warm = page("/v1/feed?limit=2", neighbour)
        _, later = page(f"/v1/feed?limit=2&cursor={again['next_cursor']}", neighbour)
        page("/v1/feed?limit=100", token)  # the heads at limit=100 are remembered too
        new = c.publish(platform, county)["edition_id"]  # within the moment: not yet on a first page
        stale, _ = page("/v1/feed?limit=100", token)
        monkeypatch.setattr(content.time, "monotonic", lambda: 10**9)  # the moment has passed
        fresh, _ = page("/v1/feed?limit=100", token)
    finally:
        events.unregister("before-call.dynamodb", count)
        monkeypatch.undo()
        config.reset_settings()
        assert config.get_settings().feed_head_ttl == 0
        content.forget_feed_heads()
    assert cold.count("Query") == 4 and cold.count("GetItem") == 1  # central, Hebei, Shijiazhuang, county
    assert warm == ["GetItem"]  # the neighbour's scopes are the same four: only their member item
    assert [e["edition_id"] for e in again["items"]] == [e["edition_id"] for e in first["items"]]
    assert later.count("Query") >= 1  # a cursor page reads DynamoDB
    assert new not in {e["edition_id"] for e in stale["items"]}
    assert new in {e["edition_id"] for e in fresh["items"]}
