"""A member's to-do list: what waits for their decision, gathered from every area that has some.

Each area adds a source: a function `(member, now) -> list[item]`, named in `SOURCES` as
`"module:function"` (imported on first use, so the areas stay independent). An item is a dict with
at least `kind`, `id`, `org_id`, `created_at` and `overdue` (waiting longer than the area allows);
anything else it carries is the area's own. Sources must stay bounded (one Query per org the member
acts for, no Scan).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import UTC, datetime

from chalicelib.domain.errors import NotFound
from chalicelib.domain.members import Member

SOURCES: list[str] = [
    "chalicelib.services.transfers:inbox_items",  # formal transfers to decide (secretary, staff)
    "chalicelib.services.branches:pending_join_requests_for",  # join requests (secretary, deputies)
    "chalicelib.services.cases:open_cases_for",  # open appeals and reports (the department's staff)
]
MAX_ITEMS = 200

Source = Callable[[Member, datetime], list[dict]]


def _load(path: str) -> Source:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def inbox(caller: str, now: datetime | None = None) -> dict:
    """Every source's items, overdue first and then oldest first, with the number overdue."""
    from chalicelib.store import members

    now = now or datetime.now(UTC)
    member = members.get(caller)
    if member is None:
        raise NotFound("no such member")
    items: list[dict] = []
    for path in SOURCES:
        items.extend(_load(path)(member, now))
    items.sort(key=lambda item: (not item["overdue"], item["created_at"], item["id"]))
    return {
        "items": items[:MAX_ITEMS],
        "overdue_count": sum(1 for item in items if item["overdue"]),
        "truncated": len(items) > MAX_ITEMS,
    }
