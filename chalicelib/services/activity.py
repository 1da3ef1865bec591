"""Client-reported activity: validate each event on its own, record the good ones once each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.activity import EVENTS_PER_HOUR, check_event, rate_window
from chalicelib.domain.errors import TooManyRequests
from chalicelib.observability import count


def _now() -> datetime:
    return datetime.now(UTC)


def report(caller_number: str, events: list[Any]) -> dict:
    """Record a batch; every event gets a status: accepted, duplicate or rejected (with the reason).

    Every event sent counts against the member's hourly allowance (429 past it, nothing recorded).
    """
    from chalicelib.store import reported, throttle

    now = _now()
    window = rate_window(now)
    if events and not throttle.take(
        f"activity:{caller_number}:{window.key}", len(events), EVENTS_PER_HOUR, window.expires_at
    ):
        raise TooManyRequests(
            f"more than {EVENTS_PER_HOUR} activity events in an hour", retry_after=window.retry_after
        )
    results: list[dict] = []
    valid = []
    in_batch: set[str] = set()
    for value in events:
        event, reason = check_event(value, now)
        event_id = value.get("event_id") if isinstance(value, dict) else None
        entry: dict = {"event_id": event_id if isinstance(event_id, str) else None}
        if event is None:
            entry.update(status="rejected", reason=reason)
        elif event.event_id in in_batch:
            entry.update(status="duplicate")
        else:
            in_batch.add(event.event_id)
            valid.append(event)
            entry.update(status="pending")
        results.append(entry)
    recorded = reported.record(caller_number, valid, now)
    for entry in results:
        if entry["status"] == "pending":
            entry["status"] = "accepted" if recorded.get(entry["event_id"]) else "duplicate"
    totals = {s: sum(1 for e in results if e["status"] == s) for s in ("accepted", "duplicate", "rejected")}
    if totals["accepted"]:
        count("ActivityEventsAccepted", totals["accepted"])
    return {**totals, "results": results}
