"""Appeals and reports: filing, routing, the department's queue, responses, and the inbox source.

Anonymity: an anonymous report stores its reporter only as KMS ciphertext (a key this code never
decrypts with) and as a keyed MAC under a KMS HMAC key, used to list and open the reporter's own
reports. Nothing here logs who filed a report, not even as a pseudonym: `member_ref` is a plain
hash, so logging it beside a case id would name the reporter to anyone who can read logs.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import replace
from datetime import UTC, datetime

from chalicelib.domain import cases as domain
from chalicelib.domain import roles
from chalicelib.domain.cases import Case, Response, Submitter
from chalicelib.domain.errors import Forbidden, NotFound, ValidationFailed
from chalicelib.domain.members import Member
from chalicelib.observability import logger, member_ref
from chalicelib.services.authz import require_role

INBOX_CASES_PER_DEPARTMENT = 20
_CASE_ID = re.compile(r"^case-[0-9a-f]{16}$")


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def new_case_id() -> str:
    return "case-" + secrets.token_hex(8)


def _new_case(kind: str, subject: str, body: str, handling_path: tuple[str, ...], **extra) -> Case:
    now = _iso(_now())
    return Case(
        case_id=new_case_id(),
        kind=kind,
        subject=subject,
        body=body,
        status="submitted",
        handling_org_id=handling_path[-1],
        handling_path=handling_path,
        created_at=now,
        updated_at=now,
        last_touched_at=now,
        **extra,
    )


def _path_to(department: str, path: tuple[str, ...]) -> tuple[str, ...]:
    """The handling department's own path, cut from a path that runs through it."""
    return path[: path.index(department) + 1]


def submit_appeal(caller_number: str, subject: str, body: str) -> dict:
    """A member appeals about their rights: routed to the county department above their home branch."""
    from chalicelib.store import cases as store
    from chalicelib.store import members

    member = members.get(caller_number)
    if member is None:
        raise NotFound("no such member")
    path = tuple(member.home_path) or (member.home_branch_id,)
    handling = domain.supervising_department(path)
    case = _new_case(
        "appeal",
        subject,
        body,
        _path_to(handling, path),
        anonymous=False,
        submitted_by=Submitter(member.registration_number, member.name),
    )
    store.create(case)
    logger.info(
        "appeal filed",
        extra={"case_id": case.case_id, "handling_org_id": handling, "member": member_ref(caller_number)},
    )
    return {"case_id": case.case_id, "status": case.status, "handling_org_id": handling, "kind": "appeal"}


def submit_report(
    caller_number: str, subject: str, body: str, about_org_id: str | None, anonymous: bool
) -> dict:
    """A member reports: to the department supervising `about_org_id`, else the county above home.

    Anonymous: the reporter's number is sealed with KMS (bound to the case id) and a MAC of it
    is kept for their own lookups; the case holds neither the number nor the name.
    """
    from chalicelib.store import cases as store
    from chalicelib.store import kms

    member, org = store.load_reporter_and_org(caller_number, about_org_id)
    if member is None:
        raise NotFound("no such member")
    if about_org_id is not None and org is None:
        raise ValidationFailed(
            "unknown org", errors=[{"field": "about_org_id", "message": f"no org {about_org_id}"}]
        )
    handling_path = _report_route(member, org)
    extra: dict = {"anonymous": anonymous, "about_org_id": about_org_id}
    if not anonymous:
        extra["submitted_by"] = Submitter(member.registration_number, member.name)
    case = _new_case("report", subject, body, handling_path, **extra)
    if anonymous:
        store.create(
            case,
            reporter_ciphertext=kms.seal_reporter(caller_number, case.case_id),
            reporter_mac=kms.reporter_mac(caller_number),
        )
        logger.info("report filed", extra={"case_id": case.case_id, "handling_org_id": case.handling_org_id})
    else:
        store.create(case)
        logger.info(
            "report filed",
            extra={
                "case_id": case.case_id,
                "handling_org_id": case.handling_org_id,
                "member": member_ref(caller_number),
            },
        )
    return {
        "case_id": case.case_id,
        "status": case.status,
        "handling_org_id": case.handling_org_id,
        "kind": "report",
        "anonymous": anonymous,
    }


def _report_route(member: Member, org) -> tuple[str, ...]:
    """The handling department's path: the one supervising `org` (for a virtual branch, the
    department it is assigned to, its parent in the tree), else the county above home."""
    if org is None:
        path = tuple(member.home_path) or (member.home_branch_id,)
        return _path_to(domain.supervising_department(path), path)
    path = org.path or (org.org_id,)
    return _path_to(domain.supervising_department(path), path)


# ---- reading -------------------------------------------------------------------------------------


