"""Client-reported activity: each event written once, however often a phone sends it.

An event is an activity item (the same shape `store.activity.record` writes, read by the scoring
consumer from the stream) plus a mark `activity:{number}:{event_id}` that remembers the event id
for longer than events are accepted. A batch costs one BatchGetItem for the marks and one
TransactWriteItems per 50 new events; a race with a concurrent copy of the batch falls back to
one transaction per event, so each event still counts exactly once.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.activity import DEDUP_SECONDS, ClientEvent
from chalicelib.store import models
from chalicelib.store.activity import TTL_SECONDS
from chalicelib.store.errors import cancellation_codes, is_transaction_conflict

EVENTS_PER_TRANSACTION = 50  # two items each: TransactWriteItems takes 100


def activity_item(
    number: str, event_id: str, type_: str, at: datetime, target: str | None
) -> models.Activity:
    """An activity item exactly as `store.activity.record` writes it."""
    at_iso = at.isoformat(timespec="seconds")
    return models.Activity(
        number,
        f"{at_iso}#{event_id}",
        type=type_,
        target=target,
        at=at_iso,
        expires_at=int(at.timestamp()) + TTL_SECONDS,
    )


def _mark_id(number: str, event_id: str) -> str:
    return f"activity:{number}:{event_id}"


def _write(number: str, events: list[ClientEvent], now: datetime) -> None:
    expires = int(now.timestamp()) + DEDUP_SECONDS
    with TransactWrite(connection=models.Activity._get_connection().connection) as tx:
        for event in events:
            tx.save(
                models.StreamMark(_mark_id(number, event.event_id), expires_at=expires),
                condition=models.StreamMark.mark_id.does_not_exist(),
            )
            tx.save(
                activity_item(number, event.event_id, event.type, event.at, event.target),
                condition=models.Activity.activity_id.does_not_exist(),
            )


def record(number: str, events: list[ClientEvent], now: datetime) -> dict[str, bool]:
    """Record events (distinct ids); event id -> True if recorded now, False if it was seen before."""
    if not events:
        return {}
    marks = [_mark_id(number, e.event_id) for e in events]
    seen = {m.mark_id for m in models.StreamMark.batch_get(marks, attributes_to_get=["mark_id"])}
    outcome = {e.event_id: False for e in events if _mark_id(number, e.event_id) in seen}
    fresh = [e for e in events if e.event_id not in outcome]
    for i in range(0, len(fresh), EVENTS_PER_TRANSACTION):
        chunk = fresh[i : i + EVENTS_PER_TRANSACTION]
        try:
            _write(number, chunk, now)
            outcome.update({e.event_id: True for e in chunk})
            continue
        except TransactWriteError as exc:
            if "ConditionalCheckFailed" not in cancellation_codes(exc) and not is_transaction_conflict(exc):
                raise
        for event in chunk:  # someone wrote some of these meanwhile: one at a time
            outcome[event.event_id] = _record_one(number, event, now)
    return outcome


def _record_one(number: str, event: ClientEvent, now: datetime) -> bool:
    for _ in range(3):
        try:
            _write(number, [event], now)
            return True
        except TransactWriteError as exc:
            if "ConditionalCheckFailed" in cancellation_codes(exc):
                return False
            if not is_transaction_conflict(exc):
                raise
    return False
