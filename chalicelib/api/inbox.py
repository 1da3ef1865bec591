"""The inbox: what waits for the signed-in member's decision."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import Call, endpoint
from chalicelib.api.schemas import transfers as s

bp = Blueprint(__name__)


@endpoint(
    bp,
    "/v1/inbox",
    summary="What waits for your decision (as secretary or staff), overdue first, with the overdue count",
    response=s.Inbox,
    errors=(401, 404),
)
def inbox(call: Call) -> dict:
    from chalicelib.services.inbox import inbox

    return inbox(call.caller)
