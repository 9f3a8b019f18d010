"""OAuth: consent, code exchange with PKCE, refresh rotation, revoke, grant replacement."""

from __future__ import annotations

import asyncio
import secrets

import httpx

from .helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    authorize,
    consent_form,
    get_code,
    refresh,
    s256,
)

INVALID_TOKEN = {"reason": "Invalid Token!", "error": "invalid_grant"}


async def exchange(
    client: httpx.AsyncClient,
    code: str,
    *,
    verifier: str | None = None,
    redirect_uri: str = REDIRECT_URI,
    auth: tuple[str, str] = (CLIENT_ID, CLIENT_SECRET),
) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    return await client.post("/oauth/token", data=data, auth=auth)


async def test_consent_page_is_accessible_and_says_simulated(client: httpx.AsyncClient) -> None:
    page = await client.get(
        "/oauth/authorize",
        params={"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI},
    )
    assert page.status_code == 200
    assert "Simulated Zoom — no real meeting is created" in page.text
    assert '<label for="email">' in page.text and 'id="email"' in page.text
    assert 'value="demo@sandbox.zoom.test"' in page.text
    assert ">Approve</button>" in page.text and ">Deny</button>" in page.text
    assert "http://" not in page.text.split("<body>")[0].replace("http://sandbox.test", "")
    assert 'action="http://sandbox.test/oauth/authorize"' in page.text


async def test_full_flow_with_pkce_s256(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    body = tokens.body
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3599
    assert body["scope"] == "meeting:read meeting:write user:read"
    assert body["api_url"] == "http://sandbox.test"
    assert tokens.access_token != tokens.refresh_token
    me = await client.get("/v2/users/me", headers=tokens.headers)
    assert me.status_code == 200
    user = me.json()
    assert user["email"] == "demo@sandbox.zoom.test"
    assert user["first_name"] == "Demo" and user["type"] == 2 and user["status"] == "active"
    assert len(user["id"]) == 22 and len(user["account_id"]) == 22
    own = await client.get(f"/v2/users/{user['id']}", headers=tokens.headers)
    assert own.json() == user


async def test_names_come_from_the_email(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client, email="Jane.Doe@Example.org")
    user = (await client.get("/v2/users/me", headers=tokens.headers)).json()
    assert (user["first_name"], user["last_name"], user["email"]) == (
        "Jane",
        "Doe",
        "jane.doe@example.org",
    )
    assert user["display_name"] == "Jane Doe"


async def test_plain_pkce_is_the_default_method(client: httpx.AsyncClient) -> None:
    code = await get_code(client, challenge="plain-verifier-value-0123456789012345678901234")
    ok = await exchange(client, code, verifier="plain-verifier-value-0123456789012345678901234")
    assert ok.status_code == 200


async def test_pkce_mismatch_is_invalid_grant(client: httpx.AsyncClient) -> None:
    code = await get_code(client, challenge=s256("right-verifier"), method="S256")
    response = await exchange(client, code, verifier="wrong-verifier")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    missing = await get_code(client, challenge=s256("right-verifier"), method="S256")
    assert (await exchange(client, missing)).json()["error"] == "invalid_grant"


async def test_code_is_single_use(client: httpx.AsyncClient) -> None:
    code = await get_code(client)
    assert (await exchange(client, code)).status_code == 200
    reused = await exchange(client, code)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


async def test_code_expires_after_five_minutes(client: httpx.AsyncClient) -> None:
    code = await get_code(client)
    await client.post("/_sandbox/clock", json={"advance_seconds": 301})
    response = await exchange(client, code)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_redirect_uri_must_match(client: httpx.AsyncClient) -> None:
    code = await get_code(client)
    response = await exchange(client, code, redirect_uri="http://evil.test/cb")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_bad_client_auth_is_invalid_client(client: httpx.AsyncClient) -> None:
    code = await get_code(client)
    expected = {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}
    wrong = await exchange(client, code, auth=(CLIENT_ID, "nope"))
    assert (wrong.status_code, wrong.json()) == (401, expected)
    no_auth = await client.post("/oauth/token", data={"grant_type": "authorization_code"})
    assert (no_auth.status_code, no_auth.json()) == (401, expected)
    garbage = await client.post(
        "/oauth/token", data={"grant_type": "refresh_token"}, headers={"Authorization": "Basic !!"}
    )
    assert garbage.status_code == 401


async def test_unsupported_grant_type(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/oauth/token", data={"grant_type": "password"}, auth=(CLIENT_ID, CLIENT_SECRET)
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_bad_authorize_requests_get_an_error_page(client: httpx.AsyncClient) -> None:
    good = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI}
    for change in (
        {"client_id": "someone-else"},
        {"response_type": "token"},
        {"redirect_uri": "not a url"},
        {"code_challenge_method": "S512"},
    ):
        page = await client.get("/oauth/authorize", params=good | change)
        assert page.status_code == 400
        assert "cannot be completed" in page.text
        assert "Simulated Zoom" in page.text


async def test_deny_redirects_with_access_denied(client: httpx.AsyncClient) -> None:
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI + "?from=addin",
        "state": "xyz",
    }
    page = await client.get("/oauth/authorize", params=params)
    form = consent_form(page.text) | {"decision": "deny"}
    answer = await client.post("/oauth/authorize", data=form)
    assert answer.status_code == 302
    location = httpx.URL(answer.headers["location"])
    assert dict(location.params) == {"from": "addin", "error": "access_denied", "state": "xyz"}


async def test_invalid_email_re_renders_the_form(client: httpx.AsyncClient) -> None:
    params = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI}
    page = await client.get("/oauth/authorize", params=params)
    form = consent_form(page.text) | {"decision": "approve", "email": "not-an-email"}
    answer = await client.post("/oauth/authorize", data=form)
    assert answer.status_code == 400
    assert 'role="alert"' in answer.text and 'aria-invalid="true"' in answer.text


