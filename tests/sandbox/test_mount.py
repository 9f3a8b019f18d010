"""The sandbox mounted under a prefix, as ``linkzoom run`` does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from .conftest import AppFactory
from .helpers import BASE_URL, CLIENT_ID, REDIRECT_URI, authorize

PREFIX = "/zoom-sandbox"


@pytest.fixture
async def mounted(make_app: AppFactory) -> AsyncIterator[httpx.AsyncClient]:
    outer = Starlette(routes=[Mount(PREFIX, app=make_app())])
    transport = httpx.ASGITransport(app=outer, client=("127.0.0.1", 50123))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


async def test_links_and_redirects_carry_the_prefix(mounted: httpx.AsyncClient) -> None:
    page = await mounted.get(
        f"{PREFIX}/oauth/authorize",
        params={"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI},
    )
    assert f'action="{BASE_URL}{PREFIX}/oauth/authorize"' in page.text
    tokens = await authorize(mounted, prefix=PREFIX)
    assert tokens.body["api_url"] == f"{BASE_URL}{PREFIX}"
    created = await mounted.post(
        f"{PREFIX}/v2/users/me/meetings", json={"topic": "Mounted"}, headers=tokens.headers
    )
    meeting = created.json()
    assert meeting["join_url"].startswith(f"{BASE_URL}{PREFIX}/j/{meeting['id']}?pwd=")
    assert meeting["start_url"].startswith(f"{BASE_URL}{PREFIX}/s/")
    join = await mounted.get(httpx.URL(meeting["join_url"]).raw_path.decode())
    assert join.status_code == 200 and "Mounted" in join.text
    me = (await mounted.get(f"{PREFIX}/v2/users/me", headers=tokens.headers)).json()
    assert me["personal_meeting_url"].startswith(f"{BASE_URL}{PREFIX}/j/")


async def test_control_api_and_faults_work_under_the_prefix(mounted: httpx.AsyncClient) -> None:
    tokens = await authorize(mounted, prefix=PREFIX)
    added = await mounted.post(
        f"{PREFIX}/_sandbox/faults", json={"path_regex": "^/v2/users/me$", "status": 502}
    )
    assert added.status_code == 201
    assert (await mounted.get(f"{PREFIX}/v2/users/me", headers=tokens.headers)).status_code == 502
    log = (await mounted.get(f"{PREFIX}/_sandbox/requests")).json()["requests"]
    assert log[-1]["path"] == "/v2/users/me"
    assert (await mounted.get("/v2/users/me")).status_code == 404  # nothing outside the mount
