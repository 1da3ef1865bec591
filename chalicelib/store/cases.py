"""Cases and their responses; maps items to `domain.cases` objects.

The encrypted reporter of an anonymous report is written here and never read back out: items
become `domain.cases.Case`, which has no field for it, and the list indexes do not project it.
The reporter's lookup MAC leaves this module only as `CaseMeta.reporter_mac`, for the one
comparison that lets a reporter open their own case.
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactGet, TransactWrite

from chalicelib.domain import cases as domain
from chalicelib.domain.cases import Case, Response, Submitter
from chalicelib.domain.errors import Conflict
from chalicelib.domain.members import Member
from chalicelib.store import models
from chalicelib.store.errors import cancellation_codes, is_conditional_failure, is_transaction_conflict
from chalicelib.store.members import to_domain as member_to_domain
from chalicelib.store.pages import Page, query_page

MAX_RESPONSES = 100


def _connection():
    return models.Case._get_connection().connection


def to_case(item: models.Case) -> Case:
    submitted_by = None
    if item.member_number:
        submitted_by = Submitter(item.member_number, item.member_name or "")
    return Case(
        case_id=item.case_id,
        kind=item.kind,
        subject=item.subject,
        status=item.status,
        anonymous=bool(item.anonymous),
        handling_org_id=item.handling_org_id,
        handling_path=tuple(item.handling_path or ()),
        created_at=item.created_at,
        updated_at=item.updated_at,
        last_touched_at=item.last_touched_at,
        about_org_id=item.about_org_id,
        submitted_by=submitted_by,
        body=item.body,
        response_count=int(item.response_count or 0),
    )


def to_response(item: models.CaseResponse) -> Response:
    return Response(
        response_id=item.response_id,
        org_id=item.org_id,
        responder=item.responder,
        status=item.status,
        body=item.body,
        at=item.at,
    )


def _resolve(future, convert):
    try:
        return convert(future.get())
    except Exception:  # the future raises DoesNotExist of its model when the item was absent
        return None


# ---- routing reads -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgRoute:
    """What routing needs of an org: its path from the centre down to itself. A virtual branch sits
    in the tree under the department supervising it (reassignment moves it), so the path says who
    supervises it too."""

    org_id: str
    level: str
    path: tuple[str, ...]


def load_reporter_and_org(number: str, org_id: str | None) -> tuple[Member | None, OrgRoute | None]:
    """The reporter and the org a report is about: one read."""
    if org_id is None:
        from chalicelib.store import members

        return members.get(number), None
    with TransactGet(connection=_connection()) as tx:
        member_f = tx.get(models.Member, number)
        org_f = tx.get(models.Org, org_id)
    member = _resolve(member_f, member_to_domain)
    org = _resolve(org_f, lambda o: o)
    if org is None:
        return member, None
    return member, OrgRoute(org_id=org.org_id, level=org.level, path=tuple(org.path or ()))


# ---- writes ------------------------------------------------------------------------------------------


def create(case: Case, reporter_ciphertext: bytes | None = None, reporter_mac: str | None = None) -> None:
    """Put a new case; an anonymous one carries only the ciphertext and the MAC of its reporter."""
    item = models.Case(
        case.case_id,
        kind=case.kind,
        subject=case.subject,
        body=case.body or "",
        status=case.status,
        anonymous=case.anonymous,
        handling_org_id=case.handling_org_id,
        handling_path=list(case.handling_path),
        about_org_id=case.about_org_id,
        member_number=case.submitted_by.registration_number if case.submitted_by else None,
        member_name=case.submitted_by.name if case.submitted_by else None,
        reporter_ciphertext=reporter_ciphertext,
        reporter_mac=reporter_mac,
        created_at=case.created_at,
        updated_at=case.updated_at,
        last_touched_at=case.last_touched_at,
        queue_key=domain.queue_key(case.status, case.last_touched_at, case.case_id),
        status_key=domain.status_key(case.handling_org_id, case.status),
        mine_key=f"{case.created_at}#{case.case_id}",
        response_count=0,
    )
    try:
        item.save(condition=models.Case.case_id.does_not_exist())
    except PutError as exc:
        if is_conditional_failure(exc):
            raise Conflict("a case with this id exists") from exc
        raise


@dataclass(frozen=True)
class CaseMeta:
    """What the service needs beyond the domain case: who owns it, and its version for updates."""

    version: int
    member_number: str | None
    reporter_mac: str | None


def load_with_caller(number: str, case_id: str) -> tuple[Member | None, Case | None, CaseMeta | None]:
    """The caller and a case in one TransactGetItems."""
    with TransactGet(connection=_connection()) as tx:
        member_f = tx.get(models.Member, number)
        case_f = tx.get(models.Case, case_id)
    member = _resolve(member_f, member_to_domain)
    item = _resolve(case_f, lambda c: c)
    if item is None:
        return member, None, None
    meta = CaseMeta(int(item.version or 0), item.member_number, item.reporter_mac)
    return member, to_case(item), meta


def respond(case: Case, version: int, response: Response) -> None:
    """Record a response and move the case to its status, if nobody changed the case since `version`."""
    item = models.Case(case.case_id)
    item.version = version
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.update(
                item,
                actions=[
                    models.Case.status.set(response.status),
                    models.Case.updated_at.set(response.at),
                    models.Case.last_touched_at.set(response.at),
                    models.Case.queue_key.set(domain.queue_key(response.status, response.at, case.case_id)),
                    models.Case.status_key.set(domain.status_key(case.handling_org_id, response.status)),
                    models.Case.response_count.add(1),
                ],
                condition=models.Case.status == case.status,
            )
            tx.save(
                models.CaseResponse(
                    case.case_id,
                    response.response_id,
                    org_id=response.org_id,
                    responder=response.responder,
                    status=response.status,
                    body=response.body,
                    at=response.at,
                ),
                condition=models.CaseResponse.response_id.does_not_exist(),
            )
    except TransactWriteError as exc:
        if "ConditionalCheckFailed" in cancellation_codes(exc) or is_transaction_conflict(exc):
            raise Conflict("the case changed while you answered; reload it and try again") from exc
        raise


# ---- reads -------------------------------------------------------------------------------------------


def responses(case_id: str) -> list[Response]:
    """A case's responses, oldest first (at most 100): one Query."""
    page = query_page(models.CaseResponse, case_id, MAX_RESPONSES, None, to_response)
    return page.items


