"""CSRF: every form carries a token, and a submission without the right one changes nothing."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from linkzoom.controller import csrf
from linkzoom.features import zoom_enabled
from linkzoom.problems import Forbidden
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from tests.controller.conftest import NewBrowser, People


def test_tokens_are_bound_to_their_secret_and_purpose() -> None:
    token = csrf.token_for("lzc_one")
    assert token == csrf.token_for("lzc_one")
    assert token != csrf.token_for("lzc_two")
    assert token != csrf.token_for("lzc_one", csrf.LOGIN_PURPOSE)
    assert "lzc_one" not in token and len(token) == 43
    csrf.check_token(token, token)
    for wrong in (None, "", token[:-1], token + "x", csrf.token_for("lzc_two"), "é"):
        with pytest.raises(Forbidden):
            csrf.check_token(token, wrong)


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({}, True),
        ({"origin": "http://linkzoom.test"}, True),
        ({"origin": "http://linkzoom.test", "sec-fetch-site": "same-origin"}, True),
        ({"origin": "https://linkzoom.test"}, False),
        ({"origin": "http://evil.example"}, False),
        ({"origin": "null"}, False),
        ({"sec-fetch-site": "cross-site"}, False),
    ],
)
def test_origin_check(headers: dict[str, str], allowed: bool) -> None:
    if allowed:
        csrf.check_origin(headers, "http://linkzoom.test")
    else:
        with pytest.raises(Forbidden):
            csrf.check_origin(headers, "http://linkzoom.test")


async def _enabled(runtime: Runtime) -> bool:
    async with transaction(runtime.sessions) as session:
        return await zoom_enabled(session)


async def test_forged_submissions_are_refused_and_change_nothing(
    runtime_of: Runtime, people: People, new_browser: NewBrowser
) -> None:
    root = await new_browser().signed_in("root")
    bob = await new_browser().signed_in("bob")
    action = "/controller/admin/zoom/feature"
    attempts = [
        await root.client.post(action, data={"enabled": "false"}),  # no token at all
        await root.post(action, {"enabled": "false"}, token="forged"),
        await root.post(action, {"enabled": "false"}, token=bob.token),  # another session's
        await root.client.post(
            action,
            data={"enabled": "false", "csrf_token": root.token},
            headers={"origin": "http://evil.example"},
        ),
    ]
    for answer in attempts:
        assert answer.status_code == 403
        assert "did not come from this site" in answer.text
    assert await _enabled(runtime_of) is True
    accepted = await root.client.post(
        action,
        data={"enabled": "false", "csrf_token": root.token},
        headers={"origin": "http://linkzoom.test", "sec-fetch-site": "same-origin"},
    )
    assert accepted.status_code == 303
    assert await _enabled(runtime_of) is False


async def test_sign_out_needs_the_token_too(people: People, new_browser: NewBrowser) -> None:
    alice = await new_browser().signed_in("alice")
    assert (await alice.post("/controller/logout", token="forged")).status_code == 403
    assert (await alice.get("/controller/account")).status_code == 200


async def test_sign_in_needs_the_pre_session_cookie_and_its_token(
    people: People, new_browser: NewBrowser
) -> None:
    form = {"username": "alice", "password": "alice-password-1"}
    stranger = new_browser()
    # Login CSRF: a token from the attacker's own visit does not work in the victim's browser.
    attacker = new_browser()
    await attacker.get("/controller/login")
    assert (await stranger.post("/controller/login", form, token=attacker.token)).status_code == 403
    await stranger.get("/controller/login")
    assert (await stranger.post("/controller/login", form, token="forged")).status_code == 403
    assert (await stranger.post("/controller/login", form)).status_code == 303


async def test_forms_must_be_url_encoded_small_and_readable(
    people: People, new_browser: NewBrowser
) -> None:
    root = await new_browser().signed_in("root")
    answer = await root.client.post(
        "/controller/admin/zoom/feature",
        json={"enabled": "false", "csrf_token": root.token},
    )
    assert answer.status_code == 415
    huge = await root.post("/controller/admin/zoom/feature", {"enabled": "x" * 70_000})
    assert huge.status_code == 413
    many = await root.post("/controller/admin/zoom/feature", {f"field{n}": "x" for n in range(150)})
    assert many.status_code == 400
    garbled = await root.client.post(
        "/controller/admin/zoom/feature",
        content=b"enabled=%ff%fe",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert garbled.status_code == 400


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append({"method": (attributes.get("method") or "get"), "fields": []})
        elif tag == "input" and self.forms:
            fields = self.forms[-1]["fields"]
            assert isinstance(fields, list)
            fields.append(attributes.get("name"))


async def test_every_post_form_on_every_page_carries_the_token(
    people: People, new_browser: NewBrowser
) -> None:
    root = await new_browser().signed_in("root")
    alice = await new_browser().signed_in("alice")
    pages = [
        (root, "/controller/account"),
        (root, "/controller/admin/zoom"),
        (root, "/controller/admin/users"),
        (root, "/controller/admin/audit"),
        (root, "/controller/admin/addin"),
        (root, f"/controller/admin/users/{people.alice}/disable"),
        (root, f"/controller/admin/users/{people.alice}/revoke-zoom"),
        (alice, "/controller/account"),
        (new_browser(), "/controller/login"),
    ]
    posts = 0
    for browser, path in pages:
        page = await browser.get(path)
        assert page.status_code == 200, path
        parser = _Forms()
        parser.feed(page.text)
        for form in parser.forms:
            if form["method"] == "post":
                posts += 1
                assert "csrf_token" in form["fields"], (path, form)  # type: ignore[operator]
        # Tokens are never placed where they would leak through the Referer header.
        assert not re.search(r"href=\"[^\"]*csrf", page.text)
    assert posts >= 12
