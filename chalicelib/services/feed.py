"""The member's feed: editions of central and of every department above the member's branches.

One Query per scope (department), merged in `domain.content.merge_feed`. The first page reads the
member's item to learn the scopes (and, with virtual branches, their orgs in one BatchGetItem);
the cursor carries the scopes, the position and the scopes already exhausted, so later pages cost
exactly one Query per scope with something left, however many editions exist.

The cursor also carries the instant the walk began (`domain.content.walk_instant`), and every page
decides what is pinned and what is shown at that instant: an urgent edition passing its seven days,
or corrected to weekly or to urgent, while the member pages, keeps the place it had on the first
page, and editions published since (which sort above the position in their tier, but below it when
the walk is still in the urgent tier) wait for the next walk. So no page repeats or skips an edition.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain.content import feed_scopes, iso, merge_feed, walk_instant
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
        scopes, done, after, began = member_scopes(caller_number), frozenset(), None, None
    else:
        scopes, done, after, began = _from_cursor(cursor, owner)
    reads = {scope: store.feed_read(scope, after, limit) for scope in scopes if scope not in done}
    if began is None:
        began = walk_instant(reads, _now())
    page = merge_feed(reads, limit, began, done)
    items = [entry.public(began) for entry in page.entries]
    if page.after is None or set(scopes) <= page.done:
        return items, None
    return items, {"m": owner, "s": scopes, "d": sorted(page.done), "a": page.after, "t": iso(began)}


def _from_cursor(cursor: dict, owner: str) -> tuple[list[str], frozenset[str], str, datetime]:
    scopes, done, after, began = cursor.get("s"), cursor.get("d"), cursor.get("a"), cursor.get("t")
    valid = (
        cursor.get("m") == owner
        and isinstance(scopes, list)
        and all(isinstance(s, str) for s in scopes)
        and isinstance(done, list)
        and all(isinstance(s, str) for s in done)
        and isinstance(after, str)
        and (began is None or isinstance(began, str))
    )
    moment = None
    if valid and isinstance(began, str):
        try:
            moment = datetime.fromisoformat(began)
        except ValueError:
            valid = False
        else:
            valid = moment.tzinfo is not None
    if not valid:
        raise ValidationFailed(
            "invalid cursor", errors=[{"field": "cursor", "message": "not a cursor of your feed"}]
        )
    # cursors handed out before walks carried their instant: judge at the time of the request
    return scopes, frozenset(done), after, moment or _now()
