"""Zoom consent driven through the runtime, for tests that need a linked user but are not about
consent: a device session asks, the callback's grant is claimed by that device."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from linkzoom.grant.consent import Consented, Linked
from linkzoom.identity import device_sessions
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.models import User

# Given Zoom's consent URL, answer the callback's query (state and code) as Zoom would.
Approve = Callable[[str], Awaitable[dict[str, str]]]


async def new_device(runtime: Runtime, user_id: int) -> str:
    """A device session of ``user_id`` (the add-in that asks for consent); its id."""
    async with transaction(runtime.sessions) as session:
        user = await session.get(User, user_id)
        assert user is not None
        issued = await device_sessions.issue(
            session,
            user=user,
            device_name="test",
            lifetime=timedelta(days=1),
            now=runtime.clock(),
            address=None,
        )
        return issued.session.id


async def link_through_runtime(runtime: Runtime, user_id: int, approve: Approve) -> Linked:
    device = await new_device(runtime, user_id)
    authorizations = runtime.authorizations
    ticket_url = await authorizations.mint_for(user_id, device_session_id=device)
    consent_url = await authorizations.start(parse_qs(urlsplit(ticket_url).query)["ticket"][0])
    callback = await approve(consent_url)
    consented = await authorizations.complete(
        state=callback["state"], code=callback["code"], error=None, address=None
    )
    assert isinstance(consented, Consented)
    return await authorizations.claim(consented.claim_code, device_session_id=device, address=None)