def my_cases(caller_number: str, limit: int, cursor: dict | None) -> tuple[list[dict], dict | None]:
    """The caller's appeals and reports, anonymous ones included, newest first."""
    from chalicelib.store import cases as store
    from chalicelib.store import kms

    page = store.member_cases(caller_number, lambda: kms.reporter_mac(caller_number), limit, cursor)
    now = _now()
    return [domain.owner_view(c, now) for c in page.items], page.last_key


def department_cases(
    caller_number: str, org_id: str, status: str | None, limit: int, cursor: dict | None
) -> tuple[list[dict], dict | None]:
    """A department's queue, for its staff and staff above it."""
    from chalicelib.store import cases as store
    from chalicelib.store import members

    caller, org = members.get_with_org(caller_number, org_id)
    require_role(caller, org, ["staff"], "read this department's cases")
    if not org.is_department:
        raise ValidationFailed(
            "cases are handled by departments",
            errors=[{"field": "org_id", "message": f"{org_id} is a {org.level}"}],
        )
    page = store.department_queue(org_id, status, limit, cursor)
    now = _now()
    return [domain.handler_view(c, now) for c in page.items], page.last_key


def _is_handler_above(caller: Member, case: Case) -> bool:
    return roles.holds(caller.roles, case.handling_path, ["staff"])


def _is_handler(caller: Member, case: Case) -> bool:
    return roles.role_key("staff", case.handling_org_id) in caller.roles


def _is_owner(caller_number: str, meta, *, check_mac: bool) -> bool:
    import hmac

    if meta.member_number is not None:
        return meta.member_number == caller_number
    if not check_mac or meta.reporter_mac is None:
        return False
    from chalicelib.store import kms

    return hmac.compare_digest(kms.reporter_mac(caller_number), meta.reporter_mac)


def get_case(caller_number: str, case_id: str) -> dict:
    """One case with its responses: for the member who filed it, or staff of the handling
    department or above (who never see an anonymous reporter). Anyone else: 404."""
    from chalicelib.store import cases as store

    if not _CASE_ID.match(case_id):
        raise NotFound("no such case")
    caller, case, meta = store.load_with_caller(caller_number, case_id)
    if caller is None or case is None:
        raise NotFound("no such case")
    now = _now()
    if meta.member_number == caller_number:
        return domain.owner_view(case, now, store.responses(case_id))
    if _is_handler_above(caller, case):
        return domain.handler_view(case, now, store.responses(case_id))
    if _is_owner(caller_number, meta, check_mac=case.anonymous):
        return domain.owner_view(case, now, store.responses(case_id))
    raise NotFound("no such case")


def respond(caller_number: str, case_id: str, body: str, status: str) -> dict:
    """Staff of the handling department answer a case, moving it along submitted -> accepted ->
    resolved or rejected; every answer is kept and resets the overdue clock."""
    from chalicelib.store import cases as store

    if not _CASE_ID.match(case_id):
        raise NotFound("no such case")
    caller, case, meta = store.load_with_caller(caller_number, case_id)
    if caller is None or case is None:
        raise NotFound("no such case")
    if not _is_handler(caller, case):
        if _is_handler_above(caller, case) or meta.member_number == caller_number:
            raise Forbidden("only staff of the handling department answer a case")
        raise NotFound("no such case")
    domain.check_transition(case.status, status)
    now = _iso(_now())
    response = Response(
        response_id=f"{case.response_count + 1:05d}#{now}",  # in order; unique under the version check
        org_id=case.handling_org_id,
        responder=caller_number,
        status=status,
        body=body,
        at=now,
    )
    store.respond(case, meta.version, response)
    logger.info(
        "case answered",
        extra={"case_id": case_id, "status": status, "handling_org_id": case.handling_org_id},
    )
    updated = replace(
        case, status=status, updated_at=now, last_touched_at=now, response_count=case.response_count + 1
    )
    return domain.handler_view(updated, _now(), store.responses(case_id))


def open_cases_for(member: Member | str, now: datetime | None = None) -> list[dict]:
    """Inbox source: open cases of every department where `member` is staff, overdue flagged.

    One Query per such department (at most 20 cases each, longest untouched first); no reporter.
    """
    from chalicelib.store import cases as store

    if isinstance(member, str):
        from chalicelib.store import members

        found = members.get(member)
        if found is None:
            return []
        member = found
    departments = sorted(
        org_id
        for role, _, org_id in (key.partition("@") for key in member.roles)
        if role == "staff" and domain.is_department(org_id)
    )
    now = now or _now()
    items = []
    for org_id in departments:
        items.extend(domain.inbox_item(c, now) for c in store.open_cases(org_id, INBOX_CASES_PER_DEPARTMENT))
    return items
