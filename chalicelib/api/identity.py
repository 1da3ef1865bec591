"""Identity routes: registration numbers, registering members, activation, login, member records."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import schemas as s
from chalicelib.api.http import Call, Created, endpoint

bp = Blueprint(__name__)


@endpoint(
    bp,
    "/v1/registration-numbers/{number}",
    summary="Check a registration number",
    auth=False,
    response=s.RegistrationNumberCheck,
)
def check_registration_number(call: Call) -> dict:
    from chalicelib.domain.registration import check

    return check(call.params["number"])


@endpoint(
    bp,
    "/v1/members",
    "POST",
    summary="Register a member into a branch (staff above it)",
    body=s.CreateMember,
    response=s.MemberCreated,
    status=201,
    idempotent=True,
    errors=(400, 401, 403, 409),
)
def register_member(call: Call) -> Created:
    from chalicelib.observability import count
    from chalicelib.services.accounts import NewMember, register_member

    b = call.body
    result = register_member(call.caller, NewMember(b.name, b.region_code, b.join_date, b.branch_id, b.phone))
    count("MembersRegistered")
    return Created(result)


@endpoint(
    bp,
    "/v1/auth/activate",
    "POST",
    summary="Activate an account with the one-time code",
    auth=False,
    body=s.Activate,
    response=s.Activated,
    errors=(400, 429),
)
def activate(call: Call) -> dict:
    from chalicelib.services.accounts import activate

    b = call.body
    return activate(b.registration_number.upper(), b.activation_code, b.password)


@endpoint(
    bp,
    "/v1/auth/login",
    "POST",
    summary="Sign in; counts as a login activity",
    auth=False,
    body=s.Login,
    response=s.Tokens,
    errors=(400, 401, 429),
)
def login(call: Call) -> dict:
    from chalicelib.observability import count
    from chalicelib.services.accounts import login

    b = call.body
    tokens = login(b.registration_number.upper(), b.password)
    count("Logins")
    return tokens


@endpoint(
    bp,
    "/v1/auth/refresh",
    "POST",
    summary="A new access token from a refresh token",
    auth=False,
    body=s.Refresh,
    response=s.Tokens,
    errors=(400, 401),
)
def refresh(call: Call) -> dict:
    from chalicelib.services.accounts import refresh

    return refresh(call.body.refresh_token)


@endpoint(bp, "/v1/members/me", summary="The signed-in member", response=s.MemberView, errors=(401,))
def me(call: Call) -> dict:
    from chalicelib.services.accounts import me

    return me(call.caller)


@endpoint(
    bp,
    "/v1/members/{number}",
    summary="A member (themself, or staff over their branches)",
    response=s.MemberView,
    errors=(401, 404),
)
def get_member(call: Call) -> dict:
    from chalicelib.services.accounts import get_member

    return get_member(call.caller, call.params["number"].upper())
