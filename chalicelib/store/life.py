"""Reflections, study groups, group posts and discussions in DynamoDB; maps items to `domain.life`.

Each request is a bounded number of calls: one read of everything the decision needs (a
TransactGetItems, or a BatchGetItem with a projection where an item is large), then one write (a
transaction where a post comes with its activity item, its membership check or its reply count).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactGet, TransactWrite

from chalicelib.domain.errors import Conflict, Forbidden, NotFound
from chalicelib.domain.life import Discussion, Post, StudyGroup
from chalicelib.domain.members import Member
from chalicelib.store import models
from chalicelib.store.errors import cancellation_codes, is_conditional_failure
from chalicelib.store.pages import Page, query_page


def _connection():
    return models.Post._get_connection().connection


def _member(item: models.Member) -> Member:
    from chalicelib.store.members import to_domain

    return to_domain(item)


def _resolve(future, convert):
    from chalicelib.store.members import _resolve as resolve

    return resolve(future, convert)


# ---- mapping --------------------------------------------------------------------------------------


def to_post(item: models.Post) -> Post:
    return Post(
        parent=item.parent,
        post_id=item.post_id,
        author=item.author,
        author_name=item.author_name,
        body=item.body,
        created_at=item.created_at,
        status=item.status or "visible",
        hidden_reason=item.hidden_reason,
        hidden_at=item.hidden_at,
        org_path=tuple(item.org_path or ()),
    )


def to_group(item: models.StudyGroup) -> StudyGroup:
    return StudyGroup(
        group_id=item.group_id,
        name=item.name,
        topic=item.topic,
        founder=item.founder,
        founder_name=item.founder_name,
        org_id=item.org_id,
        org_path=tuple(item.org_path or ()),
        member_count=int(item.member_count or 0),
        created_at=item.created_at,
    )


def to_discussion(item: models.Discussion) -> Discussion:
    return Discussion(
        discussion_id=item.discussion_id,
        org_id=item.org_id,
        org_path=tuple(item.org_path or ()),
        title=item.title,
        body=item.body,
        author=item.author,
        author_name=item.author_name,
        created_at=item.created_at,
        reply_count=int(item.reply_count or 0),
        status=item.status or "visible",
        hidden_reason=item.hidden_reason,
    )


def _post_item(post: Post) -> models.Post:
    return models.Post(
        post.parent,
        post.post_id,
        author=post.author,
        author_name=post.author_name,
        body=post.body,
        created_at=post.created_at,
        status=post.status,
        org_path=list(post.org_path),
    )


# ---- reads ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleRef:
    article_id: str
    edition_id: str
    org_path: tuple[str, ...]


def member_and_article(number: str, article_id: str) -> tuple[Member | None, ArticleRef | None]:
    """The caller and an article's owner, one BatchGetItem (the article projected: bodies are large)."""
    from chalicelib.store.clients import client

    members_table = models.Member.Meta.table_name
    articles_table = models.Article.Meta.table_name
    request: dict[str, Any] = {
        members_table: {"Keys": [{"registration_number": {"S": number}}]},
        articles_table: {
            "Keys": [{"article_id": {"S": article_id}}],
            "ProjectionExpression": "article_id, edition_id, org_path",
        },
    }
    found: dict[str, list] = {}
    ddb = client("dynamodb")
    for _ in range(5):
        answer = ddb.batch_get_item(RequestItems=request)
        for table, items in answer.get("Responses", {}).items():
            found.setdefault(table, []).extend(items)
        request = answer.get("UnprocessedKeys") or {}
        if not request:
            break
    member = None
    if found.get(members_table):
        member = _member(models.Member.from_raw_data(found[members_table][0]))
    article = None
    if found.get(articles_table):
        raw = found[articles_table][0]
        article = ArticleRef(
            article_id=raw["article_id"]["S"],
            edition_id=raw["edition_id"]["S"],
            org_path=tuple(v["S"] for v in raw.get("org_path", {}).get("L", [])),
        )
    return member, article


def member_and_post(number: str, parent: str, post_id: str) -> tuple[Member | None, Post | None]:
    """The caller and a post, one TransactGetItems."""
    with TransactGet(connection=_connection()) as tx:
        member_f = tx.get(models.Member, number)
        post_f = tx.get(models.Post, parent, post_id)
    return _resolve(member_f, _member), _resolve(post_f, to_post)


@dataclass(frozen=True)
class GroupContext:
    caller: Member | None
    group: StudyGroup | None
    is_member: bool


