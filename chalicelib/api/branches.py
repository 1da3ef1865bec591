"""Virtual-branch routes: rules, founding, the public registry, joining, offices and supervision."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import schemas
from chalicelib.api.http import Call, Created, Paged, endpoint, parse_json
from chalicelib.api.schemas import branches as s
from chalicelib.domain.errors import NotFound

bp = Blueprint(__name__)

BASE = "/v1/virtual-branches"
ONE = BASE + "/{org_id}"


def _branch_id(call: Call) -> str:
    """The `{org_id}` of the path; anything that cannot be a virtual-branch id is simply not found."""
    from chalicelib.domain.branches import is_branch_id

    org_id = call.params["org_id"]
    if not is_branch_id(org_id):
        raise NotFound(f"no virtual branch {org_id[:64]}")
    return org_id


def _number(call: Call) -> str:
    import re

    number = call.params["number"].upper()
    if not re.fullmatch(schemas.NUMBER, number):
        raise NotFound("no such member here")
    return number


@endpoint(
    bp,
    BASE + "/rules",
    summary="The establishment rules and secretary covenant in force (accept both to found a branch)",
    auth=False,
    response=s.Rules,
    errors=(404,),
)
def get_rules(call: Call) -> dict:
    from chalicelib.services.rules import current_texts

    return current_texts()


@endpoint(
    bp,
    BASE,
    "POST",
    summary="Found a virtual branch and become its secretary; supervised by the department of your IP",
    body=s.FoundBranch,
    response=s.BranchFounded,
    status=201,
    idempotent=True,
    errors=(400, 401, 404, 409),
)
def found_branch(call: Call) -> Created:
    from chalicelib.observability import count
    from chalicelib.services.branches import found

    b = call.body
    result = found(
        call.caller,
        b.name,
        b.description,
        b.accepted_rules_version,
        b.accepted_covenant_version,
        call.source_ip,
    )
    count("VirtualBranchesFounded")
    return Created(result)


@endpoint(
    bp,
    BASE,
    summary="The public registry of virtual branches, newest first (supervising_org_id: one subtree)",
    auth=False,
    query=s.RegistryQuery,
    response=s.BranchPage,
    paginated=True,
    errors=(400,),
)
def list_branches(call: Call) -> Paged:
    from chalicelib.services.branches import registry

    items, last = registry(call.query.supervising_org_id, call.query.limit, call.cursor)
    return Paged(items, last)


@endpoint(
    bp,
    ONE,
    summary="A virtual branch with the newest entries of its public log of management actions",
    auth=False,
    response=s.BranchDetail,
    errors=(404,),
)
def get_branch(call: Call) -> dict:
    from chalicelib.services.branches import detail

    return detail(_branch_id(call))


@endpoint(
    bp,
    ONE + "/log",
    summary="The whole public log of a virtual branch's management actions, newest first",
    auth=False,
    query=schemas.PageQuery,
    response=s.LogPage,
    paginated=True,
    errors=(400, 404),
)
def get_log(call: Call) -> Paged:
    from chalicelib.services.branches import log

    items, last = log(_branch_id(call), call.query.limit, call.cursor)
    return Paged(items, last)


@endpoint(
    bp,
    ONE + "/founding",
    summary="What the founder accepted, when and from which address (the founder, supervising staff)",
    response=s.FoundingRecord,
    errors=(401, 403, 404),
)
def get_founding(call: Call) -> dict:
    from chalicelib.services.branches import founding_record

    return founding_record(call.caller, _branch_id(call))


@endpoint(
    bp,
    ONE + "/join-requests",
    "POST",
    summary='Apply to join (optional body {"message"}); the secretary or a deputy decides',
    response=s.JoinRequestView,
    status=201,
    idempotent=True,
    errors=(400, 401, 404, 409),
)
def request_join(call: Call) -> Created:
    from chalicelib.services.branches import request_join

    org_id = _branch_id(call)
    raw = call.request.raw_body or b""
    body = s.JoinBody.model_validate(parse_json(raw)) if raw.strip() else s.JoinBody()
    return Created(request_join(call.caller, org_id, body.message or None))


@endpoint(
    bp,
    ONE + "/join-requests",
    summary="Join requests of one status (pending: the queue, oldest first), for the secretary and deputies",
    query=s.JoinRequestQuery,
    response=s.JoinRequestPage,
    paginated=True,
    errors=(400, 401, 403, 404),
)
def list_join_requests(call: Call) -> Paged:
    from chalicelib.services.branches import list_join_requests

    q = call.query
    items, last = list_join_requests(call.caller, _branch_id(call), q.status, q.limit, call.cursor)
    return Paged(items, last)


@endpoint(
    bp,
    ONE + "/join-requests/{number}",
    summary="One join request (the applicant, the secretary and deputies)",
    response=s.JoinRequestView,
    errors=(401, 404),
)
def get_join_request(call: Call) -> dict:
    from chalicelib.services.branches import get_join_request

    return get_join_request(call.caller, _branch_id(call), _number(call))


def _decision(path: str, summary: str, name: str, service: str) -> None:
    def view(call: Call) -> dict:
        from chalicelib.services import branches as service_module

        return getattr(service_module, service)(call.caller, _branch_id(call), _number(call))

    view.__name__ = name
    endpoint(
        bp,
        ONE + "/join-requests/{number}/" + path,
        "POST",
        summary=summary,
        response=s.JoinRequestView,
        idempotent=True,
        errors=(401, 403, 404, 409),
    )(view)


_decision("approve", "Approve a pending join request (the secretary or a deputy)", "approve_join", "approve")
_decision("reject", "Reject a pending join request (the secretary or a deputy)", "reject_join", "reject")
_decision("withdraw", "Withdraw your own pending join request", "withdraw_join", "withdraw")


@endpoint(
    bp,
    ONE + "/leave",
    "POST",
    summary="Leave the branch; the secretary hands over first, unless alone (which dissolves it)",
    response=s.Left,
    idempotent=True,
    errors=(401, 403, 404, 409),
)
def leave(call: Call) -> dict:
    from chalicelib.services.branches import leave

    return leave(call.caller, _branch_id(call))


@endpoint(
    bp,
    ONE + "/handover",
    "POST",
    summary="The secretary hands the office to another member of the branch",
    body=s.Handover,
    response=s.BranchWithSecretary,
    idempotent=True,
    errors=(400, 401, 403, 404, 409),
)
def handover(call: Call) -> dict:
    from chalicelib.services.branches import handover

    return handover(call.caller, _branch_id(call), call.body.to.upper())


@endpoint(
    bp,
    ONE + "/members",
    summary="Members: names, join dates and offices (its members and supervising staff)",
    query=schemas.PageQuery,
    response=s.MemberPage,
    paginated=True,
    errors=(400, 401, 403, 404),
)
def list_members(call: Call) -> Paged:
    from chalicelib.services.branches import members

    items, last = members(call.caller, _branch_id(call), call.query.limit, call.cursor)
    return Paged(items, last)


@endpoint(
    bp,
    ONE + "/deputies",
    "POST",
    summary="The secretary names a member deputy (at most 5); deputies decide join requests",
    body=s.NameDeputy,
    response=s.Deputy,
    status=201,
    idempotent=True,
    errors=(400, 401, 403, 404, 409),
)
def name_deputy(call: Call) -> Created:
    from chalicelib.services.branches import add_deputy

    return Created(add_deputy(call.caller, _branch_id(call), call.body.registration_number.upper()))


@endpoint(
    bp,
    ONE + "/deputies/{number}",
    "DELETE",
    summary="End a deputy's office (the secretary, or the deputy stepping down)",
    response=s.Deputy,
    errors=(401, 403, 404, 409),
)
def remove_deputy(call: Call) -> dict:
    from chalicelib.services.branches import remove_deputy

    return remove_deputy(call.caller, _branch_id(call), _number(call))


def _supervision(action: str, summary: str) -> None:
    def view(call: Call) -> dict:
        from chalicelib.services.branches import supervise

        return supervise(call.caller, _branch_id(call), action, call.body.reason)

    view.__name__ = f"{action}_branch"
    endpoint(
        bp,
        ONE + "/" + action,
        "POST",
        summary=summary,
        body=s.Supervise,
        response=s.BranchView,
        idempotent=True,
        errors=(400, 401, 403, 404, 409),
    )(view)


_supervision("suspend", "Suspend: no new members until reinstated (supervising staff or above)")
_supervision("reinstate", "Reinstate a suspended branch (supervising staff or above)")
_supervision("dissolve", "Dissolve; memberships are removed in the background (supervising staff or above)")


@endpoint(
    bp,
    ONE + "/reassign",
    "POST",
    summary="Move supervision to a department inside the acting department's subtree; logged publicly",
    body=s.Reassign,
    response=s.BranchView,
    idempotent=True,
    errors=(400, 401, 403, 404, 409),
)
def reassign(call: Call) -> dict:
    from chalicelib.services.branches import reassign

    b = call.body
    return reassign(call.caller, _branch_id(call), b.supervising_org_id, b.reason)
