"""Organisational life routes: reflections under articles, study groups and their posts, discussions."""

from __future__ import annotations

import re

from chalice import Blueprint

from chalicelib.api.http import Call, Created, Paged, endpoint
from chalicelib.api.schemas import PageQuery
from chalicelib.api.schemas import life as s
from chalicelib.domain.errors import NotFound
from chalicelib.domain.identifiers import valid_id
from chalicelib.domain.life import ID_PATTERN

bp = Blueprint(__name__)
_LIFE_ID = re.compile(ID_PATTERN)


def _article(call: Call) -> str:
    value = call.params["article_id"]
    if not valid_id(value):
        raise NotFound(f"no article {value[:64]}")
    return value


def _life_id(call: Call, name: str, what: str) -> str:
    """An id this area hands out; anything else is not found (and never reaches DynamoDB)."""
    value = call.params[name]
    if not _LIFE_ID.match(value):
        raise NotFound(f"no {what} {value[:64]}")
    return value


# ---- reflections ----------------------------------------------------------------------------------


@endpoint(
    bp,
    "/v1/articles/{article_id}/reflections",
    "POST",
    summary="Write a reflection under an article; counts as a reflection activity",
    body=s.NewLifePost,
    response=s.LifePost,
    status=201,
    idempotent=True,
    errors=(400, 401, 404),
)
def add_reflection(call: Call) -> Created:
    from chalicelib.services.life import add_reflection

    return Created(add_reflection(call.caller, _article(call), call.body.body))


@endpoint(
    bp,
    "/v1/articles/{article_id}/reflections",
    summary="Reflections under an article, newest first",
    query=PageQuery,
    response=s.LifePostPage,
    paginated=True,
    errors=(400, 401, 404),
)
def list_reflections(call: Call) -> Paged:
    from chalicelib.services.life import list_reflections

    items, last = list_reflections(call.caller, _article(call), call.query.limit, call.cursor)
    return Paged(items, last)


@endpoint(
    bp,
    "/v1/articles/{article_id}/reflections/{reflection_id}",
    "DELETE",
    summary="Delete your own reflection",
    response=s.Deleted,
    errors=(401, 403, 404),
)
def delete_reflection(call: Call) -> dict:
    from chalicelib.services.life import delete_reflection

    return delete_reflection(call.caller, _article(call), _life_id(call, "reflection_id", "reflection"))


@endpoint(
    bp,
    "/v1/articles/{article_id}/reflections/{reflection_id}/hide",
    "POST",
    summary="Hide a reflection with a reason (staff of the publishing department or above)",
    body=s.HideRequest,
    response=s.LifePost,
    errors=(400, 401, 403, 404),
)
def hide_reflection(call: Call) -> dict:
    from chalicelib.services.life import hide_reflection

    rid = _life_id(call, "reflection_id", "reflection")
    return hide_reflection(call.caller, _article(call), rid, call.body.reason)


# ---- study groups ---------------------------------------------------------------------------------


@endpoint(
    bp,
    "/v1/groups",
    "POST",
    summary="Found a study group; the founder is its first member",
    body=s.NewGroup,
    response=s.GroupView,
    status=201,
    idempotent=True,
    errors=(400, 401),
)
def create_group(call: Call) -> Created:
    from chalicelib.services.life import create_group

    return Created(create_group(call.caller, call.body.name, call.body.topic))


@endpoint(
    bp,
    "/v1/groups",
    summary="Study groups under a department (default: the one above your branch), or yours (mine=true)",
    query=s.GroupListQuery,
    response=s.GroupPage,
    paginated=True,
    errors=(400, 401, 404),
)
def list_groups(call: Call) -> Paged:
    from chalicelib.services.life import list_groups

    q = call.query
    items, last = list_groups(call.caller, q.org_id, q.mine, q.limit, call.cursor)
    return Paged(items, last)


@endpoint(bp, "/v1/groups/{group_id}", summary="A study group", response=s.GroupView, errors=(401, 404))
def get_group(call: Call) -> dict:
    from chalicelib.services.life import get_group

    return get_group(call.caller, _life_id(call, "group_id", "group"))


@endpoint(
    bp,
    "/v1/groups/{group_id}/join",
    "POST",
    summary="Join a study group",
    response=s.GroupView,
    idempotent=True,
    errors=(401, 404, 409),
)
def join_group(call: Call) -> dict:
    from chalicelib.services.life import join_group

    return join_group(call.caller, _life_id(call, "group_id", "group"))


@endpoint(
    bp,
    "/v1/groups/{group_id}/leave",
    "POST",
    summary="Leave a study group",
    response=s.GroupLeft,
    idempotent=True,
    errors=(401, 404, 409),
)
def leave_group(call: Call) -> dict:
    from chalicelib.services.life import leave_group

    return leave_group(call.caller, _life_id(call, "group_id", "group"))


@endpoint(
    bp,
    "/v1/groups/{group_id}/posts",
    summary="A group's posts, newest first (its members)",
    query=PageQuery,
    response=s.LifePostPage,
    paginated=True,
    errors=(400, 401, 403, 404),
)
def list_group_posts(call: Call) -> Paged:
    from chalicelib.services.life import list_group_posts

    items, last = list_group_posts(
        call.caller, _life_id(call, "group_id", "group"), call.query.limit, call.cursor
    )
    return Paged(items, last)


