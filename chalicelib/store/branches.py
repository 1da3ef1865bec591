"""Virtual branches in DynamoDB: the branch record, memberships, join requests and the public log.

Every change that must hold together is one TransactWriteItems with conditions, whatever the size
of the branch: approving a request writes the request, the membership, the two member counts (the
branch record's and the org item's) and the member's own list, and nothing else. Lists are Queries.
Conditional failures become domain errors here, chosen by which item of the transaction refused.
"""

from __future__ import annotations

import json
import random
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DeleteError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import size
from pynamodb.transactions import TransactGet, TransactWrite

from chalicelib.domain import branches as rules
from chalicelib.domain.branches import Founding, VirtualBranch
from chalicelib.domain.errors import Conflict, DomainError
from chalicelib.domain.members import Member
from chalicelib.domain.orgs import Org
from chalicelib.domain.roles import role_key
from chalicelib.store import models
from chalicelib.store.errors import cancellation_codes, is_conditional_failure, is_transaction_conflict
from chalicelib.store.pages import Page, query_page

# A transaction cancelled by another one on the same items (TransactionConflict) is tried again
# after a random pause of up to BACKOFF_BASE * 2**n seconds (at most BACKOFF_CAP), "full jitter",
# for as long as TRANSACTION_RETRY_SECONDS allow (and at most TRANSACTION_ATTEMPTS times): 50
# approvals of one branch at once each write its record, so they must take turns, and a budget in
# time rather than in tries lets every one of them through however the turns fall.
TRANSACTION_ATTEMPTS = 40
TRANSACTION_RETRY_SECONDS = 10.0
BACKOFF_BASE = 0.02
BACKOFF_CAP = 0.5
# the value of `dissolving` while a dissolved branch's memberships are being removed
DISSOLVING = "pending"


# ---- mapping ----------------------------------------------------------------------------------------


def to_domain(item: models.VirtualBranch) -> VirtualBranch:
    return VirtualBranch(
        org_id=item.org_id,
        name=item.name,
        description=item.description or "",
        status=item.status,
        secretary=item.secretary,
        secretary_name=item.secretary_name,
        supervising_org_id=item.supervising_org_id,
        supervising_org_name=item.supervising_org_name,
        supervising_division_code=item.supervising_division_code,
        supervising_path=tuple(item.supervising_path or ()),
        member_count=int(item.member_count or 0),
        created_at=item.created_at,
        deputies=frozenset(item.deputies or ()),
        founding=Founding(
            founder=item.founder,
            rules_version=int(item.accepted_rules_version),
            covenant_version=int(item.accepted_covenant_version),
            accepted_at=item.accepted_at,
            source_ip=item.founded_from_ip,
            located_by=item.located_by,
            located_region=item.located_region,
        ),
        dissolved_at=item.dissolved_at,
        dissolve_step=int(item.dissolve_step or 0),
        members_removed_at=item.members_removed_at,
    )


@dataclass(frozen=True)
class Membership:
    org_id: str
    registration_number: str
    name: str
    joined_at: str
    role: str


def membership_to_domain(item: models.BranchMembership) -> Membership:
    return Membership(
        org_id=item.org_id,
        registration_number=item.registration_number,
        name=item.name,
        joined_at=item.joined_at,
        role=item.role or rules.MEMBER,
    )


@dataclass(frozen=True)
class JoinRequest:
    org_id: str
    registration_number: str
    name: str
    branch_name: str
    status: str
    requested_at: str
    message: str | None = None
    decided_at: str | None = None
    decided_as: str | None = None


def request_to_domain(item: models.JoinRequest) -> JoinRequest:
    return JoinRequest(
        org_id=item.org_id,
        registration_number=item.registration_number,
        name=item.name,
        branch_name=item.branch_name,
        status=item.status,
        requested_at=item.requested_at,
        message=item.message,
        decided_at=item.decided_at,
        decided_as=item.decided_as,
    )


@dataclass(frozen=True)
class LogEntry:
    """A public management action; `details` never holds anything but masked names and org ids."""

    action: str
    at: str
    by: str
    by_org_id: str | None = None
    reason: str | None = None
    details: dict = field(default_factory=dict)

    def public(self) -> dict:
        return {
            "action": self.action,
            "at": self.at,
            "by": self.by,
            "by_org_id": self.by_org_id,
            "reason": self.reason,
            "details": self.details,
        }


def log_to_domain(item: models.BranchLogEntry) -> LogEntry:
    try:
        details = json.loads(item.details) if item.details else {}
    except ValueError:
        details = {}
    return LogEntry(
        action=item.action,
        at=item.at,
        by=item.by,
        by_org_id=item.by_org_id,
        reason=item.reason,
        details=details if isinstance(details, dict) else {},
    )


def _log_item(org_id: str, entry: LogEntry) -> models.BranchLogEntry:
    return models.BranchLogEntry(
        org_id,
        # written now, ordered to the microsecond: two actions within one second keep their order
        f"{datetime.now(UTC).isoformat(timespec='microseconds')}#{secrets.token_hex(4)}",
        action=entry.action,
        at=entry.at,
        by=entry.by,
        by_org_id=entry.by_org_id,
        reason=entry.reason,
        details=json.dumps(entry.details, ensure_ascii=False, sort_keys=True) if entry.details else None,
    )


