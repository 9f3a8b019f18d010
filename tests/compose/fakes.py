"""A Zoom that keeps meetings in memory and fails on demand, behind the compose service's port."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime

from linkzoom.problems import Problem, ZoomMeetingNotFound, ZoomUnavailable
from linkzoom.store.programs import Program
from linkzoom.zoom.models import Meeting, MeetingRequest, MeetingSummary, render_time
from tests.support.clock import FakeClock
from tests.zoom.spec import create_meeting_response

LOST = "Zoom did not answer in time."


@dataclass
class Held:
    user_id: int
    meeting: Meeting
    created_at: datetime


@dataclass
class FakeZoom:
    clock: FakeClock
    held: dict[int, Held] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    requests: list[MeetingRequest] = field(default_factory=list)
    # create: raise this instead; or make the meeting and raise ``lost_answer``; or lose the
    # answer and make the meeting only when ``arrive()`` is called (Zoom was slow).
    create_error: Problem | None = None
    lost_answer: Problem | None = None
    slow: list[tuple[int, MeetingRequest]] = field(default_factory=list)
    slow_create: bool = False
    before_answer: Callable[[], object] | None = None
    update_error: Problem | None = None
    delete_errors: list[Problem] = field(default_factory=list)
    list_error: Problem | None = None
    list_delay: float = 0.0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(85012345600))

    def admitting_write(self, user_id: int) -> Program[object]:
        return None  # the grant and the daily cap are ZoomMeetings', tested with it
        yield  # a program that runs no statement

    async def create(
        self, user_id: int, request: MeetingRequest, *, admitted: object | None = None
    ) -> Meeting:
        self.calls.append("create")
        self.requests.append(request)
        if self.create_error is not None:
            raise self.create_error
        if self.slow_create:
            self.slow.append((user_id, request))
            raise ZoomUnavailable(LOST)
        meeting = self.make(user_id, request)
        if self.before_answer is not None:
            await _maybe_await(self.before_answer())
        if self.lost_answer is not None:
            raise self.lost_answer
        return meeting

    def arrive(self) -> list[Meeting]:
        """Zoom finally makes the meetings of slow creates."""
        made = [self.make(user_id, request) for user_id, request in self.slow]
        self.slow.clear()
        return made

    def make(self, user_id: int, request: MeetingRequest) -> Meeting:
        meeting_id = next(self._ids)
        body = request.to_json()
        meeting = Meeting.from_json(
            create_meeting_response(
                id=meeting_id,
                topic=body.get("topic", "Zoom Meeting"),
                type=body.get("type", 2),
                start_time=body["start_time"],
                duration=body.get("duration", 60),
                timezone=body.get("timezone", "UTC"),
                password=body.get("password", "zoom123"),
                join_url=f"https://zoom.test/j/{meeting_id}?pwd=enc{meeting_id}",
                created_at=render_time(self.clock()),
            )
        )
        self.held[meeting_id] = Held(user_id=user_id, meeting=meeting, created_at=self.clock())
        return meeting

    async def update(
        self,
        user_id: int,
        meeting_id: int,
        request: MeetingRequest,
        *,
        occurrence_id: str | None = None,
    ) -> None:
        self.calls.append(f"update {meeting_id}")
        self.requests.append(request)
        if self.update_error is not None:
            raise self.update_error
        held = self._own(user_id, meeting_id)
        held.meeting = Meeting.from_json(
            create_meeting_response(
                id=meeting_id,
                topic=held.meeting.topic,
                join_url=held.meeting.join_url,
                start_time=request.to_json()["start_time"],
            )
        )

    async def get(
        self, user_id: int, meeting_id: int, *, occurrence_id: str | None = None
    ) -> Meeting:
        self.calls.append(f"get {meeting_id}")
        return self._own(user_id, meeting_id).meeting

    async def delete(
        self, user_id: int, meeting_id: int, *, occurrence_id: str | None = None
    ) -> bool:
        self.calls.append(f"delete {meeting_id}")
        if self.delete_errors:
            raise self.delete_errors.pop(0)
        held = self.held.get(meeting_id)
        if held is None or held.user_id != user_id:
            return False
        del self.held[meeting_id]
        return True

    async def list(self, user_id: int) -> AsyncIterator[MeetingSummary]:
        self.calls.append("list")
        if self.list_delay:
            await asyncio.sleep(self.list_delay)
        if self.list_error is not None:
            raise self.list_error
        for held in list(self.held.values()):
            if held.user_id == user_id:
                m = held.meeting
                yield MeetingSummary(
                    id=m.id,
                    topic=m.topic,
                    type=m.type,
                    start_time=m.start_time,
                    duration=m.duration,
                    timezone=m.timezone,
                    join_url=m.join_url,
                    created_at=held.created_at.replace(microsecond=0),
                )

    def _own(self, user_id: int, meeting_id: int) -> Held:
        held = self.held.get(meeting_id)
        if held is None or held.user_id != user_id:
            raise ZoomMeetingNotFound("gone", zoom_code=3001, http_status=404)
        return held


async def _maybe_await(value: object) -> None:
    if asyncio.iscoroutine(value):
        await value
