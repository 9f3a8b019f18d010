"""The Microsoft identity platform's token endpoint, client-credentials grant only, for tests.

Served by the EWS stand-in (:mod:`tests.support.ews`) so that unmodified exchangelib and
requests-oauthlib fetch app-only tokens the way they do from ``login.microsoftonline.com``.
What it does, per "Microsoft identity platform and the OAuth 2.0 client credentials flow"
(Microsoft Learn, learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow):

* ``POST /{tenant}/oauth2/v2.0/token``, form-encoded ``client_id``, ``client_secret``,
  ``scope`` and ``grant_type=client_credentials`` ("First case: Access token request with a
  shared secret"). The scope must be the resource's ``/.default``.
* ``POST`` with a certificate instead of a secret ("Second case: Access token request with a
  certificate"): ``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer``
  and ``client_assertion``, a JWT signed with the certificate's key whose header names the
  certificate by ``x5t#S256`` or ``x5t`` (its SHA-256 or SHA-1 thumbprint, base64url), with
  ``aud`` the token endpoint and ``iss`` = ``sub`` = the client id ("Microsoft identity
  platform application authentication certificate credentials"). A bad signature or claim is
  ``401 invalid_client`` (AADSTS700027).
* ``GET /{tenant}/v2.0/.well-known/openid-configuration``: the tenant's OpenID Provider
  metadata (OpenID Connect Discovery 1.0 §3), which msal reads for the token endpoint
  ("OpenID Connect on the Microsoft identity platform": "Find your app's OpenID configuration
  document URI"); an unknown tenant is 400.
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

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

TOKEN_PATH_SUFFIX = "/oauth2/v2.0/token"
DISCOVERY_SUFFIX = "/v2.0/.well-known/openid-configuration"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True, kw_only=True)
class TokenReply:
    status: int
    body: bytes


@dataclass(frozen=True, kw_only=True)
class App:
    client_id: str
    client_secret: str | None
    tenant_id: str
    certificate_pem: str | None = None

    def thumbprint(self, header: str) -> str | None:
        """The certificate's thumbprint as the JWT header ``x5t`` (SHA-1) or ``x5t#S256``
        (SHA-256) writes it (RFC 7515 §4.1.7, §4.1.8): base64url, padding ignored."""
        if self.certificate_pem is None:
            return None
        der = x509.load_pem_x509_certificate(self.certificate_pem.encode()).public_bytes(
            serialization.Encoding.DER
        )
        if header == "x5t#S256":
            digest = hashlib.sha256(der).digest()
        else:
            digest = hashlib.sha1(der, usedforsecurity=False).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class TokenEndpoint:
    """Apps registered with :meth:`register`; tokens it issued, valid for ``lifetime`` seconds."""

    def __init__(self, *, resource: str, authority: str | None = None) -> None:
        self.resource = resource  # e.g. "https://127.0.0.1:4430": the scope is its /.default
        self.authority = authority or resource  # where this endpoint is served
        self.lifetime = 3599
        self.issued = 0
        self._apps: dict[str, App] = {}
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (client id, monotonic expiry)
        self._lock = threading.Lock()

    def register(
        self,
        *,
        client_id: str,
        client_secret: str | None,
        tenant_id: str,
        certificate_pem: str | None = None,
    ) -> App:
        """An app registration with its application permissions consented in ``tenant_id``,
        with a client secret, a certificate, or both."""
        app = App(
            client_id=client_id,
            client_secret=client_secret,
            tenant_id=tenant_id,
            certificate_pem=certificate_pem,
        )
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
        if form.get("client_assertion_type") == JWT_BEARER:
            failure = self._assertion_failure(app, form.get("client_assertion", ""), path)
            if failure is not None:
                return _error(401, "invalid_client", 700027, failure)
        elif app.client_secret is None or not hmac.compare_digest(
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

    def _assertion_failure(self, app: App, assertion: str, path: str) -> str | None:
        """Why the client assertion fails, or ``None`` when it proves the certificate."""
        if app.certificate_pem is None:
            return "Client assertion contains an invalid signature. [No certificate registered]"
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return "Client assertion is not a JWT."
        named = "x5t#S256" if "x5t#S256" in header else "x5t"
        if str(header.get(named, "")).rstrip("=") != app.thumbprint(named):
            return "Client assertion contains an invalid signature. [Key was not found.]"
        key = x509.load_pem_x509_certificate(app.certificate_pem.encode()).public_key()
        try:
            claims = jwt.decode(
                assertion,
                key,  # type: ignore[arg-type]
                algorithms=["RS256", "PS256"],
                audience=self.authority + path,
                options={"require": ["exp", "aud", "iss", "sub"]},
            )
        except jwt.PyJWTError as exc:
            return f"Client assertion failed signature validation. [{type(exc).__name__}]"
        if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
            return "The client assertion's issuer and subject must be the client id."
        return None

    def discovery(self, path: str) -> TokenReply:
        """The tenant's OpenID configuration, at ``/{tenant}/v2.0/.well-known/...``."""
        tenant = path.removeprefix("/").removesuffix(DISCOVERY_SUFFIX)
        with self._lock:
            known = tenant in {app.tenant_id for app in self._apps.values()}
        if not known:
            return _error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.")
        base = f"{self.authority}/{tenant}"
        answer = {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{self.authority}/{tenant}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "issuer": f"{self.authority}/{tenant}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
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