def _supervision_keys(path: tuple[str, ...]) -> dict[str, str | None]:
    """The supervising department's ancestors by level, for the registry's subtree indexes."""
    from chalicelib.domain import divisions

    keys: dict[str, str | None] = {"sup_province": None, "sup_city": None, "sup_county": None}
    for org_id in path:
        if org_id.startswith("div-"):
            division = divisions.get(org_id.removeprefix("div-"))
            if division is not None:
                keys[f"sup_{division.level}"] = org_id
    return keys


# ---- reading ------------------------------------------------------------------------------------------


def get(org_id: str, consistent: bool = False) -> VirtualBranch | None:
    """One GetItem (strongly consistent if asked: the background clean-up must see its own writes)."""
    try:
        return to_domain(models.VirtualBranch.get(org_id, consistent_read=consistent))
    except models.VirtualBranch.DoesNotExist:
        return None


@dataclass(frozen=True)
class Context:
    """What one TransactGetItems read for a use case; absent items are None."""

    branch: VirtualBranch | None = None
    member: Member | None = None
    membership: Membership | None = None
    other_membership: Membership | None = None
    request: JoinRequest | None = None
    org: Org | None = None
    other_org: Org | None = None


def read(
    org_id: str,
    *,
    member: str | None = None,
    membership: str | None = None,
    other_membership: str | None = None,
    request: str | None = None,
    org: bool = False,
    other_org: str | None = None,
) -> Context:
    """The branch record and any of: a member item, one or two memberships, a join request, the
    branch's org item and another org item — all in one TransactGetItems."""
    from chalicelib.store import members as member_store
    from chalicelib.store import orgs as org_store

    with TransactGet(connection=_connection()) as tx:
        futures: dict[str, Any] = {"branch": tx.get(models.VirtualBranch, org_id)}
        if member:
            futures["member"] = tx.get(models.Member, member)
        if membership:
            futures["membership"] = tx.get(models.BranchMembership, org_id, membership)
        if other_membership:
            futures["other_membership"] = tx.get(models.BranchMembership, org_id, other_membership)
        if request:
            futures["request"] = tx.get(models.JoinRequest, org_id, request)
        if org:
            futures["org"] = tx.get(models.Org, org_id)
        if other_org:
            futures["other_org"] = tx.get(models.Org, other_org)
    convert = {
        "branch": to_domain,
        "member": member_store.to_domain,
        "membership": membership_to_domain,
        "other_membership": membership_to_domain,
        "request": request_to_domain,
        "org": org_store.to_domain,
        "other_org": org_store.to_domain,
    }
    return Context(**{name: _resolve(future, convert[name]) for name, future in futures.items()})


def _resolve(future: Any, convert: Callable) -> Any:
    try:
        return convert(future.get())
    except Exception:  # the future raises its model's DoesNotExist when the item was absent
        return None


def read_founding(number: str, supervisor_id: str | None) -> tuple[Member | None, Any, Org | None]:
    """The founder, the texts in force and (if known) the department the IP points at: one call."""
    from chalicelib.store import members as member_store
    from chalicelib.store import orgs as org_store
    from chalicelib.store import texts

    with TransactGet(connection=_connection()) as tx:
        member_f = tx.get(models.Member, number)
        texts_f = tx.get(models.Text, texts.CURRENT, 0)
        org_f = tx.get(models.Org, supervisor_id) if supervisor_id else None
    return (
        _resolve(member_f, member_store.to_domain),
        _resolve(texts_f, texts.to_current),
        _resolve(org_f, org_store.to_domain) if org_f is not None else None,
    )


def get_many(org_ids: Iterable[str]) -> dict[str, VirtualBranch]:
    """Branch records by id: one BatchGetItem per 100."""
    ids = list(dict.fromkeys(org_ids))
    if not ids:
        return {}
    return {item.org_id: to_domain(item) for item in models.VirtualBranch.batch_get(ids)}


def registry(level: str | None, org_id: str | None, limit: int, cursor: dict | None) -> Page:
    """Newest first: every branch (`level` None), or those supervised inside a department's subtree.

    One Query on a keys-only index and one BatchGetItem for the records themselves.
    """
    index = {
        None: models.VirtualBranch.registry_index,
        "province": models.VirtualBranch.by_province,
        "city": models.VirtualBranch.by_city,
        "county": models.VirtualBranch.by_county,
    }[level]
    key = org_id if level else "all"
    page = query_page(index, key, limit, cursor, lambda item: item.org_id, scan_index_forward=False)
    found = get_many(page.items)
    return Page(items=[found[i] for i in page.items if i in found], last_key=page.last_key)


def log_page(org_id: str, limit: int, cursor: dict | None) -> Page:
    """A branch's public log, newest first: one Query."""
    return query_page(models.BranchLogEntry, org_id, limit, cursor, log_to_domain, scan_index_forward=False)


def members_page(org_id: str, limit: int, cursor: dict | None) -> Page:
    """A branch's members by registration number: one Query."""
    return query_page(models.BranchMembership, org_id, limit, cursor, membership_to_domain)


def requests_page(org_id: str, status: str, limit: int, cursor: dict | None) -> Page:
    """A branch's join requests of one status, oldest first: one Query."""
    return query_page(models.JoinRequest.by_queue, _queue(org_id, status), limit, cursor, request_to_domain)


