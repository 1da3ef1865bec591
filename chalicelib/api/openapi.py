"""`GET /v1/openapi.json`: the OpenAPI 3 document, generated from the operations and their models."""

from __future__ import annotations

import re
from functools import lru_cache

from chalice import Blueprint

from chalicelib.api.http import OPERATIONS, Call, Operation, endpoint

bp = Blueprint(__name__)

_PARAM = re.compile(r"{(\w+)}")
_ERROR_TEXT = {
    400: "Invalid request",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Payload too large",
    429: "Too many requests",
}


@endpoint(bp, "/v1/openapi.json", summary="This API's OpenAPI 3 description", auth=False)
def openapi(call: Call) -> dict:
    return document()


@lru_cache(maxsize=1)
def document() -> dict:
    """Build the document once per process from every declared operation."""
    from pydantic.json_schema import models_json_schema

    models = {m for op in OPERATIONS for m in (op.body, op.response) if m is not None}
    from chalicelib.api.schemas import Problem

    models.add(Problem)
    ordered = sorted(models, key=lambda m: m.__name__)
    _, defs = models_json_schema(
        [(m, "validation" if _is_request(m) else "serialization") for m in ordered],
        ref_template="#/components/schemas/{model}",
    )
    schemas = defs.get("$defs", {})
    paths: dict = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Mobile Member Platform API",
            "version": "1",
            "description": "HTTP contract for mobile clients. Errors are application/problem+json.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _is_request(model) -> bool:
    return any(op.body is model for op in OPERATIONS)


def _ref(model) -> dict:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation(op: Operation) -> dict:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in _PARAM.findall(op.path)
    ]
    if op.query is not None:
        schema = op.query.model_json_schema()
        for name, prop in schema.get("properties", {}).items():
            prop = {k: v for k, v in prop.items() if k != "title"}
            if "anyOf" in prop:  # Optional[X]: a query parameter is either absent or an X
                prop = next((p for p in prop["anyOf"] if p.get("type") != "null"), {"type": "string"})
            params.append(
                {"name": name, "in": "query", "required": name in schema.get("required", []), "schema": prop}
            )
    if op.idempotent:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 64},
            }
        )
    out: dict = {
        "operationId": op.name,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": params,
        "responses": {
            str(op.status): {
                "description": "OK" if op.status < 300 else "Created",
                "content": {
                    "application/json": {"schema": _ref(op.response) if op.response else {"type": "object"}}
                },
            }
        },
    }
    if op.method == "GET":
        out["responses"]["304"] = {"description": "Not modified (If-None-Match matched the ETag)"}
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(op.body)}}}
    if op.auth:
        out["security"] = [{"bearer": []}]
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for status in sorted({*op.errors, 400, *((401,) if op.auth else ())}):
        out["responses"][str(status)] = {"description": _ERROR_TEXT.get(status, "Error"), "content": problem}
    return out
