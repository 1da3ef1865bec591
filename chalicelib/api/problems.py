"""problem+json: the one place where domain errors become HTTP answers."""

from __future__ import annotations

import json

from chalice import Response

from chalicelib.domain.errors import DomainError, TooManyRequests

PROBLEM_TYPE = "application/problem+json"

TITLES = {
    400: "Invalid request",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
}


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    errors: list | None = None,
    headers: dict | None = None,
) -> Response:
    """A problem+json response."""
    body = {
        "type": "about:blank",
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "errors": errors or [],
    }
    return Response(
        body=json.dumps(body, ensure_ascii=False),
        status_code=status,
        headers={"Content-Type": PROBLEM_TYPE, **(headers or {})},
    )


def from_domain(exc: DomainError) -> Response:
    """Map a domain error to its problem response."""
    headers = {}
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return problem(exc.status, exc.detail, title=exc.title, errors=exc.errors, headers=headers)


def from_pydantic(exc) -> Response:
    """Map a pydantic ValidationError to a 400 with one entry per field."""
    errors = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
        errors.append({"field": loc or None, "message": err.get("msg", "invalid"), "code": err.get("type")})
    return problem(400, "the request does not match the expected shape", errors=errors)
