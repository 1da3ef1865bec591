"""Members: the public shape, who may see whom, activation codes and passwords."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from chalicelib.domain import roles as roles_mod

ACTIVATION_TTL_SECONDS = 30 * 24 * 3600
PASSWORD_MIN_LENGTH = 10
# no 0/O, 1/I/L: the code is read off paper or a message and typed on a phone
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_CODE_GROUPS = 3
_CODE_GROUP_LEN = 4


@dataclass(frozen=True)
class Member:
    registration_number: str
    name: str
    region_code: str
    join_date: str
    home_branch_id: str
    home_path: tuple[str, ...] = ()
    attached_branch_id: str | None = None
    attached_path: tuple[str, ...] = ()
    virtual_branch_ids: frozenset[str] = field(default_factory=frozenset)
    roles: frozenset[str] = field(default_factory=frozenset)
    status: str = "registered"
    phone: str | None = None
    created_at: str = ""
    dues_category: str = "employed"  # set by the branch; the member pays by it

    def public(self) -> dict:
        """The API shape for the member themself and for staff above them."""
        return {
            "registration_number": self.registration_number,
            "name": self.name,
            "home_branch": self.home_branch_id,
            "attached_branch": self.attached_branch_id,
            "virtual_branches": sorted(self.virtual_branch_ids),
            "roles": roles_mod.as_list(self.roles),
            "region_code": self.region_code,
            "join_date": self.join_date,
            "status": self.status,
            "phone": self.phone,
            "dues_category": self.dues_category,
        }


def can_view(viewer_number: str, viewer_roles: frozenset[str], member: Member) -> bool:
    """A member sees themself; staff see the members of branches in their subtree."""
    if viewer_number == member.registration_number:
        return True
    return roles_mod.holds(viewer_roles, member.home_path, ["staff"]) or roles_mod.holds(
        viewer_roles, member.attached_path, ["staff"]
    )


def new_activation_code() -> str:
    """A random one-time code, grouped for typing: `7KQ2-M9XD-4HTP` (about 59 bits)."""
    groups = (
        "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_GROUP_LEN)) for _ in range(_CODE_GROUPS)
    )
    return "-".join(groups)


def normalise_code(code: str) -> str:
    """Codes are compared without dashes, spaces or case."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def hash_activation_code(registration_number: str, code: str) -> str:
    """Only this hash is stored; bound to the number so one code can't unlock another member."""
    material = f"{registration_number}:{normalise_code(code)}".encode()
    return hashlib.sha256(material).hexdigest()


def activation_code_matches(registration_number: str, code: str, stored_hash: str | None) -> bool:
    """Constant-time comparison of a presented code with the stored hash."""
    if not stored_hash:
        return False
    return hmac.compare_digest(hash_activation_code(registration_number, code), stored_hash)
