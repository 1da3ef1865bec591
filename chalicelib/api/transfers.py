"""Transfer routes: asking, deciding, cancelling, lists for members and orgs, and the central filing."""

from __future__ import annotations

import re

from chalice import Blueprint

from chalicelib.api.http import Call, Created, Paged, endpoint, parse_json
from chalicelib.api.schemas import transfers as s
from chalicelib.domain.errors import NotFound

bp = Blueprint(__name__)

_TRANSFER_ID = re.compile(s.TRANSFER_ID)
_ORG_ID = re.compile(s.ORG_ID_PATTERN)


def transfer_id(call: Call) -> str:
    """The path's transfer id; anything that cannot be one is simply not found."""
    value = call.params["transfer_id"]
    if not _TRANSFER_ID.match(value):
        raise NotFound("no such transfer, or not yours to see")
    return value


def org_id(call: Call) -> str:
    value = call.params["org_id"]
    if not _ORG_ID.match(value):
        raise NotFound("no such org")
    return value


def _reason(call: Call) -> str | None:
    """accept, reject and cancel take an optional `{"reason"}`; no body at all is fine."""
    raw = call.request.raw_body or b""
    if not raw.strip():
        return None
    return s.Decision.model_validate(parse_json(raw)).reason


@endpoint(
    bp,
    "/v1/transfers",
    "POST",
    summary="Ask to move to a branch: temporary (effective at once) or formal (pending)",
    body=s.CreateTransfer,
    response=s.TransferView,
    status=201,
    idempotent=True,
    errors=(400, 401, 404, 409),
)
def request_transfer(call: Call) -> Created:
    from chalicelib.observability import count
    from chalicelib.services.transfers import request_transfer

    b = call.body
    result = request_transfer(call.caller, b.to_org_id, b.kind, b.reason)
    count("TransfersRequested")
    return Created(result)


@endpoint(
    bp,
    "/v1/transfers",
    summary="The signed-in member's transfers, newest first",
    query=s.PageQuery,
    response=s.TransferPage,
    paginated=True,
    errors=(400, 401),
)
def my_transfers(call: Call) -> Paged:
    from chalicelib.services.transfers import my_transfers

    items, last = my_transfers(call.caller, call.query.limit, call.cursor)
    return Paged(items, last)


@endpoint(
    bp,
    "/v1/transfers/{transfer_id}",
    summary="One transfer with its history (the member, secretaries and staff on either side)",
    response=s.TransferView,
    errors=(401, 404),
)
def get_transfer(call: Call) -> dict:
    from chalicelib.services.transfers import get_transfer

    return get_transfer(call.caller, transfer_id(call))


def _decide(call: Call, action: str) -> dict:
    from chalicelib.services.transfers import decide

    return decide(call.caller, transfer_id(call), action, _reason(call))


_DECISION = {"response": s.TransferView, "idempotent": True, "errors": (400, 401, 403, 404, 409)}


@endpoint(
    bp,
    "/v1/transfers/{transfer_id}/accept",
    "POST",
    summary='Accept a pending formal transfer (the receiving side); optional body {"reason"}',
    **_DECISION,
)
def accept_transfer(call: Call) -> dict:
    return _decide(call, "accept")


@endpoint(
    bp,
    "/v1/transfers/{transfer_id}/reject",
    "POST",
    summary="Reject a pending formal transfer, or a temporary one within 7 days (the receiving side); "
    'optional body {"reason"}',
    **_DECISION,
)
def reject_transfer(call: Call) -> dict:
    return _decide(call, "reject")


@endpoint(
    bp,
    "/v1/transfers/{transfer_id}/cancel",
    "POST",
    summary='Cancel your pending formal transfer, or end your temporary attachment; optional body {"reason"}',
    **_DECISION,
)
def cancel_transfer(call: Call) -> dict:
    return _decide(call, "cancel")


@endpoint(
    bp,
    "/v1/orgs/{org_id}/transfers",
    summary="Transfers entering, leaving or moving inside an org's subtree (its secretary or staff, or staff "
    "above)",
    query=s.OrgTransfersQuery,
    response=s.OrgTransferPage,
    paginated=True,
    errors=(400, 401, 403, 404),
)
def org_transfers(call: Call) -> Paged:
    from chalicelib.services.transfers import org_transfers

    q = call.query
    items, last = org_transfers(call.caller, org_id(call), q.status, q.limit, call.cursor)
    return Paged(items, last)


@endpoint(
    bp,
    "/v1/filings/transfers",
    summary="The central filing of effective transfers of an org's subtree in a month (staff of it or above)",
    query=s.FilingQuery,
    response=s.TransferFilingPage,
    paginated=True,
    errors=(400, 401, 403, 404),
)
def transfer_filings(call: Call) -> Paged:
    from chalicelib.services.filings import transfer_filings

    q = call.query
    items, last = transfer_filings(call.caller, q.org_id, q.month, q.limit, call.cursor)
    return Paged(items, last)
