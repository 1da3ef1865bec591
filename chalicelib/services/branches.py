"""Virtual branches: founding, the public registry, joining and leaving, offices, supervision.

Each use case reads what it needs in one call (a TransactGetItems of the branch record with the
caller's item, a membership or a request), decides with `domain.branches`, and writes once (one
transaction with conditions), so its cost does not depend on the size of the branch. Who may act
is decided from the branch record (secretary, deputies) and, for supervision, from the caller's
roles against the branch's path, exactly as `services/authz.require_role` does for every org.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chalicelib.domain import branches as rules
from chalicelib.domain import roles as role_rules
from chalicelib.domain.branches import Founding, VirtualBranch
from chalicelib.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from chalicelib.domain.members import Member
from chalicelib.domain.orgs import DEPARTMENT_LEVELS, Org
from chalicelib.observability import logger, member_ref

# a member may be secretary of at most this many branches they founded (the inbox reads each)
MAX_FOUNDED = rules.INBOX_BRANCH_LIMIT
# the detail page carries this many of the newest log entries; the rest are at /log
DETAIL_LOG_ENTRIES = 20
# members taken out of a dissolved branch per stream record
DISSOLUTION_PAGE = 200
# pending requests per branch shown in the inbox
INBOX_PER_BRANCH = 20
# the dissolution sweep leaves a branch alone this long after its dissolution (its stream chain is
# normally done by then) and re-kicks at most this many branches a run
SWEEP_GRACE = timedelta(minutes=15)
SWEEP_LIMIT = 100


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _branch_or_404(branch: VirtualBranch | None, org_id: str) -> VirtualBranch:
    if branch is None:
        raise NotFound(f"no virtual branch {org_id}")
    return branch


def _as_org(branch: VirtualBranch) -> Org:
    """The branch as a node of the org tree, for `authz.require_role`."""
    return Org(
        org_id=branch.org_id,
        name=branch.name,
        level="virtual_branch",
        parent_id=branch.supervising_org_id,
        division_code=branch.supervising_division_code,
        path=branch.path,
        member_count=branch.member_count,
        created_at=branch.created_at,
    )


def _is_staff_over(member: Member | None, branch: VirtualBranch) -> bool:
    return member is not None and role_rules.holds(member.roles, branch.path, ["staff"])


def _view(branch: VirtualBranch, **extra) -> dict:
    return {**branch.public(), **extra}


# ---- founding and the registry --------------------------------------------------------------------


def locate(source_ip: str | None):
    """The department an address points at (None when it tells nothing): pure lookup, no DynamoDB."""
    from chalicelib.domain import geo
    from chalicelib.store import geoip

    ipv4 = geo.routable_ipv4(source_ip)
    if ipv4 is None:
        return None
    return geo.locate_region(geoip.lookup(ipv4))


def found(
    caller: str,
    name: str,
    description: str,
    rules_version: int | str,
    covenant_version: int | str,
    source_ip: str | None,
) -> dict:
    """A member founds a virtual branch and becomes its secretary.

    The supervising department comes from the client's address (the most precise department the
    IP database allows), else from the department above the founder's home branch. One read, one
    transaction (and one more read when the address tells nothing).
    """
    from chalicelib.domain import geo
    from chalicelib.store import branches as store
    from chalicelib.store import orgs as org_store

    location = locate(source_ip)
    member, texts, supervisor = store.read_founding(caller, location.org_id if location else None)
    if member is None:
        raise NotFound("no such member")
    if texts is None:
        raise Conflict("no establishment rules are published yet")
    rules.check_texts_current(rules_version, covenant_version, texts.rules_version, texts.covenant_version)
    led = [k for k in member.roles if k.startswith(f"{rules.SECRETARY}@vb-")]
    if len(led) >= MAX_FOUNDED:
        raise Conflict(f"you are secretary of {len(led)} virtual branches already; hand one over first")
    if location is None or supervisor is None or supervisor.level not in DEPARTMENT_LEVELS:
        location = geo.fallback_department(member.home_path)
        supervisor = org_store.get(location.org_id)
        if supervisor is None:
            raise Conflict("the department above your home branch could not be found")
    now = _now()
    org_id = rules.new_branch_id()
    branch = VirtualBranch(
        org_id=org_id,
        name=name,
        description=description,
        status=rules.ACTIVE,
        secretary=caller,
        secretary_name=rules.mask_name(member.name),
        supervising_org_id=supervisor.org_id,
        supervising_org_name=supervisor.name,
        supervising_division_code=supervisor.division_code,
        supervising_path=supervisor.path,
        member_count=1,
        created_at=now,
        founding=Founding(
            founder=caller,
            rules_version=texts.rules_version,
            covenant_version=texts.covenant_version,
            accepted_at=now,
            source_ip=source_ip,
            located_by=location.located_by,
            located_region=location.region,
        ),
    )
    org = Org(
        org_id=org_id,
        name=name,
        level="virtual_branch",
        parent_id=supervisor.org_id,
        division_code=supervisor.division_code,
        path=branch.path,
        member_count=1,
        created_at=now,
    )
    log = store.LogEntry(
        action="founded",
        at=now,
        by=rules.SECRETARY,
        details={
            "secretary_name": branch.secretary_name,
            "supervising_org_id": supervisor.org_id,
            "located_by": location.located_by,
            "rules_version": texts.rules_version,
            "covenant_version": texts.covenant_version,
        },
    )
    store.create(branch, org, member.name, (texts.rules_digest, texts.covenant_digest), log)
    logger.info(
        "virtual branch founded",
        extra={
            "org_id": org_id,
            "by": member_ref(caller),
            "supervising_org_id": supervisor.org_id,
            "located_by": location.located_by,
        },
    )
    return _view(
        branch,
        secretary=caller,
        located_by=location.located_by,
        accepted_rules_version=texts.rules_version,
        accepted_covenant_version=texts.covenant_version,
        accepted_at=now,
    )


def registry(supervising_org_id: str | None, limit: int, cursor: dict | None):
    """The public registry, newest first; filtered to a department's subtree: Query + BatchGetItem."""
    from chalicelib.domain import divisions
    from chalicelib.store import branches as store
    from chalicelib.store.pages import Page

    level = None
    if supervising_org_id not in (None, divisions.CENTRAL_ORG_ID):
        code = supervising_org_id.removeprefix("div-")
        division = divisions.get(code) if supervising_org_id.startswith("div-") else None
        if not supervising_org_id.startswith("div-") or not code.isdigit() or len(code) != 6:
            raise ValidationFailed(
                "filter by a department",
                errors=[{"field": "supervising_org_id", "message": "not the id of a department"}],
            )
        if division is None or not division.current:
            return [], None  # no such department: it supervises nothing
        level = division.level
    page: Page = store.registry(level, supervising_org_id if level else None, limit, cursor)
    return [b.public() for b in page.items], page.last_key