def group_context(number: str, group_id: str) -> GroupContext:
    """The caller, the group and whether the caller belongs to it: one TransactGetItems."""
    with TransactGet(connection=_connection()) as tx:
        member_f = tx.get(models.Member, number)
        group_f = tx.get(models.StudyGroup, group_id)
        membership_f = tx.get(models.GroupMember, group_id, number)
    return GroupContext(
        caller=_resolve(member_f, _member),
        group=_resolve(group_f, to_group),
        is_member=_resolve(membership_f, lambda m: True) is True,
    )


def member_and_discussion(number: str, discussion_id: str) -> tuple[Member | None, Discussion | None]:
    with TransactGet(connection=_connection()) as tx:
        member_f = tx.get(models.Member, number)
        discussion_f = tx.get(models.Discussion, discussion_id)
    return _resolve(member_f, _member), _resolve(discussion_f, to_discussion)


def get_post(parent: str, post_id: str) -> Post | None:
    try:
        return to_post(models.Post.get(parent, post_id))
    except models.Post.DoesNotExist:
        return None


def get_group(group_id: str) -> StudyGroup | None:
    try:
        return to_group(models.StudyGroup.get(group_id))
    except models.StudyGroup.DoesNotExist:
        return None


def get_discussion(discussion_id: str) -> Discussion | None:
    try:
        return to_discussion(models.Discussion.get(discussion_id))
    except models.Discussion.DoesNotExist:
        return None


def posts(parent: str, limit: int, cursor: dict | None) -> Page:
    """Posts under a parent, newest first: one Query."""
    return query_page(models.Post, parent, limit, cursor, to_post, scan_index_forward=False)


def groups_in(org_id: str, limit: int, cursor: dict | None) -> Page:
    """Study groups listed under a department, newest first: one Query."""
    return query_page(models.StudyGroup.by_org, org_id, limit, cursor, to_group, scan_index_forward=False)


def groups_of(number: str, limit: int, cursor: dict | None) -> Page:
    """The groups a member belongs to, newest group first: one Query and one BatchGetItem."""
    page = query_page(
        models.GroupMember.by_member, number, limit, cursor, lambda m: m.group_id, scan_index_forward=False
    )
    found = {g.group_id: to_group(g) for g in models.StudyGroup.batch_get(page.items)} if page.items else {}
    return Page([found[g] for g in page.items if g in found], page.last_key)


def discussions_in(org_id: str, limit: int, cursor: dict | None) -> Page:
    """Threads of a department's area, newest first: one Query."""
    return query_page(
        models.Discussion.by_org, org_id, limit, cursor, to_discussion, scan_index_forward=False
    )


# ---- writes ---------------------------------------------------------------------------------------


def add_post(
    post: Post,
    *,
    activity: models.Activity | None = None,
    member_of_group: str | None = None,
    reply_to: str | None = None,
) -> None:
    """Write a post in one transaction with its activity item, its membership check or its thread's count."""
    checks = []
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.save(_post_item(post), condition=models.Post.post_id.does_not_exist())
            checks.append("post")
            if activity is not None:
                tx.save(activity, condition=models.Activity.activity_id.does_not_exist())
                checks.append("activity")
            if member_of_group is not None:
                tx.condition_check(
                    models.GroupMember,
                    member_of_group,
                    post.author,
                    condition=models.GroupMember.registration_number.exists(),
                )
                checks.append("membership")
            if reply_to is not None:
                tx.update(
                    models.Discussion(reply_to),
                    actions=[models.Discussion.reply_count.add(1)],
                    condition=models.Discussion.discussion_id.exists(),
                    add_version_condition=False,
                )
                checks.append("thread")
    except TransactWriteError as exc:
        failed = {
            name
            for name, code in zip(checks, cancellation_codes(exc), strict=False)
            if code == "ConditionalCheckFailed"
        }
        if "membership" in failed:
            raise Forbidden("only members of this group may post in it") from exc
        if "thread" in failed:
            raise NotFound("no such discussion") from exc
        if failed:
            raise Conflict("this post was written already") from exc
        raise


def delete_post(parent: str, post_id: str, author: str, reply_to: str | None = None) -> None:
    """Delete a post if `author` wrote it (and count it off its thread)."""
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.delete(models.Post(parent, post_id), condition=models.Post.author == author)
            if reply_to is not None:
                tx.update(
                    models.Discussion(reply_to),
                    actions=[models.Discussion.reply_count.add(-1)],
                    condition=models.Discussion.discussion_id.exists(),
                    add_version_condition=False,
                )
    except TransactWriteError as exc:
        codes = cancellation_codes(exc)
        if codes[:1] == ["ConditionalCheckFailed"]:
            raise Forbidden("only its author may delete a post") from exc
        if "ConditionalCheckFailed" in codes:  # the thread is gone: the reply goes on its own
            delete_post(parent, post_id, author)
            return
        raise


