"""Zoom's REST API (``https://api.zoom.us/v2``): one method per endpoint, typed results.

The client holds no tokens and no state beyond its configuration. Each method takes the caller's
``auth`` (normally a :class:`~linkzoom.zoom.auth.ZoomBearerAuth` from the vault), and every call
goes through :meth:`ZoomClient._request`, which owns the base URL, the retry policy, metrics,
decoding and error translation: callers see our models and our Problems, never httpx.
Timeouts and connection limits belong to the injected ``httpx.AsyncClient``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import quote

import httpx

from linkzoom.clock import utcnow
from linkzoom.metrics import Metrics
from linkzoom.overview.tally import MEETING_CREATED, ZOOM_ERROR
from linkzoom.problems import Problem, ZoomError, ZoomUnavailable
from linkzoom.zoom.errors import json_object
from linkzoom.zoom.models import Meeting, MeetingList, MeetingRequest, MeetingSummary, ZoomUser
from linkzoom.zoom.retry import RetryPolicy

__all__ = ["ZoomClient"]

_MAX_PAGE_SIZE = 300


class ZoomClient:
    """Calls Zoom's REST API at ``api_url`` (including the version, ``…/v2``)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_url: str | Callable[[], str],
        retry: RetryPolicy | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._http = http
        # A callable follows the Zoom app in effect, which an administrator can change at run time.
        self._base: Callable[[], str] = api_url if callable(api_url) else partial(str, api_url)
        self._retry = retry or RetryPolicy()
        self._metrics = metrics
        self._clock = clock

    async def get_me(self, *, auth: httpx.Auth) -> ZoomUser:
        """``GET /users/me``: the user who granted ``auth``."""
        response = await self._request("users.me", "GET", "/users/me", auth=auth)
        return ZoomUser.from_json(_decode(response))

    async def create_meeting(
        self, request: MeetingRequest, *, auth: httpx.Auth, user_id: str = "me"
    ) -> Meeting:
        """``POST /users/{userId}/meetings`` (201). Never retried once it may have reached Zoom:
        after ``ZoomUnavailable`` the meeting may exist, and the caller must look."""
        path = f"/users/{_segment(user_id)}/meetings"
        response = await self._request(
            "meetings.create", "POST", path, auth=auth, json=request.to_json()
        )
        meeting = Meeting.from_json(_decode(response))
        if self._metrics is not None:
            self._metrics.daily.add(self._clock(), MEETING_CREATED)
        return meeting

    async def get_meeting(
        self, meeting_id: int, *, auth: httpx.Auth, occurrence_id: str | None = None
    ) -> Meeting:
        """``GET /meetings/{meetingId}``; ``ZoomMeetingNotFound`` if it is gone or expired."""
        params = _params(occurrence_id=occurrence_id)
        response = await self._request(
            "meetings.get", "GET", _meeting_path(meeting_id), auth=auth, params=params
        )
        return Meeting.from_json(_decode(response))

    async def update_meeting(
        self,
        meeting_id: int,
        request: MeetingRequest,
        *,
        auth: httpx.Auth,
        occurrence_id: str | None = None,
    ) -> None:
        """``PATCH /meetings/{meetingId}`` (204); only the fields set in ``request`` change."""
        await self._request(
            "meetings.update",
            "PATCH",
            _meeting_path(meeting_id),
            auth=auth,
            params=_params(occurrence_id=occurrence_id),
            json=request.to_json(for_update=True),
        )

    async def delete_meeting(
        self,
        meeting_id: int,
        *,
        auth: httpx.Auth,
        occurrence_id: str | None = None,
        schedule_for_reminder: bool = False,
        cancel_meeting_reminder: bool = False,
    ) -> None:
        """``DELETE /meetings/{meetingId}`` (204). Both reminder flags are sent explicitly, so
        Zoom emails no cancellation unless asked to."""
        params = _params(
            occurrence_id=occurrence_id,
            schedule_for_reminder=_flag(schedule_for_reminder),
            cancel_meeting_reminder=_flag(cancel_meeting_reminder),
        )
        await self._request(
            "meetings.delete", "DELETE", _meeting_path(meeting_id), auth=auth, params=params
        )

    async def list_meetings(
        self,
        *,
        auth: httpx.Auth,
        user_id: str = "me",
        type: str = "scheduled",
        page_size: int = _MAX_PAGE_SIZE,
        next_page_token: str | None = None,
    ) -> MeetingList:
        """One page of ``GET /users/{userId}/meetings`` (page tokens expire after 15 minutes)."""
        if not 1 <= page_size <= _MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1 to {_MAX_PAGE_SIZE}")
        params = _params(type=type, page_size=str(page_size), next_page_token=next_page_token)
        path = f"/users/{_segment(user_id)}/meetings"
        response = await self._request("meetings.list", "GET", path, auth=auth, params=params)
        return MeetingList.from_json(_decode(response))

    async def iter_meetings(
        self,
        *,
        auth: httpx.Auth,
        user_id: str = "me",
        type: str = "scheduled",
        page_size: int = _MAX_PAGE_SIZE,
    ) -> AsyncIterator[MeetingSummary]:
        """Every meeting of every page, fetching pages as they are consumed."""
        token: str | None = None
        seen: set[str] = set()
        while True:
            page = await self.list_meetings(
                auth=auth, user_id=user_id, type=type, page_size=page_size, next_page_token=token
            )
            for meeting in page.meetings:
                yield meeting
            token = page.next_page_token
            if token is None:
                return
            if token in seen:  # a repeated token would loop forever
                raise ZoomError("Zoom repeated a meeting-list page token.")
            seen.add(token)

    async def _request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        auth: httpx.Auth,
        params: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """Send one API call with retries; a 2xx response, or a Problem raised."""
        url, metrics = f"{self._base().rstrip('/')}{path}", self._metrics
        try:
            return await self._retry.run(
                method,
                lambda: self._http.request(method, url, params=params, json=json, auth=auth),
                clock=self._clock,
                observe=None if metrics is None else partial(metrics.observe_zoom_call, operation),
            )
        except Problem as exc:
            if metrics is not None:
                metrics.daily.add(self._clock(), ZOOM_ERROR, exc.code)
            raise


def _decode(response: httpx.Response) -> Mapping[str, Any]:
    body = json_object(response)
    if body is None:
        # A 2xx that is not JSON comes from something in between (a proxy page), not Zoom.
        raise ZoomUnavailable(f"Zoom answered HTTP {response.status_code} without a JSON object.")
    return body


def _meeting_path(meeting_id: int) -> str:
    if isinstance(meeting_id, bool) or not isinstance(meeting_id, int) or meeting_id <= 0:
        raise ValueError("meeting_id must be a positive integer")
    return f"/meetings/{meeting_id}"


def _segment(value: str) -> str:
    """A user id or email as one path segment (``me`` stays ``me``)."""
    if not value:
        raise ValueError("user_id must not be empty")
    return quote(value, safe="@")


def _params(**values: str | None) -> dict[str, str]:
    return {key: value for key, value in values.items() if value is not None}


def _flag(value: bool) -> str:
    return "true" if value else "false"
