"""Member counts of departments, applied once per member change."""

from __future__ import annotations

import time

from chalicelib.domain.orgs import department_deltas

MARK_TTL_SECONDS = 7 * 24 * 3600  # longer than a stream keeps records (24 h)


def apply_member_change(mark_id: str, old_path: list[str] | None, new_path: list[str] | None) -> bool:
    """Move a member between department subtrees; False if this change was applied before."""
    from chalicelib.store import orgs

    deltas = department_deltas(old_path, new_path)
    if not deltas:
        return True
    return orgs.add_member_counts(deltas, mark_id, int(time.time()) + MARK_TTL_SECONDS)
