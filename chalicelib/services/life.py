"""Organisational life: reflections under articles, study groups and their posts, open discussions.

Who may do what: any member writes reflections and discussion threads and replies, founds and
joins groups; only a group's members read and write its posts. Authors delete their own posts.
Staff of the department the content belongs to (the article's publishing department, the
department over the group founder's branch, the discussion area's department), or of any
department above it, may hide a post with a reason; a hidden post stays in its list with its
reason and without its text. Reflections and group posts count as `reflection` and `group_post`
activities, written in the same transaction as the post.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain.content import iso
from chalicelib.domain.divisions import CENTRAL_ORG_ID
from chalicelib.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from chalicelib.domain.life import (
    Discussion,
    Post,
    StudyGroup,
    group_directory,
    mask_name,
    may_moderate,
    new_id,
)
from chalicelib.domain.members import Member
from chalicelib.observability import count


def _now() -> datetime:
    return datetime.now(UTC)


def _require_member(member: Member | None) -> Member:
    if member is None:
        raise NotFound("no such member")
    return member


def _article_parent(article_id: str) -> str:
    return f"article#{article_id}"


def _group_parent(group_id: str) -> str:
    return f"group#{group_id}"


def _discussion_parent(discussion_id: str) -> str:
    return f"discussion#{discussion_id}"


def _new_post(
    prefix: str, parent: str, author: Member, body: str, org_path: tuple[str, ...], now: datetime
) -> Post:
    return Post(
        parent=parent,
        post_id=new_id(prefix, int(now.timestamp() * 1000)),
        author=author.registration_number,
        author_name=mask_name(author.name),
        body=body,
        created_at=iso(now),
        org_path=org_path,
    )


def _delete(caller: str, parent: str, post_id: str, reply_to: str | None = None) -> dict:
    from chalicelib.store import life as store

    post = store.get_post(parent, post_id)
    if post is None:
        raise NotFound("no such post")
    if post.author != caller:
        raise Forbidden("only its author may delete a post")
    store.delete_post(parent, post_id, caller, reply_to=reply_to)
    return {"id": post_id, "deleted": True}


def _hide(caller: str, parent: str, post_id: str, reason: str) -> dict:
    from chalicelib.store import life as store

    member, post = store.member_and_post(caller, parent, post_id)
    if post is None:
        raise NotFound("no such post")
    if member is None or not may_moderate(member.roles, post.org_path):
        raise Forbidden("only staff of the department it belongs to, or above, may hide this")
    return store.hide_post(parent, post_id, reason, caller, iso(_now())).public(caller)


# ---- reflections ----------------------------------------------------------------------------------


def add_reflection(caller: str, article_id: str, body: str) -> dict:
    """A reflection under an article: one BatchGetItem, one transaction (with its activity)."""
    from chalicelib.store import life as store
    from chalicelib.store.reported import activity_item

    member, article = store.member_and_article(caller, article_id)
    if article is None:
        raise NotFound(f"no article {article_id}")
    member = _require_member(member)
    now = _now()
    post = _new_post("r", _article_parent(article_id), member, body, article.org_path, now)
    store.add_post(post, activity=activity_item(caller, post.post_id, "reflection", now, article_id))
    count("Reflections")
    return {**post.public(caller), "article_id": article_id}


def list_reflections(caller: str, article_id: str, limit: int, cursor: dict | None):
    """Reflections under an article, newest first (404 for an unknown article)."""
    from chalicelib.store import content
    from chalicelib.store import life as store

    page = store.posts(_article_parent(article_id), limit, cursor)
    if not page.items and cursor is None and content.get_article(article_id) is None:
        raise NotFound(f"no article {article_id}")
    return [{**p.public(caller), "article_id": article_id} for p in page.items], page.last_key


def delete_reflection(caller: str, article_id: str, reflection_id: str) -> dict:
    return _delete(caller, _article_parent(article_id), reflection_id)


def hide_reflection(caller: str, article_id: str, reflection_id: str, reason: str) -> dict:
    return {**_hide(caller, _article_parent(article_id), reflection_id, reason), "article_id": article_id}


# ---- study groups ---------------------------------------------------------------------------------


def create_group(caller: str, name: str, topic: str) -> dict:
    """Found a group, listed under the department above the founder's branch; the founder joins it."""
    from chalicelib.store import life as store
    from chalicelib.store import members

    member = _require_member(members.get(caller))
    now = iso(_now())
    group = StudyGroup(
        group_id=new_id("g"),
        name=name,
        topic=topic,
        founder=caller,
        founder_name=mask_name(member.name),
        org_id=group_directory(member.home_path),
        org_path=member.home_path,
        member_count=1,
        created_at=now,
    )
    store.create_group(group, now)
    count("StudyGroupsFounded")
    return group.public(caller, member=True)


