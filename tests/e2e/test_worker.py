"""`linkzoom worker` alone keeps idle grants alive and stops cleanly."""

from __future__ import annotations

import signal
import time

from tests.e2e.conftest import Deployment
from tests.e2e.test_authorization_flow import sql
from tests.support.processes import Process, linkzoom_command


def test_worker_refreshes_an_idle_grant_before_its_refresh_token_lapses(
    deployment: Deployment,
) -> None:
    api = deployment.login("alice")
    deployment.link_zoom(api, "alice@zoom.test")
    for service in deployment.services:
        service.stop()  # only the standalone worker runs from here on
    sql(
        deployment,
        "UPDATE zoom_grants SET refreshed_at = authorized_at - interval '46 days'"
        if deployment.database_url.startswith("postgresql")
        else "UPDATE zoom_grants SET refreshed_at = datetime(authorized_at, '-46 days')",
    )
    worker = Process(
        name="worker",
        args=linkzoom_command("worker"),
        env=deployment.env | {"LINKZOOM_WORKER_INTERVAL_SECONDS": "0.5"},
        log_path=deployment.tmp / "worker.log",
    ).start()
    try:
        deadline = time.monotonic() + 20
        while deployment.control("GET", "/stats")["refreshes"] == 0:
            assert time.monotonic() < deadline, worker.output()
            time.sleep(0.2)
    finally:
        worker.stop(signal.SIGTERM)
    assert worker.popen is not None and worker.popen.returncode == 0
    assert deployment.control("GET", "/stats")["refreshes"] == 1
    ((broken,),) = sql(deployment, "SELECT broken_at FROM zoom_grants")
    assert broken is None