def _queue(org_id: str, status: str) -> str:
    return f"{org_id}#{status}"


# ---- writing ----------------------------------------------------------------------------------------


def _connection():
    return models.VirtualBranch._get_connection().connection


class _Tx:
    """Operations of one transaction, each labelled, so a refusal can be told by its label."""

    def __init__(self) -> None:
        self.labels: list[str] = []
        self.ops: list[Callable[[TransactWrite], None]] = []

    def save(self, label: str, item: Any, condition: Any = None) -> None:
        self.labels.append(label)
        self.ops.append(lambda tx: tx.save(item, condition=condition))

    def update(self, label: str, item: Any, actions: list, condition: Any = None) -> None:
        self.labels.append(label)
        # a fresh list per attempt: PynamoDB appends the version action to the list it is given, and
        # a retried transaction must not set a versioned item's version twice (a ValidationException)
        self.ops.append(
            lambda tx: tx.update(
                item, actions=list(actions), condition=condition, add_version_condition=False
            )
        )

    def delete(self, label: str, item: Any, condition: Any = None) -> None:
        self.labels.append(label)
        self.ops.append(lambda tx: tx.delete(item, condition=condition, add_version_condition=False))

    def check(
        self, label: str, model: Any, hash_key: Any, range_key: Any = None, condition: Any = None
    ) -> None:
        self.labels.append(label)
        self.ops.append(lambda tx: tx.condition_check(model, hash_key, range_key, condition=condition))

    def run(self, refused: Callable[[str], DomainError]) -> None:
        """Commit; `refused(label)` names the error for the first item whose condition failed.

        A transaction that lost a race with another one on the same items (TransactionConflict) is
        retried with exponential back-off and full jitter (`backoff`), as DynamoDB advises, for up to
        `TRANSACTION_RETRY_SECONDS`; the conditions are checked again each time. Only then is it a
        409 "busy; retry".
        """
        deadline = time.monotonic() + TRANSACTION_RETRY_SECONDS
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                with TransactWrite(connection=_connection()) as tx:
                    for op in self.ops:
                        op(tx)
                return
            except TransactWriteError as exc:
                codes = cancellation_codes(exc)
                failed = [
                    label
                    for label, code in zip(self.labels, codes, strict=False)
                    if code == "ConditionalCheckFailed"
                ]
                if failed:
                    raise refused(failed[0]) from exc
                if not _conflicted(exc):
                    raise
                pause = backoff(attempt)
                if attempt + 1 < TRANSACTION_ATTEMPTS and time.monotonic() + pause < deadline:
                    time.sleep(pause)
                    continue
                raise Conflict("the virtual branch is busy; retry") from exc


def _conflicted(exc: TransactWriteError) -> bool:
    """A TransactionConflict; False for a failure with no DynamoDB answer at all (a lost connection:
    PynamoDB's `cause_response_code` then fails on the missing response), which is raised as it is."""
    try:
        return is_transaction_conflict(exc)
    except AttributeError:
        return False


def backoff(attempt: int) -> float:
    """Seconds to wait after failed attempt `attempt` (0-based): uniform in [0, min(cap, base * 2**n)]."""
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))  # noqa: S311 (jitter, not security)


def _refusals(
    mapping: dict[str, DomainError], default: DomainError | None = None
) -> Callable[[str], DomainError]:
    def pick(label: str) -> DomainError:
        return mapping.get(label) or default or Conflict("the virtual branch changed meanwhile; retry")

    return pick


def _count(delta: int) -> tuple[list, list]:
    """Actions that move the branch's count on its record and on its org item."""
    return [models.VirtualBranch.member_count.add(delta)], [models.Org.member_count.add(delta)]


def create(
    branch: VirtualBranch,
    org: Org,
    founder_name: str,
    digests: tuple[str, str],
    log: LogEntry,
) -> None:
    """Found a branch: org item, record, the secretary's membership, role and grant, and the log, at once.

    Refused when the texts in force changed meanwhile (409) or the founder is gone (404).
    """
    from chalicelib.domain.errors import NotFound
    from chalicelib.store import orgs as org_store
    from chalicelib.store import texts

    f = branch.founding
    assert f is not None
    keys = _supervision_keys(branch.supervising_path)
    record = models.VirtualBranch(
        branch.org_id,
        name=branch.name,
        description=branch.description,
        status=branch.status,
        secretary=branch.secretary,
        secretary_name=branch.secretary_name,
        member_count=1,
        supervising_org_id=branch.supervising_org_id,
        supervising_org_name=branch.supervising_org_name,
        supervising_division_code=branch.supervising_division_code,
        supervising_path=list(branch.supervising_path),
        # microseconds, so branches founded within one second still list newest first
        created_key=f"{datetime.now(UTC).isoformat(timespec='microseconds')}#{branch.org_id}",
        created_at=branch.created_at,
        founder=f.founder,
        accepted_rules_version=f.rules_version,
        accepted_covenant_version=f.covenant_version,
        accepted_rules_digest=digests[0],
        accepted_covenant_digest=digests[1],
        accepted_at=f.accepted_at,
        founded_from_ip=f.source_ip,
        located_by=f.located_by,
        located_region=f.located_region,
        **{k: v for k, v in keys.items() if v},
    )
    text_item, text_condition = texts.version_condition(f.rules_version, f.covenant_version)
    number = branch.secretary
    tx = _Tx()
    tx.check("texts", models.Text, text_item.kind, text_item.version, condition=text_condition)
    tx.check("supervisor", models.Org, branch.supervising_org_id, condition=models.Org.org_id.exists())
    tx.save("org", org_store.to_item(org, created_by=number), condition=models.Org.org_id.does_not_exist())
    tx.save("branch", record, condition=models.VirtualBranch.org_id.does_not_exist())
    tx.save(
        "membership",
        models.BranchMembership(
            branch.org_id, number, name=founder_name, joined_at=branch.created_at, role=rules.SECRETARY
        ),
    )
    tx.update(
        "member",
        models.Member(number),
        actions=[
            models.Member.virtual_branch_ids.add({branch.org_id}),
            models.Member.roles.add({role_key(rules.SECRETARY, branch.org_id)}),
        ],
        condition=models.Member.registration_number.exists(),
    )
    tx.save(
        "grant",
        models.RoleGrant(
            branch.org_id, f"{rules.SECRETARY}#{number}", granted_by=number, granted_at=branch.created_at
        ),
    )
    tx.save("log", _log_item(branch.org_id, log))
    tx.run(
        _refusals(
            {
                "texts": Conflict(
                    "the establishment rules or the secretary covenant changed meanwhile; read and accept "
                    "the current versions"
                ),
                "supervisor": NotFound(
                    f"the supervising department {branch.supervising_org_id} does not exist"
                ),
                "member": NotFound("no such member"),
                "org": Conflict("a virtual branch with this id exists; retry"),
                "branch": Conflict("a virtual branch with this id exists; retry"),
            }
        )
    )


