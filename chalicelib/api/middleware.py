"""HTTP conventions applied to every response: problem+json, ETag/304, gzip, correlation ids."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from typing import Any

from chalice import Response

from chalicelib.api import problems
from chalicelib.api.http import MAX_BODY_BYTES
from chalicelib.observability import flush, logger, tracer


class EncodedResponse(Response):
    """A gzip-compressed body, handed to API Gateway base64-encoded."""

    def to_dict(self, binary_types: list[str] | None = None) -> dict[str, Any]:
        out = super().to_dict(None)
        out["body"] = base64.b64encode(self.body).decode()
        out["isBase64Encoded"] = True
        return out


def http_conventions(request: Any, get_response: Any) -> Response:
    """Chalice 'http' middleware: wraps every route, including Chalice's own 405 and 415 answers."""
    request_id = (getattr(request, "context", None) or {}).get("requestId")
    logger.set_correlation_id(request_id)
    try:
        if len(request.raw_body or b"") > MAX_BODY_BYTES:
            response = problems.problem(413, f"request bodies are limited to {MAX_BODY_BYTES} bytes")
        else:
            response = _traced(request, get_response)
        response = _as_problem(response)
        if request.method == "GET" and response.status_code == 200:
            response = _with_etag(request, response)
        response.headers.setdefault("Vary", "Accept-Encoding, Authorization")
        if response.status_code != 304 and _wants_gzip(request):
            response = _gzip(response)
        return response
    finally:
        flush()
        logger.set_correlation_id(None)


def _traced(request: Any, get_response: Any) -> Response:
    """Run the route, inside an X-Ray subsegment named after it when tracing is on."""
    active = tracer()
    if active is None:
        return get_response(request)
    route = (getattr(request, "context", None) or {}).get("resourcePath", "route")
    with active.provider.in_subsegment(f"## {request.method} {route}"):
        return get_response(request)


def _as_problem(response: Response) -> Response:
    """Chalice's own errors (`{"Code", "Message"}`) become problem+json like ours."""
    if response.status_code < 400:
        return response
    content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type", "application/json")
    if content_type.startswith(problems.PROBLEM_TYPE):
        return response
    body = response.body
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError:
            body = {}
    detail = body.get("Message") or body.get("message") if isinstance(body, dict) else None
    if response.status_code >= 500:
        detail = "an internal error occurred; it has been logged"
    extra = {k: v for k, v in response.headers.items() if k.lower() == "allow"}
    return problems.problem(response.status_code, detail or "request failed", headers=extra)


def _body_bytes(response: Response) -> bytes:
    body = response.body
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _with_etag(request: Any, response: Response) -> Response:
    body = _body_bytes(response)
    etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    response.headers["ETag"] = etag
    response.headers.setdefault("Cache-Control", "private, no-cache")
    wanted = request.headers.get("if-none-match")
    if wanted and (
        wanted.strip() == "*" or etag in {t.strip().removeprefix("W/") for t in wanted.split(",")}
    ):
        return Response(
            body="", status_code=304, headers={"ETag": etag, "Cache-Control": "private, no-cache"}
        )
    return response


def _wants_gzip(request: Any) -> bool:
    for part in (request.headers.get("accept-encoding") or "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*") and params.replace(" ", "") not in ("q=0", "q=0.0"):
            return True
    return False


def _gzip(response: Response) -> Response:
    body = _body_bytes(response)
    headers = dict(response.headers)
    headers["Content-Encoding"] = "gzip"
    return EncodedResponse(
        body=gzip.compress(body, compresslevel=6, mtime=0), status_code=response.status_code, headers=headers
    )