def hide_post(parent: str, post_id: str, reason: str, by: str, at: str) -> Post:
    """Hide a post with a reason; the updated post."""
    item = models.Post(parent, post_id)
    try:
        item.update(
            actions=[
                models.Post.status.set("hidden"),
                models.Post.hidden_reason.set(reason),
                models.Post.hidden_by.set(by),
                models.Post.hidden_at.set(at),
            ],
            condition=models.Post.post_id.exists(),
            add_version_condition=False,
        )
    except UpdateError as exc:
        if is_conditional_failure(exc):
            raise NotFound("no such post") from exc
        raise
    return to_post(item)


def create_group(group: StudyGroup, founder_joined_at: str) -> None:
    """The group and its founder's membership, in one transaction."""
    with TransactWrite(connection=_connection()) as tx:
        tx.save(
            models.StudyGroup(
                group.group_id,
                name=group.name,
                topic=group.topic,
                founder=group.founder,
                founder_name=group.founder_name,
                org_id=group.org_id,
                org_path=list(group.org_path),
                member_count=1,
                created_at=group.created_at,
            ),
            condition=models.StudyGroup.group_id.does_not_exist(),
        )
        tx.save(
            models.GroupMember(
                group.group_id, group.founder, joined_at=founder_joined_at, group_name=group.name
            ),
        )


def join_group(group: StudyGroup, number: str, at: str) -> None:
    """Add a member and count them, in one transaction (409 if already a member)."""
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.save(
                models.GroupMember(group.group_id, number, joined_at=at, group_name=group.name),
                condition=models.GroupMember.registration_number.does_not_exist(),
            )
            tx.update(
                models.StudyGroup(group.group_id),
                actions=[models.StudyGroup.member_count.add(1)],
                condition=models.StudyGroup.group_id.exists(),
                add_version_condition=False,
            )
    except TransactWriteError as exc:
        codes = cancellation_codes(exc)
        if codes[:1] == ["ConditionalCheckFailed"]:
            raise Conflict("you are already a member of this group") from exc
        if "ConditionalCheckFailed" in codes:
            raise NotFound("no such group") from exc
        raise


def leave_group(group_id: str, number: str) -> None:
    """Remove a member and count them off, in one transaction (409 if not a member)."""
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.delete(
                models.GroupMember(group_id, number),
                condition=models.GroupMember.registration_number.exists(),
            )
            tx.update(
                models.StudyGroup(group_id),
                actions=[models.StudyGroup.member_count.add(-1)],
                condition=models.StudyGroup.group_id.exists(),
                add_version_condition=False,
            )
    except TransactWriteError as exc:
        codes = cancellation_codes(exc)
        if codes[:1] == ["ConditionalCheckFailed"]:
            raise Conflict("you are not a member of this group") from exc
        if "ConditionalCheckFailed" in codes:
            raise NotFound("no such group") from exc
        raise


def create_discussion(d: Discussion) -> None:
    try:
        models.Discussion(
            d.discussion_id,
            org_id=d.org_id,
            org_path=list(d.org_path),
            title=d.title,
            body=d.body,
            author=d.author,
            author_name=d.author_name,
            created_at=d.created_at,
            reply_count=0,
            status="visible",
        ).save(condition=models.Discussion.discussion_id.does_not_exist())
    except PutError as exc:
        if is_conditional_failure(exc):
            raise Conflict("this discussion exists already") from exc
        raise


def delete_discussion(discussion_id: str, author: str) -> None:
    try:
        models.Discussion(discussion_id).delete(condition=models.Discussion.author == author)
    except DeleteError as exc:
        if is_conditional_failure(exc):
            raise Forbidden("only its author may delete a discussion") from exc
        raise


def hide_discussion(discussion_id: str, reason: str, by: str, at: str) -> Discussion:
    item = models.Discussion(discussion_id)
    try:
        item.update(
            actions=[
                models.Discussion.status.set("hidden"),
                models.Discussion.hidden_reason.set(reason),
                models.Discussion.hidden_by.set(by),
                models.Discussion.hidden_at.set(at),
            ],
            condition=models.Discussion.discussion_id.exists(),
            add_version_condition=False,
        )
    except UpdateError as exc:
        if is_conditional_failure(exc):
            raise NotFound("no such discussion") from exc
        raise
    return to_discussion(item)
