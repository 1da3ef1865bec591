"""Request and response models of bulletins, the feed, articles and client-reported activity."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from chalicelib.api.schemas import Model, PageQuery, Strict
from chalicelib.domain.activity import MAX_EVENTS
from chalicelib.domain.identifiers import ID_PATTERN, SCOPE_PATTERN


class UploadUrlRequest(Strict):
    scope: str = Field(pattern=SCOPE_PATTERN, description="`central` or a department's division code")
    edition_id: str = Field(pattern=ID_PATTERN)


class UploadUrl(Model):
    upload_url: str
    key: str
    method: Literal["PUT"]
    headers: dict[str, str] = Field(description="headers to send with the PUT")
    expires_in: int
    max_bytes: int
    rejection_key: str


class UploadStatus(Model):
    key: str
    published_revision: int | None
    updated_at: str | None
    rejection: dict | None


class FeedEdition(Model):
    edition_id: str
    scope: str
    kind: Literal["weekly", "urgent"]
    title: str
    week: str | None
    published_at: str
    updated_at: str
    revision: int
    article_count: int
    sections: list[str]
    pinned: bool = Field(description="shown first: urgent and younger than 7 days")


class FeedPage(Model):
    items: list[FeedEdition]
    next_cursor: str | None


class FeedQuery(PageQuery):
    pass


class EditionArticle(Model):
    article_id: str
    section: str
    title: str
    position: int


class EditionView(Model):
    edition_id: str
    scope: str
    org_id: str
    kind: Literal["weekly", "urgent"]
    title: str
    week: str | None
    revision: int
    published_at: str
    updated_at: str
    sections: list[str]
    articles: list[EditionArticle]


class ArticleLink(Model):
    title: str
    url: str


class ArticleView(Model):
    article_id: str
    edition_id: str
    edition_title: str
    scope: str
    kind: str
    section: str
    position: int
    title: str
    body_html: str = Field(description="sanitised HTML: no script, event handler, iframe or non-http(s) URL")
    body_markdown: str
    links: list[ArticleLink]
    revision: int
    published_at: str
    updated_at: str


class ActivityBatch(Strict):
    events: list[Any] = Field(
        min_length=1,
        max_length=MAX_EVENTS,
        description='each {"event_id", "type": "section_open"|"article_open", "target", "at"}; '
        "each invalid event is rejected on its own",
    )


class ActivityEventResult(Model):
    event_id: str | None
    status: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = None


class ActivityReport(Model):
    accepted: int
    duplicate: int
    rejected: int
    results: list[ActivityEventResult]
