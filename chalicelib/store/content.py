"""Editions, articles and feed entries in DynamoDB; uploads and rejections in S3.

Publishing is one TransactWriteItems: the edition item (conditioned on the revision read before),
its feed entries and every article (each conditioned on not belonging to another edition). Readers
therefore see the whole previous revision or the whole new one, never a mix.
"""

from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from pynamodb.exceptions import DeleteError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactGet, TransactWrite

from chalicelib.config import get_settings
from chalicelib.domain.content import (
    EditionDraft,
    EditionState,
    FeedEntry,
    Pin,
    PublishedArticle,
    RenderedArticle,
    ScopeRead,
    next_urgency,
    normal_sort_key,
    pin_until,
    urgent_sort_key,
)
from chalicelib.domain.members import Member
from chalicelib.domain.orgs import Org
from chalicelib.store import models
from chalicelib.store.errors import cancellation_codes, is_conditional_failure, is_transaction_conflict

HISTORY_KEPT = 20
U_ENTRY_KEPT = timedelta(days=1)  # a U entry's TTL: this long after its edition stopped being pinned


class EditionChanged(Exception):
    """Another ingest published this edition since it was read: read again and decide again."""


class ArticlesTaken(Exception):
    """Some article ids of the upload belong to another edition."""

    def __init__(self, article_ids: list[str]) -> None:
        super().__init__(", ".join(article_ids))
        self.article_ids = article_ids


def _connection():
    return models.Edition._get_connection().connection


# ---- editions -------------------------------------------------------------------------------------


def _pins(pins_json: str | None, urgent_since: str | None) -> tuple[Pin, ...]:
    """Stored urgent intervals; items written before they were stored: the one `urgent_since` implies."""
    if pins_json:
        return tuple((since, until) for since, until in json.loads(pins_json))
    return ((urgent_since, pin_until(urgent_since)),) if urgent_since else ()


def _pins_json(pins: tuple[Pin, ...]) -> str | None:
    return json.dumps([list(p) for p in pins], separators=(",", ":")) if pins else None


def _state(item: models.Edition) -> EditionState:
    return EditionState(
        edition_id=item.edition_id,
        scope=item.scope,
        org_id=item.org_id,
        kind=item.kind,
        title=item.title,
        week=item.week,
        revision=int(item.revision),
        first_published_at=item.first_published_at,
        published_at=item.published_at,
        urgent_since=item.urgent_since,
        articles=tuple(json.loads(item.articles_json)),
        sections=tuple(item.sections or ()),
        source_version=item.source_etag,
        announced_revision=int(item.announced_revision or 0),
        history=tuple(json.loads(item.history_json or "[]")),
        pending_drops=tuple(item.pending_drops or ()),
        pins=_pins(item.pins_json, item.urgent_since),
    )


def get_edition(edition_id: str, consistent: bool = False) -> EditionState | None:
    """One GetItem."""
    try:
        return _state(models.Edition.get(edition_id, consistent_read=consistent))
    except models.Edition.DoesNotExist:
        return None


@dataclass(frozen=True)
class UploadContext:
    caller: Member | None
    org: Org | None
    edition_scope: str | None


def upload_context(number: str, org_id: str, edition_id: str) -> UploadContext:
    """The caller, the scope's department and the edition's owner, in one TransactGetItems."""
    from chalicelib.store.members import _resolve
    from chalicelib.store.members import to_domain as member_to_domain
    from chalicelib.store.orgs import to_domain as org_to_domain

    with TransactGet(connection=_connection()) as tx:
        member_f = tx.get(models.Member, number)
        org_f = tx.get(models.Org, org_id)
        edition_f = tx.get(models.Edition, edition_id)
    return UploadContext(
        caller=_resolve(member_f, member_to_domain),
        org=_resolve(org_f, org_to_domain),
        edition_scope=_resolve(edition_f, lambda e: e.scope),
    )


def _feed_item(
    state: EditionState, sort: str, expires_at: int | None, urgent_since: str | None
) -> models.FeedItem:
    return models.FeedItem(
        state.org_id,
        sort,
        edition_id=state.edition_id,
        scope=state.scope,
        kind=state.kind,
        title=state.title,
        week=state.week,
        published_at=state.first_published_at,
        updated_at=state.published_at,
        revision=state.revision,
        article_count=len(state.articles),
        sections=list(state.sections),
        urgent_since=urgent_since,
        pins_json=_pins_json(state.pins),
        expires_at=expires_at,
    )


