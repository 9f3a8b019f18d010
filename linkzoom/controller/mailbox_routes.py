"""The console's Mailboxes page: the mailbox watch's sources (Exchange Server, Microsoft Graph,
CalDAV), enrolment, and each mailbox's status. Administrators only, like every
``/controller/admin`` route."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from linkzoom.addin.identity import addin_id
from linkzoom.calendar.sources import admin as watch_admin
from linkzoom.calendar.sources import caldav_accounts, exchange_config, graph_config
from linkzoom.controller.models import Viewer
from linkzoom.controller.web import action, page, redirect, render
from linkzoom.problems import ValidationFailed
from linkzoom.store.db import transaction

MAILBOXES = "/controller/admin/mailboxes"
CONSENTED = graph_config.CONSENT_RETURN_PATH


async def _page(request: Request, viewer: Viewer, *, status: int = 200, **extra: Any) -> Response:
    runtime = request.app.state.runtime
    async with transaction(runtime.sessions) as session:
        source = await exchange_config.load(session, runtime.sealer)
        graph = await graph_config.load(session, runtime.sealer)
        boxes = await watch_admin.statuses(session)
    context: dict[str, Any] = {
        "errors": {},
        "values": {},
        "check": None,
        "graph_check": None,
        "caldav_check": None,
    } | extra
    return render(
        request,
        "admin_mailboxes.html",
        viewer=viewer,
        status=status,
        title="Mailboxes",
        active="mailboxes",
        source=source,
        graph=graph,
        graph_consent=(
            graph.admin_consent_url(runtime.settings.public_url.rstrip("/") + CONSENTED)
            if graph
            else None
        ),
        graph_consent_return=runtime.settings.public_url.rstrip("/") + CONSENTED,
        mailboxes=boxes,
        poll_seconds=f"{runtime.settings.mailbox_poll_seconds:g}",
        default_authority=exchange_config.ENTRA,
        default_graph_api=graph_config.GRAPH_API,
        **context,
    )


@page(admin=True)
async def mailboxes(request: Request, viewer: Viewer) -> Response:
    return await _page(request, viewer)


@page(admin=True)
async def graph_consented(request: Request, viewer: Viewer) -> Response:
    """Where Entra ID sends the administrator back from the admin consent page, with
    ``admin_consent=True`` or an ``error``; shown as a fixed notice, never echoed."""
    granted = request.query_params.get("admin_consent", "").lower() == "true"
    return redirect(
        request, MAILBOXES, notice="graph-consented" if granted else "graph-consent-refused"
    )


@action(admin=True)
async def exchange(request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
    runtime = request.app.state.runtime
    endpoint, username = form.get("endpoint", "").strip(), form.get("username", "").strip()
    auth_type = form.get("auth_type", "NTLM")
    tenant_id, authority = form.get("tenant_id", "").strip(), form.get("authority", "").strip()
    password = form.get("password") or None  # empty: keep the stored one (write-only)
    try:
        async with transaction(runtime.sessions) as session:
            await watch_admin.configure_exchange(
                session,
                runtime.sealer,
                endpoint=endpoint,
                username=username,
                auth_type=auth_type,
                password=password,
                tenant_id=tenant_id,
                authority=authority,
                actor=viewer.username,
                now=runtime.clock(),
            )
    except ValidationFailed as exc:
        errors = {error.field: error.message for error in exc.errors}
        values = {
            "endpoint": endpoint[:500],
            "username": username[:200],
            "auth_type": auth_type,
            "tenant_id": tenant_id[:200],
            "authority": authority[:500],
        }
        return await _page(request, viewer, status=422, errors=errors, values=values)
    return redirect(request, MAILBOXES, notice="mailbox-source-saved")


@action(admin=True)
async def enrol(request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
    runtime = request.app.state.runtime
    try:
        async with transaction(runtime.sessions) as session:
            await watch_admin.enrol(
                session,
                usernames=None,
                actor=viewer.username,
                now=runtime.clock(),
                source=form.get("source", exchange_config.EXCHANGE),
            )
    except ValidationFailed as exc:
        errors = {error.field: error.message for error in exc.errors}
        return await _page(request, viewer, status=422, errors=errors)
    return redirect(request, MAILBOXES, notice="mailboxes-enrolled")


async def _try_mailbox(
    request: Request, form: dict[str, str], source_name: str
) -> tuple[tuple[bool, str], str]:
    """Read one mailbox's calendar once with the saved source — the address given, else the
    first mailbox watched through that source — as the watch would; nothing is synced or
    changed. Returns the outcome shown on the page, and the address tried."""
    runtime = request.app.state.runtime
    graph = source_name == graph_config.GRAPH
    async with transaction(runtime.sessions) as session:
        settings = await (graph_config.load if graph else exchange_config.load)(
            session, runtime.sealer
        )
        boxes = [b for b in await watch_admin.statuses(session) if b.source == source_name]
        identity = await addin_id(
            session, configured=runtime.settings.addin_id, now=runtime.clock()
        )
    address = form.get("address", "").strip()[:320] or (boxes[0].address if boxes else "")
    label = "Microsoft Graph" if graph else "Exchange"
    if settings is None:
        return (False, f"Save the {label} source first."), address
    if not address:
        return (
            False,
            f"Give a mailbox address to try (no mailbox is watched through {label}).",
        ), address
    problem: str | None
    if isinstance(settings, graph_config.GraphSettings):
        from linkzoom.calendar.sources.graph import GraphSource  # msal: on demand

        graph_source = GraphSource(settings, addin_id=identity, notification_url=None)
        try:
            problem = await graph_source.check(address)
        finally:
            await graph_source.close()
    else:
        from linkzoom.calendar.sources.exchange import ExchangeSource  # exchangelib: on demand

        ews_source = ExchangeSource(settings, addin_id=identity)
        try:
            problem = await ews_source.check(address)
        finally:
            ews_source.close()
    verb = "Read" if graph else "Opened"
    return (problem is None, problem or f"{verb} the calendar of {address}."), address


@action(admin=True)
async def test_connection(request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
    """Open one mailbox's calendar with the saved Exchange source."""
    outcome, address = await _try_mailbox(request, form, exchange_config.EXCHANGE)
    return await _page(request, viewer, check=outcome, values={"address": address})