def detail(org_id: str) -> dict:
    """A branch with its newest public log entries: GetItem + Query."""
    from chalicelib.store import branches as store

    branch = _branch_or_404(store.get(org_id), org_id)
    page = store.log_page(org_id, DETAIL_LOG_ENTRIES, None)
    return _view(branch, log=[e.public() for e in page.items], log_complete=page.last_key is None)


def log(org_id: str, limit: int, cursor: dict | None):
    """The whole public log, newest first, paged."""
    from chalicelib.store import branches as store

    _branch_or_404(store.get(org_id), org_id)
    page = store.log_page(org_id, limit, cursor)
    return [e.public() for e in page.items], page.last_key


def founding_record(caller: str, org_id: str) -> dict:
    """What the founder accepted, when and from which address: for the founder and supervising staff."""
    from chalicelib.store import branches as store

    ctx = store.read(org_id, member=caller)
    branch = _branch_or_404(ctx.branch, org_id)
    f = branch.founding
    if f is None or (caller != f.founder and not _is_staff_over(ctx.member, branch)):
        raise Forbidden("only the founder and the supervising department see the founding record")
    return {
        "org_id": org_id,
        "founder": f.founder,
        "accepted_rules_version": f.rules_version,
        "accepted_covenant_version": f.covenant_version,
        "accepted_at": f.accepted_at,
        "source_ip": f.source_ip,
        "located_by": f.located_by,
        "located_region": f.located_region,
    }


# ---- joining ----------------------------------------------------------------------------------------


def _request_view(r, now: datetime | None = None) -> dict:
    view = {
        "org_id": r.org_id,
        "registration_number": r.registration_number,
        "name": r.name,
        "branch_name": r.branch_name,
        "status": r.status,
        "requested_at": r.requested_at,
        "message": r.message,
        "decided_at": r.decided_at,
        "decided_as": r.decided_as,
    }
    view["overdue"] = r.status == rules.PENDING and rules.is_overdue(r.requested_at, now or datetime.now(UTC))
    return view