def next_state(
    draft: EditionDraft, org_id: str, source_version: str, now: str, previous: EditionState | None
) -> EditionState:
    """The edition after publishing `draft` over `previous` (None: first publication)."""
    urgent_since, pins = next_urgency(
        draft.kind, previous.urgent_since if previous else None, previous.pins if previous else (), now
    )
    revision = previous.revision + 1 if previous else 1
    history = [
        *(previous.history if previous else ()),
        {"revision": revision, "published_at": now, "source": source_version},
    ]
    article_ids = [a.article_id for a in draft.articles]
    return EditionState(
        edition_id=draft.edition_id,
        scope=draft.scope,
        org_id=org_id,
        kind=draft.kind,
        title=draft.title,
        week=draft.week,
        revision=revision,
        first_published_at=previous.first_published_at if previous else now,
        published_at=now,
        urgent_since=urgent_since,
        articles=tuple(
            {"article_id": a.article_id, "section": a.section, "title": a.title} for a in draft.articles
        ),
        sections=tuple(draft.sections),
        source_version=source_version,
        announced_revision=previous.announced_revision if previous else 0,
        history=tuple(history[-HISTORY_KEPT:]),
        pending_drops=previous.drops_after(article_ids) if previous else (),
        pins=pins,
    )


def publish(
    state: EditionState,
    articles: list[RenderedArticle],
    org_path: tuple[str, ...],
    previous: EditionState | None,
) -> None:
    """Write the whole revision in one transaction; raise `EditionChanged` or `ArticlesTaken`."""
    edition = models.Edition(
        state.edition_id,
        scope=state.scope,
        org_id=state.org_id,
        kind=state.kind,
        title=state.title,
        week=state.week,
        revision=state.revision,
        first_published_at=state.first_published_at,
        published_at=state.published_at,
        urgent_since=state.urgent_since,
        articles_json=json.dumps(list(state.articles), ensure_ascii=False, separators=(",", ":")),
        sections=list(state.sections),
        source_key=f"bulletins/{state.scope}/{state.edition_id}.json",
        source_etag=state.source_version,
        announced_revision=state.announced_revision,
        history_json=json.dumps(list(state.history), ensure_ascii=False, separators=(",", ":")),
        pending_drops=list(state.pending_drops) or None,
        pins_json=_pins_json(state.pins),
    )
    if previous is None:
        edition_condition = models.Edition.edition_id.does_not_exist()
    else:
        edition_condition = (models.Edition.revision == previous.revision) & (
            models.Edition.scope == state.scope
        )
    article_condition = models.Article.article_id.does_not_exist() | (
        models.Article.edition_id == state.edition_id
    )
    article_ids = []
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.save(edition, condition=edition_condition)
            normal = normal_sort_key(state.first_published_at, state.edition_id)
            tx.save(_feed_item(state, normal, None, state.urgent_since))
            # a U entry per urgent interval, kept (with the edition's current text and pins) until a
            # day after the interval ended: walks begun inside it still show the edition there
            published = datetime.fromisoformat(state.published_at)
            for since, until in state.pins:
                expires = datetime.fromisoformat(until) + U_ENTRY_KEPT
                if expires > published:
                    sort = urgent_sort_key(since, state.edition_id)
                    tx.save(_feed_item(state, sort, int(expires.timestamp()), since))
            kept = {since for since, _ in state.pins}
            for since, _ in previous.pins if previous is not None else ():
                if since not in kept:  # fell off PINS_KEPT
                    tx.delete(models.FeedItem(state.org_id, urgent_sort_key(since, state.edition_id)))
            for rendered in articles:
                draft = rendered.draft
                article_ids.append(draft.article_id)
                tx.save(
                    models.Article(
                        draft.article_id,
                        edition_id=state.edition_id,
                        scope=state.scope,
                        org_path=list(org_path),
                        revision=state.revision,
                        position=draft.position,
                        section=draft.section,
                        title=draft.title,
                        edition_title=state.title,
                        kind=state.kind,
                        links_json=json.dumps(
                            [{"title": link.title, "url": link.url} for link in draft.links],
                            ensure_ascii=False,
                            separators=(",", ":"),
                        ),
                        body_markdown=rendered.markdown_z,
                        body_html=rendered.html_z,
                        published_at=state.first_published_at,
                        updated_at=state.published_at,
                    ),
                    condition=article_condition,
                )
    except TransactWriteError as exc:
        codes = cancellation_codes(exc)
        if codes[:1] == ["ConditionalCheckFailed"] or is_transaction_conflict(exc):
            raise EditionChanged(state.edition_id) from exc
        article_codes = codes[len(codes) - len(article_ids) :] if len(codes) >= len(article_ids) else []
        taken = [
            aid
            for aid, code in zip(article_ids, article_codes, strict=False)
            if code == "ConditionalCheckFailed"
        ]
        if taken:
            raise ArticlesTaken(taken) from exc
        raise


