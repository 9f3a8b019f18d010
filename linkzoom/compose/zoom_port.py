"""What compose needs of Zoom: :class:`linkzoom.zoom.meetings.ZoomMeetings` provides it (tokens,
the daily cap, translated errors); tests provide a fake without inheriting anything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from linkzoom.store.programs import Program
from linkzoom.zoom.models import Meeting, MeetingRequest, MeetingSummary


class ZoomMeetingsPort(Protocol):
    def admitting_write(self, user_id: int) -> Program[object]:
        """Check the user's grant and count today's write, as part of the caller's program
        (its transaction); what it returns is handed to :meth:`create`, which then skips doing
        both itself."""
        ...

    async def create(
        self, user_id: int, request: MeetingRequest, *, admitted: object | None = None
    ) -> Meeting: ...

    async def update(
        self,
        user_id: int,
        meeting_id: int,
        request: MeetingRequest,
        *,
        occurrence_id: str | None = None,
    ) -> None: ...

    async def get(
        self, user_id: int, meeting_id: int, *, occurrence_id: str | None = None
    ) -> Meeting: ...

    async def delete(
        self, user_id: int, meeting_id: int, *, occurrence_id: str | None = None
    ) -> bool: ...

    def list(self, user_id: int) -> AsyncIterator[MeetingSummary]: ...
