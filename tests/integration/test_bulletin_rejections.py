"""Bad uploads: each leaves `rejections/{key}.json` listing what is wrong and publishes nothing."""

from __future__ import annotations

import json
import re

import pytest

from tests.integration import content_setup as c


def _article(article_id=None, **over):
    return c.article(article_id, **over)


def _doc(edition_id, **over):
    return c.edition(edition_id, **over)


def _json(doc) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


# name -> (scope in the key, builder(edition_id) -> bytes, a word the rejection must mention);
# a bad article comes after a good one, and the good one must not be published either
CORPUS = {
    "malformed JSON": (
        "central",
        lambda e: b'{"edition_id": "' + e.encode() + b'", "kind": ',
        "not valid JSON",
    ),
    "a JSON array": ("central", lambda e: b"[]", "JSON object"),
    "empty file": ("central", lambda e: b"", "empty"),
    "missing title and kind": (
        "central",
        lambda e: _json({"edition_id": e, "articles": [_article()]}),
        "is required",
    ),
    "articles not a list": ("central", lambda e: _json(_doc(e, articles={"a": 1})), "must be an array"),
    "unknown section": (
        "central",
        lambda e: _json(_doc(e, articles=[_article(), _article(section="sports")])),
        "not a section",
    ),
    "unknown field": ("central", lambda e: _json(_doc(e, author="x")), "not a known field"),
    "unknown kind": ("central", lambda e: _json(_doc(e, kind="daily")), "must be one of"),
    "bad week": ("central", lambda e: _json(_doc(e, week="2026-W60")), "ISO week"),
    "duplicate article ids": (
        "central",
        lambda e: _json(_doc(e, articles=[_article("dup-1"), _article("dup-1")])),
        "article ids are unique",
    ),
    "duplicate JSON keys": (
        "central",
        lambda e: b'{"edition_id": "' + e.encode() + b'", "kind": "weekly", "kind": "urgent"}',
        "repeats the key",
    ),
    "script in Markdown": (
        "central",
        lambda e: _json(_doc(e, articles=[_article(), _article(body="hi <script>alert(1)</script>")])),
        "<script>",
    ),
    "iframe in Markdown": (
        "central",
        lambda e: _json(
            _doc(e, articles=[_article(), _article(body='<iframe src="https://evil.example"></iframe>')])
        ),
        "<iframe>",
    ),
    "javascript: link in Markdown": (
        "central",
        lambda e: _json(_doc(e, articles=[_article(), _article(body="[click](javascript:alert(1))")])),
        "javascript:",
    ),
    "event handler in HTML": (
        "central",
        lambda e: _json(
            _doc(
                e,
                articles=[
                    _article(),
                    _article(body='<img src="https://x.example/a.png" onerror="alert(1)">'),
                ],
            )
        ),
        "event-handler",
    ),
    "relative link": (
        "central",
        lambda e: _json(_doc(e, articles=[_article(), _article(body="[x](/admin)")])),
        "absolute",
    ),
    "non-http link in links": (
        "central",
        lambda e: _json(
            _doc(e, articles=[_article(), _article(links=[{"title": "t", "url": "ftp://files.example/x"}])])
        ),
        "ftp:",
    ),
    "a 3 MB file": ("central", lambda e: _json(_doc(e, padding="x" * (3 * 1024 * 1024))), "2 MB"),
    "an article over 100 KB": (
        "central",
        lambda e: _json(_doc(e, articles=[_article(), _article(body="字" * 40_000)])),
        "100 KB",
    ),
    "51 articles": (
        "central",
        lambda e: _json(_doc(e, articles=[_article() for _ in range(51)])),
        "at most 50",
    ),
    "an empty article list": ("central", lambda e: _json(_doc(e, articles=[])), "at least one article"),
    "non-UTF-8": ("central", lambda e: _json(_doc(e)).decode().encode("gbk"), "not UTF-8"),
    "another edition than its URL": ("central", lambda e: _json(_doc(e + "-other")), "use the upload URL"),
    "another scope than its URL": (
        "central",
        lambda e: _json(_doc(e, scope="110000")),
        "uploaded under scope",
    ),
    "a scope no department has": ("999999", lambda e: _json(_doc(e)), "no department"),
}


