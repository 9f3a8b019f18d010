"""Helpers for driving the sandbox in-process: an OAuth dance, bearer headers, PKCE values."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from html import unescape
from typing import Any

import httpx

CLIENT_ID = "test-client"
CLIENT_SECRET = "test-secret"
WEBHOOK_SECRET = "test-webhook-secret"
REDIRECT_URI = "http://linkzoom.test/oauth/zoom/callback"
BASE_URL = "http://sandbox.test"


@dataclass(frozen=True, kw_only=True)
class Tokens:
    access_token: str
    refresh_token: str
    body: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def consent_form(html: str) -> dict[str, str]:
    """The consent page's form fields (hidden ones and the prefilled email)."""
    form = html.split("<form", 1)[1].split("<button", 1)[0]
    return {k: unescape(v) for k, v in re.findall(r'name="(\w+)" value="([^"]*)"', form)}


async def get_code(
    client: httpx.AsyncClient,
    *,
    email: str = "demo@sandbox.zoom.test",
    challenge: str | None = None,
    method: str | None = None,
    redirect_uri: str = REDIRECT_URI,
    prefix: str = "",
) -> str:
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": redirect_uri,
        "state": "st-" + secrets.token_hex(4),
    }
    if challenge is not None:
        params["code_challenge"] = challenge
    if method is not None:
        params["code_challenge_method"] = method
    page = await client.get(f"{prefix}/oauth/authorize", params=params)
    assert page.status_code == 200, page.text
    form = consent_form(page.text)
    form.update(email=email, decision="approve")
    answer = await client.post(f"{prefix}/oauth/authorize", data=form)
    assert answer.status_code == 302
    location = httpx.URL(answer.headers["location"])
    assert location.params["state"] == params["state"]
    return location.params["code"]


async def authorize(
    client: httpx.AsyncClient, *, email: str = "demo@sandbox.zoom.test", prefix: str = ""
) -> Tokens:
    """Run consent + code exchange with PKCE S256 and return the first token pair."""
    verifier = secrets.token_urlsafe(48)
    code = await get_code(
        client, email=email, challenge=s256(verifier), method="S256", prefix=prefix
    )
    response = await client.post(
        f"{prefix}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return Tokens(access_token=body["access_token"], refresh_token=body["refresh_token"], body=body)


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )


async def create_meeting(
    client: httpx.AsyncClient, tokens: Tokens, **fields: Any
) -> dict[str, Any]:
    body = {"topic": "Planning", "type": 2, "start_time": "2031-05-06T14:00:00Z", "duration": 30}
    body.update(fields)
    response = await client.post("/v2/users/me/meetings", json=body, headers=tokens.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
