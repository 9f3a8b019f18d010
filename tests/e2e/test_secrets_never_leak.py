"""Every secret the sandbox issued, and every password and device token, is searched for in
the service's logs (at DEBUG level) and in every column of every table and the database files."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from linkzoom.store.db import driver_url
from tests.e2e.conftest import PASSWORDS, Deployment
from tests.e2e.test_webhooks import signed_post
from tests.support.consent_http import claim_code


def database_text(deployment: Deployment) -> list[bytes]:
    engine = create_engine(driver_url(deployment.database_url, asynchronous=False))
    blobs: list[bytes] = []
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        blobs.append(bytes(value))
                    elif value is not None:
                        blobs.append(str(value).encode())
    engine.dispose()
    if deployment.database_url.startswith("sqlite"):
        database = Path(deployment.database_url.removeprefix("sqlite:///"))
        blobs.extend(f.read_bytes() for f in database.parent.glob(database.name + "*"))
    return blobs


def test_no_secret_in_logs_or_database(deployment: Deployment) -> None:
    api = deployment.login("alice")
    device_token = api.headers["authorization"].removeprefix("Bearer ")
    claim_codes = [claim_code(deployment.link_zoom(api, "alice@zoom.test").text)]
    deployment.control("POST", "/tokens/expire", json={})
    assert api.get("/api/v1/zoom/account").status_code == 200  # a refresh
    claim_codes.append(claim_code(deployment.link_zoom(api, "alice.second@zoom.test").text))
    bob = deployment.login("bob")
    deployment.link_zoom(bob, "bob@zoom.test")
    (bob_zoom,) = [
        u for u in deployment.control("GET", "/users")["users"] if u["email"] == "bob@zoom.test"
    ]
    deployment.control("POST", f"/users/{bob_zoom['id']}/deauthorize", json={})
    deployment.control("POST", "/webhooks/drain")
    body = json.dumps(
        {
            "event": "endpoint.url_validation",
            "payload": {"plainToken": "plain"},
            "event_ts": int(time.time()),
        }
    ).encode()
    assert signed_post(deployment, body).status_code == 200
    assert api.delete("/api/v1/zoom/authorization").status_code == 204

    issued = deployment.control("GET", "/secrets")
    secrets = {
        s for values in issued.values() for s in values if isinstance(s, str) and len(s) >= 8
    }
    kinds_with_values = {kind for kind, values in issued.items() if values}
    assert {"client_secret", "webhook_secret"} <= kinds_with_values
    assert len(secrets) >= 10, issued.keys()
    secrets |= set(PASSWORDS.values()) | {
        device_token,
        deployment.env["LINKZOOM_KEYS"].split(":")[1],
        *(code for code in claim_codes if code is not None),
    }
    assert len(claim_codes) == 2 and None not in claim_codes

    for process in deployment.services:
        process.stop()  # flush everything
    logs = "".join(p.output() for p in deployment.services)
    assert "zoom grant refreshed" in logs  # the logs are really there, and chatty
    database = database_text(deployment)
    for secret in secrets:
        assert secret not in logs, f"a secret of {len(secret)} chars leaked into the logs"
        assert not any(secret.encode() in blob for blob in database), (
            "a secret reached the database"
        )