def delete_articles(article_ids: list[str], edition_id: str, revision: int) -> int:
    """Delete articles a correction dropped (only while still at that edition's older revision).

    Each is one conditional DeleteItem: an article already gone, or published again since by this
    edition's `revision` or a later one, is left alone, so running this twice changes nothing.
    """
    deleted = 0
    for article_id in article_ids:
        try:
            models.Article(article_id).delete(
                condition=(models.Article.edition_id == edition_id) & (models.Article.revision < revision)
            )
            deleted += 1
        except DeleteError as exc:
            if not is_conditional_failure(exc):
                raise
    return deleted


def clear_pending_drops(edition_id: str, revision: int) -> None:
    """Forget the articles `revision` left to drop, once they are deleted (not if a newer revision
    was published meanwhile: it carries them over and clears them itself)."""
    try:
        models.Edition(edition_id).update(
            actions=[models.Edition.pending_drops.remove()],
            condition=models.Edition.revision == revision,
            add_version_condition=False,
        )
    except UpdateError as exc:
        if not is_conditional_failure(exc):
            raise


def mark_announced(edition_id: str, revision: int) -> None:
    """Remember that the event for `revision` went out (an older one never overwrites a newer one)."""
    try:
        models.Edition(edition_id).update(
            actions=[models.Edition.announced_revision.set(revision)],
            condition=models.Edition.announced_revision < revision,
            add_version_condition=False,
        )
    except UpdateError as exc:
        if not is_conditional_failure(exc):
            raise


# ---- articles and the feed ------------------------------------------------------------------------


def get_article(article_id: str) -> PublishedArticle | None:
    """One GetItem."""
    try:
        item = models.Article.get(article_id)
    except models.Article.DoesNotExist:
        return None
    return PublishedArticle(
        article_id=item.article_id,
        edition_id=item.edition_id,
        scope=item.scope,
        org_path=tuple(item.org_path or ()),
        revision=int(item.revision),
        position=int(item.position),
        section=item.section,
        title=item.title,
        edition_title=item.edition_title,
        kind=item.kind,
        links=tuple(json.loads(item.links_json or "[]")),
        body_markdown=zlib.decompress(item.body_markdown).decode(),
        body_html=zlib.decompress(item.body_html).decode(),
        published_at=item.published_at,
        updated_at=item.updated_at,
    )


def _entry(item: models.FeedItem) -> FeedEntry:
    return FeedEntry(
        sort=item.sort,
        edition_id=item.edition_id,
        scope=item.scope,
        kind=item.kind,
        title=item.title,
        week=item.week,
        published_at=item.published_at,
        updated_at=item.updated_at,
        revision=int(item.revision),
        article_count=int(item.article_count),
        sections=tuple(item.sections or ()),
        urgent_since=item.urgent_since,
        pins=_pins(item.pins_json, item.urgent_since),
    )


# The first page of a scope's feed, as this container last read it: {(scope, limit): (until, read)}.
# Every member's first page asks for central's head (and many for their province's): at an urgent
# bulletin's peak that is one partition read tens of thousands of times a second, more than a
# DynamoDB partition serves. Reusing a head for `feed_head_ttl` seconds (0.5 by default) bounds
# those reads by the number of containers, at the price of an edition showing up that much later.
# Later pages (a cursor) always read DynamoDB.
_heads: dict[tuple[str, int], tuple[float, ScopeRead]] = {}
HEADS_KEPT = 4096  # scopes x limits a container remembers at most (a department tree has ~3,200)


def feed_read(org_id: str, after: str | None, limit: int) -> ScopeRead:
    """A department's feed entries below `after`, newest first, at most `limit`: one Query, or none
    for a first page this container read less than `feed_head_ttl` seconds ago."""
    ttl = get_settings().feed_head_ttl
    if after is None and ttl > 0:
        now = time.monotonic()
        cached = _heads.get((org_id, limit))
        if cached is not None and cached[0] > now:
            return cached[1]
        read = _feed_query(org_id, None, limit)
        if len(_heads) >= HEADS_KEPT:
            _heads.clear()
        _heads[(org_id, limit)] = (now + ttl, read)
        return read
    return _feed_query(org_id, after, limit)