def add_join_request(
    branch: VirtualBranch, number: str, name: str, at: str, message: str | None
) -> JoinRequest:
    """A pending request, unless one is pending, the applicant is a member or the branch takes no joins."""
    request = JoinRequest(
        org_id=branch.org_id,
        registration_number=number,
        name=name,
        branch_name=branch.name,
        status=rules.PENDING,
        requested_at=at,
        message=message,
    )
    tx = _Tx()
    tx.save(
        "request",
        models.JoinRequest(
            branch.org_id,
            number,
            name=name,
            branch_name=branch.name,
            status=rules.PENDING,
            queue=_queue(branch.org_id, rules.PENDING),
            queued_key=f"{at}#{number}",
            requested_at=at,
            message=message,
        ),
        condition=models.JoinRequest.org_id.does_not_exist() | (models.JoinRequest.status != rules.PENDING),
    )
    tx.check(
        "branch", models.VirtualBranch, branch.org_id, condition=models.VirtualBranch.status == rules.ACTIVE
    )
    tx.check(
        "membership",
        models.BranchMembership,
        branch.org_id,
        number,
        condition=models.BranchMembership.org_id.does_not_exist(),
    )
    tx.run(
        _refusals(
            {
                "request": Conflict("you have a pending request to join this virtual branch"),
                "branch": Conflict("this virtual branch takes no new members now"),
                "membership": Conflict("you are a member of this virtual branch already"),
            }
        )
    )
    return request


def _member_exists():
    return models.Member.registration_number.exists()


def _decider(number: str):
    return (models.VirtualBranch.secretary == number) | models.VirtualBranch.deputies.contains(number)


def approve(branch_id: str, request: JoinRequest, decider: str, decided_as: str, at: str) -> None:
    """Membership in, request approved, both counts up by one, the member's list updated: one transaction."""
    from chalicelib.domain.errors import Forbidden, NotFound

    number = request.registration_number
    branch_actions, org_actions = _count(1)
    tx = _Tx()
    tx.update(
        "request",
        models.JoinRequest(branch_id, number),
        actions=_decision_actions(branch_id, rules.APPROVED, decider, decided_as, at),
        condition=models.JoinRequest.status == rules.PENDING,
    )
    tx.save(
        "membership",
        models.BranchMembership(branch_id, number, name=request.name, joined_at=at, role=rules.MEMBER),
        condition=models.BranchMembership.org_id.does_not_exist(),
    )
    tx.update(
        "branch",
        models.VirtualBranch(branch_id),
        actions=branch_actions,
        condition=(models.VirtualBranch.status == rules.ACTIVE) & _decider(decider),
    )
    tx.update("org", models.Org(branch_id), actions=org_actions, condition=models.Org.org_id.exists())
    tx.update(
        "member",
        models.Member(number),
        actions=[models.Member.virtual_branch_ids.add({branch_id})],
        condition=models.Member.registration_number.exists(),
    )
    tx.run(
        _refusals(
            {
                "request": Conflict("this join request has been decided already"),
                "membership": Conflict("the applicant is a member already"),
                "branch": Forbidden("only an active virtual branch's secretary or deputies approve requests"),
                "member": NotFound("the applicant is no longer a member of the organisation"),
            }
        )
    )


def _decision_actions(branch_id: str, status: str, decider: str, decided_as: str, at: str) -> list:
    return [
        models.JoinRequest.status.set(status),
        models.JoinRequest.queue.set(_queue(branch_id, status)),
        models.JoinRequest.decided_at.set(at),
        models.JoinRequest.decided_by.set(decider),
        models.JoinRequest.decided_as.set(decided_as),
    ]