@pytest.mark.parametrize("name", list(CORPUS))
def test_a_bad_upload_is_rejected_with_reasons_and_publishes_nothing(platform, name):
    scope, build, word = CORPUS[name]
    _, token = platform.new_member()
    edition_id = c.new_id("bad")
    raw = build(edition_id)
    key = c.upload(scope, edition_id, raw)
    c.deliver_uploads(platform)
    rejection = c.rejection(key)
    assert rejection is not None, name
    assert rejection["key"] == key and rejection["problems"], rejection
    assert any(word in p["message"] for p in rejection["problems"]), rejection["problems"]
    assert platform.get(f"/v1/bulletins/{edition_id}", token).status_code == 404
    for article_id in article_ids(raw):
        assert platform.get(f"/v1/articles/{article_id}", token).status_code == 404, (name, article_id)
    feed = platform.get("/v1/feed?limit=100", token).json_body["items"]
    assert edition_id not in {e["edition_id"] for e in feed}


def article_ids(raw: bytes) -> set[str]:
    """Every article id a file names, found in its bytes (so also in files that are not valid JSON)."""
    return set(re.findall(r'"article_id":\s*"([A-Za-z0-9][A-Za-z0-9._-]{0,63})"', raw.decode("latin-1")))


def test_the_corpus_covers_the_cases_the_issue_names():
    assert len(CORPUS) >= 15
    # the "nothing published" check looks up articles: most files name some
    with_articles = [name for name, (_, build, _) in CORPUS.items() if article_ids(build("e-x"))]
    assert len(with_articles) >= 15, with_articles


def test_every_problem_of_a_file_is_listed(platform):
    edition_id = c.new_id("bad")
    doc = _doc(
        edition_id,
        kind="daily",
        articles=[_article("x1", section="sports"), _article("x1", body="<script>x</script>")],
    )
    key = c.upload("central", edition_id, doc)
    c.deliver_uploads(platform)
    fields = {p["field"] for p in c.rejection(key)["problems"]}
    assert {"kind", "articles[0].section", "articles[1].article_id", "articles[1].body_markdown"} <= fields


def test_a_key_outside_the_pattern_is_rejected(platform):
    key = "bulletins/central/nested/e1.json"
    c.put(key, _doc("e1"))
    c.deliver_uploads(platform)
    assert "bulletins/{scope}/{edition_id}.json" in c.rejection(key)["problems"][0]["message"]


def test_article_ids_of_another_edition_are_refused(platform):
    first = c.publish(platform)
    taken = first["articles"][0]["article_id"]
    second = _doc(c.new_id(), articles=[_article(taken)])
    key = c.upload("central", second["edition_id"], second)
    c.deliver_uploads(platform)
    assert "belongs to another edition" in c.rejection(key)["problems"][0]["message"]
    _, token = platform.new_member()
    assert platform.get(f"/v1/bulletins/{second['edition_id']}", token).status_code == 404
    assert platform.get(f"/v1/articles/{taken}", token).json_body["edition_id"] == first["edition_id"]


def test_an_edition_id_belongs_to_the_scope_that_published_it(platform):
    doc = c.publish(platform, "central")
    key = c.upload("110000", doc["edition_id"], doc)
    c.deliver_uploads(platform)
    assert "belongs to another scope" in c.rejection(key)["problems"][0]["message"]
    _, token = platform.new_member()
    assert platform.get(f"/v1/bulletins/{doc['edition_id']}", token).json_body["scope"] == "central"


def test_a_bad_correction_keeps_the_published_revision(platform):
    doc = c.publish(platform)
    bad = dict(doc, title="")
    key = c.upload("central", doc["edition_id"], bad)
    c.deliver_uploads(platform)
    rejection = c.rejection(key)
    assert rejection["current_revision"] == 1
    _, token = platform.new_member()
    assert platform.get(f"/v1/bulletins/{doc['edition_id']}", token).json_body["title"] == doc["title"]
    # the next good upload publishes and clears the rejection
    c.upload("central", doc["edition_id"], dict(doc, title="更正"))
    c.deliver_uploads(platform)
    assert c.rejection(key) is None
    body = platform.get(f"/v1/bulletins/{doc['edition_id']}", token).json_body
    assert (body["title"], body["revision"]) == ("更正", 2)
