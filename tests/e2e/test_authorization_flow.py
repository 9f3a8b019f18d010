"""Sign-in, Zoom consent through the browser flow, and what follows, over real sockets.

The tests share a running deployment per database (``shared_deployment``), each with users of
its own (``Deployment.new_user``): rows, sandbox accounts and token expiry are looked at per user,
and the sandbox's refresh and revoke counters as the change a test made (tests on one deployment
run one at a time). The feature-switch test, which turns Zoom off for everyone, has its own."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import create_engine, text

from linkzoom.store.db import driver_url
from tests.e2e.conftest import Deployment
from tests.support.browser import submit_form
from tests.support.consent_http import claim_code

PROBLEM = "application/problem+json"


def sql(deployment: Deployment, statement: str, **params: object) -> list[tuple[object, ...]]:
    engine = create_engine(driver_url(deployment.database_url, asynchronous=False))
    with engine.begin() as connection:
        result = connection.execute(text(statement), params)
        rows = [tuple(r) for r in result] if result.returns_rows else []
    engine.dispose()
    return rows


@pytest.mark.one_database
def test_link_zoom_through_consent_and_see_it_linked(shared_deployment: Deployment) -> None:
    alice = shared_deployment.new_user("alice")
    api = shared_deployment.login(alice)
    me = api.get("/api/v1/me").json()
    assert me["username"] == alice and me["email"] == f"{alice}@example.org"
    assert me["zoom"] == {
        "enabled": True,
        "linked": False,
        "broken": False,
        "account_email": None,
        "authorized_at": None,
        "reauthorize_by": None,
        "reauthorization_required": False,
    }

    authorize_url = api.post("/api/v1/zoom/authorizations").json()["authorize_url"]
    assert authorize_url.startswith(shared_deployment.service_url + "/oauth/zoom/start?ticket=")
    with httpx.Client() as browser:
        to_zoom = browser.get(authorize_url)
        location = httpx.URL(to_zoom.headers["location"])
        assert str(location).startswith(shared_deployment.sandbox_url + "/oauth/authorize")
        assert location.params["code_challenge_method"] == "S256"
        assert (
            location.params["redirect_uri"]
            == shared_deployment.service_url + "/oauth/zoom/callback"
        )
        assert len(location.params["state"]) >= 32
        # The one-time link cannot be used twice.
        again = browser.get(authorize_url)
        assert again.status_code == 400 and "already used" in again.text

    done = shared_deployment.link_zoom(api, f"{alice}@zoom.test")
    assert done.status_code == 200 and "Zoom consent received" in done.text
    # The page names both accounts: whose Zoom, and which linkzoom account it is joining.
    assert f"{alice}@zoom.test" in done.text and f"<strong>{alice}</strong>" in done.text
    assert "/controller/account" in done.text
    assert "nonce-" in done.headers["content-security-policy"]

    me = api.get("/api/v1/me").json()["zoom"]
    assert me["linked"] is True and me["account_email"] == f"{alice}@zoom.test"
    assert me["reauthorize_by"] > me["authorized_at"]
    account = api.get("/api/v1/zoom/account")
    assert account.status_code == 200 and account.json()["email"] == f"{alice}@zoom.test"


MINE = "(SELECT id FROM users WHERE username = :name)"


def count(shared_deployment: Deployment, table: str, name: str | None = None) -> object:
    """Rows of ``table``: all of them, or those of user ``name``."""
    if name is None:
        return sql(shared_deployment, f"SELECT count(*) FROM {table}")[0][0]
    return sql(
        shared_deployment, f"SELECT count(*) FROM {table} WHERE user_id = {MINE}", name=name
    )[0][0]


def stat(shared_deployment: Deployment, name: str) -> int:
    found: int = shared_deployment.control("GET", "/stats")[name]
    return found


def expire_tokens(shared_deployment: Deployment, email: str) -> None:
    """The access tokens of the sandbox user with ``email`` expire now (no one else's)."""
    (user,) = [
        u for u in shared_deployment.control("GET", "/users")["users"] if u["email"] == email
    ]
    shared_deployment.control("POST", "/tokens/expire", json={"user_id": user["id"]})


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


def consent_in_a_clean_browser(authorize_url: str, email: str) -> httpx.Response:
    """Someone else's browser, with no session of ours, walks the link through Zoom's consent."""
    with httpx.Client(timeout=20) as browser:
        consent = browser.get(browser.get(authorize_url).headers["location"])
        to_callback = submit_form(browser, consent, button="approve", overrides={"email": email})
        return browser.get(to_callback.headers["location"])


@pytest.mark.one_database
def test_a_link_started_by_one_user_never_links_another_users_zoom(
    shared_deployment: Deployment,
) -> None:
    """Account-linking CSRF: mallory mints a start link and sends it; bob completes it."""
    mallory_name, bob_name = (
        shared_deployment.new_user("mallory"),
        shared_deployment.new_user("bob"),
    )
    grants = count(shared_deployment, "zoom_grants")
    mallory, bob = shared_deployment.login(mallory_name), shared_deployment.login(bob_name)
    authorize_url = mallory.post("/api/v1/zoom/authorizations").json()["authorize_url"]
    page = consent_in_a_clean_browser(authorize_url, f"{bob_name}@zoom.test")
    # Bob's page tells him which linkzoom account the link would join, and nothing is linked.
    assert page.status_code == 200 and f"<strong>{mallory_name}</strong>" in page.text
    assert "is being" in page.text and "Zoom connected" not in page.text
    assert mallory.get("/api/v1/me").json()["zoom"]["linked"] is False
    assert count(shared_deployment, "zoom_grants") == grants  # nobody's, not only theirs
    # The code on bob's page is no use to any other device, bob's own included.
    code = claim_code(page.text)
    assert code is not None
    refused = bob.post("/api/v1/zoom/authorizations/claim", json={"code": code})
    assert refused.status_code == 400 and refused.headers["content-type"] == PROBLEM
    assert refused.json()["type"].endswith("/problems/authorization-failed")
    guessed = mallory.post("/api/v1/zoom/authorizations/claim", json={"code": "x" * 43})
    assert guessed.status_code == 400
    assert count(shared_deployment, "zoom_grants") == grants
    assert mallory.get("/api/v1/me").json()["zoom"]["linked"] is False
    assert bob.get("/api/v1/me").json()["zoom"]["linked"] is False


@pytest.mark.one_database
def test_a_my_account_link_opened_in_another_browser_links_nothing(
    shared_deployment: Deployment,
) -> None:
    name = shared_deployment.new_user("alice")
    grants = count(shared_deployment, "zoom_grants")
    with httpx.Client(base_url=shared_deployment.service_url, timeout=20) as alice:
        signed_in = alice.post(
            "/controller/login",
            data={
                "csrf_token": csrf_of(alice.get("/controller/login").text),
                "username": name,
                "password": shared_deployment.passwords[name],
            },
        )
        assert signed_in.status_code == 303, signed_in.text
        account = alice.get("/controller/account")
        start = alice.post(
            "/controller/account/zoom/connect", data={"csrf_token": csrf_of(account.text)}
        )
        authorize_url = start.headers["location"]
        assert authorize_url.startswith(shared_deployment.service_url + "/oauth/zoom/start?ticket=")
    page = consent_in_a_clean_browser(authorize_url, f"bob-of-{name}@zoom.test")
    assert page.status_code == 400 and "another browser session" in page.text
    assert claim_code(page.text) is None
    assert count(shared_deployment, "zoom_grants") == grants


@pytest.mark.one_database
def test_a_claim_is_spent_once_and_only_by_the_device_that_asked(
    shared_deployment: Deployment,
) -> None:
    alice = shared_deployment.new_user("alice")
    api = shared_deployment.login(alice)
    other_device = shared_deployment.login(alice)
    authorize_url = api.post("/api/v1/zoom/authorizations").json()["authorize_url"]
    code = claim_code(consent_in_a_clean_browser(authorize_url, f"{alice}@zoom.test").text)
    assert code is not None
    # The same user's other device did not ask, so it cannot claim either.
    assert (
        other_device.post("/api/v1/zoom/authorizations/claim", json={"code": code}).status_code
        == 400
    )
    claimed = api.post("/api/v1/zoom/authorizations/claim", json={"code": code})
    assert claimed.status_code == 200
    assert claimed.json() == {
        "linked": True,
        "account_email": f"{alice}@zoom.test",
        "replaced_other_account": False,
    }
    assert api.post("/api/v1/zoom/authorizations/claim", json={"code": code}).status_code == 400
    assert api.post("/api/v1/zoom/authorizations/claim", json={}).status_code == 422
    assert api.get("/api/v1/me").json()["zoom"]["linked"] is True


@pytest.mark.one_database
def test_callback_replay_and_forged_state_are_refused(shared_deployment: Deployment) -> None:
    api = shared_deployment.login(shared_deployment.new_user("alice"))
    authorize_url = api.post("/api/v1/zoom/authorizations").json()["authorize_url"]
    with httpx.Client() as browser:
        to_zoom = browser.get(authorize_url)
        consent = browser.get(to_zoom.headers["location"])
        to_callback = submit_form(browser, consent, button="approve", overrides={})
        callback = to_callback.headers["location"]
        assert browser.get(callback).status_code == 200
        replay = browser.get(callback)
        assert replay.status_code == 400 and "already completed" in replay.text
        forged = browser.get(
            shared_deployment.service_url + "/oauth/zoom/callback?code=x&state=forged"
        )
        assert forged.status_code == 400
        assert "text/html" in forged.headers["content-type"]


@pytest.mark.one_database
def test_declined_consent_links_nothing(shared_deployment: Deployment) -> None:
    api = shared_deployment.login(shared_deployment.new_user("alice"))
    authorize_url = api.post("/api/v1/zoom/authorizations").json()["authorize_url"]
    with httpx.Client() as browser:
        consent = browser.get(browser.get(authorize_url).headers["location"])
        to_callback = submit_form(browser, consent, button="deny", overrides={})
        declined = browser.get(to_callback.headers["location"])
    assert declined.status_code == 400 and "declined" in declined.text
    assert api.get("/api/v1/me").json()["zoom"]["linked"] is False


def test_expired_access_token_is_refreshed_quietly(shared_deployment: Deployment) -> None:
    alice = shared_deployment.new_user("alice")
    api = shared_deployment.login(alice)
    shared_deployment.link_zoom(api, f"{alice}@zoom.test")
    refreshes = stat(shared_deployment, "refreshes")
    expire_tokens(shared_deployment, f"{alice}@zoom.test")
    assert api.get("/api/v1/zoom/account").status_code == 200
    assert api.get("/api/v1/zoom/account").status_code == 200
    assert stat(shared_deployment, "refreshes") == refreshes + 1


@pytest.mark.one_database
def test_spent_grant_answers_not_linked_and_keeps_the_row(shared_deployment: Deployment) -> None:
    alice = shared_deployment.new_user("alice")
    api = shared_deployment.login(alice)
    shared_deployment.link_zoom(api, f"{alice}@zoom.test")
    # Zoom forgets the grant without telling us (no webhook): access and refresh tokens die.
    expire_tokens(shared_deployment, f"{alice}@zoom.test")
    shared_deployment.control(
        "POST",
        "/faults",
        json={
            "method": "POST",
            "path_regex": "^/oauth/token$",
            "status": 400,
            "body": {"reason": "Invalid Token!", "error": "invalid_grant"},
            "count": 1,
        },
    )
    answer = api.get("/api/v1/zoom/account")
    assert answer.status_code == 409
    assert answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert problem["type"] == shared_deployment.service_url + "/problems/zoom-not-linked"
    assert problem["authorize_url"].startswith(
        shared_deployment.service_url + "/oauth/zoom/start?ticket="
    )
    me = api.get("/api/v1/me").json()["zoom"]
    assert me["linked"] is False and me["broken"] is True
    assert count(shared_deployment, "preferences", alice) == 1


@pytest.mark.one_database
def test_yearly_reauthorization_is_required_and_nothing_refreshed(
    shared_deployment: Deployment,
) -> None:
    alice = shared_deployment.new_user("alice")
    api = shared_deployment.login(alice)
    shared_deployment.link_zoom(api, f"{alice}@zoom.test")
    sql(
        shared_deployment,
        f"UPDATE zoom_grants SET reauthorize_by = authorized_at WHERE user_id = {MINE}",
        name=alice,
    )
    refreshes = stat(shared_deployment, "refreshes")
    expire_tokens(shared_deployment, f"{alice}@zoom.test")
    answer = api.get("/api/v1/zoom/account")
    assert answer.status_code == 409
    problem = answer.json()
    assert problem["type"].endswith("/problems/reauthorization-required")
    assert "authorize_url" in problem
    assert stat(shared_deployment, "refreshes") == refreshes
    assert api.get("/api/v1/me").json()["zoom"]["reauthorization_required"] is True
    # Consenting again restarts the year.
    shared_deployment.link_zoom(api, f"{alice}@zoom.test")
    assert api.get("/api/v1/zoom/account").status_code == 200


@pytest.mark.one_database
def test_connecting_another_zoom_account_revokes_the_first(shared_deployment: Deployment) -> None:
    alice = shared_deployment.new_user("alice")
    api = shared_deployment.login(alice)
    shared_deployment.link_zoom(api, f"{alice}@zoom.test")
    revokes = stat(shared_deployment, "revokes")
    authorize_url = api.post("/api/v1/zoom/authorizations").json()["authorize_url"]
    code = claim_code(consent_in_a_clean_browser(authorize_url, f"{alice}.other@zoom.test").text)
    replaced = api.post("/api/v1/zoom/authorizations/claim", json={"code": code})
    assert replaced.json()["replaced_other_account"] is True
    assert stat(shared_deployment, "revokes") == revokes + 1
    assert api.get("/api/v1/zoom/account").json()["email"] == f"{alice}.other@zoom.test"
    assert count(shared_deployment, "zoom_grants", alice) == 1


@pytest.mark.one_database
def test_disconnect_revokes_at_zoom_and_erases_locally(shared_deployment: Deployment) -> None:
    alice = shared_deployment.new_user("alice")
    api = shared_deployment.login(alice)
    shared_deployment.link_zoom(api, f"{alice}@zoom.test")
    revokes = stat(shared_deployment, "revokes")
    assert api.delete("/api/v1/zoom/authorization").status_code == 204
    assert stat(shared_deployment, "revokes") == revokes + 1
    assert count(shared_deployment, "preferences", alice) == 0
    assert api.get("/api/v1/zoom/account").status_code == 409
    audited = f"SELECT action FROM audit_events WHERE subject_user_id = {MINE} ORDER BY id"
    actions = [r[0] for r in sql(shared_deployment, audited, name=alice)]
    assert actions == ["zoom.granted", "zoom.revoked"]


@pytest.mark.one_database
def test_feature_switch_gates_zoom(deployment: Deployment) -> None:
    api = deployment.login("bob")
    deployment.cli("zoom", "disable")
    assert deployment.cli("zoom", "status").strip() == "disabled"
    refused = api.post("/api/v1/zoom/authorizations")
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/problems/feature-disabled")
    assert api.get("/api/v1/me").json()["zoom"]["enabled"] is False
    deployment.cli("zoom", "enable")
    assert api.post("/api/v1/zoom/authorizations").status_code == 201


@pytest.mark.one_database
def test_sign_out_ends_the_device_session(shared_deployment: Deployment) -> None:
    api = shared_deployment.login(shared_deployment.new_user("carol"))
    assert api.delete("/api/v1/sessions/current").status_code == 204
    after = api.get("/api/v1/me")
    assert after.status_code == 401 and after.headers["content-type"] == PROBLEM


@pytest.mark.one_database
def test_login_throttle_over_http(shared_deployment: Deployment) -> None:
    # The address's own budget (20 failures) is far off: the shared deployment sees only a
    # few failed logins.
    carol = shared_deployment.new_user("carol")
    url = shared_deployment.service_url + "/api/v1/sessions"
    for _ in range(5):
        assert httpx.post(url, json={"username": carol, "password": "nope"}).status_code == 401
    password = shared_deployment.passwords[carol]
    blocked = httpx.post(url, json={"username": carol, "password": password})
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert blocked.json()["type"].endswith("/problems/too-many-attempts")


@pytest.mark.one_database
def test_reauthorize_by_is_a_year_after_consent(shared_deployment: Deployment) -> None:
    alice = shared_deployment.new_user("alice")
    api = shared_deployment.login(alice)
    shared_deployment.link_zoom(api, f"{alice}@zoom.test")
    zoom = api.get("/api/v1/me").json()["zoom"]
    granted = datetime.fromisoformat(zoom["authorized_at"])
    assert datetime.fromisoformat(zoom["reauthorize_by"]) - granted == timedelta(days=365)