def reject(branch_id: str, number: str, decider: str, decided_as: str, at: str) -> None:
    """Request rejected, if still pending and the decider still decides."""
    from chalicelib.domain.errors import Forbidden

    tx = _Tx()
    tx.update(
        "request",
        models.JoinRequest(branch_id, number),
        actions=_decision_actions(branch_id, rules.REJECTED, decider, decided_as, at),
        condition=models.JoinRequest.status == rules.PENDING,
    )
    tx.check(
        "branch",
        models.VirtualBranch,
        branch_id,
        condition=(models.VirtualBranch.status != rules.DISSOLVED) & _decider(decider),
    )
    tx.run(
        _refusals(
            {
                "request": Conflict("this join request has been decided already"),
                "branch": Forbidden("only the secretary or deputies of this virtual branch reject requests"),
            }
        )
    )


def withdraw(branch_id: str, number: str, at: str) -> None:
    """The applicant takes back a pending request."""
    try:
        models.JoinRequest(branch_id, number).update(
            actions=_decision_actions(branch_id, rules.WITHDRAWN, number, "applicant", at),
            condition=models.JoinRequest.status == rules.PENDING,
        )
    except UpdateError as exc:
        if is_conditional_failure(exc):
            raise Conflict("this join request has been decided already") from exc
        raise


def leave(branch: VirtualBranch, number: str, was_deputy: bool) -> None:
    """A member (not the secretary) leaves: membership out, counts down, deputy office ended too."""
    from chalicelib.domain.errors import Forbidden, NotFound

    branch_id = branch.org_id
    branch_actions, org_actions = _count(-1)
    member_actions = [models.Member.virtual_branch_ids.delete({branch_id})]
    deputy_condition = ~models.VirtualBranch.deputies.contains(number)
    if was_deputy:
        branch_actions.append(models.VirtualBranch.deputies.delete({number}))
        member_actions = [
            models.Member.virtual_branch_ids.delete({branch_id}),
            models.Member.roles.delete({role_key(rules.DEPUTY, branch_id)}),
        ]
        deputy_condition = models.VirtualBranch.deputies.contains(number)
    tx = _Tx()
    tx.delete(
        "membership",
        models.BranchMembership(branch_id, number),
        condition=models.BranchMembership.org_id.exists(),
    )
    tx.update(
        "branch",
        models.VirtualBranch(branch_id),
        actions=branch_actions,
        condition=(models.VirtualBranch.secretary != number)
        & (models.VirtualBranch.status != rules.DISSOLVED)
        & deputy_condition,
    )
    tx.update("org", models.Org(branch_id), actions=org_actions, condition=models.Org.org_id.exists())
    tx.update("member", models.Member(number), actions=member_actions, condition=_member_exists())
    if was_deputy:
        tx.delete("grant", models.RoleGrant(branch_id, f"{rules.DEPUTY}#{number}"))
    tx.run(
        _refusals(
            {
                "membership": Forbidden("you are not a member of this virtual branch"),
                "branch": Conflict(
                    "the virtual branch changed meanwhile (secretary, deputies or status); retry"
                ),
                "member": NotFound("no such member"),
            }
        )
    )


def leave_and_dissolve(branch: VirtualBranch, number: str, at: str, log: LogEntry) -> None:
    """The secretary leaves as the last member: the branch is dissolved in the same transaction."""
    branch_id = branch.org_id
    tx = _Tx()
    tx.delete(
        "membership",
        models.BranchMembership(branch_id, number),
        condition=models.BranchMembership.org_id.exists(),
    )
    tx.update(
        "branch",
        models.VirtualBranch(branch_id),
        actions=[
            models.VirtualBranch.member_count.add(-1),
            models.VirtualBranch.status.set(rules.DISSOLVED),
            models.VirtualBranch.dissolved_at.set(at),
            models.VirtualBranch.dissolve_step.set(0),
            models.VirtualBranch.dissolving.set(DISSOLVING),
        ],
        condition=(models.VirtualBranch.secretary == number)
        & (models.VirtualBranch.member_count == 1)
        & (models.VirtualBranch.status != rules.DISSOLVED),
    )
    tx.update(
        "org",
        models.Org(branch_id),
        actions=[models.Org.member_count.add(-1)],
        condition=models.Org.org_id.exists(),
    )
    tx.update(
        "member",
        models.Member(number),
        actions=[
            models.Member.virtual_branch_ids.delete({branch_id}),
            models.Member.roles.delete({role_key(rules.SECRETARY, branch_id)}),
        ],
    )
    tx.delete("grant", models.RoleGrant(branch_id, f"{rules.SECRETARY}#{number}"))
    tx.save("log", _log_item(branch_id, log))
    tx.run(
        _refusals({}, Conflict("someone joined meanwhile: hand the secretary's office over before leaving"))
    )


