"""Scoring rules versions and members' month tallies; maps items to `domain.scoring` objects."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import PutError

from chalicelib.domain.errors import Conflict
from chalicelib.domain.scoring import RULES_NAME, DayTally, MonthTally, Rules, month_bounds
from chalicelib.store import models
from chalicelib.store.errors import is_conditional_failure

KEEP_DAYS = 800  # month tallies expire after about two years; the filing rows stay


# ---- rules ---------------------------------------------------------------------------------------


def rules_versions() -> list[Rules]:
    """Every stored version of the rules: one Query (there are few)."""
    out = []
    for item in models.ScoringRules.query(RULES_NAME, consistent_read=True):
        out.append(
            Rules.from_dict(
                {
                    "version": int(item.version),
                    "effective_from": item.effective_from,
                    "types": json.loads(item.rules),
                }
            )
        )
    return out


def put_rules(rules: Rules, published_at: str, published_by: str | None) -> None:
    """Store a new version; 409 if that version exists (versions are never rewritten)."""
    item = models.ScoringRules(
        RULES_NAME,
        rules.version,
        effective_from=rules.effective_from.isoformat(),
        rules=json.dumps(rules.to_dict()["types"], sort_keys=True, separators=(",", ":")),
        published_at=published_at,
        published_by=published_by,
    )
    try:
        item.save(condition=models.ScoringRules.version.does_not_exist())
    except PutError as exc:
        if is_conditional_failure(exc):
            raise Conflict(f"scoring rules version {rules.version} exists already") from exc
        raise


# ---- month tallies -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    tally: MonthTally
    version: int | None  # the item's version, None when there is no item yet


def _to_tally(item: models.ParticipationMonth) -> MonthTally:
    return MonthTally(
        registration_number=item.registration_number,
        month=item.month,
        days={k: DayTally.from_dict(v) for k, v in json.loads(item.days or "{}").items()},
        recent={k: int(v) for k, v in json.loads(item.recent or "{}").items()},
    )


def get_month(number: str, month: str) -> MonthTally | None:
    """One member's month: one GetItem."""
    try:
        return _to_tally(models.ParticipationMonth.get(number, month))
    except models.ParticipationMonth.DoesNotExist:
        return None


def get_months(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Stored]:
    """The current tallies of (number, month) keys, strongly consistent: one BatchGetItem per 100."""
    keys = list(dict.fromkeys(keys))
    out = {key: Stored(MonthTally(key[0], key[1]), None) for key in keys}
    if keys:
        for item in models.ParticipationMonth.batch_get(keys, consistent_read=True):
            out[(item.registration_number, item.month)] = Stored(_to_tally(item), item.version)
    return out


def save_month(tally: MonthTally, version: int | None, now: datetime) -> bool:
    """Write a tally if nobody changed it since it was read; False on a lost race (read again)."""
    _, last = month_bounds(tally.month)
    expires = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=KEEP_DAYS)
    item = models.ParticipationMonth(
        tally.registration_number,
        tally.month,
        points=tally.points,
        active_days=tally.active_days,
        counts=json.dumps(tally.counts, sort_keys=True, separators=(",", ":")),
        days=json.dumps(
            {k: v.to_dict() for k, v in sorted(tally.days.items())}, sort_keys=True, separators=(",", ":")
        ),
        recent=json.dumps(tally.recent, sort_keys=True, separators=(",", ":")),
        updated_at=now.isoformat(timespec="seconds"),
        expires_at=int(expires.timestamp()),
    )
    if version is not None:  # save() adds the condition "version is still this" (or "no item yet")
        item.version = version
    try:
        item.save()
    except PutError as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


@dataclass(frozen=True)
class MonthScore:
    points: int
    active_days: int
    counts: dict[str, int]


def month_scores(numbers: Iterable[str], month: str) -> dict[str, MonthScore]:
    """Month totals of the given members, by key: one BatchGetItem per 100 (absent: no activity)."""
    keys = [(n, month) for n in dict.fromkeys(numbers)]
    out: dict[str, MonthScore] = {}
    if not keys:
        return out
    attributes = ["registration_number", "month", "points", "active_days", "counts"]
    for item in models.ParticipationMonth.batch_get(keys, attributes_to_get=attributes):
        out[item.registration_number] = MonthScore(
            int(item.points or 0), int(item.active_days or 0), json.loads(item.counts or "{}")
        )
    return out
