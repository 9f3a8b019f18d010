"""``GET /openapi.json``: an OpenAPI 3.1 document of the API, generated, never hand-kept.

Schemas come from the typed bodies (``msgspec.json.schema_components``), the rest from the
route table in :mod:`.operations`. Each problem answer names the exact ``type`` URIs it may
carry and its ``status``, so a client (or a fuzzer) can hold us to them. The document depends
on ``LINKZOOM_PUBLIC_URL`` (server, problem types) and is built once per process.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from linkzoom import __version__
from linkzoom.http.operation import Operation, Parameter, Reply
from linkzoom.http.operations import OPERATIONS
from linkzoom.http.typed_body import Body
from linkzoom.problems import (
    IdempotencyKeyInUse,
    NotAuthenticated,
    Problem,
    TooManyAttempts,
    ZoomRateLimited,
)

PATH = "/openapi.json"
PROBLEM_JSON = "application/problem+json"
SECURITY_SCHEME = "deviceSession"

HEADERS: dict[str, dict[str, Any]] = {
    "Cache-Control": {
        "description": "``no-store``: the answer carries a token, a passcode or a join link.",
        "schema": {"type": "string"},
    },
    "Location": {"description": "Where to go next.", "schema": {"type": "string"}},
    "Retry-After": {
        "description": "Seconds until the request may succeed.",
        "schema": {"type": "string"},
    },
    "WWW-Authenticate": {"description": 'Bearer realm="linkzoom"', "schema": {"type": "string"}},
}
# Problems that send one of those headers.
PROBLEM_HEADERS: dict[type[Problem], str] = {
    NotAuthenticated: "WWW-Authenticate",
    IdempotencyKeyInUse: "Retry-After",
    TooManyAttempts: "Retry-After",
    ZoomRateLimited: "Retry-After",
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details. ``type`` is ``{PUBLIC_URL}/problems/{code}``.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "description": "validation-failed: one entry per bad field (``a.b.0``).",
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "authorize_url": {
            "description": "zoom-not-linked, reauthorization-required: a consent link.",
            "type": "string",
        },
        "retry_after": {"description": "Seconds, as Retry-After.", "type": "integer"},
        "limit": {"description": "zoom-rate-limited: which limit.", "enum": ["qps", "daily"]},
        "retry_at": {"type": "string", "format": "date-time"},
        "zoom_code": {"description": "Zoom's own error code.", "type": "integer"},
    },
}


def document(public_url: str) -> dict[str, Any]:
    """The OpenAPI document for a deployment at ``public_url``."""
    models = _models(OPERATIONS)
    refs, schemas = msgspec.json.schema_components(
        models, ref_template="#/components/schemas/{name}"
    )
    ref_of = dict(zip(models, refs, strict=True))
    for model in models:
        if issubclass(model, Body) and model.SCHEMA_REQUIRED:
            schemas[model.__name__]["required"] = list(model.SCHEMA_REQUIRED)
    schemas["Problem"] = PROBLEM_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        item = paths.setdefault(operation.path, {})
        item[operation.method.lower()] = _operation(operation, public_url, ref_of)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "linkzoom",
            "version": __version__,
            "description": "The HTTP API behind the Outlook add-in: device sign-in, Zoom "
            "consent, compose meetings and the calendar mirror. Every error is "
            "application/problem+json (RFC 9457) with a stable type.",
        },
        "servers": [{"url": public_url}],
        "tags": [{"name": name} for name in dict.fromkeys(o.tag for o in OPERATIONS)],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "headers": HEADERS,
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A device session token from POST /api/v1/sessions.",
                }
            },
        },
    }


def _models(operations: Iterable[Operation]) -> tuple[type[msgspec.Struct], ...]:
    found: dict[type[msgspec.Struct], None] = {}
    for operation in operations:
        if operation.request is not None:
            found[operation.request] = None
        for reply in operation.replies:
            if reply.model is not None:
                found[reply.model] = None
    return tuple(found)


def _operation(
    operation: Operation, public_url: str, ref_of: dict[type[msgspec.Struct], Any]
) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "tags": [operation.tag],
        "responses": {str(reply.status): _reply(reply, ref_of) for reply in operation.replies}
        | _problem_responses(operation, public_url),
    }
    if operation.parameters:
        answer["parameters"] = [_parameter(p) for p in operation.parameters]
    body = _request_body(operation, ref_of)
    if body is not None:
        answer["requestBody"] = body
    answer["security"] = [{SECURITY_SCHEME: []}] if operation.bearer else []
    return answer


def _parameter(parameter: Parameter) -> dict[str, Any]:
    return {
        "name": parameter.name,
        "in": parameter.where,
        "required": parameter.required,
        "schema": dict(parameter.schema),
        "description": parameter.description,
    }


def _request_body(
    operation: Operation, ref_of: dict[type[msgspec.Struct], Any]
) -> dict[str, Any] | None:
    content: dict[str, Any] = {}
    if operation.request is not None:
        content["application/json"] = {"schema": ref_of[operation.request]}
    elif operation.request_schema is not None:
        content["application/json"] = {"schema": dict(operation.request_schema)}
    content |= {media: dict(spec) for media, spec in operation.other_media.items()}
    if not content:
        return None
    return {"required": operation.request_required, "content": content}


def _reply(reply: Reply, ref_of: dict[type[msgspec.Struct], Any]) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": reply.description}
    if reply.model is not None:
        answer["content"] = {"application/json": {"schema": ref_of[reply.model]}}
    elif reply.media_type is not None:
        answer["content"] = {reply.media_type: {"schema": {"type": "string"}}}
    if reply.headers:
        answer["headers"] = {
            name: {"$ref": f"#/components/headers/{name}"} for name in reply.headers
        }
    if reply.links:
        answer["links"] = {name: dict(link) for name, link in reply.links.items()}
    return answer


def _problem_responses(operation: Operation, public_url: str) -> dict[str, Any]:
    by_status: dict[int, list[type[Problem]]] = {}
    for problem in dict.fromkeys(operation.problems):
        by_status.setdefault(problem.status, []).append(problem)
    responses: dict[str, Any] = {}
    for status, problems in sorted(by_status.items()):
        codes = list(dict.fromkeys(p.code for p in problems))
        answer: dict[str, Any] = {
            "description": "; ".join(f"{p.code}: {p.title}" for p in problems),
        }
        if operation.html_problems:
            # A browser page: the same problem, rendered as a page (linkzoom.http.errors).
            answer["content"] = {"text/html": {"schema": {"type": "string"}}}
        else:
            answer["content"] = {
                PROBLEM_JSON: {
                    "schema": {
                        "allOf": [{"$ref": "#/components/schemas/Problem"}],
                        "properties": {
                            "type": {"enum": [f"{public_url}/problems/{c}" for c in codes]},
                            "status": {"const": status},
                        },
                    }
                }
            }
        headers = {PROBLEM_HEADERS[p] for p in problems if p in PROBLEM_HEADERS}
        if headers:
            answer["headers"] = {
                name: {"$ref": f"#/components/headers/{name}"} for name in sorted(headers)
            }
        responses[str(status)] = answer
    return responses


async def openapi_json(request: Request) -> Response:
    state = request.app.state
    encoded: bytes | None = getattr(state, "openapi_document", None)
    if encoded is None:
        encoded = msgspec.json.encode(document(state.settings.public_url))
        state.openapi_document = encoded
    # Like the manifests: rendered for this deployment, so caches must ask again.
    return Response(encoded, media_type="application/json", headers={"Cache-Control": "no-cache"})


routes = [Route(PATH, openapi_json, methods=["GET"])]