def handover(
    branch: VirtualBranch,
    old: str,
    new: Membership,
    log: LogEntry,
    new_roles: frozenset[str] | None = None,
    deputy_log: LogEntry | None = None,
) -> None:
    """The secretary's office passes to another member: one transaction, whatever was there before.

    A deputy named secretary stops being a deputy in the same transaction. Their role set then loses
    `deputy@` and gains `secretary@`, which one update cannot say with ADD and DELETE (two actions
    on one attribute): it is SET to its new value on the condition that it still holds exactly
    `new_roles`, the keys read with the branch, so a role granted meanwhile is not overwritten (the
    handover is refused instead, nothing changed). A plain member gains the key with ADD.
    """
    from chalicelib.domain.errors import ValidationFailed

    branch_id = branch.org_id
    number = new.registration_number
    was_deputy = number in branch.deputies
    secretary_key = role_key(rules.SECRETARY, branch_id)
    deputy_key = role_key(rules.DEPUTY, branch_id)
    branch_actions = [
        models.VirtualBranch.secretary.set(number),
        models.VirtualBranch.secretary_name.set(rules.mask_name(new.name)),
    ]
    if was_deputy:
        branch_actions.append(models.VirtualBranch.deputies.delete({number}))
        deputy_condition = models.VirtualBranch.deputies.contains(number)
        held = frozenset(new_roles or ())
        new_member_actions = [models.Member.roles.set((held - {deputy_key}) | {secretary_key})]
        new_member_condition = _member_exists() & _holds_exactly(held)
    else:
        deputy_condition = ~models.VirtualBranch.deputies.contains(number)
        new_member_actions = [models.Member.roles.add({secretary_key})]
        new_member_condition = _member_exists()
    tx = _Tx()
    tx.update(
        "branch",
        models.VirtualBranch(branch_id),
        actions=branch_actions,
        condition=(models.VirtualBranch.secretary == old)
        & (models.VirtualBranch.status != rules.DISSOLVED)
        & deputy_condition,
    )
    tx.update(
        "old_membership",
        models.BranchMembership(branch_id, old),
        actions=[models.BranchMembership.role.set(rules.MEMBER)],
        condition=models.BranchMembership.org_id.exists(),
    )
    tx.update(
        "new_membership",
        models.BranchMembership(branch_id, number),
        actions=[models.BranchMembership.role.set(rules.SECRETARY)],
        condition=models.BranchMembership.org_id.exists(),
    )
    tx.update(
        "old_member",
        models.Member(old),
        actions=[models.Member.roles.delete({secretary_key})],
        condition=_member_exists(),
    )
    tx.update("new_member", models.Member(number), actions=new_member_actions, condition=new_member_condition)
    tx.delete("old_grant", models.RoleGrant(branch_id, f"{rules.SECRETARY}#{old}"))
    if was_deputy:
        tx.delete("deputy_grant", models.RoleGrant(branch_id, f"{rules.DEPUTY}#{number}"))
    tx.save(
        "new_grant",
        models.RoleGrant(branch_id, f"{rules.SECRETARY}#{number}", granted_by=old, granted_at=log.at),
    )
    if was_deputy and deputy_log is not None:
        tx.save("deputy_log", _log_item(branch_id, deputy_log))
    tx.save("log", _log_item(branch_id, log))
    changed = Conflict("the virtual branch changed meanwhile; retry")
    not_member = ValidationFailed(
        "the new secretary must be a member of this virtual branch",
        errors=[{"field": "to", "message": "not a member of this virtual branch"}],
    )
    tx.run(
        _refusals(
            {
                "branch": changed,
                "old_membership": changed,
                "new_membership": not_member,
                # a deputy's roles changed since they were read: refused whole, to be retried
                "new_member": changed if was_deputy else not_member,
            }
        )
    )


def _holds_exactly(keys: frozenset[str]):
    """A member's role set is exactly `keys` (as many elements, each of them), whatever its order."""
    if not keys:
        return models.Member.roles.does_not_exist()
    condition = size(models.Member.roles) == len(keys)
    for key in sorted(keys):
        condition &= models.Member.roles.contains(key)
    return condition


def add_deputy(branch: VirtualBranch, secretary: str, deputy: Membership, log: LogEntry) -> None:
    """Name a deputy: at most `MAX_DEPUTIES`, checked in the write itself."""
    from chalicelib.domain.errors import ValidationFailed

    branch_id = branch.org_id
    number = deputy.registration_number
    tx = _Tx()
    tx.update(
        "branch",
        models.VirtualBranch(branch_id),
        actions=[models.VirtualBranch.deputies.add({number})],
        condition=(models.VirtualBranch.secretary == secretary)
        & (models.VirtualBranch.status != rules.DISSOLVED)
        & ~models.VirtualBranch.deputies.contains(number)
        & (
            models.VirtualBranch.deputies.does_not_exist()
            | (size(models.VirtualBranch.deputies) < rules.MAX_DEPUTIES)
        ),
    )
    tx.update(
        "membership",
        models.BranchMembership(branch_id, number),
        actions=[models.BranchMembership.role.set(rules.DEPUTY)],
        condition=models.BranchMembership.role == rules.MEMBER,
    )
    tx.update(
        "member",
        models.Member(number),
        actions=[models.Member.roles.add({role_key(rules.DEPUTY, branch_id)})],
        condition=models.Member.registration_number.exists(),
    )
    tx.save(
        "grant",
        models.RoleGrant(branch_id, f"{rules.DEPUTY}#{number}", granted_by=secretary, granted_at=log.at),
    )
    tx.save("log", _log_item(branch_id, log))
    not_member = ValidationFailed(
        "a deputy must be a member of this virtual branch",
        errors=[{"field": "registration_number", "message": "not a member of this virtual branch"}],
    )
    tx.run(
        _refusals(
            {
                "branch": Conflict(
                    f"the virtual branch changed meanwhile, or has {rules.MAX_DEPUTIES} deputies already"
                ),
                "membership": not_member,
                "member": not_member,
            }
        )
    )


