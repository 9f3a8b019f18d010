"""The Microsoft identity platform's token endpoint, client-credentials grant only, for tests.

Served by the EWS stand-in (:mod:`tests.support.ews`) so that unmodified exchangelib and
requests-oauthlib fetch app-only tokens the way they do from ``login.microsoftonline.com``.
What it does, per "Microsoft identity platform and the OAuth 2.0 client credentials flow"
(Microsoft Learn, learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow):

* ``POST /{tenant}/oauth2/v2.0/token``, form-encoded ``client_id``, ``client_secret``,
  ``scope`` and ``grant_type=client_credentials`` ("First case: Access token request with a
  shared secret"). The scope must be the resource's ``/.default``.
* Success: ``200`` JSON ``token_type: Bearer``, ``expires_in``, ``access_token``
  ("Successful response"). The token is opaque to clients, as the page says of access tokens.
* Errors: JSON ``error``, ``error_description`` (starting with its AADSTS code), ``error_codes``,
  ``timestamp``, ``trace_id``, ``correlation_id`` ("Error response"): an unknown tenant
  ``400 invalid_request`` (AADSTS90002), an unknown app ``400 unauthorized_client``
  (AADSTS700016), a wrong secret ``401 invalid_client`` (AADSTS7000215), a scope that is not a
  ``/.default`` of this resource ``400 invalid_scope`` (AADSTS70011), any other grant, such as a
  refresh-token request (the client-credentials flow issues no refresh token),
  ``400 invalid_request`` (AADSTS900144) or ``unsupported_grant_type``.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs

TOKEN_PATH_SUFFIX = "/oauth2/v2.0/token"


@dataclass(frozen=True, kw_only=True)
class TokenReply:
    status: int
    body: bytes


@dataclass(frozen=True, kw_only=True)
class App:
    client_id: str
    client_secret: str
    tenant_id: str


class TokenEndpoint:
    """Apps registered with :meth:`register`; tokens it issued, valid for ``lifetime`` seconds."""

    def __init__(self, *, resource: str) -> None:
        self.resource = resource  # e.g. "https://127.0.0.1:4430": the scope is its /.default
        self.lifetime = 3599
        self.issued = 0
        self._apps: dict[str, App] = {}
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (client id, monotonic expiry)
        self._lock = threading.Lock()

    def register(self, *, client_id: str, client_secret: str, tenant_id: str) -> App:
        """An app registration with the ``full_access_as_app`` role, consented in ``tenant_id``."""
        app = App(client_id=client_id, client_secret=client_secret, tenant_id=tenant_id)
        with self._lock:
            self._apps[client_id] = app
        return app

    def revoke_all(self) -> None:
        """Every token issued so far stops working (as after the app's secret is removed)."""
        with self._lock:
            self._tokens.clear()

    def valid(self, token: str) -> bool:
        with self._lock:
            found = self._tokens.get(token)
        return found is not None and found[1] > time.monotonic()

    def handle(self, path: str, body: bytes) -> TokenReply:
        tenant = path.removeprefix("/").removesuffix(TOKEN_PATH_SUFFIX)
        form = {key: values[0] for key, values in parse_qs(body.decode("latin-1")).items()}
        with self._lock:
            tenants = {app.tenant_id for app in self._apps.values()}
            app = self._apps.get(form.get("client_id", ""))
        if tenant not in tenants:
            return _error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        grant = form.get("grant_type", "")
        if grant == "refresh_token" and not form.get("refresh_token"):
            return _error(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'refresh_token'.",
            )
        if grant != "client_credentials":
            return _error(400, "unsupported_grant_type", 70003, "The app requested an "
                          "unsupported grant type.")  # fmt: skip
        if app is None or app.tenant_id != tenant:
            return _error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{form.get('client_id', '')}' was not found in "
                f"the directory '{tenant}'.",
            )
        if not hmac.compare_digest(
            form.get("client_secret", "").encode(), app.client_secret.encode()
        ):
            return _error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                "the client secret value, not the client secret ID.",
            )
        if form.get("scope", "").split() != [f"{self.resource}/.default"]:
            return _error(
                400,
                "invalid_scope",
                70011,
                "The provided request must include a 'scope' input parameter. The provided "
                "value for the input parameter 'scope' is not valid.",
            )
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = (app.client_id, time.monotonic() + self.lifetime)
            self.issued += 1
        answer = {
            "token_type": "Bearer",
            "expires_in": self.lifetime,
            "ext_expires_in": self.lifetime,
            "access_token": token,
        }
        return TokenReply(status=200, body=json.dumps(answer).encode())


def _error(status: int, error: str, code: int, text: str) -> TokenReply:
    trace = str(uuid.uuid4())
    answer = {
        "error": error,
        "error_description": f"AADSTS{code}: {text} Trace ID: {trace}",
        "error_codes": [code],
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
        "trace_id": trace,
        "correlation_id": str(uuid.uuid4()),
    }
    return TokenReply(status=status, body=json.dumps(answer).encode())
