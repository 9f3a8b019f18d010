"""Two service processes share one database: an expired token is refreshed exactly once."""

from __future__ import annotations

import asyncio

import httpx

from tests.e2e.conftest import Deployment
from tests.e2e.test_authorization_flow import sql


async def storm(urls: list[str], token: str, calls: int) -> list[int]:
    limits = httpx.Limits(max_connections=calls)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        responses = await asyncio.gather(
            *(
                client.get(
                    f"{urls[i % len(urls)]}/api/v1/zoom/account",
                    headers={"authorization": f"Bearer {token}"},
                )
                for i in range(calls)
            )
        )
    return [r.status_code for r in responses]


def test_expired_token_storm_over_two_processes_refreshes_once(deployment: Deployment) -> None:
    second = deployment.start_service()
    api = deployment.login("alice")
    token = api.headers["authorization"].removeprefix("Bearer ")
    deployment.link_zoom(api, "alice@zoom.test")
    for known_expired in (True, False):
        deployment.control("POST", "/tokens/expire", json={})
        if known_expired:  # we know it expired (proactive path) vs. Zoom tells us (401 path)
            sql(deployment, "UPDATE zoom_grants SET access_expires_at = refreshed_at")
        before = deployment.control("GET", "/stats")["refreshes"]
        statuses = asyncio.run(storm([deployment.service_url, second], token, 60))
        assert statuses == [200] * 60
        assert deployment.control("GET", "/stats")["refreshes"] - before == 1
    assert deployment.control("GET", "/stats")["invalid_grant"] == 0