def remove_deputy(branch: VirtualBranch, number: str, log: LogEntry) -> None:
    """End a deputy's office (by the secretary, or the deputy stepping down)."""
    branch_id = branch.org_id
    tx = _Tx()
    tx.update(
        "branch",
        models.VirtualBranch(branch_id),
        actions=[models.VirtualBranch.deputies.delete({number})],
        condition=models.VirtualBranch.deputies.contains(number),
    )
    tx.update(
        "membership",
        models.BranchMembership(branch_id, number),
        actions=[models.BranchMembership.role.set(rules.MEMBER)],
        condition=models.BranchMembership.org_id.exists(),
    )
    tx.update(
        "member",
        models.Member(number),
        actions=[models.Member.roles.delete({role_key(rules.DEPUTY, branch_id)})],
        condition=_member_exists(),
    )
    tx.delete("grant", models.RoleGrant(branch_id, f"{rules.DEPUTY}#{number}"))
    tx.save("log", _log_item(branch_id, log))
    tx.run(_refusals({}, Conflict("this member is not a deputy of this virtual branch")))


def set_status(branch: VirtualBranch, new_status: str, log: LogEntry) -> None:
    """Suspend or reinstate: the status moves only from the one that was read."""
    tx = _Tx()
    tx.update(
        "branch",
        models.VirtualBranch(branch.org_id),
        actions=[models.VirtualBranch.status.set(new_status)],
        condition=models.VirtualBranch.status == branch.status,
    )
    tx.save("log", _log_item(branch.org_id, log))
    tx.run(_refusals({}, Conflict("the virtual branch's status changed meanwhile; retry")))


def dissolve(branch: VirtualBranch, at: str, log: LogEntry) -> None:
    """Mark dissolved and end the secretary's and deputies' offices; memberships go in the background.

    The stream of the branch records sees the status change and `consumers/branch_dissolution`
    removes the memberships a page at a time, so no transaction grows with the branch.
    """
    branch_id = branch.org_id
    tx = _Tx()
    tx.update(
        "branch",
        models.VirtualBranch(branch_id),
        actions=[
            models.VirtualBranch.status.set(rules.DISSOLVED),
            models.VirtualBranch.dissolved_at.set(at),
            models.VirtualBranch.dissolve_step.set(0),
            models.VirtualBranch.dissolving.set(DISSOLVING),
        ],
        condition=models.VirtualBranch.status == branch.status,
    )
    for number, role in [
        (branch.secretary, rules.SECRETARY),
        *((d, rules.DEPUTY) for d in sorted(branch.deputies)),
    ]:
        tx.update(
            f"member:{number}",
            models.Member(number),
            actions=[models.Member.roles.delete({role_key(role, branch_id)})],
            condition=_member_exists(),
        )
        tx.delete(f"grant:{number}", models.RoleGrant(branch_id, f"{role}#{number}"))
    tx.save("log", _log_item(branch_id, log))
    tx.run(_refusals({}, Conflict("the virtual branch's status changed meanwhile; retry")))


def reassign(branch: VirtualBranch, org: Org, target: Org, log: LogEntry) -> None:
    """Move the branch under another department: org item and record together, from the one read."""
    from chalicelib.domain.errors import NotFound

    branch_id = branch.org_id
    keys = _supervision_keys(target.path)
    record_actions = [
        models.VirtualBranch.supervising_org_id.set(target.org_id),
        models.VirtualBranch.supervising_org_name.set(target.name),
        models.VirtualBranch.supervising_path.set(list(target.path)),
    ]
    record_actions.append(
        models.VirtualBranch.supervising_division_code.set(target.division_code)
        if target.division_code
        else models.VirtualBranch.supervising_division_code.remove()
    )
    for name, value in keys.items():
        attr = getattr(models.VirtualBranch, name)
        record_actions.append(attr.set(value) if value else attr.remove())
    org_actions = [
        models.Org.parent_id.set(target.org_id),
        models.Org.path.set([*target.path, branch_id]),
        models.Org.division_code.set(target.division_code)
        if target.division_code
        else models.Org.division_code.remove(),
    ]
    tx = _Tx()
    tx.update(
        "org", models.Org(branch_id), actions=org_actions, condition=models.Org.parent_id == org.parent_id
    )
    tx.update(
        "branch",
        models.VirtualBranch(branch_id),
        actions=record_actions,
        condition=(models.VirtualBranch.supervising_org_id == branch.supervising_org_id)
        & (models.VirtualBranch.status != rules.DISSOLVED),
    )
    tx.check("target", models.Org, target.org_id, condition=models.Org.org_id.exists())
    tx.save("log", _log_item(branch_id, log))
    tx.run(
        _refusals(
            {"target": NotFound(f"no org {target.org_id}")},
            Conflict("the virtual branch changed meanwhile; retry"),
        )
    )


# ---- bulk loading (tests, bench, migrations) --------------------------------------------------------


