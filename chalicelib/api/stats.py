"""Statistics routes: one org's figures for a month."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import Call, endpoint
from chalicelib.api.schemas import transfers as s
from chalicelib.api.transfers import org_id

bp = Blueprint(__name__)


@endpoint(
    bp,
    "/v1/stats/orgs/{org_id}",
    summary="An org's figures for a month: members, mobile members, inflow, outflow (staff of it or above)",
    query=s.StatsQuery,
    response=s.OrgStats,
    errors=(400, 401, 403, 404),
)
def org_stats(call: Call) -> dict:
    from chalicelib.services.stats import org_stats

    return org_stats(call.caller, org_id(call), call.query.month)