async def test_refresh_rotates_and_spends_the_old_token(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    first = await refresh(client, tokens.refresh_token)
    assert first.status_code == 200
    new = first.json()
    assert new["refresh_token"] != tokens.refresh_token
    assert new["access_token"] != tokens.access_token
    assert set(new) == {
        "access_token",
        "token_type",
        "refresh_token",
        "expires_in",
        "scope",
        "api_url",
    }
    spent = await refresh(client, tokens.refresh_token)
    assert (spent.status_code, spent.json()) == (400, INVALID_TOKEN)
    unknown = await refresh(client, "sbxrt_" + secrets.token_urlsafe(32))
    assert (unknown.status_code, unknown.json()) == (400, INVALID_TOKEN)
    again = await refresh(client, new["refresh_token"])
    assert again.status_code == 200
    me = await client.get(
        "/v2/users/me", headers={"Authorization": f"Bearer {again.json()['access_token']}"}
    )
    assert me.status_code == 200


async def test_concurrent_refreshes_have_exactly_one_winner(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    answers = await asyncio.gather(*(refresh(client, tokens.refresh_token) for _ in range(50)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [400] * 49
    assert all(a.json() == INVALID_TOKEN for a in answers if a.status_code == 400)


async def test_two_hundred_concurrent_refreshes(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    answers = await asyncio.gather(*(refresh(client, tokens.refresh_token) for _ in range(200)))
    assert sum(a.status_code == 200 for a in answers) == 1
    stats = (await client.get("/_sandbox/stats")).json()
    assert stats["refreshes"] == 1 and stats["invalid_grant"] == 199


async def test_revoke_kills_access_and_refresh_tokens(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    response = await client.post(
        "/oauth/revoke", data={"token": tokens.access_token}, auth=(CLIENT_ID, CLIENT_SECRET)
    )
    assert (response.status_code, response.json()) == (200, {"status": "success"})
    me = await client.get("/v2/users/me", headers=tokens.headers)
    assert (me.status_code, me.json()) == (401, {"code": 124, "message": "Invalid access token."})
    assert (await refresh(client, tokens.refresh_token)).json() == INVALID_TOKEN
    no_auth = await client.post("/oauth/revoke", data={"token": tokens.access_token})
    assert no_auth.status_code == 401


async def test_revoke_by_refresh_token(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    await client.post(
        "/oauth/revoke", data={"token": tokens.refresh_token}, auth=(CLIENT_ID, CLIENT_SECRET)
    )
    assert (await client.get("/v2/users/me", headers=tokens.headers)).status_code == 401


async def test_new_authorization_invalidates_the_previous_grant(client: httpx.AsyncClient) -> None:
    old = await authorize(client)
    new = await authorize(client)
    assert (await client.get("/v2/users/me", headers=old.headers)).status_code == 401
    assert (await refresh(client, old.refresh_token)).json() == INVALID_TOKEN
    assert (await client.get("/v2/users/me", headers=new.headers)).status_code == 200
    other = await authorize(client, email="other@sandbox.zoom.test")
    assert (await client.get("/v2/users/me", headers=new.headers)).status_code == 200
    assert (await client.get("/v2/users/me", headers=other.headers)).status_code == 200


async def test_users_of_one_domain_share_an_account(client: httpx.AsyncClient) -> None:
    a = await authorize(client, email="a@corp.test")
    b = await authorize(client, email="b@corp.test")
    c = await authorize(client, email="c@elsewhere.test")
    ids = [
        (await client.get("/v2/users/me", headers=t.headers)).json()["account_id"]
        for t in (a, b, c)
    ]
    assert ids[0] == ids[1] != ids[2]


async def test_token_params_in_the_query_string_work(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    response = await client.post(
        "/oauth/token",
        params={"grant_type": "refresh_token", "refresh_token": tokens.refresh_token},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert response.status_code == 200


async def test_token_responses_are_not_cached(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    response = await refresh(client, tokens.refresh_token)
    assert response.headers["cache-control"] == "no-store"


async def test_every_issued_secret_is_listed(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    renewed = (await refresh(client, tokens.refresh_token)).json()
    secrets_now = (await client.get("/_sandbox/secrets")).json()
    assert tokens.access_token in secrets_now["access_tokens"]
    assert renewed["access_token"] in secrets_now["access_tokens"]
    assert {tokens.refresh_token, renewed["refresh_token"]} <= set(secrets_now["refresh_tokens"])
    assert len(secrets_now["authorization_codes"]) == 1
    assert secrets_now["client_secret"] == [CLIENT_SECRET]
