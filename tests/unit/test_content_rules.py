"""Edition files, upload keys and the feed's order: pure rules, no AWS."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain import content
from chalicelib.domain.content import FeedEntry, ScopeRead, merge_feed

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def file(**over) -> bytes:
    doc = {
        "edition_id": "e1",
        "kind": "weekly",
        "title": "第48期",
        "week": "2026-W48",
        "articles": [
            {"article_id": "a1", "section": "theory", "title": "一", "body_markdown": "正文"},
            {
                "article_id": "a2",
                "section": "history",
                "title": "二",
                "body_markdown": "**b**",
                "links": [{"title": "l", "url": "https://example.com"}],
            },
        ],
    }
    doc.update(over)
    return json.dumps(doc, ensure_ascii=False).encode()


def problems(raw: bytes, scope="central", edition_id="e1") -> list[dict]:
    draft, found = content.parse_edition(raw, scope, edition_id)
    assert (draft is None) == bool(found)
    return found


def test_a_valid_file_becomes_a_draft_in_file_order():
    draft, found = content.parse_edition(file(), "central", "e1")
    assert found == []
    assert [a.article_id for a in draft.articles] == ["a1", "a2"]
    assert draft.sections == ["theory", "history"]
    assert draft.articles[1].links[0].url == "https://example.com"


def test_every_problem_is_listed_not_only_the_first():
    raw = file(
        kind="daily",
        title="",
        articles=[
            {"article_id": "a1", "section": "sports", "title": "x", "body_markdown": "<script>x</script>"},
            {"article_id": "a1", "section": "theory", "title": "", "body_markdown": "[x](javascript:y)"},
        ],
    )
    fields = {p["field"] for p in problems(raw)}
    assert {"kind", "title", "articles[0].section", "articles[0].body_markdown"} <= fields
    assert {"articles[1].article_id", "articles[1].title", "articles[1].body_markdown"} <= fields


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"{not json", ""),
        (b"", ""),
        ("{}".encode("utf-16"), ""),
        (b'{"edition_id": "e1", "edition_id": "e1"}', ""),
        (b"[1, 2]", ""),
        (file(articles=[]), "articles"),
        (file(articles={"a": 1}), "articles"),
        (file(edition_id="e2"), "edition_id"),
        (file(scope="110000"), "scope"),
        (file(extra=1), "extra"),
        (file(week="2026-W54"), "week"),
        (file(week="2021-W53"), "week"),
        (file(kind=None), "kind"),
        (
            file(
                articles=[
                    {"article_id": "a1", "section": "theory", "title": "t", "body_markdown": "b", "x": 1}
                ]
            ),
            "articles[0].x",
        ),
        (
            file(articles=[{"article_id": "a b", "section": "theory", "title": "t", "body_markdown": "b"}]),
            "articles[0].article_id",
        ),
        (
            file(articles=[{"article_id": "a", "section": "theory", "title": "t", "body_markdown": 5}]),
            "articles[0].body_markdown",
        ),
        (
            file(
                articles=[
                    {
                        "article_id": "a",
                        "section": "theory",
                        "title": "t",
                        "body_markdown": "b",
                        "links": [{"title": "t", "url": "ftp://x"}],
                    }
                ]
            ),
            "articles[0].links[0].url",
        ),
        (file(articles=["not an object"]), "articles[0]"),
    ],
)
def test_malformed_files_are_refused_with_the_field_named(raw, field):
    assert field in {p["field"] for p in problems(raw)}


def test_limits_on_articles_and_size():
    many = [
        {"article_id": f"a{i}", "section": "theory", "title": "t", "body_markdown": "b"} for i in range(51)
    ]
    assert any("at most 50" in p["message"] for p in problems(file(articles=many)))
    big = [{"article_id": "a", "section": "theory", "title": "t", "body_markdown": "字" * 40_000}]
    assert any("100 KB" in p["message"] for p in problems(file(articles=big)))
    huge = b" " * (content.MAX_FILE_BYTES + 1)
    assert "2 MB" in problems(huge)[0]["message"]


def test_non_utf8_and_a_byte_order_mark():
    assert "not UTF-8" in problems(file().decode().encode("gbk"))[0]["message"]
    assert problems("\ufeff".encode() + file()) == []


def test_week_is_an_iso_week():
    assert problems(file(week="2020-W53")) == []
    assert problems(file(week=None)) == []


def test_upload_keys():
    assert content.parse_key("bulletins/central/e-1.json") == ("central", "e-1")
    assert content.parse_key("bulletins/110105/2026-W48.json") == ("110105", "2026-W48")
    for key in [
        "bulletins/central/a/b.json",
        "bulletins/x/e1.json",
        "bulletins/central/.json",
        "other/central/e.json",
    ]:
        assert content.parse_key(key) is None
    assert content.rejection_key("bulletins/central/e.json") == "rejections/bulletins/central/e.json.json"
    assert content.scope_org_id("central") == "central" and content.scope_org_id("110105") == "div-110105"


def test_feed_scopes_are_central_and_the_departments_above_each_branch():
    home = ("central", "div-110000", "div-110100", "div-110105", "br-1")
    attached = ("central", "div-310000", "div-310100", "div-310104", "br-2")
    vb = ("central", "div-440000", "div-440300", "vb-1")
    assert content.feed_scopes(home, attached, [vb]) == [
        "central",
        "div-110000",
        "div-110100",
        "div-110105",
        "div-310000",
        "div-310100",
        "div-310104",
        "div-440000",
        "div-440300",
    ]
    assert content.feed_scopes(("central", "br-central-office"), (), []) == ["central"]


# ---- merging the feed -----------------------------------------------------------------------------


def entry(scope: str, published: datetime, edition_id: str, kind="weekly", tier="N") -> FeedEntry:
    at = content.iso(published)
    urgent_since = at if kind == "urgent" else None
    sort = content.urgent_sort_key(at, edition_id) if tier == "U" else content.normal_sort_key(at, edition_id)
    return FeedEntry(sort, edition_id, scope, kind, edition_id, None, at, at, 1, 1, ("theory",), urgent_since)


def entries_for(scope_editions):
    """Feed partitions as stored: an N entry per edition, a U entry too for urgent ones."""
    parts = {}
    for scope, published, edition_id, kind in scope_editions:
        parts.setdefault(scope, []).append(entry(scope, published, edition_id, kind))
        if kind == "urgent":
            parts[scope].append(entry(scope, published, edition_id, kind, "U"))
    for scope in parts:
        parts[scope].sort(key=lambda e: e.sort, reverse=True)
    return parts


def read_all(parts, limit, now=NOW):
    """Page through like the service does: one read per scope below the position."""
    out, after, done, pages = [], None, frozenset(), 0
    while True:
        reads = {}
        for scope, items in parts.items():
            if scope in done:
                continue
            below = [e for e in items if after is None or e.sort < after]
            reads[scope] = ScopeRead(below[:limit], len(below) > limit)
        page = merge_feed(reads, limit, now, done)
        out.extend(e.edition_id for e in page.entries)
        pages += 1
        assert pages < 1000
        if page.after is None or set(parts) <= page.done:
            return out
        after, done = page.after, page.done


def test_urgent_editions_of_the_last_7_days_come_first_then_newest_first():
    parts = entries_for(
        [
            ("central", NOW - timedelta(days=1), "w-new", "weekly"),
            ("central", NOW - timedelta(days=3), "u-recent", "urgent"),
            ("div-11", NOW - timedelta(hours=1), "w-newest", "weekly"),
            ("div-11", NOW - timedelta(days=6), "u-older", "urgent"),
            ("central", NOW - timedelta(days=8), "u-stale", "urgent"),
            ("div-11", NOW - timedelta(days=10), "w-old", "weekly"),
        ]
    )
    expected = ["u-recent", "u-older", "w-newest", "w-new", "u-stale", "w-old"]
    for limit in (1, 2, 3, 20):
        assert read_all(parts, limit) == expected


def test_random_feeds_page_without_repeats_or_gaps():
    rng = random.Random(7)
    for _ in range(30):
        editions = [
            (
                rng.choice(["central", "div-11", "div-1101", "div-110105"]),
                NOW - timedelta(minutes=rng.randrange(0, 60 * 24 * 20)),
                f"e{i}",
                rng.choice(["weekly", "weekly", "urgent"]),
            )
            for i in range(rng.randrange(0, 60))
        ]
        parts = entries_for(editions)
        pinned = sorted(
            (e for e in editions if e[3] == "urgent" and e[1] > NOW - timedelta(days=7)),
            key=lambda e: (e[1], e[2]),
            reverse=True,
        )
        rest = sorted((e for e in editions if e not in pinned), key=lambda e: (e[1], e[2]), reverse=True)
        expected = [e[2] for e in pinned + rest]
        assert read_all(parts, rng.randrange(1, 25)) == expected


def test_an_empty_feed_is_one_empty_page():
    page = merge_feed({"central": ScopeRead([], False)}, 20, NOW, frozenset())
    assert page.entries == [] and page.after is None


# ---- urgency over time: pins, and walks that corrections and expiry do not disturb ----------------


def test_urgency_starts_once_ends_at_a_correction_to_weekly_and_restarts_on_a_new_one():
    t = [content.iso(NOW + timedelta(hours=h)) for h in range(4)]
    since, pins = content.next_urgency("urgent", None, (), t[0])
    assert since == t[0] and pins == ((t[0], content.iso(NOW + timedelta(days=7))),)
    assert content.next_urgency("urgent", since, pins, t[1]) == (since, pins)  # a correction keeps it
    since, pins = content.next_urgency("weekly", since, pins, t[2])
    assert since is None and pins == ((t[0], t[2]),)
    since, pins = content.next_urgency("urgent", since, pins, t[3])
    assert since == t[3] and pins == ((t[0], t[2]), (t[3], content.iso(NOW + timedelta(days=7, hours=3))))
    # a correction to weekly after the seven days leaves the interval as it was
    late = content.iso(NOW + timedelta(days=30))
    assert content.next_urgency("weekly", since, pins, late)[1] == pins
    for _ in range(20):  # toggling keeps the latest intervals only
        since, pins = content.next_urgency("weekly" if since else "urgent", since, pins, late)
    assert len(pins) == content.PINS_KEPT


def test_visibility_is_a_question_about_one_instant():
    pins = ((content.iso(NOW), content.iso(NOW + timedelta(hours=5))),)
    published = content.iso(NOW - timedelta(days=1))
    common = ("e", "c", "weekly", "t", None, published, published, 2, 1, ())
    u = FeedEntry(content.urgent_sort_key(pins[0][0], "e"), *common, urgent_since=pins[0][0], pins=pins)
    n = FeedEntry(content.normal_sort_key(published, "e"), *common, urgent_since=None, pins=pins)
    for moment, shown in [
        (NOW - timedelta(hours=1), n),
        (NOW, u),
        (NOW + timedelta(hours=4), u),
        (NOW + timedelta(hours=5), n),
    ]:
        assert [e for e in (u, n) if e.visible(moment)] == [shown], moment
    assert not n.visible(NOW - timedelta(days=2))  # published after that instant


def _edition_entries(scope, eid, published, urgent_since, pins):
    """The entries the store keeps for an edition: its N entry and a U entry per urgent interval."""
    common = dict(edition_id=eid, scope=scope, kind="weekly", title=eid, week=None, published_at=published)
    common |= dict(updated_at=published, revision=1, article_count=1, sections=(), pins=pins)
    normal = content.normal_sort_key(published, eid)
    out = {normal: FeedEntry(normal, **common, urgent_since=urgent_since)}
    for since, _ in pins:
        sort = content.urgent_sort_key(since, eid)
        out[sort] = FeedEntry(sort, **common, urgent_since=since)
    return out


def test_random_walks_neither_repeat_nor_skip_while_editions_are_corrected_and_urgency_expires():
    rng = random.Random(11)
    for _ in range(40):
        t0 = NOW + timedelta(seconds=rng.randrange(0, 3600))
        editions = {}  # eid -> [scope, published, urgent_since, pins]
        for i in range(rng.randrange(1, 40)):
            published = content.iso(t0 - timedelta(minutes=rng.randrange(1, 60 * 24 * 12)))
            since, pins = None, ()
            for k in range(rng.choice([1, 1, 2, 3])):  # publication and corrections before the walk
                at = content.iso(datetime.fromisoformat(published) + timedelta(minutes=k))
                since, pins = content.next_urgency(rng.choice(["weekly", "urgent"]), since, pins, at)
            editions[f"e{i}"] = [rng.choice(["central", "div-11", "div-1101"]), published, since, pins]

        def parts():
            out = {}
            for eid, (scope, published, since, pins) in editions.items():
                out.setdefault(scope, {}).update(_edition_entries(scope, eid, published, since, pins))
            return {s: sorted(v.values(), key=lambda e: e.sort, reverse=True) for s, v in out.items()}

        seen, after, done, clock, limit, began = [], None, frozenset(), t0, rng.randrange(1, 6), None
        while True:
            current = parts()
            reads = {}
            for scope, items in current.items():
                if scope not in done:
                    below = [e for e in items if after is None or e.sort < after]
                    reads[scope] = ScopeRead(below[:limit], len(below) > limit)
            if began is None:  # the first page; later ones take it from the cursor
                began = content.walk_instant(reads, t0)
                snapshot = read_all(current, 1000, began)
                assert len(snapshot) == len(set(snapshot)) == len(editions)
            page = merge_feed(reads, limit, began, done)
            seen.extend(e.edition_id for e in page.entries)
            if page.after is None or set(current) <= page.done:
                break
            after, done = page.after, page.done
            # meanwhile: time passes (urgent editions pass their 7 days), editions are corrected
            clock += timedelta(minutes=rng.choice([1, 60, 60 * 24, 60 * 24 * 3]))
            for eid in rng.sample(sorted(editions), min(3, len(editions))):
                e = editions[eid]
                e[2], e[3] = content.next_urgency(
                    rng.choice(["weekly", "urgent"]), e[2], e[3], content.iso(clock)
                )
            if rng.random() < 0.5:  # and new ones arrive
                eid = f"n{len(editions)}"
                since, pins = content.next_urgency(
                    rng.choice(["weekly", "urgent"]), None, (), content.iso(clock)
                )
                editions[eid] = [rng.choice(["central", "div-11"]), content.iso(clock), since, pins]
        assert seen == snapshot


def test_a_walk_begins_at_the_latest_change_of_what_its_first_page_read():
    t = NOW + timedelta(seconds=30)  # 08:00:30
    parts = entries_for(
        [
            ("central", t - timedelta(seconds=20), "w-new", "weekly"),
            ("central", t - timedelta(days=7, seconds=10), "u-just-expired", "urgent"),
            ("div-11", t - timedelta(days=2), "u", "urgent"),
        ]
    )
    reads = {scope: ScopeRead(items, False) for scope, items in parts.items()}
    # the newest change at or before the request: here an urgency that ended 10 s ago
    assert content.walk_instant(reads, t) == t - timedelta(seconds=10)
    assert content.walk_instant(reads, t + timedelta(seconds=29)) == t - timedelta(seconds=10)
    # before it, the publication 20 s ago; later changes (a clock ahead elsewhere) do not count
    assert content.walk_instant(reads, t - timedelta(seconds=15)) == t - timedelta(seconds=20)
    # nothing changed for a while: the start of the minute, so a walk is never judged long ago
    quiet = t + timedelta(minutes=5, seconds=7)
    assert content.walk_instant(reads, quiet) == NOW + timedelta(minutes=5)
    # judging the entries read at that instant is judging them at the request's instant
    entries = [e for r in reads.values() for e in r.entries]
    for now in (t, t + timedelta(seconds=29), quiet, t + timedelta(days=5)):
        began = content.walk_instant(reads, now)
        assert [e.visible(began) for e in entries] == [e.visible(now) for e in entries]