def department_queue(org_id: str, status: str | None, limit: int, cursor: dict | None) -> Page:
    """A department's cases: all, open (`submitted`+`accepted`), or one status. One Query."""
    if status in domain.STATUSES:
        return query_page(
            models.Case.by_handler_status, domain.status_key(org_id, status), limit, cursor, to_case
        )
    condition = models.CasesByHandler.queue_key.startswith(domain.OPEN_PREFIX) if status == "open" else None
    return query_page(models.Case.by_handler, org_id, limit, cursor, to_case, range_key_condition=condition)


def open_cases(org_id: str, limit: int) -> list[Case]:
    """A department's open cases, longest untouched first: one Query."""
    return department_queue(org_id, "open", limit, None).items


_SOURCES = (("m", "by_member", "member_number"), ("r", "by_reporter", "reporter_mac"))


def member_cases(number: str, reporter_mac, limit: int, cursor: dict | None) -> Page:
    """A member's cases, newest first: their named cases and their anonymous reports, merged.

    Two Queries at most (one per index). `reporter_mac` is a callable, so the MAC (a KMS call) is
    only made while there are anonymous reports left to list. The cursor holds, for each index,
    the position of the last case returned from it, or "end".
    """
    cursor = cursor or {}
    keys = {"m": number}
    fetched: list[tuple[str, str, models.Case]] = []
    state: dict[str, object] = {}
    for tag, index_name, attr in _SOURCES:
        position = cursor.get(tag)
        if position == "end":
            state[tag] = "end"
            continue
        key = keys.get(tag) or reporter_mac()
        start = None
        if isinstance(position, list) and len(position) == 2:
            start = {
                "case_id": {"S": str(position[1])},
                attr: {"S": key},
                "mine_key": {"S": str(position[0])},
            }
        result = getattr(models.Case, index_name).query(
            key, scan_index_forward=False, limit=limit, page_size=limit, last_evaluated_key=start
        )
        items = list(result)
        fetched.extend((item.mine_key, tag, item) for item in items)
        state[tag] = (position, result.last_evaluated_key is not None, len(items))
    fetched.sort(key=lambda entry: entry[0], reverse=True)
    taken = fetched[:limit]
    following: dict[str, object] = {}
    for tag, _, _ in _SOURCES:
        current = state[tag]
        if current == "end":
            following[tag] = "end"
            continue
        position, more, count = current  # type: ignore[misc]
        mine = [item for _, t, item in taken if t == tag]
        if len(mine) == count and not more:
            following[tag] = "end"
        elif mine:
            following[tag] = [mine[-1].mine_key, mine[-1].case_id]
        else:
            following[tag] = position
    last = None if all(v == "end" for v in following.values()) else following
    return Page(items=[to_case(item) for _, _, item in taken], last_key=last)
