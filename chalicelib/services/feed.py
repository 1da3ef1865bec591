"""The member's feed: editions of central and of every department above the member's branches.

One Query per scope (department), merged in `domain.content.merge_feed`. The first page reads the
member's item to learn the scopes (and, with virtual branches, their orgs in one BatchGetItem);
the cursor carries the scopes, the position and the scopes already exhausted, so later pages cost
exactly one Query per scope with something left, however many editions exist. The position is a
sort key, and new editions always sort above every position already handed out, so a cursor stays
correct while editions arrive: no page repeats or skips one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain.content import feed_scopes, merge_feed
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.observability import member_ref


def _now() -> datetime:
    return datetime.now(UTC)


def member_scopes(caller_number: str) -> list[str]:
    """Departments whose editions the member sees: one GetItem (+ a BatchGetItem with virtual branches)."""
    from chalicelib.store import members, orgs

    member = members.get(caller_number)
    if member is None:
        raise NotFound("no such member")
    supervisors = []
    if member.virtual_branch_ids:
        for vb_id, org in sorted(orgs.get_many(sorted(member.virtual_branch_ids)).items()):
            # a virtual branch's path ends with itself, below its supervising department
            supervisors.append(org.path if org.path[-1:] == (vb_id,) else (*org.path, vb_id))
    return feed_scopes(member.home_path, member.attached_path, supervisors)


def feed(caller_number: str, limit: int, cursor: dict | None) -> tuple[list[dict], dict | None]:
    """One page of the feed and the key of the next (None at the end)."""
    from chalicelib.store import content as store

    owner = member_ref(caller_number)
    if cursor is None:
        scopes, done, after = member_scopes(caller_number), frozenset(), None
    else:
        scopes, done, after = _from_cursor(cursor, owner)
    now = _now()
    reads = {scope: store.feed_read(scope, after, limit) for scope in scopes if scope not in done}
    page = merge_feed(reads, limit, now, done)
    items = [entry.public(now) for entry in page.entries]
    if page.after is None or set(scopes) <= page.done:
        return items, None
    return items, {"m": owner, "s": scopes, "d": sorted(page.done), "a": page.after}


def _from_cursor(cursor: dict, owner: str) -> tuple[list[str], frozenset[str], str]:
    scopes, done, after = cursor.get("s"), cursor.get("d"), cursor.get("a")
    valid = (
        cursor.get("m") == owner
        and isinstance(scopes, list)
        and all(isinstance(s, str) for s in scopes)
        and isinstance(done, list)
        and all(isinstance(s, str) for s in done)
        and isinstance(after, str)
    )
    if not valid:
        raise ValidationFailed(
            "invalid cursor", errors=[{"field": "cursor", "message": "not a cursor of your feed"}]
        )
    return scopes, frozenset(done), after