_GRAPH_FIELDS = ("tenant_id", "client_id", "secret", "certificate", "authority", "api_url")


@action(admin=True)
async def graph(request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
    """Save the Microsoft Graph source; the secret and the certificate are write-only (empty:
    keep the stored credential)."""
    runtime = request.app.state.runtime
    given = {name: form.get(f"graph_{name}", "") for name in _GRAPH_FIELDS}
    try:
        async with transaction(runtime.sessions) as session:
            await watch_admin.configure_graph(
                session,
                runtime.sealer,
                tenant_id=given["tenant_id"],
                client_id=given["client_id"],
                secret=given["secret"] or None,
                certificate=given["certificate"] or None,
                authority=given["authority"],
                api_url=given["api_url"],
                actor=viewer.username,
                now=runtime.clock(),
            )
    except ValidationFailed as exc:
        # The page holds several forms: this one's fields carry their own ids.
        errors = {f"graph_{error.field}": error.message for error in exc.errors}
        values = {
            f"graph_{name}": given[name][:500] for name in ("tenant_id", "client_id", "authority")
        } | {"graph_api_url": given["api_url"][:500]}
        return await _page(request, viewer, status=422, errors=errors, values=values)
    return redirect(request, MAILBOXES, notice="graph-source-saved")


@action(admin=True)
async def graph_test(request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
    """Get an app token and read one event of a mailbox with the saved Graph source."""
    outcome, address = await _try_mailbox(request, form, graph_config.GRAPH)
    return await _page(request, viewer, graph_check=outcome, values={"graph_address": address})


@action(admin=True)
async def caldav(request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
    """Watch one user's CalDAV calendar, then open it once with the login given, so a wrong
    URL or password shows now rather than at the first poll."""
    runtime = request.app.state.runtime
    user, url = form.get("user", "").strip(), form.get("url", "").strip()
    login = form.get("login", "").strip()
    password = form.get("password") or None  # empty: keep the stored one (write-only)
    try:
        async with transaction(runtime.sessions) as session:
            await caldav_accounts.enrol(
                session,
                runtime.sealer,
                username=user,
                url=url,
                login=login,
                password=password,
                actor=viewer.username,
                now=runtime.clock(),
            )
    except ValidationFailed as exc:
        # This form's password field is not the Exchange one: its own id on the page.
        errors = {
            ("caldav_password" if error.field == "password" else error.field): error.message
            for error in exc.errors
        }
        values = {"user": user[:200], "url": url[:500], "login": login[:320]}
        return await _page(request, viewer, status=422, errors=errors, values=values)
    from linkzoom.calendar.sources.caldav_source import CaldavSource  # caldav: on demand

    source = CaldavSource(caldav_accounts.Logins(runtime.sessions, runtime.sealer))
    try:
        problem = await source.check(caldav_accounts.collection_url(url))
    finally:
        source.close()
    outcome = (problem is None, problem or f"Watching {url} for {user}; the calendar opened.")
    return await _page(request, viewer, caldav_check=outcome)


routes = [
    Route(MAILBOXES, mailboxes, methods=["GET"]),
    Route(MAILBOXES + "/caldav", caldav, methods=["POST"]),
    Route(MAILBOXES + "/exchange", exchange, methods=["POST"]),
    Route(MAILBOXES + "/graph", graph, methods=["POST"]),
    Route(MAILBOXES + "/graph/test", graph_test, methods=["POST"]),
    Route(CONSENTED, graph_consented, methods=["GET"]),
    Route(MAILBOXES + "/enrol", enrol, methods=["POST"]),
    Route(MAILBOXES + "/test", test_connection, methods=["POST"]),
]