def add_memberships_in_bulk(org_id: str, rows: Iterable[tuple[str, str, str]]) -> int:
    """Batch-write memberships `(registration number, name, joined_at)` and count them on the branch.

    For loading existing branches (and for tests and the bench): the member items are not touched,
    so their `virtual_branch_ids` do not list the branch. Memberships must be new; returns how many.
    """
    count = 0
    with models.BranchMembership.batch_write() as batch:
        for number, name, joined_at in rows:
            batch.save(
                models.BranchMembership(org_id, number, name=name, joined_at=joined_at, role=rules.MEMBER)
            )
            count += 1
    if count:
        branch_actions, org_actions = _count(count)
        tx = _Tx()
        tx.update(
            "branch",
            models.VirtualBranch(org_id),
            actions=branch_actions,
            condition=models.VirtualBranch.org_id.exists(),
        )
        tx.update("org", models.Org(org_id), actions=org_actions, condition=models.Org.org_id.exists())
        tx.run(_refusals({}, Conflict(f"no virtual branch {org_id}")))
    return count


# ---- dissolution, a page at a time (consumers/branch_dissolution) -----------------------------------


def membership_numbers(org_id: str, limit: int) -> list[str]:
    """The first `limit` remaining members of a branch: one strongly consistent Query.

    Consistent, because an empty page ends the clean-up (counts set to zero): a stale one must not
    hide members that are still there, nor show ones the previous page removed.
    """
    return [
        m.registration_number
        for m in models.BranchMembership.query(
            org_id,
            limit=limit,
            page_size=limit,
            consistent_read=True,
            attributes_to_get=["org_id", "registration_number"],
        )
    ]


def dissolving(before: str, limit: int, cursor: dict | None) -> Page:
    """Ids of branches dissolved before `before` whose clean-up is unfinished, oldest first.

    One Query on the sparse `dissolving` index (only such branches are in it): never a Scan.
    """
    return query_page(
        models.VirtualBranch.dissolving_index,
        DISSOLVING,
        limit,
        cursor,
        lambda item: item.org_id,
        range_key_condition=models.VirtualBranch.dissolved_at < before,
    )


def remove_membership(org_id: str, number: str) -> bool:
    """Take one member out of a dissolved branch; False if they were out already (a repeated record).

    The member's own list and any office in the branch go first, then the membership itself with
    the condition that it still exists, so each removal is counted exactly once.
    """
    try:
        models.Member(number).update(
            actions=[
                models.Member.virtual_branch_ids.delete({org_id}),
                models.Member.roles.delete(
                    {role_key(rules.SECRETARY, org_id), role_key(rules.DEPUTY, org_id)}
                ),
            ],
            condition=models.Member.registration_number.exists(),
            add_version_condition=False,
        )
    except UpdateError as exc:
        if not is_conditional_failure(exc):  # a membership loaded in bulk may have no member item
            raise
    try:
        models.BranchMembership(org_id, number).delete(condition=models.BranchMembership.org_id.exists())
    except DeleteError as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def advance_dissolution(org_id: str, step: int, removed: int) -> bool:
    """Record a finished page: counts down by what it removed, step + 1 (which triggers the next page).

    False when this step was recorded before (the same stream record delivered twice).
    """
    branch_actions, org_actions = _count(-removed)
    tx = _Tx()
    tx.update(
        "branch",
        models.VirtualBranch(org_id),
        actions=[*branch_actions, models.VirtualBranch.dissolve_step.set(step + 1)],
        condition=(models.VirtualBranch.dissolve_step == step)
        & (models.VirtualBranch.status == rules.DISSOLVED),
    )
    tx.update("org", models.Org(org_id), actions=org_actions, condition=models.Org.org_id.exists())
    try:
        tx.run(_refusals({}))
    except Conflict:
        return False
    return True


def close_pending_requests(org_id: str, limit: int, at: str) -> int:
    """Close up to `limit` requests still pending on a dissolved branch; returns how many."""
    closed = 0
    for item in models.JoinRequest.by_queue.query(
        _queue(org_id, rules.PENDING), limit=limit, page_size=limit
    ):
        try:
            models.JoinRequest(org_id, item.registration_number).update(
                actions=_decision_actions(org_id, rules.CLOSED, "-", "system", at),
                condition=models.JoinRequest.status == rules.PENDING,
            )
            closed += 1
        except UpdateError as exc:
            if not is_conditional_failure(exc):
                raise
    return closed


def remove_office_grants(org_id: str) -> None:
    """Delete the secretary and deputy grants left on a dissolved branch (a handful of items)."""
    for grant in models.RoleGrant.query(org_id, consistent_read=True):
        grant.delete()


def complete_dissolution(org_id: str, step: int, at: str) -> bool:
    """Every member is out: counts to zero and the removal marked done. False if done before."""
    tx = _Tx()
    tx.update(
        "branch",
        models.VirtualBranch(org_id),
        actions=[
            models.VirtualBranch.member_count.set(0),
            models.VirtualBranch.members_removed_at.set(at),
            models.VirtualBranch.dissolve_step.set(step + 1),
            models.VirtualBranch.dissolving.remove(),  # out of the sweep's index
        ],
        condition=(models.VirtualBranch.dissolve_step == step)
        & models.VirtualBranch.members_removed_at.does_not_exist(),
    )
    tx.update(
        "org",
        models.Org(org_id),
        actions=[models.Org.member_count.set(0)],
        condition=models.Org.org_id.exists(),
    )
    try:
        tx.run(_refusals({}))
    except Conflict:
        return False
    return True
