"""Request and response models of reflections, study groups, group posts and discussions."""

from __future__ import annotations

from pydantic import Field

from chalicelib.api.schemas import Model, PageQuery, Strict
from chalicelib.domain.life import (
    MAX_BODY_CHARS,
    MAX_NAME_CHARS,
    MAX_REASON_CHARS,
    MAX_THREAD_BODY_CHARS,
    MAX_TOPIC_CHARS,
)


class NewLifePost(Strict):
    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS)


class HideRequest(Strict):
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS)


class LifePost(Model):
    id: str
    author_name: str = Field(description="masked: the first character only")
    mine: bool
    body: str | None = Field(description="null when hidden")
    created_at: str
    status: str
    hidden_reason: str | None
    article_id: str | None = None
    group_id: str | None = None
    discussion_id: str | None = None


class LifePostPage(Model):
    items: list[LifePost]
    next_cursor: str | None


class Deleted(Model):
    id: str
    deleted: bool


class NewGroup(Strict):
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    topic: str = Field(min_length=1, max_length=MAX_TOPIC_CHARS)


class GroupView(Model):
    group_id: str
    name: str
    topic: str
    founder_name: str
    founded_by_me: bool
    org_id: str
    member_count: int
    created_at: str
    member: bool | None = None


class GroupPage(Model):
    items: list[GroupView]
    next_cursor: str | None


class GroupListQuery(PageQuery):
    org_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    mine: bool = False


class GroupLeft(Model):
    group_id: str
    member: bool


class NewDiscussion(Strict):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=MAX_THREAD_BODY_CHARS)
    org_id: str | None = Field(
        None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="default: central"
    )


class DiscussionView(Model):
    discussion_id: str
    org_id: str
    title: str | None
    body: str | None
    author_name: str
    mine: bool
    created_at: str
    reply_count: int
    status: str
    hidden_reason: str | None


class DiscussionPage(Model):
    items: list[DiscussionView]
    next_cursor: str | None


class DiscussionListQuery(PageQuery):
    org_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
