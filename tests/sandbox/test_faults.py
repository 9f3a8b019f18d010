"""Injected faults and latency (control API)."""

from __future__ import annotations

import time

import httpx

from .helpers import authorize, refresh


async def test_fault_fires_count_times(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    added = await client.post(
        "/_sandbox/faults",
        json={"method": "get", "path_regex": "^/v2/users/me$", "status": 503, "count": 2},
    )
    assert added.status_code == 201 and added.json()["id"]
    statuses = [
        (await client.get("/v2/users/me", headers=tokens.headers)).status_code for _ in range(3)
    ]
    assert statuses == [503, 503, 200]
    # The method filter: a POST to the same path would not match.
    faults = (await client.get("/_sandbox/faults")).json()["faults"]
    assert faults[0]["fired"] == 2 and faults[0]["remaining"] == 0
    assert (await client.get("/_sandbox/stats")).json()["faults_fired"] == 2


async def test_fault_with_custom_body_and_headers(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    await client.post(
        "/_sandbox/faults",
        json={
            "path_regex": "/meetings",
            "status": 429,
            "body": {"code": 429, "message": "custom"},
            "headers": {"Retry-After": "7", "X-RateLimit-Type": "QPS"},
        },
    )
    response = await client.post("/v2/users/me/meetings", json={}, headers=tokens.headers)
    assert response.status_code == 429
    assert response.json() == {"code": 429, "message": "custom"}
    assert response.headers["retry-after"] == "7"
    assert (await client.get("/_sandbox/stats")).json()["rate_limited"]["fault"] == 1
    await client.delete("/_sandbox/faults")
    created = await client.post("/v2/users/me/meetings", json={}, headers=tokens.headers)
    assert created.status_code == 201


async def test_default_429_fault_looks_like_zoom_qps(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    await client.post("/_sandbox/faults", json={"path_regex": "^/v2/", "status": 429, "count": 1})
    response = await client.get("/v2/users/me", headers=tokens.headers)
    assert response.json()["code"] == 429
    assert response.headers["retry-after"] == "1" and response.headers["x-ratelimit-type"] == "QPS"


async def test_oauth_fault_has_an_oauth_body(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    await client.post("/_sandbox/faults", json={"path_regex": "^/oauth/token$", "status": 500})
    response = await refresh(client, tokens.refresh_token)
    assert response.status_code == 500 and response.json()["error"] == "server_error"
    await client.delete("/_sandbox/faults")
    # The faulted request never reached the token endpoint: the refresh token is still good.
    assert (await refresh(client, tokens.refresh_token)).status_code == 200


async def test_probability_zero_never_fires(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    await client.post(
        "/_sandbox/faults", json={"path_regex": ".", "status": 500, "probability": 0.0}
    )
    for _ in range(20):
        assert (await client.get("/v2/users/me", headers=tokens.headers)).status_code == 200


async def test_global_and_fault_latency(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    await client.post("/_sandbox/latency", json={"ms": 150})
    started = time.monotonic()
    assert (await client.get("/v2/users/me", headers=tokens.headers)).status_code == 200
    assert time.monotonic() - started >= 0.15
    await client.post("/_sandbox/latency", json={"ms": 0})
    # A rule without status only delays.
    await client.post("/_sandbox/faults", json={"path_regex": "users/me", "latency_ms": 120})
    started = time.monotonic()
    assert (await client.get("/v2/users/me", headers=tokens.headers)).status_code == 200
    assert time.monotonic() - started >= 0.12


async def test_bad_fault_specs_are_400(client: httpx.AsyncClient) -> None:
    for spec in (
        {},
        {"path_regex": "("},
        {"path_regex": ".", "status": 42},
        {"path_regex": ".", "probability": 2},
        {"path_regex": ".", "count": 0},
        {"path_regex": ".", "latency_ms": -1},
    ):
        response = await client.post("/_sandbox/faults", json=spec)
        assert response.status_code == 400, spec
        assert "error" in response.json()
    assert (await client.post("/_sandbox/latency", json={"ms": "slow"})).status_code == 400


async def test_control_api_is_not_subject_to_faults(client: httpx.AsyncClient) -> None:
    await client.post("/_sandbox/faults", json={"path_regex": ".", "status": 500})
    assert (await client.get("/_sandbox/stats")).status_code == 200
