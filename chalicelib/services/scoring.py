"""Scoring activities into members' month tallies, by the versioned rules stored in DynamoDB."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from chalicelib.domain import scoring
from chalicelib.domain.divisions import CENTRAL_ORG_ID
from chalicelib.domain.errors import Conflict, ValidationFailed
from chalicelib.domain.scoring import SHANGHAI, Activity, Rules
from chalicelib.observability import count, logger, member_ref
from chalicelib.services.authz import require_role

RULES_CACHE_SECONDS = 60.0
WRITE_ATTEMPTS = 4
_rules_cache: dict = {"loaded": -1e9, "versions": None}


def rules_versions() -> list[Rules]:
    """The stored rules versions, read at most once a minute per process (seeded when none exist)."""
    from chalicelib.store import participation

    now = time.monotonic()
    versions = _rules_cache["versions"]
    if versions is None or now - _rules_cache["loaded"] > RULES_CACHE_SECONDS:
        versions = participation.rules_versions()
        if not versions:
            seed_default_rules()
            versions = participation.rules_versions()
        _rules_cache.update(loaded=now, versions=versions)
    return versions


def forget_rules() -> None:
    """Read the rules again on next use (after publishing, and in tests)."""
    _rules_cache.update(loaded=-1e9, versions=None)


def seed_default_rules() -> int:
    """Store API.md's rules as version 1 unless a version 1 exists; returns 1. Safe to call again."""
    from chalicelib.store import participation

    with contextlib.suppress(Conflict):  # seeded before
        participation.put_rules(
            scoring.default_rules(), datetime.now(UTC).isoformat(timespec="seconds"), "seed"
        )
    return 1


def score_activities(
    activities: Sequence[tuple[str, Activity]], now: datetime | None = None
) -> dict[str, Exception]:
    """Score a batch of activities; returns {key: error} for those that could not be applied.

    Activities are grouped per member and month: one BatchGetItem reads every group's tally, and each
    group that gained something is written once, conditionally on the version read (a lost race is
    read again and retried). A failing group fails only its own activities.
    """
    from chalicelib.store import participation

    now = now or datetime.now(UTC)
    groups: dict[tuple[str, str], list[tuple[str, Activity]]] = {}
    for key, activity in activities:
        groups.setdefault((activity.registration_number, activity.month), []).append((key, activity))
    if not groups:
        return {}
    versions = rules_versions()
    memo: dict[date, Rules] = {}

    def rules_for(day: date) -> Rules:
        if day not in memo:
            memo[day] = scoring.rules_for_day(versions, day)
        return memo[day]

    stored = participation.get_months(groups)
    failures: dict[str, Exception] = {}
    applied = 0
    for group, items in groups.items():
        try:
            applied += _apply_group(group, [a for _, a in items], stored[group], rules_for, now)
        except Exception as exc:
            logger.warning(
                "activities not scored",
                extra={"member": member_ref(group[0]), "month": group[1], "error_type": type(exc).__name__},
            )
            failures.update({key: exc for key, _ in items})
    count("ActivitiesScored", applied)
    return failures


def _apply_group(group, items, stored, rules_for, now: datetime) -> int:
    from chalicelib.store import participation

    epoch = int(now.timestamp())
    for _attempt in range(WRITE_ATTEMPTS):
        tally, applied = scoring.apply(stored.tally, items, rules_for, epoch)
        if applied == 0:
            return 0  # every one of them was applied before: a redelivery
        if participation.save_month(tally, stored.version, now):
            return applied
        stored = participation.get_months([group])[group]
    raise Conflict("the member's month kept changing while it was scored")


# ---- the rules, for members and the central department ------------------------------------------


def current_rules(now: datetime | None = None) -> dict:
    """The rules in force today and any published for later."""
    today = (now or datetime.now(UTC)).astimezone(SHANGHAI).date()
    versions = rules_versions()
    in_force = scoring.rules_for_day(versions, today)
    upcoming = sorted((r for r in versions if r.effective_from > today), key=lambda r: r.effective_from)
    return {**in_force.to_dict(), "upcoming": [r.to_dict() for r in upcoming]}


def publish_rules(caller: str, effective_from: date, types: dict, now: datetime | None = None) -> dict:
    """Central staff publish a new version, effective from a later day (no day is scored twice)."""
    from chalicelib.store import members, participation

    member, central = members.get_with_org(caller, CENTRAL_ORG_ID)
    require_role(member, central, ["staff"], "publish scoring rules")
    now = now or datetime.now(UTC)
    tomorrow = now.astimezone(SHANGHAI).date() + timedelta(days=1)
    if effective_from < tomorrow:
        raise ValidationFailed(
            "new rules take effect from tomorrow (Asia/Shanghai) at the earliest",
            errors=[{"field": "effective_from", "message": f"on or after {tomorrow.isoformat()}"}],
        )
    latest = max((r.version for r in participation.rules_versions()), default=0)
    rules = Rules.from_dict(
        {"version": latest + 1, "effective_from": effective_from.isoformat(), "types": types}
    )
    participation.put_rules(rules, now.isoformat(timespec="seconds"), caller)
    forget_rules()
    logger.info("scoring rules published", extra={"version": rules.version, "by": member_ref(caller)})
    return rules.to_dict()
