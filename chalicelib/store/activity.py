"""Activity items: one per counted action; the scoring consumer reads them from the stream."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import PutError

from chalicelib.store import models
from chalicelib.store.errors import is_conditional_failure

TTL_SECONDS = 400 * 24 * 3600


def record(number: str, event_id: str, type_: str, at: datetime, target: str | None = None) -> bool:
    """Write one activity item; False when the same event was recorded before (replays count once)."""
    at_iso = at.isoformat(timespec="seconds")
    item = models.Activity(
        number,
        f"{at_iso}#{event_id}",
        type=type_,
        target=target,
        at=at_iso,
        expires_at=int(at.timestamp()) + TTL_SECONDS,
    )
    try:
        item.save(condition=models.Activity.activity_id.does_not_exist())
    except PutError as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True
