"""Virtual branches: states and their transitions, who may do what, join requests, masked names.

A virtual branch is an org of level `virtual_branch` placed in the tree under the department that
supervises it. Its own record (status, secretary, deputies, counts, what the founder accepted)
lives beside the org item; this module holds the rules, with no storage in sight.

States: `active` → `suspended` (by the supervising department or above) → `active` again
(reinstated); `active` or `suspended` → `dissolved` (by the supervising department, or when the
secretary leaves as its last member). A suspended branch takes no joins; a dissolved one takes
nothing, and its memberships are removed in the background.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chalicelib.domain.errors import Conflict, ValidationFailed

ACTIVE = "active"
SUSPENDED = "suspended"
DISSOLVED = "dissolved"
STATUSES = (ACTIVE, SUSPENDED, DISSOLVED)

# supervision actions: action -> (states it may start from, state it leads to)
TRANSITIONS = {
    "suspend": (frozenset({ACTIVE}), SUSPENDED),
    "reinstate": (frozenset({SUSPENDED}), ACTIVE),
    "dissolve": (frozenset({ACTIVE, SUSPENDED}), DISSOLVED),
}

MAX_DEPUTIES = 5
# a join request still pending after this long is shown as overdue to whoever decides it
JOIN_REQUEST_OVERDUE = timedelta(days=7)
# the inbox looks at this many of the branches a member runs (one Query each), no more
INBOX_BRANCH_LIMIT = 10

# join requests
PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"
CLOSED = "closed"  # the branch was dissolved before anyone decided
REQUEST_STATUSES = (PENDING, APPROVED, REJECTED, WITHDRAWN, CLOSED)

# roles inside a branch (also stored as `secretary@vb-...`, `deputy@vb-...` on the member item)
SECRETARY = "secretary"
DEPUTY = "deputy"
MEMBER = "member"

VB_ID = re.compile(r"^vb-[0-9a-f]{12}$")


def new_branch_id() -> str:
    """A fresh virtual-branch org id: `vb-` and 12 hex digits."""
    return "vb-" + secrets.token_hex(6)


def is_branch_id(value: str) -> bool:
    """Does `value` have the shape of a virtual-branch id (anything else cannot be one)?"""
    return bool(VB_ID.fullmatch(value or ""))


@dataclass(frozen=True)
class Founding:
    """What the founder accepted, when and from where, and how the supervisor was chosen."""

    founder: str
    rules_version: int
    covenant_version: int
    accepted_at: str
    source_ip: str | None
    located_by: str  # "ip" or "home_branch"
    located_region: str | None = None  # what the IP database said, when it said anything


@dataclass(frozen=True)
class VirtualBranch:
    """The branch's own record; `supervising_path` runs from `central` down to the supervisor."""

    org_id: str
    name: str
    description: str
    status: str
    secretary: str
    secretary_name: str  # already masked
    supervising_org_id: str
    supervising_org_name: str
    supervising_division_code: str | None
    supervising_path: tuple[str, ...]
    member_count: int
    created_at: str
    deputies: frozenset[str] = field(default_factory=frozenset)
    founding: Founding | None = None
    dissolved_at: str | None = None
    dissolve_step: int = 0
    members_removed_at: str | None = None

    @property
    def path(self) -> tuple[str, ...]:
        """The branch's own org path: the supervisor's path and itself."""
        return (*self.supervising_path, self.org_id)

    def decides_joins(self, number: str) -> bool:
        """The secretary and the deputies decide join requests."""
        return number == self.secretary or number in self.deputies

    def role_of(self, number: str) -> str:
        if number == self.secretary:
            return SECRETARY
        return DEPUTY if number in self.deputies else MEMBER

    def public(self) -> dict:
        """What anyone may see: no registration numbers, the secretary's name masked."""
        return {
            "org_id": self.org_id,
            "name": self.name,
            "description": self.description,
            "status": self.status,
            "member_count": self.member_count,
            "supervising_org_id": self.supervising_org_id,
            "supervising_org_name": self.supervising_org_name,
            "supervising_division_code": self.supervising_division_code,
            "secretary_name": self.secretary_name,
            "deputy_count": len(self.deputies),
            "created_at": self.created_at,
            "dissolved_at": self.dissolved_at,
        }


def check_transition(action: str, status: str) -> str:
    """The state a supervision action leads to from `status`; 409 when it cannot start there."""
    starts, ends = TRANSITIONS[action]
    if status not in starts:
        raise Conflict(f"a {status} virtual branch cannot be {_past(action)}")
    return ends


def _past(action: str) -> str:
    return {"suspend": "suspended", "reinstate": "reinstated", "dissolve": "dissolved"}[action]