def forget_feed_heads() -> None:
    """Drop the heads this container remembers (tests)."""
    _heads.clear()


def _feed_query(org_id: str, after: str | None, limit: int) -> ScopeRead:
    condition = models.FeedItem.sort < after if after else None
    result = models.FeedItem.query(
        org_id, range_key_condition=condition, scan_index_forward=False, limit=limit, page_size=limit
    )
    entries = [_entry(item) for item in result]
    return ScopeRead(entries, result.last_evaluated_key is not None)


def put_feed_entries(entries: list[tuple[str, FeedEntry]]) -> None:
    """Batch-write feed entries directly (bench and tests seeding many editions)."""
    with models.FeedItem.batch_write() as batch:
        for org_id, e in entries:
            batch.save(
                models.FeedItem(
                    org_id,
                    e.sort,
                    edition_id=e.edition_id,
                    scope=e.scope,
                    kind=e.kind,
                    title=e.title,
                    week=e.week,
                    published_at=e.published_at,
                    updated_at=e.updated_at,
                    revision=e.revision,
                    article_count=e.article_count,
                    sections=list(e.sections),
                    urgent_since=e.urgent_since,
                    pins_json=_pins_json(e.pins),
                )
            )


# ---- S3: uploads and rejections -------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    body: bytes | None  # None when the object is larger than allowed (not read)
    size: int
    version: str  # what identifies this upload: its ETag and time (and version id, when versioned)


@cache
def _presigner() -> Any:
    import boto3
    from botocore.config import Config

    settings = get_settings()
    return boto3.client(
        "s3",
        region_name=settings.region,
        endpoint_url=settings.aws_endpoint,
        config=Config(
            signature_version="s3v4", s3={"addressing_style": "path"} if settings.aws_endpoint else {}
        ),
    )


def forget_presigner() -> None:
    _presigner.cache_clear()


def presign_put(bucket: str, key: str, expires_in: int, content_type: str) -> str:
    """A URL that lets its holder PUT exactly `key`, as `content_type`, until it expires (no AWS call).

    SigV4 query signing covers the method, the bucket and key (the path) and the headers listed in
    X-Amz-SignedHeaders: `host` and, because it is a parameter here, `content-type`. S3 refuses a
    request that changes any of them. A presigned PUT cannot carry a size limit (only POST policies
    can); ingest enforces the 2 MB limit instead and never reads more than that of an object.
    """
    return _presigner().generate_presigned_url(
        "put_object",
        Params={"Bucket": bucket, "Key": key, "ContentType": content_type},
        ExpiresIn=expires_in,
    )


def read_upload(bucket: str, key: str, max_bytes: int) -> Upload | None:
    """The uploaded object (None if it is gone); bodies over `max_bytes` are not read."""
    from chalicelib.store.clients import client

    s3 = client("s3")
    try:
        obj = s3.get_object(Bucket=bucket, Key=key)
    except s3.exceptions.NoSuchKey:
        return None
    size = int(obj.get("ContentLength") or 0)
    modified = obj.get("LastModified")
    version = "|".join(
        str(v)
        for v in (
            obj.get("ETag", "").strip('"'),
            modified.isoformat() if modified else "",
            obj.get("VersionId"),
        )
        if v
    )
    stream = obj["Body"]
    try:
        if size > max_bytes:
            return Upload(None, size, version)
        body = stream.read(max_bytes + 1)
    finally:
        stream.close()
    if len(body) > max_bytes:
        return Upload(None, len(body), version)
    return Upload(body, len(body), version)


def write_rejection(bucket: str, key: str, document: dict) -> None:
    from chalicelib.store.clients import client

    client("s3").put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(document, ensure_ascii=False, indent=2).encode(),
        ContentType="application/json",
    )


def read_rejection(bucket: str, key: str) -> dict | None:
    from chalicelib.store.clients import client

    s3 = client("s3")
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None


def delete_rejection(bucket: str, key: str) -> None:
    from chalicelib.store.clients import client

    client("s3").delete_object(Bucket=bucket, Key=key)


# ---- once-only marks ------------------------------------------------------------------------------


def claim_mark(mark_id: str, expires_at: int) -> bool:
    """Put a mark unless it exists; False when it did (the work was done before)."""
    from pynamodb.exceptions import PutError

    try:
        models.StreamMark(mark_id, expires_at=expires_at).save(
            condition=models.StreamMark.mark_id.does_not_exist()
        )
    except PutError as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def release_mark(mark_id: str) -> None:
    models.StreamMark(mark_id).delete()
