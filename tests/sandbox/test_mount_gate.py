"""Over real HTTP: ``linkzoom run`` answers under ``/zoom-sandbox`` only while no real Zoom app
is configured. An administrator saving a real app on the console closes the mount (a 404
problem, the control API included) without a restart; forgetting it opens the mount again."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.support.processes import Process, free_port, linkzoom_command, python_env

PREFIX = "/zoom-sandbox"
# Paths of each kind the sandbox serves: OAuth, the REST API, its pages, the control API.
PROBES = ("/oauth/authorize", "/v2/users/me", "/", "/_sandbox/stats", "/_sandbox/requests")


def _statuses(url: str) -> dict[str, int]:
    return {path: httpx.get(url + PREFIX + path, timeout=10).status_code for path in PROBES}


def _post_form(console: httpx.Client, page_url: str, action: str, data: dict[str, str]) -> None:
    """Submit a form of the page at ``page_url`` as the browser would, CSRF token included."""
    page = console.get(page_url)
    assert page.status_code == 200, page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    fields = data if token is None else data | {"csrf_token": token.group(1)}
    done = console.post(page_url.split("/controller/")[0] + action, data=fields)
    assert done.status_code == 303, done.text


def test_the_mount_answers_only_while_no_real_app_is_configured(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    service = Process(
        name="sandboxed-run",
        args=linkzoom_command("run", "--port", str(port)),
        env=python_env(
            {
                "PWD": str(tmp_path),
                "LINKZOOM_VAR_DIR": str(tmp_path / "var"),
                "LINKZOOM_DATABASE_URL": f"sqlite:///{tmp_path}/var/linkzoom.db",
                "LINKZOOM_PUBLIC_URL": url,
            }
        ),
        log_path=tmp_path / "run.log",
        ready_url=url + "/readyz",
    ).start()
    try:
        password = re.search(r"created user 'admin' with password (\S+)", service.output())
        assert password is not None
        open_statuses = _statuses(url)
        assert 404 not in open_statuses.values(), open_statuses
        assert httpx.get(url + "/readyz").json()["zoom_sandboxed"] is True

        with httpx.Client(timeout=20, headers={"origin": url}) as console:
            _post_form(
                console,
                url + "/controller/login",
                "/controller/login",
                {"username": "admin", "password": password.group(1)},
            )
            zoom_page = url + "/controller/admin/zoom"
            _post_form(
                console,
                zoom_page,
                "/controller/admin/zoom/app",
                {"client_id": "real-app", "client_secret": "real-secret", "webhook_secret": ""},
            )
            assert httpx.get(url + "/readyz").json()["zoom_sandboxed"] is False
            for path in PROBES:
                closed = httpx.get(url + PREFIX + path, timeout=10)
                assert closed.status_code == 404, (path, closed.text)
                assert closed.headers["content-type"].startswith("application/problem+json")
                assert closed.json()["status"] == 404
            refused = httpx.post(
                url + PREFIX + "/_sandbox/faults", json={"path_regex": ".*", "status": 500}
            )
            assert refused.status_code == 404

            _post_form(console, zoom_page, "/controller/admin/zoom/app/clear", {})
            assert httpx.get(url + "/readyz").json()["zoom_sandboxed"] is True
            assert _statuses(url) == open_statuses
    finally:
        service.stop()
