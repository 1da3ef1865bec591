"""Cases (appeals and reports): routing to a department, the status machine, overdue, views.

A `Case` here never carries who sent an anonymous report: the store keeps the encrypted reporter
and the lookup MAC to itself and maps items to this class without them, so no view built from it
can show them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain.divisions import CENTRAL_ORG_ID
from chalicelib.domain.errors import Conflict

KINDS = ("appeal", "report")
STATUSES = ("submitted", "accepted", "resolved", "rejected")
OPEN = frozenset({"submitted", "accepted"})
CLOSED = frozenset({"resolved", "rejected"})
# what a handling department may answer in each state; `accepted -> accepted` is a progress note
TRANSITIONS: dict[str, frozenset[str]] = {
    "submitted": frozenset({"accepted", "rejected"}),
    "accepted": frozenset({"accepted", "resolved", "rejected"}),
    "resolved": frozenset(),
    "rejected": frozenset(),
}
OVERDUE_AFTER = timedelta(days=15)
# queue key prefixes: open cases sort before closed ones
OPEN_PREFIX = "1open#"
CLOSED_PREFIX = "2closed#"
_FAR_FUTURE = 10**10  # epoch seconds after 2286: makes newest-first keys sort ascending


def department_level(org_id: str) -> str | None:
    """The level of a department from its id, None for anything else (branches, virtual branches).

    Department ids are `central` and `div-<GB/T 2260 code>`; the code itself tells the level
    (`xx0000` province, `xxxx00` city, else county), as `domain.divisions` defines it. Telling it
    from the id keeps routing free of reads and of loading the division table.
    """
    if org_id == CENTRAL_ORG_ID:
        return "central"
    if not org_id.startswith("div-"):
        return None
    code = org_id[4:]
    if len(code) != 6 or not code.isdigit():
        return None
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "county"


def is_department(org_id: str) -> bool:
    return department_level(org_id) is not None


def supervising_department(path: Sequence[str]) -> str:
    """The department that handles cases about the org whose path (central .. itself) is given.

    The last county-level department above the org; where there is none (a branch straight under
    a city, the central office branch, a department above county level), the nearest department
    above it; the central department for itself.
    """
    above = [org for org in path[:-1] if is_department(org)]
    for org in reversed(above):
        if department_level(org) == "county":
            return org
    if above:
        return above[-1]
    return CENTRAL_ORG_ID


def check_transition(current: str, new: str) -> None:
    """A response may move `current` to `new`; a closed case takes no more responses (409)."""
    if new not in TRANSITIONS.get(current, frozenset()):
        if current in CLOSED:
            raise Conflict(f"the case is already {current}")
        raise Conflict(f"a {current} case cannot become {new}")


def phase(status: str) -> str:
    return "open" if status in OPEN else "closed"


def queue_key(status: str, touched_at: str, case_id: str) -> str:
    """Sort key of a department's queue: open cases first, longest untouched first; then closed
    cases, most recently closed first."""
    if status in OPEN:
        return f"{OPEN_PREFIX}{touched_at}#{case_id}"
    inverted = _FAR_FUTURE - int(datetime.fromisoformat(touched_at).timestamp())
    return f"{CLOSED_PREFIX}{inverted:011d}#{case_id}"


def status_key(org_id: str, status: str) -> str:
    """Partition of one department's cases in one status."""
    return f"{org_id}#{status}"


def is_overdue(status: str, last_touched_at: str, now: datetime) -> bool:
    """An open case nobody has responded to for 15 days."""
    if status not in OPEN:
        return False
    return now - datetime.fromisoformat(last_touched_at) >= OVERDUE_AFTER


@dataclass(frozen=True)
class Submitter:
    registration_number: str
    name: str


@dataclass(frozen=True)
class Case:
    """An appeal or a report as the domain sees it; `submitted_by` is None for anonymous reports."""

    case_id: str
    kind: str
    subject: str
    status: str
    anonymous: bool
    handling_org_id: str
    handling_path: tuple[str, ...]
    created_at: str
    updated_at: str
    last_touched_at: str
    about_org_id: str | None = None
    submitted_by: Submitter | None = None
    body: str | None = None  # absent in list projections
    response_count: int = 0


@dataclass(frozen=True)
class Response:
    response_id: str
    org_id: str
    responder: str
    status: str
    body: str
    at: str


def _common(case: Case, now: datetime) -> dict:
    out = {
        "case_id": case.case_id,
        "kind": case.kind,
        "subject": case.subject,
        "status": case.status,
        "anonymous": case.anonymous,
        "handling_org_id": case.handling_org_id,
        "about_org_id": case.about_org_id,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "last_touched_at": case.last_touched_at,
        "overdue": is_overdue(case.status, case.last_touched_at, now),
        "response_count": case.response_count,
    }
    if case.body is not None:
        out["body"] = case.body
    return out


def owner_view(case: Case, now: datetime, responses: Sequence[Response] | None = None) -> dict:
    """What the member who filed the case sees: the case and the department's answers."""
    out = _common(case, now)
    if responses is not None:
        out["responses"] = [
            {"org_id": r.org_id, "status": r.status, "body": r.body, "at": r.at} for r in responses
        ]
    return out


def handler_view(case: Case, now: datetime, responses: Sequence[Response] | None = None) -> dict:
    """What staff see: the submitter of appeals and named reports, `null` for anonymous reports."""
    out = _common(case, now)
    out["submitted_by"] = (
        None
        if case.submitted_by is None
        else {"registration_number": case.submitted_by.registration_number, "name": case.submitted_by.name}
    )
    if responses is not None:
        out["responses"] = [
            {"org_id": r.org_id, "status": r.status, "body": r.body, "at": r.at, "responder": r.responder}
            for r in responses
        ]
    return out


def inbox_item(case: Case, now: datetime) -> dict:
    """A case as a to-do item of the handling department's staff (`GET /v1/inbox`)."""
    return {
        "kind": "case",
        "id": case.case_id,
        "org_id": case.handling_org_id,
        "created_at": case.created_at,
        "overdue": is_overdue(case.status, case.last_touched_at, now),
        "case_kind": case.kind,
        "subject": case.subject,
        "status": case.status,
        "anonymous": case.anonymous,
        "last_touched_at": case.last_touched_at,
    }
