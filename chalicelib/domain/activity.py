"""Client-reported activity (`POST /v1/activity`): which events are accepted, each judged on its own.

A phone batches what the member did while reading (sections and articles opened, also offline) and
sends it later. Every event stands alone: a bad one is rejected with its reason and the rest are
recorded. An event counts once however often it is sent (its `event_id` is remembered).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.identifiers import SECTIONS, valid_id

TYPES = ("section_open", "article_open")
MAX_EVENTS = 100
MAX_AGE = timedelta(days=7)
# phones' clocks drift: a few minutes ahead is still "now", more is the future
MAX_CLOCK_SKEW = timedelta(minutes=5)
EVENT_FIELDS = {"event_id", "type", "target", "at"}
_EVENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# how long an event id is remembered: longer than the oldest event still accepted
DEDUP_SECONDS = int((MAX_AGE + timedelta(days=1)).total_seconds())
# events one member may send in an hour (accepted or not): a week of offline reading catches up in
# well under an hour, a script sending events all day does not (caps keep its points small anyway)
EVENTS_PER_HOUR = 1000
RATE_WINDOW_SECONDS = 3600


@dataclass(frozen=True)
class RateWindow:
    """The fixed hour an upload is counted in: its key suffix, when it ends, when to forget it."""

    key: str
    retry_after: int
    expires_at: int


def rate_window(now: datetime) -> RateWindow:
    epoch = int(now.timestamp())
    start = epoch - epoch % RATE_WINDOW_SECONDS
    return RateWindow(str(start), start + RATE_WINDOW_SECONDS - epoch, start + 2 * RATE_WINDOW_SECONDS)


@dataclass(frozen=True)
class ClientEvent:
    event_id: str
    type: str
    target: str
    at: datetime


def parse_at(value: Any) -> datetime | None:
    """An ISO 8601 time with an offset, as an aware datetime; None if it is not one."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 shifted past the range of datetime
        return None


def check_event(value: Any, now: datetime) -> tuple[ClientEvent | None, str | None]:
    """(the event, None) when it can be recorded, else (None, why not)."""
    if not isinstance(value, dict):
        return None, "an event must be a JSON object"
    unknown = sorted(k for k in value if k not in EVENT_FIELDS)
    if unknown:
        return None, f"unknown field {unknown[0]!r}"
    event_id = value.get("event_id")
    if not isinstance(event_id, str) or not _EVENT_ID.match(event_id):
        return None, "event_id must be 1-64 letters, digits, '.', '_', ':' or '-'"
    type_ = value.get("type")
    if type_ not in TYPES:
        return None, f"type must be one of {', '.join(TYPES)}"
    target = value.get("target")
    if not isinstance(target, str) or not target:
        return None, "target is required"
    if type_ == "section_open" and target not in SECTIONS:
        return None, f"target of section_open must be a section: {', '.join(SECTIONS)}"
    if type_ == "article_open" and not valid_id(target):
        return None, "target of article_open must be an article id"
    at = parse_at(value.get("at"))
    if at is None:
        return None, "at must be an ISO 8601 time with a UTC offset, e.g. 2026-11-25T08:30:00+08:00"
    if at < now - MAX_AGE:
        return None, "the event is older than 7 days"
    if at > now + MAX_CLOCK_SKEW:
        return None, "the event is in the future"
    return ClientEvent(event_id, type_, target, at), None
