"""Roles a member holds on orgs, and the one question every route asks of them."""

from __future__ import annotations

from collections.abc import Iterable

from chalicelib.domain.errors import ValidationFailed

ROLES = ("staff", "editor", "secretary")
# which levels each role makes sense on
ROLE_LEVELS = {
    "staff": frozenset({"central", "province", "city", "county", "branch"}),
    "editor": frozenset({"central", "province", "city", "county"}),
    "secretary": frozenset({"branch", "virtual_branch"}),
}


def role_key(role: str, org_id: str) -> str:
    """How a role is stored on the member item: `staff@div-110105`."""
    return f"{role}@{org_id}"


def as_list(keys: Iterable[str] | None) -> list[dict]:
    """Stored role keys as the API's `[{"org_id", "role"}]`, in a stable order."""
    out = []
    for key in sorted(keys or ()):
        role, _, org_id = key.partition("@")
        out.append({"org_id": org_id, "role": role})
    return out


def holds(keys: Iterable[str] | None, org_path: Iterable[str], roles: Iterable[str]) -> bool:
    """Does a member with these role keys hold one of `roles` on an org of `org_path` (itself or above)?"""
    held = set(keys or ())
    return any(role_key(role, org) in held for org in org_path for role in roles)


def check_role_for_level(role: str, level: str) -> None:
    """Refuse roles that mean nothing on an org of this level (an editor of a branch, say)."""
    if level not in ROLE_LEVELS[role]:
        raise ValidationFailed(
            f"role {role} cannot be held on an org of level {level}",
            errors=[{"field": "role", "message": f"not allowed on level {level}"}],
        )
