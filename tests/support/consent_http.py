"""Zoom consent walked over HTTP as the add-in's dialog and browser do it: for end-to-end tests
and benchmarks that need a linked user of a running ``linkzoom run`` and sandbox."""

from __future__ import annotations

import re

import httpx

from tests.support.browser import submit_form


def claim_code(page: str) -> str | None:
    """The claim code the callback page hands the add-in's dialog (DESIGN.md, Add-in)."""
    found = re.search(r'<meta name="linkzoom-claim" content="([^"]+)">', page)
    return found.group(1) if found else None


def link_zoom(api: httpx.Client, email: str) -> httpx.Response:
    """Consent at the sandbox as ``email``, then claim the grant with ``api``'s device token
    (``api`` has the service as its base URL and the bearer token set); the callback page."""
    authorize_url = api.post("/api/v1/zoom/authorizations").json()["authorize_url"]
    with httpx.Client(timeout=20) as browser:
        to_zoom = browser.get(authorize_url)
        assert to_zoom.status_code == 302, to_zoom.text
        consent = browser.get(to_zoom.headers["location"])
        assert consent.status_code == 200, consent.text
        to_callback = submit_form(browser, consent, button="approve", overrides={"email": email})
        assert to_callback.status_code == 302, to_callback.text
        done = browser.get(to_callback.headers["location"])
    if (code := claim_code(done.text)) is not None:
        claimed = api.post("/api/v1/zoom/authorizations/claim", json={"code": code})
        assert claimed.status_code == 200, claimed.text
    return done
