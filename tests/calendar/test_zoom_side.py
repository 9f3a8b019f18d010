"""Changes made at Zoom: deletions and edits by someone else, and what the calendar does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from linkzoom.calendar.models import PENDING, SYNCED
from linkzoom.calendar.service import Mirror, mirror_of
from linkzoom.calendar.webhooks import register
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from tests.calendar.harness import SandboxProcess, align_clocks, binding, drain, link_user
from tests.calendar.test_runner import event
from tests.support.clock import FakeClock

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def mirrored(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock
) -> tuple[Mirror, int, int]:
    align_clocks(sandbox, clock)
    user_id = await link_user(runtime, sandbox, "alice")
    mirror = mirror_of(runtime)
    answer = await mirror.service.put(user_id=user_id, event_key="ev", event=event(START))
    assert answer.binding.confirmed is not None
    register(runtime)
    return mirror, user_id, answer.binding.confirmed.meeting_id


async def deliver(runtime: Runtime, event: dict[str, Any]) -> None:
    """Hand a sandbox webhook to our handler as the intake would (signature checks are the
    intake's business, tested with it)."""
    async with transaction(runtime.sessions) as session:
        await runtime.webhooks._handlers[event["event"]](session, event["payload"])


async def test_meeting_deleted_at_zoom_is_made_again_and_the_link_change_reported(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock
) -> None:
    mirror, user_id, meeting_id = await mirrored(runtime, sandbox, clock)
    fired = sandbox.control("POST", f"/meetings/{meeting_id}/delete", json={})
    await deliver(runtime, fired["event"])
    assert (await binding(mirror, user_id=user_id, event_key="ev")).status == PENDING
    await drain(mirror, clock)
    (meeting,) = sandbox.meetings()
    assert meeting["id"] != meeting_id and meeting["start_time"] == "2026-12-01T09:00:00Z"
    now = await binding(mirror, user_id=user_id, event_key="ev")
    assert now.link_changed and now.status == SYNCED
    # The next PUT's answer carries the news once; the one after does not.
    told = await mirror.service.put(user_id=user_id, event_key="ev", event=event(START))
    assert told.binding.link_changed and told.binding.confirmed is not None
    assert f"/j/{meeting['id']}?" in told.binding.confirmed.join_url
    again = await mirror.service.put(user_id=user_id, event_key="ev", event=event(START))
    assert not again.binding.link_changed


async def test_meeting_gone_when_we_update_it_is_made_again(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock
) -> None:
    mirror, user_id, meeting_id = await mirrored(runtime, sandbox, clock)
    sandbox.control("POST", f"/meetings/{meeting_id}/delete", json={})  # webhook never came
    await mirror.service.put(user_id=user_id, event_key="ev", event=event(START, 45))
    clock.advance(seconds=3)  # past the debounce
    await drain(mirror, clock)
    (meeting,) = sandbox.meetings()
    assert meeting["id"] != meeting_id and meeting["duration"] == 45
    assert (await binding(mirror, user_id=user_id, event_key="ev")).link_changed


async def test_meeting_changed_at_zoom_gets_the_calendar_state_back(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock
) -> None:
    mirror, user_id, meeting_id = await mirrored(runtime, sandbox, clock)
    before = await binding(mirror, user_id=user_id, event_key="ev")
    fired = sandbox.control(
        "POST",
        f"/meetings/{meeting_id}/update",
        json={"topic": "Renamed at Zoom", "start_time": "2026-12-02T10:00:00Z"},
    )
    await deliver(runtime, fired["event"])
    await drain(mirror, clock)
    (meeting,) = sandbox.meetings()
    assert meeting["id"] == meeting_id
    assert meeting["topic"] == "Planning" and meeting["start_time"] == "2026-12-01T09:00:00Z"
    calls = sandbox.calls()
    assert calls["meetings.get"] == {"200": 1} and calls["meetings.update"] == {"204": 1}
    after = await binding(mirror, user_id=user_id, event_key="ev")
    # Same meeting, same link: nothing for the add-in to replace, no passcode rewritten.
    assert not after.link_changed and after.sealed_passcode == before.sealed_passcode


async def test_our_own_changes_reported_back_by_zoom_cost_nothing(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock
) -> None:
    mirror, user_id, meeting_id = await mirrored(runtime, sandbox, clock)
    echo = {
        "event": "meeting.updated",
        "payload": {
            "object": {"id": meeting_id, "topic": "Planning", "start_time": "2026-12-01T09:00:00Z"},
            "old_object": {"id": meeting_id, "topic": "Draft"},
        },
    }
    await deliver(runtime, echo)
    stranger = {"event": "meeting.deleted", "payload": {"object": {"id": 99999999999}}}
    await deliver(runtime, stranger)
    assert await drain(mirror, clock) == 0
    assert (await binding(mirror, user_id=user_id, event_key="ev")).status == SYNCED


async def test_turning_zoom_off_deletes_the_meeting(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock
) -> None:
    mirror, user_id, meeting_id = await mirrored(runtime, sandbox, clock)
    assert await mirror.service.delete(user_id=user_id, event_key="ev")
    assert (await binding(mirror, user_id=user_id, event_key="ev")).status == "deleting"
    clock.advance(seconds=3)  # past the debounce
    await drain(mirror, clock)
    assert sandbox.meetings() == []
    assert not await mirror.service.delete(user_id=user_id, event_key="ev")
    # Zoom reports the deletion we made: nothing is left to act on.
    await deliver(runtime, {"event": "meeting.deleted", "payload": {"object": {"id": meeting_id}}})
    assert await drain(mirror, clock) == 0


async def test_toggled_off_and_on_again_quickly_keeps_the_meeting(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock
) -> None:
    mirror, user_id, meeting_id = await mirrored(runtime, sandbox, clock)
    assert await mirror.service.delete(user_id=user_id, event_key="ev")
    back = await mirror.service.put(user_id=user_id, event_key="ev", event=event(START))
    assert not back.created and back.binding.status == SYNCED
    clock.advance(seconds=3)  # past the debounce
    await drain(mirror, clock)
    (meeting,) = sandbox.meetings()
    assert meeting["id"] == meeting_id
    assert "meetings.delete" not in sandbox.calls()


async def test_a_passcode_changed_at_zoom_reaches_the_add_in_with_its_new_link(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock
) -> None:
    """Regression: a passcode change was taken for none of the calendar's business, so the
    event kept a link (its ``pwd``) and a passcode that no longer worked."""
    mirror, user_id, meeting_id = await mirrored(runtime, sandbox, clock)
    fired = sandbox.control("POST", f"/meetings/{meeting_id}/update", json={"password": "n3wPass"})
    await deliver(runtime, fired["event"])
    await drain(mirror, clock)
    (meeting,) = sandbox.meetings()
    now = await binding(mirror, user_id=user_id, event_key="ev")
    assert now.status == SYNCED and now.link_changed and now.confirmed is not None
    new_link = meeting["join_url"].split("/j/")[1]  # the control API renders under /_sandbox
    assert now.confirmed.meeting_id == meeting_id and now.confirmed.join_url.endswith(new_link)
    assert await mirror.service.passcode(now) == "n3wPass"
    calls = sandbox.calls()
    assert calls["meetings.get"] == {"200": 1} and "meetings.update" not in calls
