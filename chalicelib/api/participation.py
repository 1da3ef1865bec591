"""Participation routes: a member's own month, the scoring rules, and the monthly filing for staff."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import Call, Created, encode_cursor, endpoint
from chalicelib.api.schemas import participation as s

bp = Blueprint(__name__)


@endpoint(
    bp,
    "/v1/members/me/participation",
    summary="The signed-in member's points, counts and daily breakdown for a month",
    query=s.ParticipationQuery,
    response=s.ParticipationView,
    errors=(400, 401),
)
def my_participation(call: Call) -> dict:
    from chalicelib.services.participation import my_participation

    return my_participation(call.caller, call.query.month)


@endpoint(
    bp,
    "/v1/participation/rules",
    summary="The scoring rules in force, and any published for later",
    response=s.RulesView,
    errors=(401,),
)
def scoring_rules(call: Call) -> dict:
    from chalicelib.services.scoring import current_rules

    return current_rules()


@endpoint(
    bp,
    "/v1/participation/rules",
    "POST",
    summary="Publish a new version of the scoring rules (central staff), effective from a later day",
    body=s.PublishRules,
    response=s.RulesVersion,
    status=201,
    idempotent=True,
    errors=(400, 401, 403, 409),
)
def publish_rules(call: Call) -> Created:
    from chalicelib.services.scoring import publish_rules

    types = {name: rule.model_dump() for name, rule in call.body.types.items()}
    return Created(publish_rules(call.caller, call.body.effective_from, types))


@endpoint(
    bp,
    "/v1/filings/participation",
    summary="An org's monthly participation filing: its summary and a page of member or child-org rows",
    query=s.FilingQuery,
    response=s.ParticipationFilingPage,
    errors=(400, 401, 403, 404),
)
def participation_filing(call: Call) -> dict:
    from chalicelib.services.participation import filing

    q = call.query
    header, items, last_key = filing(call.caller, q.org_id, q.month, q.rows, q.limit, call.cursor)
    return {**header, "items": items, "next_cursor": encode_cursor(call.cursor_scope(), last_key)}