def request_join(caller: str, org_id: str, message: str | None) -> dict:
    """Apply to join: one read (branch and applicant), one transaction."""
    from chalicelib.store import branches as store

    ctx = store.read(org_id, member=caller)
    branch = _branch_or_404(ctx.branch, org_id)
    if ctx.member is None:
        raise NotFound("no such member")
    rules.check_takes_joins(branch)
    request = store.add_join_request(branch, caller, ctx.member.name, _now(), message)
    return _request_view(request)


def get_join_request(caller: str, org_id: str, number: str) -> dict:
    """One request, for the applicant and for those who decide (404 for anyone else)."""
    from chalicelib.store import branches as store

    ctx = store.read(org_id, request=number)
    branch = _branch_or_404(ctx.branch, org_id)
    if ctx.request is None or (caller != number and not branch.decides_joins(caller)):
        raise NotFound("no such join request")
    return _request_view(ctx.request)


def _decider_or_403(branch: VirtualBranch, caller: str) -> str:
    if not branch.decides_joins(caller):
        raise Forbidden("only the secretary and the deputies of this virtual branch decide join requests")
    return branch.role_of(caller)


def list_join_requests(caller: str, org_id: str, status: str, limit: int, cursor: dict | None):
    """The queue (or the decided requests of one status), oldest first, for the secretary and deputies."""
    from chalicelib.store import branches as store

    branch = _branch_or_404(store.get(org_id), org_id)
    _decider_or_403(branch, caller)
    page = store.requests_page(org_id, status, limit, cursor)
    now = datetime.now(UTC)
    return [_request_view(r, now) for r in page.items], page.last_key


def _pending_request(branch: VirtualBranch, ctx, number: str):
    if ctx.request is None:
        raise NotFound("no such join request")
    if ctx.request.status != rules.PENDING:
        raise Conflict(f"this join request is {ctx.request.status} already")
    return ctx.request


def approve(caller: str, org_id: str, number: str) -> dict:
    """The secretary or a deputy approves: one read, one transaction, at any branch size."""
    from chalicelib.store import branches as store

    ctx = store.read(org_id, request=number)
    branch = _branch_or_404(ctx.branch, org_id)
    role = _decider_or_403(branch, caller)
    request = _pending_request(branch, ctx, number)
    rules.check_takes_joins(branch)
    at = _now()
    store.approve(org_id, request, caller, role, at)
    logger.info("join request approved", extra={"org_id": org_id, "member": member_ref(number)})
    view = _request_view(request)
    view.update(status=rules.APPROVED, decided_at=at, decided_as=role, overdue=False)
    return view


def reject(caller: str, org_id: str, number: str) -> dict:
    """The secretary or a deputy rejects a pending request (also while the branch is suspended)."""
    from chalicelib.store import branches as store

    ctx = store.read(org_id, request=number)
    branch = _branch_or_404(ctx.branch, org_id)
    role = _decider_or_403(branch, caller)
    request = _pending_request(branch, ctx, number)
    rules.check_not_dissolved(branch)
    at = _now()
    store.reject(org_id, number, caller, role, at)
    view = _request_view(request)
    view.update(status=rules.REJECTED, decided_at=at, decided_as=role, overdue=False)
    return view


def withdraw(caller: str, org_id: str, number: str) -> dict:
    """The applicant takes back their pending request."""
    from chalicelib.store import branches as store

    if caller != number:
        raise Forbidden("only the applicant withdraws a join request")
    ctx = store.read(org_id, request=number)
    branch = _branch_or_404(ctx.branch, org_id)
    request = _pending_request(branch, ctx, number)
    at = _now()
    store.withdraw(org_id, number, at)
    view = _request_view(request)
    view.update(status=rules.WITHDRAWN, decided_at=at, decided_as="applicant", overdue=False)
    return view


