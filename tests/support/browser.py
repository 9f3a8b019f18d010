"""Just enough of a browser for the OAuth dance: follow one redirect, submit one form."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method = "get"
        self.fields: dict[str, str] = {}
        self.buttons: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = attributes.get("action", "")
            self.method = attributes.get("method", "get").lower()
        elif tag == "input" and "name" in attributes:
            self.fields[attributes["name"]] = attributes.get("value", "")
        elif tag == "button" and "name" in attributes:
            self.buttons[attributes["value"]] = attributes["name"]


def submit_form(
    client: httpx.Client, page: httpx.Response, *, button: str, overrides: dict[str, str]
) -> httpx.Response:
    form = _Form()
    form.feed(page.text)
    assert form.action is not None, "no form on the page"
    data = form.fields | overrides | {form.buttons[button]: button}
    return client.request(form.method.upper(), urljoin(str(page.url), form.action), data=data)
