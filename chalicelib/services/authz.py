"""The one authorisation question: does a member hold a role on an org or any org above it."""

from __future__ import annotations

from collections.abc import Iterable

from chalicelib.domain import roles
from chalicelib.domain.errors import Forbidden, NotFound
from chalicelib.domain.members import Member
from chalicelib.domain.orgs import Org


def require_role(caller: Member | None, org: Org | None, wanted: Iterable[str], action: str) -> Org:
    """Return `org` if `caller` holds one of `wanted` on it or above; 404 if absent, 403 if not allowed.

    O(1) in DynamoDB: the caller's roles sit on their member item and the org's ancestors on its own
    item, both read by the caller in one call before asking.
    """
    if org is None:
        raise NotFound("no such org")
    if caller is None or not roles.holds(caller.roles, org.path, wanted):
        raise Forbidden(
            f"you may not {action} here: it needs the role {' or '.join(wanted)} on this org or above"
        )
    return org
