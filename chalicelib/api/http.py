"""How every route is declared and run: parse, authenticate, call, shape; errors as problem+json.

`endpoint(...)` records each operation (for the OpenAPI document) and wraps the view so that
request models reject unknown fields, every error is problem+json, lists share one cursor format
and creating POSTs honour `Idempotency-Key`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalice import Response
from pydantic import BaseModel, ValidationError

from chalicelib.api import problems
from chalicelib.domain.errors import Conflict, DomainError, PayloadTooLarge, ValidationFailed
from chalicelib.observability import logger

MAX_BODY_BYTES = 64 * 1024


@dataclass
class Operation:
    method: str
    path: str
    name: str
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    auth: bool = True
    idempotent: bool = False
    paginated: bool = False
    errors: tuple[int, ...] = ()
    # who a retry is matched to (default: the caller); a route may name a pseudonym instead
    idempotency_subject: Callable[[Call], str] | None = None


OPERATIONS: list[Operation] = []


@dataclass
class Call:
    """What a view gets: the caller, the parsed body and query, the path parameters."""

    request: Any
    caller: str | None
    op: Operation | None = None
    lambda_context: Any = None
    body: Any = None
    query: Any = None
    params: dict = field(default_factory=dict)

    def cursor_scope(self) -> str:
        """What a cursor is bound to: the route, its path parameters, its filters and the caller
        (a list of "my" things pages through one partition: another member's cursor is not a
        position in theirs, and DynamoDB would refuse it as a start key)."""
        filters = {}
        if self.query is not None:
            filters = {k: v for k, v in self.query.model_dump().items() if k not in ("limit", "cursor")}
        return json.dumps(
            [self.op.path if self.op else "", self.params, filters, self.caller or ""],
            sort_keys=True,
            default=str,
        )

    @property
    def cursor(self) -> dict | None:
        """The start key of the requested page (None for the first)."""
        return decode_cursor(self.cursor_scope(), getattr(self.query, "cursor", None))

    @property
    def source_ip(self) -> str | None:
        return (self.request.context.get("identity") or {}).get("sourceIp")


@dataclass
class Paged:
    """A page of a list; `last_key` becomes the opaque `next_cursor`."""

    items: list
    last_key: dict | None


@dataclass
class Created:
    body: Any
    status: int = 201


def endpoint(
    bp: Any,
    path: str,
    method: str = "GET",
    *,
    summary: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    auth: bool = True,
    idempotent: bool = False,
    paginated: bool = False,
    errors: tuple[int, ...] = (),
    idempotency_subject: Callable[[Call], str] | None = None,
) -> Callable:
    """Declare a route; the decorated function takes a `Call` and returns a dict, `Created` or `Paged`."""

    def decorate(fn: Callable[[Call], Any]) -> Callable:
        op = Operation(
            method=method,
            path=path,
            name=fn.__name__,
            summary=summary,
            tag=bp.__dict__.get("_import_name", "api").rsplit(".", 1)[-1],
            body=body,
            query=query,
            response=response,
            status=status,
            auth=auth,
            idempotent=idempotent,
            idempotency_subject=idempotency_subject,
            paginated=paginated,
            errors=errors,
        )
        OPERATIONS.append(op)

        def view(**params: str) -> Response:
            return run(op, fn, bp.current_request, params, bp.lambda_context)

        view.__name__ = fn.__name__
        view.__doc__ = fn.__doc__
        bp.route(path, methods=[method])(view)
        return fn

    return decorate


def run(
    op: Operation, fn: Callable[[Call], Any], request: Any, params: dict, context: Any = None
) -> Response:
    """Run one request through parsing, authentication, idempotency and error mapping."""
    try:
        raw = request.raw_body or b""
        if len(raw) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"request bodies are limited to {MAX_BODY_BYTES} bytes")
        caller = None
        if op.auth:
            from chalicelib.api.auth import authenticate

            caller = authenticate(request.headers.get("authorization"))
        call = Call(request=request, caller=caller, op=op, params=params, lambda_context=context)
        payload = None
        if op.body is not None:
            payload = parse_json(raw)
            call.body = op.body.model_validate(payload)
        if op.query is not None:
            call.query = op.query.model_validate(dict(request.query_params or {}))
        key = request.headers.get("idempotency-key")
        if op.idempotent and key is not None:
            # routes that read an optional body themselves are fingerprinted by that body too
            return _replayable(op, fn, call, key, payload if op.body is not None else _loose(raw))
        return _respond(op, fn(call), call)
    except DomainError as exc:
        return problems.from_domain(exc)
    except ValidationError as exc:
        return problems.from_pydantic(exc)
    except Exception as exc:
        where = [
            f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}:{f.name}"
            for f in traceback.extract_tb(exc.__traceback__)
        ]
        # the exception text may carry data from the request, so only its type and location are logged
        logger.error("unhandled error", extra={"error_type": type(exc).__name__, "where": where[-6:]})
        return problems.problem(500, "an internal error occurred; it has been logged")


def parse_json(raw: bytes) -> Any:
    """Decode a JSON request body, answering 400 (never 500) for anything malformed."""
    if not raw:
        raise ValidationFailed("a JSON body is required")
    try:
        return json.loads(raw, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise ValidationFailed("the body is not valid JSON") from exc


def _loose(raw: bytes) -> Any:
    """A body as JSON when it is JSON, else as text (None when empty): what a retry must repeat."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return raw.decode("utf-8", "replace")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _respond(op: Operation, result: Any, call: Call) -> Response:
    status = op.status
    if isinstance(result, Created):
        status, result = result.status, result.body
    elif isinstance(result, Paged):
        result = {"items": result.items, "next_cursor": encode_cursor(call.cursor_scope(), result.last_key)}
    return json_response(result, status)


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


