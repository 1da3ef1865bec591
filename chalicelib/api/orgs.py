"""Org routes: reading the tree, creating branches, granting and taking back roles."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import schemas as s
from chalicelib.api.http import Call, Created, Paged, endpoint
from chalicelib.domain.errors import ValidationFailed

bp = Blueprint(__name__)


@endpoint(bp, "/v1/orgs/{org_id}", summary="One org", response=s.OrgView, errors=(401, 404))
def get_org(call: Call) -> dict:
    from chalicelib.services.orgs import get_org

    return get_org(call.params["org_id"])


@endpoint(
    bp,
    "/v1/orgs",
    summary="Children of an org, or the orgs of a division",
    query=s.OrgListQuery,
    response=s.OrgPage,
    paginated=True,
    errors=(400, 401),
)
def list_orgs(call: Call) -> Paged:
    from chalicelib.services.orgs import list_orgs

    q = call.query
    if (q.parent_id is None) == (q.division_code is None):
        raise ValidationFailed(
            "give exactly one of parent_id and division_code",
            errors=[{"field": "parent_id", "message": "exactly one of parent_id, division_code"}],
        )
    items, last = list_orgs(q.parent_id, q.division_code, q.limit, call.cursor)
    return Paged(items, last)


@endpoint(
    bp,
    "/v1/orgs",
    "POST",
    summary="Create a branch under a department (its staff)",
    body=s.CreateOrg,
    response=s.OrgView,
    status=201,
    idempotent=True,
    errors=(400, 401, 403),
)
def create_org(call: Call) -> Created:
    from chalicelib.services.orgs import create_branch

    return Created(create_branch(call.caller, call.body.name, call.body.parent_id))


@endpoint(
    bp,
    "/v1/orgs/{org_id}/roles",
    "POST",
    summary="Give a member a role on an org (its staff or above)",
    body=s.GrantRole,
    response=s.RoleGrantView,
    status=201,
    idempotent=True,
    errors=(400, 401, 403, 404, 409),
)
def grant_role(call: Call) -> Created:
    from chalicelib.services.orgs import grant_role

    b = call.body
    return Created(grant_role(call.caller, call.params["org_id"], b.registration_number.upper(), b.role))


@endpoint(
    bp,
    "/v1/orgs/{org_id}/roles",
    summary="Who holds roles on an org (its staff or above)",
    query=s.PageQuery,
    response=s.RoleGrantPage,
    paginated=True,
    errors=(401, 403, 404),
)
def list_roles(call: Call) -> Paged:
    from chalicelib.services.orgs import list_roles

    org_id = call.params["org_id"]
    items, last = list_roles(call.caller, org_id, call.query.limit, call.cursor)
    return Paged(items, last)


@endpoint(
    bp,
    "/v1/orgs/{org_id}/roles/{number}/{role}",
    "DELETE",
    summary="Take a role back",
    response=s.RoleGrantView,
    errors=(401, 403, 404, 409),
)
def revoke_role(call: Call) -> dict:
    from chalicelib.services.orgs import revoke_role

    p = call.params
    return revoke_role(call.caller, p["org_id"], p["number"].upper(), p["role"])
