"""Roles a member holds on orgs, and the one question every route asks of them."""

from __future__ import annotations

from collections.abc import Iterable

from chalicelib.domain.errors import ValidationFailed

ROLES = ("staff", "editor", "secretary")
# which levels each role makes sense on through the generic roles route (`/v1/orgs/{id}/roles`)
ROLE_LEVELS = {
    "staff": frozenset({"central", "province", "city", "county", "branch"}),
    "editor": frozenset({"central", "province", "city", "county"}),
    "secretary": frozenset({"branch"}),
}
# A virtual branch's offices (its secretary and deputies, stored as `secretary@vb-...` and
# `deputy@vb-...`) are also kept on the branch's own record, which decides who approves joins, so
# they change only through its own routes (founding, handover, deputies); staff and editors mean
# nothing on it (its supervision is the staff of the departments above). No role of the generic
# route may be granted or revoked on a virtual branch.
VIRTUAL_BRANCH_LEVEL = "virtual_branch"
VIRTUAL_BRANCH_OFFICES = ("secretary", "deputy")


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


def check_not_virtual_branch(role: str, level: str) -> None:
    """Refuse any change through the generic roles route on a virtual branch (400)."""
    if level == VIRTUAL_BRANCH_LEVEL:
        office = role in VIRTUAL_BRANCH_OFFICES
        raise ValidationFailed(
            "a virtual branch's secretary and deputies change only through its own routes (handover, "
            "deputies); no other role means anything on it"
            if office
            else f"role {role} cannot be held on a virtual branch",
            errors=[
                {
                    "field": "role",
                    "message": "use /v1/virtual-branches/{id}/handover or /deputies"
                    if office
                    else "not allowed on level virtual_branch",
                }
            ],
        )


def check_role_for_level(role: str, level: str) -> None:
    """Refuse roles that mean nothing on an org of this level (an editor of a branch, say)."""
    check_not_virtual_branch(role, level)
    if level not in ROLE_LEVELS[role]:
        raise ValidationFailed(
            f"role {role} cannot be held on an org of level {level}",
            errors=[{"field": "role", "message": f"not allowed on level {level}"}],
        )
