"""The add-in's files as a running service serves them."""

from __future__ import annotations

import io
import json
import uuid
import xml.etree.ElementTree as ET
import zipfile

import httpx
import pytest

from tests.e2e.conftest import Deployment

pytestmark = pytest.mark.one_database
ADDIN_ID = "7d1f0f64-8a0e-4c43-9d55-3c1f5d0b2a9e"


def addin_id_of(deployment: Deployment, base: str | None = None) -> str:
    url = (base or deployment.service_url) + "/addin/manifest.xml"
    root = ET.fromstring(httpx.get(url).content)
    found = root.findtext("{http://schemas.microsoft.com/office/appforoffice/1.1}Id")
    assert found is not None
    return found


def test_the_manifests_are_rendered_for_this_deployment(deployment: Deployment) -> None:
    base = deployment.service_url
    xml = httpx.get(base + "/addin/manifest.xml")
    assert xml.status_code == 200 and xml.headers["content-type"] == "application/xml"
    assert f'DefaultValue="{base}/addin/commands.html"' in xml.text
    generated = addin_id_of(deployment)
    assert str(uuid.UUID(generated)) == generated
    manifest = httpx.get(base + "/addin/manifest.json").json()
    assert manifest["id"] == generated
    package = zipfile.ZipFile(io.BytesIO(httpx.get(base + "/addin/package.zip").content))
    assert json.loads(package.read("manifest.json"))["id"] == generated
    # The id is generated once: a restarted service (and every other process) renders the same.
    deployment.services[0].stop()
    again = deployment.start_service()
    assert addin_id_of(deployment, again) == generated
    # The command code knows where it is served from.
    code = httpx.get(again + "/addin/addin.js")
    assert code.text.startswith("var LINKZOOM = {") and generated in code.text.splitlines()[0]
    allowed = httpx.get(again + "/.well-known/microsoft-officeaddins-allowed.json")
    assert allowed.json() == {
        "allowed": [
            deployment.service_url + "/addin/addin.js",
            deployment.service_url + "/addin/events.html",
        ]
    }


@pytest.mark.parametrize("deployment_env", [{"LINKZOOM_ADDIN_ID": ADDIN_ID.upper()}])
def test_a_configured_add_in_id_is_used_as_given(deployment: Deployment) -> None:
    assert addin_id_of(deployment) == ADDIN_ID


def test_pages_load_scripts_only_from_here_and_microsoft(deployment: Deployment) -> None:
    for path in ("/addin/commands.html", "/addin/events.html", "/addin/sign-in"):
        page = httpx.get(deployment.service_url + path)
        assert page.status_code == 200
        policy = page.headers["content-security-policy"]
        assert "script-src 'self' https://appsforoffice.microsoft.com;" in policy
        assert "frame-ancestors" not in policy  # Outlook on the web frames these pages
    tried = httpx.get(deployment.service_url + "/addin/try")
    assert "script-src 'self';" in tried.headers["content-security-policy"]
    missing = httpx.get(deployment.service_url + "/addin/../secrets")
    assert missing.status_code == 404
    assert httpx.get(deployment.service_url + "/addin/icons/nope.png").status_code == 404
    assert httpx.get(deployment.service_url + "/addin/icons/icon-16.png").content[:4] == b"\x89PNG"
