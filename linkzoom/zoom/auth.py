"""Bearer tokens for Zoom calls, supplied by whoever owns them (the vault).

The client stores no token. Each request asks a :class:`TokenProvider` for the current access
token; if Zoom refuses it (HTTP 401, or code 124 which Zoom sometimes sends as a 400) the flow
asks for a refreshed one and sends the request exactly once more. A second refusal is returned
as is and becomes :class:`~linkzoom.problems.ZoomAccessTokenRejected`. Replaying the request is
safe even for a create: Zoom did not act on a request it refused to authenticate.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import Protocol

import httpx

from linkzoom.zoom.errors import json_object

__all__ = ["TokenProvider", "ZoomBearerAuth"]

_INVALID_ACCESS_TOKEN = 124


class TokenProvider(Protocol):
    """Hands out one user's Zoom access tokens."""

    async def access_token(self) -> str:
        """A token believed valid now (refreshed first if it is about to expire)."""
        ...

    async def refreshed_access_token(self, rejected: str) -> str:
        """A token other than ``rejected``, which Zoom just refused: refresh, unless another
        caller already has (then return theirs)."""
        ...


class ZoomBearerAuth(httpx.Auth):
    """``Authorization: Bearer …`` from a :class:`TokenProvider`, with one retry after a 401."""

    def __init__(self, provider: TokenProvider) -> None:
        self._provider = provider

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("ZoomBearerAuth needs httpx.AsyncClient: token providers are async")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._provider.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if not await _token_rejected(response):
            return
        fresh = await self._provider.refreshed_access_token(token)
        request.headers["Authorization"] = f"Bearer {fresh}"
        yield request


async def _token_rejected(response: httpx.Response) -> bool:
    if response.status_code == 401:
        return True
    if response.status_code != 400:
        return False
    await response.aread()  # the code is in the body; httpx has not read it yet
    body = json_object(response)
    return body is not None and body.get("code") == _INVALID_ACCESS_TOKEN
