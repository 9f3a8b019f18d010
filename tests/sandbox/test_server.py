"""``python -m linkzoom.sandbox`` as a real process on a loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import linkzoom

from .helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, consent_form

ROOT = Path(linkzoom.__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def sandbox_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKZOOM_")}
    env |= {
        "LINKZOOM_ZOOM_CLIENT_ID": CLIENT_ID,
        "LINKZOOM_ZOOM_CLIENT_SECRET": CLIENT_SECRET,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path / "sandbox.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "linkzoom.sandbox", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx.get(url + "/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    output = log_path.read_text()
    assert "meetings are simulated" in output
    assert "GET /oauth/authorize" not in output  # no access log


def test_serves_over_a_real_socket(sandbox_url: str) -> None:
    with httpx.Client(base_url=sandbox_url, timeout=5) as client:
        params = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI}
        page = client.get("/oauth/authorize", params=params)
        assert page.status_code == 200
        form = consent_form(page.text) | {"decision": "approve"}
        code = httpx.URL(client.post("/oauth/authorize", data=form).headers["location"]).params[
            "code"
        ]
        token = client.post(
            "/oauth/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
        assert token.status_code == 200
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        created = client.post(
            "/v2/users/me/meetings", json={"topic": "Real socket"}, headers=headers
        )
        assert created.status_code == 201
        assert created.json()["join_url"].startswith(f"{sandbox_url}/j/")
        # The control API answers: this request comes from 127.0.0.1.
        assert client.get("/_sandbox/stats").json()["api_calls"]["meetings.create"] == {"201": 1}