def check_takes_joins(branch: VirtualBranch) -> None:
    """Only an active branch takes join requests and approvals."""
    if branch.status == SUSPENDED:
        raise Conflict("this virtual branch is suspended and takes no new members for now")
    if branch.status == DISSOLVED:
        raise Conflict("this virtual branch has been dissolved")


def check_not_dissolved(branch: VirtualBranch) -> None:
    if branch.status == DISSOLVED:
        raise Conflict("this virtual branch has been dissolved")


def check_texts_current(
    accepted_rules: int | str, accepted_covenant: int | str, current_rules: int, current_covenant: int
) -> None:
    """Founding needs the versions in force; an older (or unknown) one is a 409 naming the current.

    A version may come as its number or its text (`2` or `"2"`); whatever else a client sends is a
    version that is not in force.
    """
    errors = []
    if str(accepted_rules).strip() != str(current_rules):
        errors.append(
            {"field": "accepted_rules_version", "message": f"the current version is {current_rules}"}
        )
    if str(accepted_covenant).strip() != str(current_covenant):
        errors.append(
            {"field": "accepted_covenant_version", "message": f"the current version is {current_covenant}"}
        )
    if errors:
        raise Conflict(
            "the establishment rules or the secretary covenant have changed; read and accept the current "
            "versions (GET /v1/virtual-branches/rules)",
            errors=errors,
        )


def check_new_deputy(branch: VirtualBranch, number: str) -> None:
    """A deputy is a member other than the secretary, not yet a deputy, at most five of them."""
    if number == branch.secretary:
        raise ValidationFailed(
            "the secretary cannot also be a deputy",
            errors=[{"field": "registration_number", "message": "is the secretary"}],
        )
    if number in branch.deputies:
        raise Conflict("this member is already a deputy")
    if len(branch.deputies) >= MAX_DEPUTIES:
        raise Conflict(f"a virtual branch has at most {MAX_DEPUTIES} deputies")


def check_handover_target(branch: VirtualBranch, caller: str, to: str) -> None:
    if to == caller:
        raise ValidationFailed(
            "you are the secretary already", errors=[{"field": "to", "message": "is the secretary"}]
        )


def is_overdue(requested_at: str, now: datetime) -> bool:
    """Has a pending request waited longer than `JOIN_REQUEST_OVERDUE`?"""
    try:
        at = datetime.fromisoformat(requested_at)
    except (TypeError, ValueError):
        return False
    return now - at > JOIN_REQUEST_OVERDUE


def reassign_authority(
    caller_roles: frozenset[str], current_path: tuple[str, ...], target_path: tuple[str, ...]
):
    """The department on whose authority a branch may move from `current_path` to `target_path`.

    It must be the supervising department or one above it, hold the target in its own subtree, and
    the caller must be its staff: the deepest such department is returned, None if there is none.
    """
    from chalicelib.domain.roles import role_key

    common = []
    for a, b in zip(current_path, target_path, strict=False):
        if a != b:
            break
        common.append(a)
    for org_id in reversed(common):
        if role_key("staff", org_id) in caller_roles:
            return org_id
    return None


def acting_department(caller_roles: frozenset[str], path: tuple[str, ...]) -> str | None:
    """The deepest department on `path` where the caller holds `staff` (whose authority they act on)."""
    from chalicelib.domain.roles import role_key

    for org_id in reversed(path):
        if role_key("staff", org_id) in caller_roles:
            return org_id
    return None


# ---- names shown to the public --------------------------------------------------------------------

# two-character surnames, so that 欧阳娜娜 shows as 欧阳** and not 欧***
_COMPOUND_SURNAMES = """
欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 单于 太史 端木 西门
南宫 独孤 呼延 申屠 澹台 公冶 宗政 濮阳 淳于 赫连 闻人 万俟 百里 东郭 拓跋 完颜 司空 巫马 公羊 梁丘
左丘 第五 仲孙 叔孙 谷梁 乐正 漆雕 壤驷 公良 段干 呼衍 羊舌 微生 亓官 仉督 子车 颛孙 鲜于 闾丘 即墨
"""
COMPOUND_SURNAMES = frozenset(re.findall(r"\S+", _COMPOUND_SURNAMES))
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def mask_name(name: str) -> str:
    """A name as the public registry shows it: the surname kept, every other character a `*`.

    张三 → 张*, 李小龙 → 李**, 欧阳娜娜 → 欧阳**; a name in Latin letters keeps its first letter
    (`Anna Li` → `A**`). Only the first word counts, so the length of a long name is not told.
    """
    words = (name or "").split()
    if not words:
        return "*"
    first = words[0]
    if _CJK.match(first):
        keep = 2 if first[:2] in COMPOUND_SURNAMES and len(first) > 2 else 1
        return first[:keep] + "*" * min(max(len(first) - keep, 1), 3)
    return first[:1] + "**"