@endpoint(
    bp,
    "/v1/groups/{group_id}/posts",
    "POST",
    summary="Post in a study group (its members); counts as a group_post activity",
    body=s.NewLifePost,
    response=s.LifePost,
    status=201,
    idempotent=True,
    errors=(400, 401, 403, 404),
)
def add_group_post(call: Call) -> Created:
    from chalicelib.services.life import add_group_post

    return Created(add_group_post(call.caller, _life_id(call, "group_id", "group"), call.body.body))


@endpoint(
    bp,
    "/v1/groups/{group_id}/posts/{post_id}",
    "DELETE",
    summary="Delete your own group post",
    response=s.Deleted,
    errors=(401, 403, 404),
)
def delete_group_post(call: Call) -> dict:
    from chalicelib.services.life import delete_group_post

    return delete_group_post(
        call.caller, _life_id(call, "group_id", "group"), _life_id(call, "post_id", "post")
    )


@endpoint(
    bp,
    "/v1/groups/{group_id}/posts/{post_id}/hide",
    "POST",
    summary="Hide a group post with a reason (staff over the group's branch)",
    body=s.HideRequest,
    response=s.LifePost,
    errors=(400, 401, 403, 404),
)
def hide_group_post(call: Call) -> dict:
    from chalicelib.services.life import hide_group_post

    gid, pid = _life_id(call, "group_id", "group"), _life_id(call, "post_id", "post")
    return hide_group_post(call.caller, gid, pid, call.body.reason)


# ---- discussions ----------------------------------------------------------------------------------


@endpoint(
    bp,
    "/v1/discussions",
    "POST",
    summary="Open a discussion thread (central area by default, or one of your departments')",
    body=s.NewDiscussion,
    response=s.DiscussionView,
    status=201,
    idempotent=True,
    errors=(400, 401, 403),
)
def create_discussion(call: Call) -> Created:
    from chalicelib.services.life import create_discussion

    b = call.body
    return Created(create_discussion(call.caller, b.title, b.body, b.org_id))


@endpoint(
    bp,
    "/v1/discussions",
    summary="Discussion threads of an area (default: central), newest first",
    query=s.DiscussionListQuery,
    response=s.DiscussionPage,
    paginated=True,
    errors=(400, 401),
)
def list_discussions(call: Call) -> Paged:
    from chalicelib.services.life import list_discussions

    items, last = list_discussions(call.caller, call.query.org_id, call.query.limit, call.cursor)
    return Paged(items, last)


@endpoint(
    bp,
    "/v1/discussions/{discussion_id}",
    summary="A discussion thread",
    response=s.DiscussionView,
    errors=(401, 404),
)
def get_discussion(call: Call) -> dict:
    from chalicelib.services.life import get_discussion

    return get_discussion(call.caller, _life_id(call, "discussion_id", "discussion"))


@endpoint(
    bp,
    "/v1/discussions/{discussion_id}",
    "DELETE",
    summary="Delete your own discussion thread",
    response=s.Deleted,
    errors=(401, 403, 404),
)
def delete_discussion(call: Call) -> dict:
    from chalicelib.services.life import delete_discussion

    return delete_discussion(call.caller, _life_id(call, "discussion_id", "discussion"))


@endpoint(
    bp,
    "/v1/discussions/{discussion_id}/hide",
    "POST",
    summary="Hide a discussion thread with a reason (staff of its area's department or above)",
    body=s.HideRequest,
    response=s.DiscussionView,
    errors=(400, 401, 403, 404),
)
def hide_discussion(call: Call) -> dict:
    from chalicelib.services.life import hide_discussion

    return hide_discussion(call.caller, _life_id(call, "discussion_id", "discussion"), call.body.reason)


@endpoint(
    bp,
    "/v1/discussions/{discussion_id}/replies",
    summary="Replies in a discussion, newest first",
    query=PageQuery,
    response=s.LifePostPage,
    paginated=True,
    errors=(400, 401, 404),
)
def list_replies(call: Call) -> Paged:
    from chalicelib.services.life import list_replies

    did = _life_id(call, "discussion_id", "discussion")
    items, last = list_replies(call.caller, did, call.query.limit, call.cursor)
    return Paged(items, last)


@endpoint(
    bp,
    "/v1/discussions/{discussion_id}/replies",
    "POST",
    summary="Reply in a discussion",
    body=s.NewLifePost,
    response=s.LifePost,
    status=201,
    idempotent=True,
    errors=(400, 401, 404, 409),
)
def add_reply(call: Call) -> Created:
    from chalicelib.services.life import add_reply

    return Created(add_reply(call.caller, _life_id(call, "discussion_id", "discussion"), call.body.body))


@endpoint(
    bp,
    "/v1/discussions/{discussion_id}/replies/{reply_id}",
    "DELETE",
    summary="Delete your own reply",
    response=s.Deleted,
    errors=(401, 403, 404),
)
def delete_reply(call: Call) -> dict:
    from chalicelib.services.life import delete_reply

    did, rid = _life_id(call, "discussion_id", "discussion"), _life_id(call, "reply_id", "reply")
    return delete_reply(call.caller, did, rid)


@endpoint(
    bp,
    "/v1/discussions/{discussion_id}/replies/{reply_id}/hide",
    "POST",
    summary="Hide a reply with a reason (staff of the area's department or above)",
    body=s.HideRequest,
    response=s.LifePost,
    errors=(400, 401, 403, 404),
)
def hide_reply(call: Call) -> dict:
    from chalicelib.services.life import hide_reply

    did, rid = _life_id(call, "discussion_id", "discussion"), _life_id(call, "reply_id", "reply")
    return hide_reply(call.caller, did, rid, call.body.reason)
