"""Accounts: registering members, activation, login and refresh, and reading members."""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from chalicelib.domain import divisions
from chalicelib.domain.errors import Conflict, NotFound, TooManyRequests, ValidationFailed
from chalicelib.domain.members import (
    ACTIVATION_TTL_SECONDS,
    Member,
    activation_code_matches,
    can_view,
    hash_activation_code,
    new_activation_code,
)
from chalicelib.domain.orgs import BRANCH_LEVELS
from chalicelib.observability import logger, member_ref
from chalicelib.services.authz import require_role

LOGIN_THROTTLE = "login#{}"
ACTIVATE_THROTTLE = "activate#{}"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class NewMember:
    name: str
    region_code: str
    join_date: date
    branch_id: str
    phone: str | None = None


def register_member(caller_number: str, req: NewMember) -> dict:
    """Staff over `branch_id` register a member: a fresh registration number and activation code.

    Two DynamoDB calls when uncontended: one read of caller, branch and sequence, one transaction.
    """
    from chalicelib.store import members as store

    _check_new_member(req)
    day = req.join_date.strftime("%Y%m%d")
    seq_key = f"{req.region_code}#{day}"
    ctx = store.load_registration_context(caller_number, req.branch_id, seq_key)
    if ctx.branch is None:
        raise ValidationFailed(
            "unknown branch", errors=[{"field": "branch_id", "message": f"no org {req.branch_id}"}]
        )
    if ctx.branch.level not in BRANCH_LEVELS or ctx.branch.level == "virtual_branch":
        raise ValidationFailed(
            "members are registered into a branch",
            errors=[{"field": "branch_id", "message": f"{req.branch_id} is a {ctx.branch.level}"}],
        )
    require_role(ctx.caller, ctx.branch, ["staff"], "register members")
    code = new_activation_code()
    now = _now()
    member = Member(
        registration_number="",
        name=req.name,
        region_code=req.region_code,
        join_date=req.join_date.isoformat(),
        home_branch_id=ctx.branch.org_id,
        home_path=ctx.branch.path,
        phone=req.phone,
        created_at=now.isoformat(timespec="seconds"),
    )
    expires_at = int(now.timestamp()) + ACTIVATION_TTL_SECONDS
    number = store.create_with_next_number(
        member, seq_key, ctx.last_sequence, lambda n: hash_activation_code(n, code), expires_at
    )
    logger.info(
        "member registered",
        extra={
            "member": member_ref(number),
            "region_code": req.region_code,
            "branch_id": ctx.branch.org_id,
            "by": member_ref(caller_number),
        },
    )
    return {
        "registration_number": number,
        "activation_code": code,
        "activation_expires_at": datetime.fromtimestamp(expires_at, UTC).isoformat(),
        "home_branch": ctx.branch.org_id,
    }


def _check_new_member(req: NewMember) -> None:
    errors = []
    if not divisions.is_current_county(req.region_code):
        errors.append({"field": "region_code", "message": "not a current county-level division code"})
    today = datetime.now(UTC).date()
    if req.join_date > today:
        errors.append({"field": "join_date", "message": "is in the future"})
    if req.join_date.year < 1900:
        errors.append({"field": "join_date", "message": "is before 1900"})
    if errors:
        raise ValidationFailed("the member cannot be registered as given", errors=errors)


def activate(number: str, code: str, password: str) -> dict:
    """Turn a registered member into an account with a password; each code works once."""
    from chalicelib.store import cognito, throttle
    from chalicelib.store import members as store

    key = ACTIVATE_THROTTLE.format(number)
    now = int(time.time())
    window = throttle.get(key)
    if window and window.locked(now):
        raise TooManyRequests(
            "too many wrong activation codes; try later", retry_after=window.retry_after(now)
        )
    code_hash = hash_activation_code(number, code)
    if not store.claim_activation(number, code_hash, _now().isoformat(timespec="seconds"), now=now):
        # the one conditional write failed: read once to tell an expired code from a wrong one
        stored_hash, expires_at, _status = store.activation_state(number)
        if activation_code_matches(number, code, stored_hash) and expires_at is not None and expires_at < now:
            raise ValidationFailed(
                "the activation code has expired; ask your branch for a new one",
                errors=[{"field": "activation_code", "message": "expired"}],
            )
        throttle.record_failure(key, now, window)
        logger.info("activation refused", extra={"member": member_ref(number)})
        raise _bad_code()
    try:
        cognito.create_account(number, password)
    except Exception:
        store.restore_activation(number, code_hash, now + ACTIVATION_TTL_SECONDS)
        raise
    if window:
        throttle.clear(key)
    logger.info("member activated", extra={"member": member_ref(number)})
    return {"registration_number": number, "status": "active"}