def pending_join_requests_for(member: Member | str, now: datetime | None = None) -> list[dict]:
    """Inbox items: the pending join requests of the branches this member runs (secretary or deputy).

    Bounded, whatever the member runs: at most `INBOX_BRANCH_LIMIT` branches are read (one Query
    each), the ones they are secretary of first, then those they are a deputy of (each group by
    id), and at most `INBOX_PER_BRANCH` requests of each, oldest first, so never more than
    `INBOX_BRANCH_LIMIT * INBOX_PER_BRANCH` items (200; the inbox shows as many). A member can run
    more branches than that (deputies are not limited): the requests of the branches past the limit
    are not in this list. Each item says `more_pending` when its branch's queue holds more than
    shown, and `queue_path` is where the whole queue is (`GET .../join-requests?status=pending`).
    """
    from chalicelib.store import branches as store

    if isinstance(member, str):
        from chalicelib.store import members as member_store

        member = member_store.get(member)
        if member is None:
            return []

    def led_as(role: str) -> list[str]:
        return sorted(key.partition("@")[2] for key in member.roles if key.startswith(f"{role}@vb-"))

    secretary_of = led_as(rules.SECRETARY)
    runs = list(dict.fromkeys(secretary_of + led_as(rules.DEPUTY)))[: rules.INBOX_BRANCH_LIMIT]
    now = now or datetime.now(UTC)
    items = []
    for org_id in runs:
        # one more than shown, in the same Query, tells whether the queue holds more
        page = store.requests_page(org_id, rules.PENDING, INBOX_PER_BRANCH + 1, None).items
        more = len(page) > INBOX_PER_BRANCH
        for r in page[:INBOX_PER_BRANCH]:
            items.append(
                {
                    "kind": "join_request",
                    "id": f"{org_id}/{r.registration_number}",
                    "org_id": org_id,
                    "created_at": r.requested_at,
                    "overdue": rules.is_overdue(r.requested_at, now),
                    "title": r.branch_name,
                    "branch_name": r.branch_name,
                    "registration_number": r.registration_number,
                    "name": r.name,
                    "path": f"/v1/virtual-branches/{org_id}/join-requests/{r.registration_number}",
                    "queue_path": f"/v1/virtual-branches/{org_id}/join-requests?status=pending",
                    "more_pending": more,
                }
            )
    return sorted(items, key=lambda i: (i["created_at"], i["id"]))


# ---- leaving and offices ----------------------------------------------------------------------------


def leave(caller: str, org_id: str) -> dict:
    """A member leaves at once; the secretary hands over first, unless alone (then it is dissolved)."""
    from chalicelib.store import branches as store

    ctx = store.read(org_id, membership=caller)
    branch = _branch_or_404(ctx.branch, org_id)
    if ctx.membership is None:
        raise Forbidden("you are not a member of this virtual branch")
    rules.check_not_dissolved(branch)
    if caller != branch.secretary:
        store.leave(branch, caller, was_deputy=caller in branch.deputies)
        return {"org_id": org_id, "left": True, "dissolved": False}
    if branch.member_count > 1:
        raise Conflict("the secretary hands the office over to another member before leaving")
    at = _now()
    log = store.LogEntry(
        action="dissolved",
        at=at,
        by=rules.SECRETARY,
        reason="the secretary, its last member, left",
    )
    store.leave_and_dissolve(branch, caller, at, log)
    logger.info("virtual branch dissolved by its last member", extra={"org_id": org_id})
    return {"org_id": org_id, "left": True, "dissolved": True}


def handover(caller: str, org_id: str, to: str) -> dict:
    """The secretary passes the office to another member of the branch (a deputy stops being one).

    One read (the branch, the new secretary's membership and member item), one transaction: all of
    it happens or none of it.
    """
    from chalicelib.store import branches as store

    ctx = store.read(org_id, other_membership=to, member=to)
    branch = _branch_or_404(ctx.branch, org_id)
    if caller != branch.secretary:
        raise Forbidden("only the secretary hands the office over")
    rules.check_not_dissolved(branch)
    rules.check_handover_target(branch, caller, to)
    if ctx.other_membership is None:
        raise ValidationFailed(
            "the new secretary must be a member of this virtual branch",
            errors=[{"field": "to", "message": "not a member of this virtual branch"}],
        )
    at = _now()
    new_name = rules.mask_name(ctx.other_membership.name)
    deputy_log = None
    if to in branch.deputies:
        # the deputy office ends in the same transaction (the log shows both steps)
        deputy_log = store.LogEntry(
            action="deputy_removed",
            at=at,
            by=rules.SECRETARY,
            reason="named secretary",
            details={"deputy_name": new_name},
        )
    log = store.LogEntry(
        action="handover",
        at=at,
        by=rules.SECRETARY,
        details={"from_secretary_name": branch.secretary_name, "to_secretary_name": new_name},
    )
    roles = ctx.member.roles if ctx.member is not None else frozenset()
    store.handover(branch, caller, ctx.other_membership, log, new_roles=roles, deputy_log=deputy_log)
    deputies = branch.deputies - {to}
    return _view(
        replace(branch, secretary=to, secretary_name=new_name, deputies=deputies),
        secretary=to,
    )


