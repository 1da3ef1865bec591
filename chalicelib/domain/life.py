"""Organisational life: reflections, study groups and their posts, discussions; ids and who may do what.

Posts of every kind (a reflection under an article, a post in a study group, a reply in a
discussion) share one shape. Ids sort by creation time, so a Query in descending key order is a
list newest first, and each id is the sort key it was written under.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

from chalicelib.domain import roles

MAX_BODY_CHARS = 5000
MAX_THREAD_BODY_CHARS = 10000
MAX_NAME_CHARS = 100
MAX_TOPIC_CHARS = 500
MAX_REASON_CHARS = 500

ID_PATTERN = r"^[a-z]{1,2}-[0-9a-f]{20}$"


def new_id(prefix: str, now_ms: int | None = None) -> str:
    """`{prefix}-{12 hex digits of milliseconds}{8 random hex}`: unique, and text order is time order."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return f"{prefix}-{ms:012x}{secrets.token_hex(4)}"


def mask_name(name: str) -> str:
    """What other members see of an author: the first character, then stars (张三 -> 张*, 王小明 -> 王**)."""
    name = (name or "").strip()
    if not name:
        return "*"
    return name[0] + "*" * min(max(len(name) - 1, 1), 2)


def may_moderate(caller_roles: Iterable[str] | None, org_path: Iterable[str]) -> bool:
    """Staff of the department the content belongs to, or of any department above it."""
    return roles.holds(caller_roles, tuple(org_path), ["staff"])


@dataclass(frozen=True)
class Post:
    """A reflection, a group post or a discussion reply."""

    parent: str
    post_id: str
    author: str
    author_name: str
    body: str
    created_at: str
    status: str = "visible"
    hidden_reason: str | None = None
    hidden_at: str | None = None
    org_path: tuple[str, ...] = ()

    def public(self, viewer: str) -> dict:
        hidden = self.status == "hidden"
        return {
            "id": self.post_id,
            "author_name": self.author_name,
            "mine": self.author == viewer,
            "body": None if hidden else self.body,
            "created_at": self.created_at,
            "status": self.status,
            "hidden_reason": self.hidden_reason if hidden else None,
        }


@dataclass(frozen=True)
class StudyGroup:
    group_id: str
    name: str
    topic: str
    founder: str
    founder_name: str
    org_id: str
    org_path: tuple[str, ...]
    member_count: int
    created_at: str

    def public(self, viewer: str, member: bool | None = None) -> dict:
        out = {
            "group_id": self.group_id,
            "name": self.name,
            "topic": self.topic,
            "founder_name": self.founder_name,
            "founded_by_me": self.founder == viewer,
            "org_id": self.org_id,
            "member_count": self.member_count,
            "created_at": self.created_at,
        }
        if member is not None:
            out["member"] = member
        return out


@dataclass(frozen=True)
class Discussion:
    discussion_id: str
    org_id: str
    org_path: tuple[str, ...]
    title: str
    body: str
    author: str
    author_name: str
    created_at: str
    reply_count: int = 0
    status: str = "visible"
    hidden_reason: str | None = None

    def public(self, viewer: str) -> dict:
        hidden = self.status == "hidden"
        return {
            "discussion_id": self.discussion_id,
            "org_id": self.org_id,
            "title": None if hidden else self.title,
            "body": None if hidden else self.body,
            "author_name": self.author_name,
            "mine": self.author == viewer,
            "created_at": self.created_at,
            "reply_count": self.reply_count,
            "status": self.status,
            "hidden_reason": self.hidden_reason if hidden else None,
        }


def group_directory(home_path: tuple[str, ...]) -> str:
    """Where a member's new group is listed: the department directly above their home branch."""
    return home_path[-2] if len(home_path) >= 2 else (home_path[0] if home_path else "central")