def list_groups(caller: str, org_id: str | None, mine: bool, limit: int, cursor: dict | None):
    """The caller's own groups (`mine`), or the groups listed under a department (default: the caller's)."""
    from chalicelib.store import life as store
    from chalicelib.store import members

    if mine:
        page = store.groups_of(caller, limit, cursor)
        return [g.public(caller, member=True) for g in page.items], page.last_key
    if org_id is None:
        org_id = group_directory(_require_member(members.get(caller)).home_path)
    page = store.groups_in(org_id, limit, cursor)
    return [g.public(caller) for g in page.items], page.last_key


def get_group(caller: str, group_id: str) -> dict:
    from chalicelib.store import life as store

    ctx = store.group_context(caller, group_id)
    if ctx.group is None:
        raise NotFound(f"no group {group_id}")
    return ctx.group.public(caller, member=ctx.is_member)


def join_group(caller: str, group_id: str) -> dict:
    from chalicelib.store import life as store

    group = store.get_group(group_id)
    if group is None:
        raise NotFound(f"no group {group_id}")
    store.join_group(group, caller, iso(_now()))
    view = group.public(caller, member=True)
    view["member_count"] += 1
    return view


def leave_group(caller: str, group_id: str) -> dict:
    from chalicelib.store import life as store

    store.leave_group(group_id, caller)
    return {"group_id": group_id, "member": False}


def _group_for_posts(caller: str, group_id: str):
    from chalicelib.store import life as store

    ctx = store.group_context(caller, group_id)
    if ctx.group is None:
        raise NotFound(f"no group {group_id}")
    return ctx


def list_group_posts(caller: str, group_id: str, limit: int, cursor: dict | None):
    """A group's posts, newest first: for its members, and for staff who moderate it."""
    from chalicelib.store import life as store

    ctx = _group_for_posts(caller, group_id)
    caller_roles = ctx.caller.roles if ctx.caller else frozenset()
    if not ctx.is_member and not may_moderate(caller_roles, ctx.group.org_path):
        raise Forbidden("only members of this group may read its posts")
    page = store.posts(_group_parent(group_id), limit, cursor)
    return [{**p.public(caller), "group_id": group_id} for p in page.items], page.last_key


def add_group_post(caller: str, group_id: str, body: str) -> dict:
    """A post by a member of the group: one TransactGetItems, one transaction (membership checked again)."""
    from chalicelib.store import life as store
    from chalicelib.store.reported import activity_item

    ctx = _group_for_posts(caller, group_id)
    if not ctx.is_member:
        raise Forbidden("only members of this group may post in it")
    member = _require_member(ctx.caller)
    now = _now()
    post = _new_post("p", _group_parent(group_id), member, body, ctx.group.org_path, now)
    store.add_post(
        post,
        activity=activity_item(caller, post.post_id, "group_post", now, group_id),
        member_of_group=group_id,
    )
    count("GroupPosts")
    return {**post.public(caller), "group_id": group_id}


def delete_group_post(caller: str, group_id: str, post_id: str) -> dict:
    return _delete(caller, _group_parent(group_id), post_id)


def hide_group_post(caller: str, group_id: str, post_id: str, reason: str) -> dict:
    return {**_hide(caller, _group_parent(group_id), post_id, reason), "group_id": group_id}


# ---- discussions ----------------------------------------------------------------------------------


