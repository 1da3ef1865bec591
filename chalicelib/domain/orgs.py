"""The org tree: levels, which child may sit under which parent, and the public shape of an org."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.domain.errors import ValidationFailed

LEVELS = ("central", "province", "city", "county", "branch", "virtual_branch")
DEPARTMENT_LEVELS = frozenset({"central", "province", "city", "county"})
BRANCH_LEVELS = frozenset({"branch", "virtual_branch"})


@dataclass(frozen=True)
class Org:
    """A node of the tree; `path` lists every ancestor id from `central` down to the org itself."""

    org_id: str
    name: str
    level: str
    parent_id: str | None
    division_code: str | None
    path: tuple[str, ...] = field(default_factory=tuple)
    member_count: int = 0
    created_at: str = ""

    @property
    def is_department(self) -> bool:
        return self.level in DEPARTMENT_LEVELS

    def public(self) -> dict:
        """The API shape of an org."""
        return {
            "org_id": self.org_id,
            "name": self.name,
            "level": self.level,
            "parent_id": self.parent_id,
            "division_code": self.division_code,
            "member_count": self.member_count,
            "path": list(self.path),
            "created_at": self.created_at,
        }


def check_branch_parent(parent: Org) -> None:
    """Physical branches sit directly under a department (of any level)."""
    if not parent.is_department:
        raise ValidationFailed(
            "a branch must be created under a department",
            errors=[{"field": "parent_id", "message": f"{parent.level} cannot hold branches"}],
        )


def sort_name(name: str, org_id: str) -> str:
    """Index key that lists children by name and keeps equal names apart."""
    return f"{name}#{org_id}"


def department_deltas(old_path: list[str] | None, new_path: list[str] | None) -> dict[str, int]:
    """Member-count changes for the departments above a branch when a member's branch changes.

    Common ancestors net to zero and are left out, so a move inside one county never touches the
    province or the centre: the hot items only see what truly changed.
    """
    old = set((old_path or [])[:-1])
    new = set((new_path or [])[:-1])
    deltas = {org: -1 for org in old - new}
    deltas.update({org: 1 for org in new - old})
    return deltas
