"""Appeals, reports and the cases API: filing, the member's own cases, a department's queue, answers."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import Call, Created, Paged, endpoint
from chalicelib.api.schemas import PageQuery
from chalicelib.api.schemas import cases as s

bp = Blueprint(__name__)


@endpoint(
    bp,
    "/v1/appeals",
    "POST",
    summary="Appeal about your rights; routed to the county department above your home branch",
    body=s.CreateAppeal,
    response=s.AppealCreated,
    status=201,
    idempotent=True,
    errors=(400, 401, 404),
)
def file_appeal(call: Call) -> Created:
    from chalicelib.observability import count
    from chalicelib.services.cases import submit_appeal

    result = submit_appeal(call.caller, call.body.subject, call.body.body)
    count("AppealsFiled")
    return Created(result)


def _report_subject(call: Call) -> str:
    """Retries of an anonymous report are matched by the reporter's lookup MAC, not their number:
    the idempotency record (kept a day) must not tie a case to a member either."""
    if call.body is not None and call.body.anonymous:
        from chalicelib.store.kms import reporter_mac

        return "mac:" + reporter_mac(call.caller)
    return call.caller or "-"


@endpoint(
    bp,
    "/v1/reports",
    "POST",
    summary="File a report, anonymously if you wish; routed to the department supervising about_org_id",
    body=s.CreateReport,
    response=s.ReportCreated,
    status=201,
    idempotent=True,
    idempotency_subject=_report_subject,
    errors=(400, 401, 404),
)
def file_report(call: Call) -> Created:
    from chalicelib.observability import count
    from chalicelib.services.cases import submit_report

    b = call.body
    result = submit_report(call.caller, b.subject, b.body, b.about_org_id, b.anonymous)
    count("ReportsFiled")
    return Created(result)


@endpoint(
    bp,
    "/v1/cases/mine",
    summary="Your appeals and reports (anonymous ones included), newest first",
    query=PageQuery,
    response=s.CasePage,
    paginated=True,
    errors=(400, 401),
)
def my_cases(call: Call) -> Paged:
    from chalicelib.services.cases import my_cases

    items, last = my_cases(call.caller, call.query.limit, call.cursor)
    return Paged(items, last)


@endpoint(
    bp,
    "/v1/cases",
    summary="A department's cases (its staff or staff above); status=open for the open queue",
    query=s.DepartmentCaseQuery,
    response=s.CasePage,
    paginated=True,
    errors=(400, 401, 403, 404),
)
def department_cases(call: Call) -> Paged:
    from chalicelib.services.cases import department_cases

    q = call.query
    items, last = department_cases(call.caller, q.org_id, q.status, q.limit, call.cursor)
    return Paged(items, last)


@endpoint(
    bp,
    "/v1/cases/{case_id}",
    summary="One case with its responses (the member who filed it, or staff of the handling department)",
    response=s.CaseView,
    errors=(401, 404),
)
def get_case(call: Call) -> dict:
    from chalicelib.services.cases import get_case

    return get_case(call.caller, call.params["case_id"])


@endpoint(
    bp,
    "/v1/cases/{case_id}/responses",
    "POST",
    summary="Answer a case and move its status (staff of the handling department only)",
    body=s.CreateCaseResponse,
    response=s.CaseView,
    status=201,
    idempotent=True,
    errors=(400, 401, 403, 404, 409),
)
def respond_to_case(call: Call) -> Created:
    from chalicelib.services.cases import respond

    b = call.body
    return Created(respond(call.caller, call.params["case_id"], b.body, b.status))
