"""Behind a trusted reverse proxy the client is the forwarded address; nobody else is believed."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import PASSWORDS, Deployment
from tests.e2e.test_authorization_flow import sql

pytestmark = pytest.mark.one_database

# The tests reach the service from 127.0.0.1: that loopback address plays the proxy.
PROXY = {"LINKZOOM_TRUSTED_PROXIES": "127.0.0.1/32"}


def fail_login(deployment: Deployment, user: str, forwarded_for: str | None) -> httpx.Response:
    headers = {"x-forwarded-for": forwarded_for} if forwarded_for else {}
    return httpx.post(
        deployment.service_url + "/api/v1/sessions",
        json={"username": user, "password": "wrong"},
        headers=headers,
    )


def audited_addresses(deployment: Deployment) -> list[object]:
    rows = sql(deployment, "SELECT address FROM audit_events WHERE action = 'login.failed'")
    return [row[0] for row in rows]


@pytest.mark.parametrize("deployment_env", [PROXY])
def test_behind_a_trusted_proxy_each_client_has_its_own_address(
    deployment: Deployment,
) -> None:
    # The proxy appends the address it saw; whatever the client sent before it is ignored.
    assert fail_login(deployment, "carol", "198.51.100.9, 203.0.113.5").status_code == 401
    assert audited_addresses(deployment) == ["203.0.113.5"]
    # One client's guesses block that client, not everybody behind the proxy.
    for _ in range(5):
        fail_login(deployment, "carol", "203.0.113.5")
    assert fail_login(deployment, "carol", "203.0.113.5").status_code == 429
    assert fail_login(deployment, "dave", "203.0.113.5").status_code == 401
    signed_in = httpx.post(
        deployment.service_url + "/api/v1/sessions",
        json={"username": "carol", "password": PASSWORDS["carol"], "device_name": "phone"},
        headers={"x-forwarded-for": "192.0.2.44"},
    )
    assert signed_in.status_code == 201, signed_in.text


def test_without_trusted_proxies_forwarded_headers_are_ignored(deployment: Deployment) -> None:
    assert fail_login(deployment, "carol", "203.0.113.5").status_code == 401
    assert audited_addresses(deployment) == ["127.0.0.1"]
