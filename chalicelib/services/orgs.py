"""The org tree: reading orgs, creating branches, granting roles, and seeding the departments."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from chalicelib.domain import divisions, roles
from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed
from chalicelib.domain.orgs import Org, check_branch_parent
from chalicelib.services.authz import require_role


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def get_org(org_id: str) -> dict:
    """One org, one GetItem."""
    from chalicelib.store import orgs as store

    org = store.get(org_id)
    if org is None:
        raise NotFound(f"no org {org_id}")
    return org.public()


def list_orgs(parent_id: str | None, division_code: str | None, limit: int, cursor: dict | None):
    """Children of an org, or the orgs of one division: one Query either way."""
    from chalicelib.store import orgs as store

    if parent_id is not None:
        page = store.children(parent_id, limit, cursor)
    else:
        page = store.in_division(division_code, limit, cursor)
    return [o.public() for o in page.items], page.last_key


def new_branch_id() -> str:
    return "br-" + secrets.token_hex(6)


def create_branch(caller_number: str, name: str, parent_id: str) -> dict:
    """Staff of a department create a physical branch directly under it."""
    from chalicelib.store import members
    from chalicelib.store import orgs as store

    caller, parent = members.get_with_org(caller_number, parent_id)
    if parent is None:
        raise ValidationFailed(
            "unknown parent", errors=[{"field": "parent_id", "message": f"no org {parent_id}"}]
        )
    require_role(caller, parent, ["staff"], "create branches")
    check_branch_parent(parent)
    org_id = new_branch_id()
    org = Org(
        org_id=org_id,
        name=name,
        level="branch",
        parent_id=parent.org_id,
        division_code=parent.division_code,
        path=(*parent.path, org_id),
        created_at=_now(),
    )
    store.create(org, created_by=caller_number)
    return org.public()


def grant_role(caller_number: str, org_id: str, number: str, role: str) -> dict:
    """Staff of an org or above give a member a role on it (never on a virtual branch: 400)."""
    from chalicelib.store import members

    caller, org = members.get_with_org(caller_number, org_id)
    require_role(caller, org, ["staff"], "grant roles")
    roles.check_role_for_level(role, org.level)
    try:
        members.grant_role(
            org_id, number, roles.role_key(role, org_id), f"{role}#{number}", caller_number, _now()
        )
    except NotFound as exc:
        raise ValidationFailed(
            "unknown member", errors=[{"field": "registration_number", "message": "no such member"}]
        ) from exc
    return {"org_id": org_id, "registration_number": number, "role": role}


def revoke_role(caller_number: str, org_id: str, number: str, role: str) -> dict:
    """Staff of an org or above take a role back; the last staff of the centre stays.

    Never on a virtual branch (400): its secretary and deputies change only through its own routes.
    """
    from chalicelib.store import members

    if role not in roles.ROLES and role not in roles.VIRTUAL_BRANCH_OFFICES:
        raise NotFound(f"no role {role}")
    caller, org = members.get_with_org(caller_number, org_id)
    require_role(caller, org, ["staff"], "revoke roles")
    roles.check_not_virtual_branch(role, org.level)
    if role not in roles.ROLES:
        raise NotFound(f"no role {role}")
    if org_id == divisions.CENTRAL_ORG_ID and role == "staff":
        page = members.grants(org_id, 2, None, role="staff")
        if len(page.items) < 2:
            raise Conflict("the central department must keep at least one staff member")
    members.revoke_role(org_id, number, roles.role_key(role, org_id), f"{role}#{number}")
    return {"org_id": org_id, "registration_number": number, "role": role, "revoked": True}


def list_roles(caller_number: str, org_id: str, limit: int, cursor: dict | None):
    """Who holds which role on an org, for its staff or staff above."""
    from chalicelib.store import members

    caller, org = members.get_with_org(caller_number, org_id)
    require_role(caller, org, ["staff"], "list roles")
    page = members.grants(org_id, limit, cursor)
    return page.items, page.last_key


def seed_departments() -> int:
    """Write the central department and every current province, city and county department.

    The tree comes from the official division codes (python-stdnum's GB/T 2260 data); running it
    again rewrites the same items and keeps member counts.
    """
    from chalicelib.store import orgs as store

    existing_central = store.get(divisions.CENTRAL_ORG_ID)
    if existing_central is not None:
        return 0
    now = _now()
    central = Org(
        org_id=divisions.CENTRAL_ORG_ID,
        name="中央 Central department",
        level="central",
        parent_id=None,
        division_code=None,
        path=(divisions.CENTRAL_ORG_ID,),
        created_at=now,
    )
    orgs = []
    for div in divisions.current_divisions():
        path = (divisions.CENTRAL_ORG_ID, *(divisions.org_id_for(c) for c in divisions.ancestors(div.code)))
        parent = divisions.org_id_for(div.parent_code) if div.parent_code else divisions.CENTRAL_ORG_ID
        orgs.append(
            Org(
                org_id=divisions.org_id_for(div.code),
                name=div.name,
                level=div.level,
                parent_id=parent,
                division_code=div.code,
                path=path,
                created_at=now,
            )
        )
    orgs.append(central)  # last, so a present centre means the whole tree was written
    return store.put_many(orgs)