def create_discussion(caller: str, title: str, body: str, org_id: str | None) -> dict:
    """Open a thread in the central area (default) or the area of one of the caller's own departments."""
    from chalicelib.store import life as store
    from chalicelib.store import members

    org_id = org_id or CENTRAL_ORG_ID
    if org_id == CENTRAL_ORG_ID:
        member, path = _require_member(members.get(caller)), (CENTRAL_ORG_ID,)
    else:
        member, org = members.get_with_org(caller, org_id)
        member = _require_member(member)
        if org is None or not org.is_department:
            raise ValidationFailed(
                "unknown discussion area", errors=[{"field": "org_id", "message": "not a department"}]
            )
        if org_id not in (*member.home_path, *member.attached_path):
            raise Forbidden("threads may be opened in the central area or in your own departments' areas")
        path = org.path
    now = _now()
    discussion = Discussion(
        discussion_id=new_id("d", int(now.timestamp() * 1000)),
        org_id=org_id,
        org_path=tuple(path),
        title=title,
        body=body,
        author=caller,
        author_name=mask_name(member.name),
        created_at=iso(now),
    )
    store.create_discussion(discussion)
    count("Discussions")
    return discussion.public(caller)


def list_discussions(caller: str, org_id: str | None, limit: int, cursor: dict | None):
    from chalicelib.store import life as store

    page = store.discussions_in(org_id or CENTRAL_ORG_ID, limit, cursor)
    return [d.public(caller) for d in page.items], page.last_key


def get_discussion(caller: str, discussion_id: str) -> dict:
    from chalicelib.store import life as store

    discussion = store.get_discussion(discussion_id)
    if discussion is None:
        raise NotFound(f"no discussion {discussion_id}")
    return discussion.public(caller)


def delete_discussion(caller: str, discussion_id: str) -> dict:
    from chalicelib.store import life as store

    discussion = store.get_discussion(discussion_id)
    if discussion is None:
        raise NotFound(f"no discussion {discussion_id}")
    if discussion.author != caller:
        raise Forbidden("only its author may delete a discussion")
    store.delete_discussion(discussion_id, caller)
    return {"id": discussion_id, "deleted": True}


def hide_discussion(caller: str, discussion_id: str, reason: str) -> dict:
    from chalicelib.store import life as store

    member, discussion = store.member_and_discussion(caller, discussion_id)
    if discussion is None:
        raise NotFound(f"no discussion {discussion_id}")
    if member is None or not may_moderate(member.roles, discussion.org_path):
        raise Forbidden("only staff of the area's department, or above, may hide this")
    return store.hide_discussion(discussion_id, reason, caller, iso(_now())).public(caller)


def add_reply(caller: str, discussion_id: str, body: str) -> dict:
    from chalicelib.store import life as store

    member, discussion = store.member_and_discussion(caller, discussion_id)
    if discussion is None:
        raise NotFound(f"no discussion {discussion_id}")
    if discussion.status == "hidden":
        raise Conflict("this discussion was hidden; it takes no more replies")
    member = _require_member(member)
    now = _now()
    post = _new_post("rp", _discussion_parent(discussion_id), member, body, discussion.org_path, now)
    store.add_post(post, reply_to=discussion_id)
    return {**post.public(caller), "discussion_id": discussion_id}


def list_replies(caller: str, discussion_id: str, limit: int, cursor: dict | None):
    from chalicelib.store import life as store

    page = store.posts(_discussion_parent(discussion_id), limit, cursor)
    if not page.items and cursor is None and store.get_discussion(discussion_id) is None:
        raise NotFound(f"no discussion {discussion_id}")
    return [{**p.public(caller), "discussion_id": discussion_id} for p in page.items], page.last_key


def delete_reply(caller: str, discussion_id: str, reply_id: str) -> dict:
    return _delete(caller, _discussion_parent(discussion_id), reply_id, reply_to=discussion_id)


def hide_reply(caller: str, discussion_id: str, reply_id: str, reason: str) -> dict:
    return {
        **_hide(caller, _discussion_parent(discussion_id), reply_id, reason),
        "discussion_id": discussion_id,
    }
