"""Reading request bodies: size-limited, type-checked, parsed once."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import ClientDisconnect, Request

from linkzoom.problems import BadRequest, PayloadTooLarge, UnsupportedMediaType, ValidationFailed


async def read_bytes(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
            chunks.append(chunk)
    except ClientDisconnect:
        raise BadRequest("The client went away before sending the whole body.") from None
    return b"".join(chunks)


async def read_json(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    """The JSON object in the body; an empty body is ``{}`` when ``allow_empty``."""
    limit: int = request.app.state.settings.max_body_bytes
    raw = await read_bytes(request, limit)
    if not raw.strip() and allow_empty:
        return {}
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType("Send the body as application/json.")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(
            f"The body is not valid JSON: {exc.msg if hasattr(exc, 'msg') else exc}."
        ) from None
    if not isinstance(data, dict):
        raise ValidationFailed.one("", "expected a JSON object")
    return data


def optional_string(data: dict[str, Any], name: str, *, max_length: int) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed.one(name, "must be a string")
    value = value.strip()
    if len(value) > max_length:
        raise ValidationFailed.one(name, f"must be at most {max_length} characters")
    return value or None


def required_string(data: dict[str, Any], name: str, *, max_length: int) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise ValidationFailed.one(
            name, "is required" if value is None else "must be a non-empty string"
        )
    if len(value) > max_length:
        raise ValidationFailed.one(name, f"must be at most {max_length} characters")
    return value
