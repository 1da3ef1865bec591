"""Reading participation: a member's own month, and the monthly filing for departments' staff."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.filing import MEMBER_CSV_LEVELS
from chalicelib.domain.orgs import DEPARTMENT_LEVELS, Org
from chalicelib.domain.scoring import MonthTally, check_month, month_end, previous_month
from chalicelib.services.authz import require_role


def my_participation(number: str, month: str | None, now: datetime | None = None) -> dict:
    """The caller's points, counts per type and daily breakdown for a month: one GetItem."""
    from chalicelib.store import participation

    month = check_month(month, now or datetime.now(UTC))
    tally = participation.get_month(number, month) or MonthTally(number, month)
    return tally.view()


def participation_summary(org: Org | str, month: str) -> dict:
    """`active_members` and `average_points` of an org's filed month (0 and null until it is filed).

    For `GET /v1/stats/orgs/{id}`: one GetItem (two when given an org id rather than the org).
    """
    from chalicelib.store import orgs
    from chalicelib.store import participation_filings as fs

    if isinstance(org, str):
        org = orgs.get(org)
    filed = None
    if org is not None and org.level in DEPARTMENT_LEVELS:
        filed = fs.get_department(month, org.org_id)
    elif org is not None and org.level == "branch" and org.parent_id:
        filed = fs.get_branch(month, org.parent_id, org.org_id)
    if filed is None:
        return {"active_members": 0, "average_points": None}
    return {"active_members": filed.summary.active_members, "average_points": filed.summary.average_points}


def filing(
    caller: str,
    org_id: str,
    month: str | None,
    rows: str | None,
    limit: int,
    cursor: dict | None,
    now: datetime | None = None,
) -> tuple[dict, list[dict], dict | None]:
    """An org's filed month for staff of it or above: (header with summary, a page of rows, last key).

    Rows are members for a county or a branch and child orgs above (`rows` chooses otherwise): a
    department's members are those of its own branches. Without a month, the month before (the one
    the last scheduled filing filed). Three DynamoDB calls.
    """
    from chalicelib.store import members
    from chalicelib.store import participation_filings as fs

    now = now or datetime.now(UTC)
    month = check_month(month or previous_month(now), now)
    caller_member, org = members.get_with_org(caller, org_id)
    require_role(caller_member, org, ["staff"], "read this org's participation filing")
    if org.level in DEPARTMENT_LEVELS:
        filed, where, member_prefix = fs.get_department(month, org.org_id), org.org_id, fs.MEMBER_PREFIX
    elif org.level == "branch" and org.parent_id:
        filed = fs.get_branch(month, org.parent_id, org.org_id)
        where, member_prefix = org.parent_id, f"{fs.MEMBER_PREFIX}{org.org_id}#"
    else:
        raise NotFound("virtual branches are not filed: their members are filed with their home branches")
    if filed is None:
        raise NotFound(f"{org.org_id} has no participation filing for {month} (yet)")
    rows = rows or ("members" if org.level in MEMBER_CSV_LEVELS else "orgs")
    if rows == "orgs" and org.level == "branch":
        raise ValidationFailed(
            "a branch has no child orgs", errors=[{"field": "rows", "message": "use members"}]
        )
    page = fs.rows_page(month, where, fs.ORG_PREFIX if rows == "orgs" else member_prefix, limit, cursor)
    header = {
        "month": month,
        "as_of": month_end(month),
        "org_id": org.org_id,
        "name": org.name,
        "level": org.level,
        "rows": rows,
        "summary": filed.summary.to_dict(),
    }
    return header, [item.to_dict() for item in page.items], page.last_key
