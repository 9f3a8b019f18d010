"""Zoom's OAuth endpoints for a user-managed app: authorize URL, code exchange, refresh, revoke.

All token calls are ``POST`` with a form body and HTTP Basic client authentication (Zoom's
devsupport article 360060332931; the Rivet SDK). They go through the same :class:`RetryPolicy`
as REST calls, which never resends a POST that may have reached Zoom: refresh tokens rotate, so
a replayed refresh could spend the token whose answer we lost. Serialising refreshes is the
vault's job, not this module's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from urllib.parse import quote, urlencode

import httpx

from linkzoom.clock import utcnow
from linkzoom.metrics import Metrics
from linkzoom.problems import ZoomError
from linkzoom.zoom.errors import json_object
from linkzoom.zoom.models import TokenSet
from linkzoom.zoom.retry import RetryPolicy

__all__ = ["ZoomOAuth"]


class ZoomOAuth:
    """One Zoom OAuth app (client id and secret) talking to ``oauth_url`` (``https://zoom.us``)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        oauth_url: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = utcnow,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._http = http
        self._base = oauth_url.rstrip("/")
        self._client_id = client_id
        self._client_auth = httpx.BasicAuth(client_id, client_secret)
        self._redirect_uri = redirect_uri
        self._metrics = metrics
        self._clock = clock
        self._retry = retry or RetryPolicy()

    def __repr__(self) -> str:  # the secret lives in _client_auth; keep it out of logs
        return f"ZoomOAuth(oauth_url={self._base!r}, client_id={self._client_id!r})"

    def authorize_url(self, *, state: str, code_challenge: str) -> str:
        """Where to send the user's browser to consent (PKCE S256; Zoom defaults to plain)."""
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self._client_id,
                "redirect_uri": self._redirect_uri,
                "state": state,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            },
            quote_via=quote,
        )
        return f"{self._base}/oauth/authorize?{query}"

    async def exchange_code(self, *, code: str, code_verifier: str) -> TokenSet:
        """Trade the callback's ``code`` (valid 5 minutes, single use) for tokens."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self._redirect_uri,
            "code_verifier": code_verifier,
        }
        return await self._tokens("oauth.token", form)

    async def refresh(self, refresh_token: str) -> TokenSet:
        """New tokens; Zoom invalidates ``refresh_token`` as soon as it answers."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return await self._tokens("oauth.refresh", form)

    async def revoke(self, token: str) -> None:
        """Revoke the grant behind ``token`` (Zoom answers ``{"status": "success"}``)."""
        response = await self._post("oauth.revoke", "/oauth/revoke", {"token": token})
        body = json_object(response)
        if body is not None and body.get("status") not in (None, "success"):
            raise ZoomError("Zoom did not confirm the revocation.", http_status=200)

    async def _tokens(self, operation: str, form: dict[str, str]) -> TokenSet:
        response = await self._post(operation, "/oauth/token", form)
        body = json_object(response)
        if body is None:
            raise ZoomError("Zoom's token endpoint answered without a JSON object.")
        return TokenSet.from_json(body)

    async def _post(self, operation: str, path: str, form: dict[str, str]) -> httpx.Response:
        url, metrics = f"{self._base}{path}", self._metrics
        return await self._retry.run(
            "POST",
            lambda: self._http.post(url, data=form, auth=self._client_auth),
            clock=self._clock,
            observe=None if metrics is None else partial(metrics.observe_zoom_call, operation),
        )
