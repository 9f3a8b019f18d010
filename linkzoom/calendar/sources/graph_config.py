"""The Microsoft Graph source's configuration (Exchange Online): the Entra app that reads the
calendars, app-only. The tenant and client ids and the hosts live in ``app_settings``; the
credential — a client secret, or a certificate's private key with its certificate — is sealed
by the vault in ``sealed_settings`` (write-only, re-sealed by key rotation)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.calendar.sources.exchange_config import ENTRA
from linkzoom.vault import sealed_settings
from linkzoom.vault.seal import Sealer

GRAPH = "graph"  # the source's name on watched mailboxes
GRAPH_API = "https://graph.microsoft.com"  # worldwide cloud; national clouds have their own
SECRET, CERTIFICATE = "secret", "certificate"
TENANT, CLIENT_ID = "graph.tenant_id", "graph.client_id"
AUTHORITY, API_URL = "graph.authority", "graph.api_url"
_PLAIN = (TENANT, CLIENT_ID, AUTHORITY, API_URL)
CREDENTIAL = "graph.credential"  # sealed JSON: {"kind": "secret", "secret": …} or a certificate
# Where Entra ID sends the administrator back after admin consent (a redirect URI of the app).
CONSENT_RETURN_PATH = "/controller/admin/mailboxes/graph/consented"


class CredentialError(ValueError):
    """The certificate credential does not hold a usable key and certificate."""


@dataclass(frozen=True, kw_only=True)
class Credential:
    """A client secret, or a certificate: its PEM private key and PEM certificate, whose
    thumbprint the token request's signed assertion names."""

    kind: str
    secret: str | None = None
    private_key: str | None = None
    certificate: str | None = None

    @classmethod
    def from_secret(cls, secret: str) -> Credential:
        return cls(kind=SECRET, secret=secret)

    @classmethod
    def from_pem(cls, pem: str) -> Credential:
        """One PEM text holding the private key and the certificate, as ``openssl`` writes them
        together; checked here so a wrong paste fails when saved, not at the first poll."""
        try:
            key = serialization.load_pem_private_key(_block(pem, "PRIVATE KEY"), password=None)
            certificate = x509.load_pem_x509_certificate(_block(pem, "CERTIFICATE"))
        except (ValueError, TypeError) as exc:
            raise CredentialError(
                "must hold an unencrypted PEM private key and its PEM certificate"
            ) from exc
        if not isinstance(key, rsa.RSAPrivateKey):
            # The assertion is signed RS256: Entra ID takes RSA certificates only.
            raise CredentialError("must be an RSA key and certificate")
        if key.public_key() != certificate.public_key():
            raise CredentialError("the private key does not belong to the certificate")
        return cls(
            kind=CERTIFICATE,
            private_key=_block(pem, "PRIVATE KEY").decode(),
            certificate=_block(pem, "CERTIFICATE").decode(),
        )

    def msal_credential(self) -> str | dict[str, str]:
        """What ``msal.ConfidentialClientApplication`` takes as ``client_credential``."""
        if self.kind == SECRET:
            assert self.secret is not None
            return self.secret
        assert self.private_key is not None and self.certificate is not None
        # No SHA-1 "thumbprint": msal then names the certificate by its SHA-256 thumbprint
        # (x5t#S256) and signs PS256, what Entra ID recommends since SHA-1's retirement.
        return {"private_key": self.private_key, "public_certificate": self.certificate}

    def sealed_form(self) -> str:
        return json.dumps(
            {
                "kind": self.kind,
                "secret": self.secret,
                "private_key": self.private_key,
                "certificate": self.certificate,
            }
        )

    @classmethod
    def from_sealed_form(cls, text: str) -> Credential:
        data = json.loads(text)
        return cls(
            kind=data["kind"],
            secret=data.get("secret"),
            private_key=data.get("private_key"),
            certificate=data.get("certificate"),
        )


def _block(pem: str, label: str) -> bytes:
    """The first PEM block whose label ends with ``label`` (``PRIVATE KEY`` also matches
    ``RSA PRIVATE KEY`` and ``EC PRIVATE KEY``)."""
    lines = pem.replace("\r\n", "\n").split("\n")
    for index, line in enumerate(lines):
        if line.startswith("-----BEGIN ") and line.rstrip("-").endswith(label):
            kind = line.removeprefix("-----BEGIN ").rstrip("-")
            for last in range(index, len(lines)):
                if lines[last].startswith(f"-----END {kind}"):
                    return ("\n".join(lines[index : last + 1]) + "\n").encode()
    raise ValueError(f"no {label} block")


@dataclass(frozen=True, kw_only=True)
class GraphSettings:
    tenant_id: str
    client_id: str
    credential: Credential
    authority: str = ENTRA
    api_url: str = GRAPH_API
    page_size: int = 100  # Prefer: odata.maxpagesize

    @property
    def authority_url(self) -> str:
        return f"{self.authority.rstrip('/')}/{self.tenant_id}"

    def admin_consent_url(self, redirect_uri: str) -> str:
        """Where a tenant administrator grants the app its application permissions (the
        identity platform's admin consent endpoint; ``redirect_uri`` must be registered on the
        app): https://learn.microsoft.com/entra/identity-platform/v2-admin-consent"""
        query = urlencode(
            {"client_id": self.client_id, "scope": self.scope, "redirect_uri": redirect_uri}
        )
        return f"{self.authority_url}/v2.0/adminconsent?{query}"

    @property
    def scope(self) -> str:
        """The ``.default`` scope of the Graph host: the app's granted application permissions."""
        return f"{self.api_url.rstrip('/')}/.default"


async def load(session: AsyncSession, sealer: Sealer) -> GraphSettings | None:
    values = await sealed_settings.plain_values(session, _PLAIN)
    sealed = await sealed_settings.open_sealed(session, sealer, CREDENTIAL)
    if TENANT not in values or CLIENT_ID not in values or sealed is None:
        return None
    return GraphSettings(
        tenant_id=values[TENANT],
        client_id=values[CLIENT_ID],
        credential=Credential.from_sealed_form(sealed),
        authority=values.get(AUTHORITY) or ENTRA,
        api_url=values.get(API_URL) or GRAPH_API,
    )


async def save(
    session: AsyncSession,
    sealer: Sealer,
    *,
    tenant_id: str,
    client_id: str,
    credential: Credential | None,
    authority: str | None,
    api_url: str | None,
    now: datetime,
) -> None:
    """Store the configuration; ``credential`` ``None`` keeps the stored one (write-only)."""
    plain = {TENANT: tenant_id, CLIENT_ID: client_id, AUTHORITY: authority, API_URL: api_url}
    await sealed_settings.save_plain(session, plain, now=now)
    if credential is not None:
        await sealed_settings.save_sealed(
            session, sealer, CREDENTIAL, credential.sealed_form(), now=now
        )
    await session.flush()


async def clear(session: AsyncSession) -> None:
    await sealed_settings.remove(session, plain=_PLAIN, sealed=[CREDENTIAL])