def members(caller: str, org_id: str, limit: int, cursor: dict | None):
    """Names, join dates and offices, for the branch's members and the staff supervising it.

    Registration numbers are shown to the secretary, the deputies and supervising staff (who need
    them to name deputies or hand over), not to every member.
    """
    from chalicelib.store import branches as store

    ctx = store.read(org_id, member=caller, membership=caller)
    branch = _branch_or_404(ctx.branch, org_id)
    staff = _is_staff_over(ctx.member, branch)
    if ctx.membership is None and not staff:
        raise Forbidden("only the members of this virtual branch and its supervising staff see its members")
    with_numbers = staff or branch.decides_joins(caller)
    page = store.members_page(org_id, limit, cursor)
    items = []
    for m in page.items:
        item = {"name": m.name, "joined_at": m.joined_at, "role": m.role}
        if with_numbers or m.registration_number == caller:
            item["registration_number"] = m.registration_number
        items.append(item)
    return items, page.last_key


def add_deputy(caller: str, org_id: str, number: str) -> dict:
    """The secretary names a member deputy (at most five)."""
    from chalicelib.store import branches as store

    ctx = store.read(org_id, other_membership=number)
    branch = _branch_or_404(ctx.branch, org_id)
    if caller != branch.secretary:
        raise Forbidden("only the secretary names deputies")
    rules.check_not_dissolved(branch)
    rules.check_new_deputy(branch, number)
    if ctx.other_membership is None:
        raise ValidationFailed(
            "a deputy must be a member of this virtual branch",
            errors=[{"field": "registration_number", "message": "not a member of this virtual branch"}],
        )
    at = _now()
    log = store.LogEntry(
        action="deputy_named",
        at=at,
        by=rules.SECRETARY,
        details={"deputy_name": rules.mask_name(ctx.other_membership.name)},
    )
    store.add_deputy(branch, caller, ctx.other_membership, log)
    return {"org_id": org_id, "registration_number": number, "role": rules.DEPUTY, "named_at": at}


def remove_deputy(caller: str, org_id: str, number: str) -> dict:
    """The secretary ends a deputy's office, or the deputy steps down."""
    from chalicelib.store import branches as store

    ctx = store.read(org_id, other_membership=number)
    branch = _branch_or_404(ctx.branch, org_id)
    if caller not in (branch.secretary, number):
        raise Forbidden("only the secretary, or the deputy themself, ends a deputy's office")
    if number not in branch.deputies:
        raise NotFound("this member is not a deputy of this virtual branch")
    at = _now()
    name = rules.mask_name(ctx.other_membership.name) if ctx.other_membership else "*"
    log = store.LogEntry(
        action="deputy_removed",
        at=at,
        by=rules.SECRETARY if caller == branch.secretary else rules.DEPUTY,
        details={"deputy_name": name},
    )
    store.remove_deputy(branch, number, log)
    return {"org_id": org_id, "registration_number": number, "role": rules.MEMBER}


# ---- supervision ------------------------------------------------------------------------------------


def supervise(caller: str, org_id: str, action: str, reason: str) -> dict:
    """Suspend, reinstate or dissolve, by staff of the supervising department or above; logged publicly."""
    from chalicelib.services.authz import require_role
    from chalicelib.store import branches as store

    ctx = store.read(org_id, member=caller)
    branch = _branch_or_404(ctx.branch, org_id)
    require_role(ctx.member, _as_org(branch), ["staff"], f"{action} this virtual branch")
    new_status = rules.check_transition(action, branch.status)
    at = _now()
    acting = rules.acting_department(ctx.member.roles, branch.path)
    log = store.LogEntry(
        action={"suspend": "suspended", "reinstate": "reinstated", "dissolve": "dissolved"}[action],
        at=at,
        by="supervising department",
        by_org_id=acting,
        reason=reason,
    )
    if action == "dissolve":
        store.dissolve(branch, at, log)
    else:
        store.set_status(branch, new_status, log)
    logger.info("virtual branch supervised", extra={"org_id": org_id, "action": action, "by_org_id": acting})
    extra = {"dissolved_at": at} if action == "dissolve" else {}
    return _view(replace(branch, status=new_status, **extra))