def _bad_code() -> ValidationFailed:
    return ValidationFailed(
        "wrong registration number or activation code",
        errors=[{"field": "activation_code", "message": "does not match, or was already used"}],
    )


def login(number: str, password: str) -> dict:
    """Password login through the identity provider, with lock-out, counted as a `login` activity."""
    from chalicelib.domain.errors import Unauthenticated
    from chalicelib.store import activity, cognito, throttle

    key = LOGIN_THROTTLE.format(number)
    now = int(time.time())
    window = throttle.get(key)
    if window and window.locked(now):
        logger.info("login locked", extra={"member": member_ref(number)})
        raise TooManyRequests(
            "too many wrong passwords for this registration number; try later",
            retry_after=window.retry_after(now),
        )
    try:
        tokens = cognito.password_login(number, password)
    except Unauthenticated:
        state = throttle.record_failure(key, now, window)
        logger.info("login failed", extra={"member": member_ref(number), "failures": state.failures})
        raise
    activity.record(number, uuid.uuid4().hex, "login", _now())
    if window and window.failures:
        throttle.clear(key)
    logger.info("login", extra={"member": member_ref(number)})
    return tokens


def refresh(refresh_token: str) -> dict:
    """A new access token from a refresh token."""
    from chalicelib.store import cognito

    return cognito.refresh(refresh_token)


def me(number: str) -> dict:
    """The caller's own record: one GetItem."""
    from chalicelib.store import members as store

    member = store.get(number)
    if member is None:
        raise NotFound("no such member")
    return member.public()


def get_member(caller_number: str, number: str) -> dict:
    """A member as seen by themself or by staff over their home or attached branch (else 404)."""
    from chalicelib.store import members as store

    caller, member = store.get_pair(caller_number, number)
    if member is None or caller is None or not can_view(caller.registration_number, caller.roles, member):
        raise NotFound("no such member, or not yours to see")
    return member.public()


def bootstrap_administrator(password: str, region_code: str = "110101", join_date: date | None = None) -> str:
    """Create the central administrator (staff on `central`) with a password; returns the number.

    Used by the local bootstrap and the first deployment: bypasses the staff check that every
    later registration goes through, since there is nobody yet to perform it.
    """
    from chalicelib.domain.roles import role_key
    from chalicelib.store import cognito
    from chalicelib.store import members as store
    from chalicelib.store import orgs as org_store

    central = org_store.get(divisions.CENTRAL_ORG_ID)
    if central is None:
        raise Conflict("seed the departments first")
    join = join_date or datetime.now(UTC).date()
    seq_key = f"{region_code}#{join.strftime('%Y%m%d')}"
    admin_branch = _admin_branch(central)
    code = new_activation_code()
    member = Member(
        registration_number="",
        name="中央管理员 Central administrator",
        region_code=region_code,
        join_date=join.isoformat(),
        home_branch_id=admin_branch.org_id,
        home_path=admin_branch.path,
        created_at=_now().isoformat(timespec="seconds"),
    )
    ctx = store.load_registration_context("-", admin_branch.org_id, seq_key)
    number = store.create_with_next_number(
        member, seq_key, ctx.last_sequence, lambda n: hash_activation_code(n, code), int(time.time()) + 3600
    )
    store.claim_activation(number, hash_activation_code(number, code), _now().isoformat(timespec="seconds"))
    cognito.create_account(number, password)
    store.grant_role(
        divisions.CENTRAL_ORG_ID,
        number,
        role_key("staff", divisions.CENTRAL_ORG_ID),
        f"staff#{number}",
        "bootstrap",
        _now().isoformat(timespec="seconds"),
    )
    return number


def _admin_branch(central):
    """The branch of the central department's own staff, created once."""
    from chalicelib.domain.orgs import Org
    from chalicelib.store import orgs as org_store

    branch_id = "br-central-office"
    existing = org_store.get(branch_id)
    if existing:
        return existing
    branch = Org(
        org_id=branch_id,
        name="中央机关支部 Central office branch",
        level="branch",
        parent_id=central.org_id,
        division_code=None,
        path=(*central.path, branch_id),
        created_at=_now().isoformat(timespec="seconds"),
    )
    with contextlib.suppress(Conflict):  # created by a concurrent bootstrap: the same branch
        org_store.create(branch, created_by="bootstrap")
    return branch
