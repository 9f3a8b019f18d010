"""The Exchange source's configuration, and where it lives: the endpoint, account and authentication
in ``app_settings``, the password sealed by the vault in ``sealed_settings`` (write-only, and
re-sealed by key rotation with the Zoom app's secrets)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.store.controller_tables import SealedSetting
from linkzoom.store.models import AppSetting
from linkzoom.vault.seal import Sealer
from linkzoom.zoom.app_credentials import setting_context

EXCHANGE = "exchange"  # the source's name on watched mailboxes
ENDPOINT, USERNAME, AUTH = "exchange.endpoint", "exchange.username", "exchange.auth_type"
PASSWORD = "exchange.password"
_PLAIN = (ENDPOINT, USERNAME, AUTH)


@dataclass(frozen=True, kw_only=True)
class ExchangeSettings:
    """Where and as whom: ``service_endpoint`` is the EWS URL (``https://mail…/EWS/Exchange.asmx``)."""

    service_endpoint: str
    username: str
    password: str
    auth_type: str = "NTLM"  # or "basic" (over TLS only)
    impersonate: bool = True  # False: the account opens mailboxes it has delegate access to
    version: tuple[int, int] = (15, 1)  # Exchange 2016 and later speak this schema
    page_size: int = 200


async def load(session: AsyncSession, sealer: Sealer) -> ExchangeSettings | None:
    """The configured source, or ``None`` when an administrator has not set one up."""
    rows = await session.execute(
        select(AppSetting.key, AppSetting.value).where(AppSetting.key.in_(_PLAIN))
    )
    values = {key: value for key, value in rows}
    sealed = await session.get(SealedSetting, PASSWORD)
    if ENDPOINT not in values or USERNAME not in values or sealed is None:
        return None
    password = sealer.open(sealed.key_id, sealed.ciphertext, setting_context(PASSWORD)).decode()
    return ExchangeSettings(
        service_endpoint=values[ENDPOINT],
        username=values[USERNAME],
        password=password,
        auth_type=values.get(AUTH, "NTLM"),
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
) -> None:
    """Store the configuration; ``password`` ``None`` keeps the stored one (write-only)."""
    for key, value in ((ENDPOINT, endpoint), (USERNAME, username), (AUTH, auth_type)):
        row = await session.get(AppSetting, key, with_for_update=True)
        if row is None:
            session.add(AppSetting(key=key, value=value, updated_at=now))
        else:
            row.value, row.updated_at = value, now
    if password is not None:
        kid, ciphertext = sealer.seal(password.encode(), setting_context(PASSWORD))
        sealed = await session.get(SealedSetting, PASSWORD, with_for_update=True)
        if sealed is None:
            session.add(
                SealedSetting(name=PASSWORD, key_id=kid, ciphertext=ciphertext, updated_at=now)
            )
        else:
            sealed.key_id, sealed.ciphertext = kid, ciphertext
            sealed.version, sealed.updated_at = sealed.version + 1, now
    await session.flush()


async def clear(session: AsyncSession) -> None:
    await session.execute(delete(AppSetting).where(AppSetting.key.in_(_PLAIN)))
    await session.execute(delete(SealedSetting).where(SealedSetting.name == PASSWORD))
