"""The optional state file: what ``make run`` keeps across restarts."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .conftest import AppFactory, client_for, sandbox_of
from .helpers import authorize, create_meeting, refresh


async def test_state_survives_a_restart(make_app: AppFactory, tmp_path: Path) -> None:
    state_file = tmp_path / "sandbox.json"
    first = make_app(state_file=state_file)
    async with client_for(first) as client:
        await client.post("/_sandbox/clock", json={"advance_seconds": 3600 * 5})
        tokens = await authorize(client)
        meeting = await create_meeting(
            client, tokens, type=8, recurrence={"type": 1, "end_times": 2}, timezone="UTC"
        )
    await sandbox_of(first).aclose()
    text = state_file.read_text()
    saved = json.loads(text)
    assert saved["version"] == 1 and len(saved["meetings"]) == 1
    async with client_for(first) as client:
        secrets = (await client.get("/_sandbox/secrets")).json()
    for kind in ("access_tokens", "refresh_tokens", "authorization_codes", "start_url_zaks"):
        assert secrets[kind] and not any(value in text for value in secrets[kind])

    second = make_app(state_file=state_file)
    async with client_for(second) as client:
        again = await client.get(f"/v2/meetings/{meeting['id']}", headers=tokens.headers)
        assert again.status_code == 200
        # Everything but the host key in start_url, which is issued afresh.
        assert again.json() | {"start_url": ""} == meeting | {"start_url": ""}
        assert (await refresh(client, tokens.refresh_token)).status_code == 200
        clock = (await client.get("/_sandbox/clock")).json()["now"]
        # The clock offset is kept too: still about five hours ahead of real time.
        ahead = datetime.fromisoformat(clock) - datetime.now(UTC)
        assert timedelta(hours=4) < ahead < timedelta(hours=6)


async def test_saves_are_debounced_not_per_request(make_app: AppFactory, tmp_path: Path) -> None:
    state_file = tmp_path / "state" / "sandbox.json"
    app = make_app(state_file=state_file)
    async with client_for(app) as client:
        tokens = await authorize(client)
        for _ in range(5):
            await create_meeting(client, tokens)
        assert not state_file.exists()  # nothing written synchronously by requests
        for _ in range(40):
            await asyncio.sleep(0.05)
            if state_file.exists():
                break
        assert state_file.exists()
        assert len(json.loads(state_file.read_text())["meetings"]) == 5
