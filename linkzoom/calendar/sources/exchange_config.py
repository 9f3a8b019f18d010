"""The Exchange source's configuration, and where it lives: the endpoint, account and authentication
in ``app_settings``, the password (or, with OAuth, the app's client secret) sealed by the vault in
``sealed_settings`` (write-only, and re-sealed by key rotation with the Zoom app's secrets)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.vault import sealed_settings
from linkzoom.vault.seal import Sealer

EXCHANGE = "exchange"  # the source's name on watched mailboxes
NTLM, BASIC, OAUTH2 = "NTLM", "basic", "OAuth2"
AUTH_TYPES = (NTLM, BASIC, OAUTH2)
ENDPOINT, USERNAME, AUTH = "exchange.endpoint", "exchange.username", "exchange.auth_type"
TENANT, AUTHORITY = "exchange.tenant_id", "exchange.authority"
# The one sealed credential: the service account's password, or with OAuth2 the app's client
# secret (the name predates OAuth; renaming it would orphan stored secrets).
PASSWORD = "exchange.password"
_PLAIN = (ENDPOINT, USERNAME, AUTH, TENANT, AUTHORITY)
ENTRA = "https://login.microsoftonline.com"  # the Microsoft identity platform, worldwide cloud


@dataclass(frozen=True, kw_only=True)
class ExchangeSettings:
    """Where and as whom: ``service_endpoint`` is the EWS URL (``https://mail…/EWS/Exchange.asmx``).

    With ``auth_type`` OAuth2 (Exchange Online tenants that allow-listed the app for EWS),
    ``username`` is the app's (client) id, ``password`` its client secret, and tokens come from
    ``authority``/``tenant_id`` by the client-credentials grant."""

    service_endpoint: str
    username: str
    password: str
    auth_type: str = NTLM
    tenant_id: str | None = None
    authority: str = ENTRA
    impersonate: bool = True  # False: the account opens mailboxes it has delegate access to
    version: tuple[int, int] = (15, 1)  # Exchange 2016 and later speak this schema
    page_size: int = 200

    @property
    def oauth(self) -> bool:
        return self.auth_type == OAUTH2

    @property
    def token_url(self) -> str:
        """The tenant's v2.0 token endpoint (Microsoft identity platform, client credentials)."""
        return f"{self.authority.rstrip('/')}/{self.tenant_id}/oauth2/v2.0/token"

    @property
    def scope(self) -> str:
        """The ``.default`` scope of the EWS host: ``https://outlook.office365.com/.default`` in
        the worldwide cloud, the national clouds' own hosts elsewhere."""
        parts = urlsplit(self.service_endpoint)
        return f"{parts.scheme}://{parts.netloc}/.default"


async def load(session: AsyncSession, sealer: Sealer) -> ExchangeSettings | None:
    """The configured source, or ``None`` when an administrator has not set one up."""
    values = await sealed_settings.plain_values(session, _PLAIN)
    password = await sealed_settings.open_sealed(session, sealer, PASSWORD)
    if ENDPOINT not in values or USERNAME not in values or password is None:
        return None
    return ExchangeSettings(
        service_endpoint=values[ENDPOINT],
        username=values[USERNAME],
        password=password,
        auth_type=values.get(AUTH, NTLM),
        tenant_id=values.get(TENANT),
        authority=values.get(AUTHORITY) or ENTRA,
    )


async def save(
    session: AsyncSession,
    sealer: Sealer,
    *,
    endpoint: str,
    username: str,
    auth_type: str,
    password: str | None,
    now: datetime,
    tenant_id: str | None = None,
    authority: str | None = None,
) -> None:
    """Store the configuration; ``password`` ``None`` keeps the stored one (write-only)."""
    plain = {ENDPOINT: endpoint, USERNAME: username, AUTH: auth_type}
    await sealed_settings.save_plain(
        session, plain | {TENANT: tenant_id, AUTHORITY: authority}, now=now
    )
    if password is not None:
        await sealed_settings.save_sealed(session, sealer, PASSWORD, password, now=now)
    await session.flush()


async def clear(session: AsyncSession) -> None:
    await sealed_settings.remove(session, plain=_PLAIN, sealed=[PASSWORD])