# ---- cursors -------------------------------------------------------------------------------------


def _cursor_mac(scope: str, payload: bytes) -> str:
    from chalicelib.config import get_settings

    secret = get_settings().cursor_secret.encode()
    return hmac.new(secret, scope.encode() + b"\0" + payload, hashlib.sha256).hexdigest()[:32]


def encode_cursor(scope: str, last_key: dict | None) -> str | None:
    """An opaque cursor for `last_key`, signed so a client can neither forge nor reuse it elsewhere."""
    if not last_key:
        return None
    payload = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    token = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{token}.{_cursor_mac(scope, payload)}"


def decode_cursor(scope: str, cursor: str | None) -> dict | None:
    """The key a cursor stands for; 400 for anything that is not a cursor this route gave out."""
    if not cursor:
        return None
    bad = ValidationFailed(
        "invalid cursor", errors=[{"field": "cursor", "message": "not a cursor from this list"}]
    )
    token, _, mac = cursor.partition(".")
    try:
        payload = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError) as exc:
        raise bad from exc
    # as bytes: compare_digest refuses str with non-ASCII characters, which a client may send
    if not hmac.compare_digest(_cursor_mac(scope, payload).encode(), mac.encode("utf-8", "replace")):
        raise bad
    try:
        key = json.loads(payload)
    except ValueError as exc:
        raise bad from exc
    if not isinstance(key, dict):
        raise bad
    return key


# ---- idempotency ---------------------------------------------------------------------------------

_idempotent_runner: Callable | None = None
_idempotency_config: Any = None


def _runner() -> Callable:
    """powertools' idempotent_function over DynamoDB, built on first use (one persistence layer)."""
    global _idempotent_runner, _idempotency_config
    if _idempotent_runner is None:
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        from chalicelib.config import get_settings
        from chalicelib.store.clients import client

        store = DynamoDBPersistenceLayer(
            table_name=get_settings().table("idempotency"), boto3_client=client("dynamodb")
        )
        config = IdempotencyConfig(
            event_key_jmespath="[caller, route, key]",
            payload_validation_jmespath="body",
            expires_after_seconds=24 * 3600,
        )

        @idempotent_function(data_keyword_argument="request", persistence_store=store, config=config)
        def replayable(request: dict, execute: Callable[[], dict]) -> dict:
            return execute()

        _idempotent_runner, _idempotency_config = replayable, config
    return _idempotent_runner


def _replayable(op: Operation, fn: Callable, call: Call, key: str, payload: Any) -> Response:
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    if not 1 <= len(key) <= 64:
        raise ValidationFailed(
            "Idempotency-Key must be 1 to 64 characters",
            errors=[{"field": "Idempotency-Key", "message": "1..64 characters"}],
        )
    executed = []

    def execute() -> dict:
        executed.append(True)
        response = _respond(op, fn(call), call)
        return {"status": response.status_code, "body": json.loads(response.body)}

    request = {
        "caller": (op.idempotency_subject(call) if op.idempotency_subject else call.caller) or "-",
        "route": f"{op.method} {op.path} {call.params}",
        "key": key,
        "body": payload,
    }
    runner = _runner()
    if call.lambda_context is not None:
        _idempotency_config.register_lambda_context(call.lambda_context)
    try:
        stored = runner(request=request, execute=execute)
    except IdempotencyValidationError as exc:
        raise Conflict("this Idempotency-Key was used before with a different body") from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise Conflict("a request with this Idempotency-Key is still in progress; retry shortly") from exc
    headers = {} if executed else {"Idempotent-Replayed": "true"}
    return json_response(stored["body"], stored["status"], headers)
