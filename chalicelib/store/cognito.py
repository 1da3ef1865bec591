"""The identity provider (Cognito; moto's locally): accounts, password login and refresh."""

from __future__ import annotations

import contextlib

from chalicelib.config import get_settings
from chalicelib.domain.errors import TooManyRequests, Unauthenticated, ValidationFailed
from chalicelib.store.clients import client

WRONG_CREDENTIALS = "wrong registration number or password"


def create_account(number: str, password: str) -> None:
    """Create (or re-create after a crash) the account with a permanent password."""
    idp = client("cognito-idp")
    pool = get_settings().user_pool_id
    # a previous activation may have died between the two calls: then finish it
    with contextlib.suppress(idp.exceptions.UsernameExistsException):
        idp.admin_create_user(UserPoolId=pool, Username=number, MessageAction="SUPPRESS")
    try:
        idp.admin_set_user_password(UserPoolId=pool, Username=number, Password=password, Permanent=True)
    except idp.exceptions.InvalidPasswordException as exc:
        raise ValidationFailed(
            "the password does not meet the policy",
            errors=[{"field": "password", "message": "does not meet the password policy"}],
        ) from exc


def password_login(number: str, password: str) -> dict:
    """Tokens for a correct password; Unauthenticated otherwise (same answer for unknown numbers)."""
    idp = client("cognito-idp")
    try:
        result = idp.initiate_auth(
            ClientId=get_settings().user_pool_client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": number, "PASSWORD": password},
        )
    except (
        idp.exceptions.NotAuthorizedException,
        idp.exceptions.UserNotFoundException,
        idp.exceptions.UserNotConfirmedException,
        idp.exceptions.PasswordResetRequiredException,
        idp.exceptions.InvalidParameterException,  # a "number" Cognito would never accept as a username
    ) as exc:
        raise Unauthenticated(WRONG_CREDENTIALS) from exc
    except idp.exceptions.TooManyRequestsException as exc:
        raise TooManyRequests("sign-in is busy; retry shortly", retry_after=5) from exc
    return _tokens(result["AuthenticationResult"])


def refresh(refresh_token: str) -> dict:
    """New access token for a valid refresh token."""
    idp = client("cognito-idp")
    try:
        result = idp.initiate_auth(
            ClientId=get_settings().user_pool_client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token},
        )
    except (idp.exceptions.NotAuthorizedException, idp.exceptions.UserNotFoundException) as exc:
        raise Unauthenticated("the refresh token is not valid") from exc
    except idp.exceptions.ClientError as exc:  # moto answers some malformed tokens this way
        raise Unauthenticated("the refresh token is not valid") from exc
    tokens = _tokens(result["AuthenticationResult"])
    tokens.setdefault("refresh_token", refresh_token)
    return tokens


def _tokens(auth: dict) -> dict:
    out = {
        "access_token": auth["AccessToken"],
        "expires_in": int(auth.get("ExpiresIn", 3600)),
        "token_type": "Bearer",
    }
    if auth.get("RefreshToken"):
        out["refresh_token"] = auth["RefreshToken"]
    return out
