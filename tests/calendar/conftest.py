"""A Zoom sandbox process per module, and settings that point the runtime at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from linkzoom.config import Settings
from tests.calendar.harness import CLIENT_ID, CLIENT_SECRET, WEBHOOK_SECRET, SandboxProcess
from tests.support.keys import new_keyring
from tests.support.processes import Process, free_port, linkzoom_command, python_env

DAILY_WRITE_LIMIT = 6


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = python_env(
        {
            "LINKZOOM_ZOOM_CLIENT_ID": CLIENT_ID,
            "LINKZOOM_ZOOM_CLIENT_SECRET": CLIENT_SECRET,
            "LINKZOOM_ZOOM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "LINKZOOM_SANDBOX_DAILY_WRITE_LIMIT": str(DAILY_WRITE_LIMIT),
        }
    )
    process = Process(
        name="sandbox",
        args=linkzoom_command("sandbox", "--port", str(port)),
        env=env,
        log_path=tmp_path_factory.mktemp("sandbox") / "sandbox.log",
        ready_url=url + "/_sandbox/stats",
    ).start()
    try:
        yield SandboxProcess(url=url, process=process)
    finally:
        process.stop()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, sandbox: SandboxProcess) -> Settings:
    sandbox.control("POST", "/reset")
    return Settings(
        database_url=database_url,
        public_url="http://linkzoom.test",
        var_dir=tmp_path / "var",
        keys=new_keyring(),
        zoom_client_id=CLIENT_ID,
        zoom_client_secret=CLIENT_SECRET,
        zoom_webhook_secret=WEBHOOK_SECRET,
        zoom_oauth_url=sandbox.url,
        zoom_api_url=sandbox.url + "/v2",
        zoom_timeout_seconds=1.0,
        log_format="text",
    )
