"""Reading request bodies, size-limited (their JSON is decoded by :mod:`.typed_body`)."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request

from linkzoom.problems import BadRequest, PayloadTooLarge


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
