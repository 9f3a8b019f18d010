"""`make run`'s configuration: no Zoom app, SQLite, the sandbox mounted in the same process.
An admin signs in with the printed password and links a sandbox Zoom account in the browser flow."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx

from tests.support.browser import submit_form
from tests.support.consent_http import claim_code
from tests.support.processes import Process, free_port, linkzoom_command, python_env


def test_out_of_the_box_demo_links_a_simulated_zoom_account(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    service = Process(
        name="make-run",
        args=linkzoom_command("run", "--port", str(port)),
        env=python_env(
            {
                "PWD": str(tmp_path),
                "LINKZOOM_VAR_DIR": str(tmp_path / "var"),
                "LINKZOOM_DATABASE_URL": f"sqlite:///{tmp_path}/var/linkzoom.db",
            }
        ),
        log_path=tmp_path / "run.log",
        ready_url=url + "/readyz",
    ).start()
    try:
        output = service.output()
        assert f"linkzoom is starting at {url}" in output
        assert "ZOOM SANDBOX" in output and "meetings are simulated" in output
        password = re.search(r"created user 'admin' with password (\S+)", output)
        assert password is not None
        assert httpx.get(url + "/readyz").json()["zoom_sandboxed"] is True

        token = httpx.post(
            url + "/api/v1/sessions",
            json={"username": "admin", "password": password.group(1), "device_name": "curl"},
        ).json()["token"]
        auth = {"authorization": f"Bearer {token}"}
        me = httpx.get(url + "/api/v1/me", headers=auth).json()
        assert me["is_admin"] is True and me["zoom"]["enabled"] is True
        authorize_url = httpx.post(url + "/api/v1/zoom/authorizations", headers=auth).json()[
            "authorize_url"
        ]
        with httpx.Client(timeout=20) as browser:
            to_zoom = browser.get(authorize_url)
            assert to_zoom.headers["location"].startswith(url + "/zoom-sandbox/oauth/authorize?")
            consent = browser.get(to_zoom.headers["location"])
            assert "Simulated Zoom" in consent.text
            callback = submit_form(browser, consent, button="approve", overrides={})
            done = browser.get(callback.headers["location"])
            assert done.status_code == 200
        code = claim_code(done.text)
        claimed = httpx.post(
            url + "/api/v1/zoom/authorizations/claim", headers=auth, json={"code": code}
        )
        assert claimed.status_code == 200, claimed.text
        assert httpx.get(url + "/api/v1/me", headers=auth).json()["zoom"]["linked"] is True
        assert httpx.get(url + "/api/v1/zoom/account", headers=auth).status_code == 200

        # A restart keeps the grant working: keys, sandbox app and sandbox state persist in var/.
        service.stop()
        service.start()
        assert "created user 'admin'" not in service.output().split("linkzoom is starting")[-1]
        assert httpx.get(url + "/api/v1/zoom/account", headers=auth).status_code == 200
    finally:
        service.stop()
    for _ in range(20):  # the sandbox state file is written on shutdown
        if (tmp_path / "var" / "sandbox-state.json").exists():
            break
        time.sleep(0.1)
    assert (tmp_path / "var" / "keys").stat().st_mode & 0o077 == 0