def reassign(caller: str, org_id: str, target_id: str, reason: str) -> dict:
    """Move supervision to a department inside the acting department's subtree; logged publicly."""
    from chalicelib.store import branches as store

    ctx = store.read(org_id, member=caller, org=True, other_org=target_id)
    branch = _branch_or_404(ctx.branch, org_id)
    if ctx.org is None:
        raise NotFound(f"no virtual branch {org_id}")
    if not _is_staff_over(ctx.member, branch):
        raise Forbidden("only staff of the supervising department or above reassign a virtual branch")
    target = ctx.other_org
    if target is None or target.level not in DEPARTMENT_LEVELS:
        raise ValidationFailed(
            "a virtual branch is supervised by a department",
            errors=[{"field": "supervising_org_id", "message": "not the id of a department"}],
        )
    rules.check_not_dissolved(branch)
    if target.org_id == branch.supervising_org_id:
        raise Conflict("this department supervises the virtual branch already")
    authority = rules.reassign_authority(ctx.member.roles, branch.supervising_path, target.path)
    if authority is None:
        raise Forbidden("the new supervising department must be inside your own department's subtree")
    log = store.LogEntry(
        action="reassigned",
        at=_now(),
        by="supervising department",
        by_org_id=authority,
        reason=reason,
        details={
            "from_org_id": branch.supervising_org_id,
            "from_org_name": branch.supervising_org_name,
            "to_org_id": target.org_id,
            "to_org_name": target.name,
        },
    )
    store.reassign(branch, ctx.org, target, log)
    moved = replace(
        branch,
        supervising_org_id=target.org_id,
        supervising_org_name=target.name,
        supervising_division_code=target.division_code,
        supervising_path=target.path,
    )
    return _view(moved)


# ---- dissolution in the background ------------------------------------------------------------------


def continue_dissolution(org_id: str, step: int | None) -> str:
    """One page of a dissolved branch's clean-up, for the stream record that announced `step`
    (`None`: whatever step the branch is at, for the sweep).

    Takes up to `DISSOLUTION_PAGE` members out (each exactly once), then records the step, which
    writes the branch record again and so brings the next page. With no member left, pending
    requests are closed the same way; then the office grants go and the counts are set to zero.
    Reads are strongly consistent: a stale record would skip a step whose stream record never comes
    again, a stale empty page would zero the counts while members remain.
    Returns what it did: "skipped" (stale or repeated record), "members", "requests" or "done".
    """
    from chalicelib.store import branches as store

    branch = store.get(org_id, consistent=True)
    if branch is not None and step is None:
        step = branch.dissolve_step
    if (
        branch is None
        or branch.status != rules.DISSOLVED
        or branch.members_removed_at
        or branch.dissolve_step != step
    ):
        return "skipped"
    numbers = store.membership_numbers(org_id, DISSOLUTION_PAGE)
    if numbers:
        removed = sum(1 for n in numbers if store.remove_membership(org_id, n))
        store.advance_dissolution(org_id, step, removed)
        return "members"
    if store.close_pending_requests(org_id, DISSOLUTION_PAGE, _now()):
        store.advance_dissolution(org_id, step, 0)
        return "requests"
    store.remove_office_grants(org_id)
    store.complete_dissolution(org_id, step, _now())
    logger.info("virtual branch memberships removed", extra={"org_id": org_id})
    return "done"


def sweep_dissolutions(now: datetime | None = None) -> dict[str, int]:
    """Re-kick dissolutions whose chain of stream records stopped (hourly, consumers/branch_dissolution).

    A lost or finally failed stream delivery ends the chain: no later record of that branch comes.
    The sweep finds the unfinished ones with one Query on the sparse `dissolving` index (those
    dissolved over `SWEEP_GRACE` ago, oldest first, at most `SWEEP_LIMIT` a run) and runs the step
    each is at; that step's write brings a new stream record and the chain goes on by itself. Running
    a step that the stream runs too at the same moment is harmless: each membership is removed once,
    a step is recorded once and the last step sets the counts to zero. A branch that fails is logged
    and left to the next run; the others go on.
    """
    from chalicelib.store import branches as store

    now = now or datetime.now(UTC)
    before = (now - SWEEP_GRACE).isoformat(timespec="seconds")
    outcomes: dict[str, int] = {}
    cursor, seen = None, 0
    while seen < SWEEP_LIMIT:
        page = store.dissolving(before, SWEEP_LIMIT - seen, cursor)
        for org_id in page.items:
            seen += 1
            try:
                outcome = continue_dissolution(org_id, None)
            except Exception:  # one branch's failure must not stop the others
                logger.exception("dissolution sweep failed for a branch", extra={"org_id": org_id})
                outcome = "failed"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if page.last_key is None or not page.items:
            break
        cursor = page.last_key
    if outcomes:
        logger.info("dissolution sweep", extra={"outcomes": outcomes})
    return outcomes
