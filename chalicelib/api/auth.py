"""Bearer tokens: verify a Cognito access token against the user pool's JWKS.

Checked: RS256 signature with a key of the pool, issuer, client id, expiry and `token_use=access`.
The key set is cached for the life of the process and fetched again when an unknown key id shows up
(key rotation), at most once a minute.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from chalicelib.domain.errors import Unauthenticated

_lock = threading.Lock()
_keys: dict[str, Any] = {}
_fetched_at = 0.0


def _load_jwks() -> dict:
    from chalicelib.config import get_settings

    settings = get_settings()
    if settings.jwks_file:
        import gzip

        with open(settings.jwks_file, "rb") as fh:
            raw = fh.read()
        if settings.jwks_file.endswith(".gz"):
            raw = gzip.decompress(raw)
        return json.loads(raw)
    import urllib.request

    url = settings.jwks_url or f"{settings.issuer}/.well-known/jwks.json"
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 (the URL comes from settings)
        return json.loads(resp.read())


def _key_for(kid: str) -> Any:
    global _fetched_at
    key = _keys.get(kid)
    if key is not None:
        return key
    with _lock:
        if kid not in _keys and time.monotonic() - _fetched_at > 60 or not _keys:
            from jwt import PyJWK

            jwks = _load_jwks()
            _fetched_at = time.monotonic()
            for jwk in jwks.get("keys", []):
                try:
                    _keys[jwk.get("kid", "")] = PyJWK(jwk).key
                except Exception:  # noqa: S112 (an unusable key in the set is skipped, not fatal)
                    continue
    return _keys.get(kid)


def forget_keys() -> None:
    """Drop cached keys (tests switch user pools)."""
    global _fetched_at
    _keys.clear()
    _fetched_at = 0.0


def authenticate(header: str | None) -> str:
    """The registration number of a valid bearer access token; Unauthenticated otherwise."""
    if not header:
        raise Unauthenticated("sign in: an Authorization: Bearer token is required")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("the Authorization header must be 'Bearer <access_token>'")
    return verify_access_token(token)


def verify_access_token(token: str) -> str:
    """Check an access token and return its username (the registration number)."""
    import jwt

    from chalicelib.config import get_settings

    settings = get_settings()
    invalid = Unauthenticated("the access token is not valid or has expired")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise invalid from exc
    if header.get("alg") != "RS256":
        raise invalid
    key = _key_for(str(header.get("kid", "")))
    if key is None:
        raise invalid
    try:
        claims = jwt.decode(
            token,
            key=key,
            algorithms=["RS256"],
            issuer=settings.issuer,
            options={"require": ["exp", "iss", "token_use"], "verify_aud": False},
            leeway=5,
        )
    except jwt.PyJWTError as exc:
        raise invalid from exc
    if claims.get("token_use") != "access" or claims.get("client_id") != settings.user_pool_client_id:
        raise invalid
    username = claims.get("username")
    if not isinstance(username, str) or not username:
        raise invalid
    return username
