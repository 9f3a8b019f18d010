"""The EWS stand-in, driven by unmodified exchangelib exactly as the Exchange source drives it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import exchangelib
import pytest
from exchangelib import (
    BASIC,
    IMPERSONATION,
    Account,
    Build,
    Configuration,
    Credentials,
    EWSTimeZone,
    FailFast,
    Version,
)
from exchangelib import errors as ews
from exchangelib.extended_properties import ExtendedProperty
from exchangelib.items import CalendarItem as ExchangelibCalendarItem
from exchangelib.recurrence import NumberedPattern, WeeklyPattern

from tests.support.ews import (
    DEFAULT_ADDIN_ID,
    Daily,
    EwsServer,
    Weekly,
    ews_server_fixture,  # noqa: F401 - the ews_server fixture
)
from tests.support.ews_mailbox import EwsMailbox

ALICE = "alice@example.org"
BERLIN = ZoneInfo("Europe/Berlin")
# Not linkzoom's own field name: exchangelib registers fields process-wide, and the production
# module registers "linkzoom_cecp" itself.
CECP = "standin_cecp"
SYNC_FIELDS = [CECP, "location", "type", "changekey"]
FETCH_FIELDS = ["subject", "start", "end", "is_all_day", "location", "type", "recurrence",
                "modified_occurrences", "deleted_occurrences", CECP, "_start_timezone",
                "uid"]  # fmt: skip

Connect = Callable[..., Account]


@pytest.fixture(scope="module", autouse=True)
def cecp_field() -> Iterator[None]:
    prop = type(
        "StandInCecp",
        (ExtendedProperty,),
        {
            "distinguished_property_set_id": "PublicStrings",
            "property_name": f"cecp-{DEFAULT_ADDIN_ID}",
            "property_type": "String",
        },
    )
    ExchangelibCalendarItem.register(CECP, prop)
    yield
    ExchangelibCalendarItem.deregister(CECP)


@pytest.fixture
def connect(ews_server: EwsServer) -> Iterator[Connect]:
    """Accounts configured as linkzoom configures them; their connections closed afterwards."""

    def account(address: str = ALICE, *, password: str | None = None) -> Account:
        config = Configuration(
            service_endpoint=ews_server.endpoint,
            credentials=Credentials(ews_server.username, password or ews_server.password),
            auth_type=BASIC,
            version=Version(build=Build(15, 1, 2507, 6)),
            retry_policy=FailFast(),
            max_connections=4,
        )
        return Account(
            primary_smtp_address=address,
            config=config,
            autodiscover=False,
            access_type=IMPERSONATION,
            default_timezone=EWSTimeZone("UTC"),
        )

    yield account
    exchangelib.close_connections()


def at(day: int, hour: int) -> datetime:
    return datetime(2024, 5, day, hour, tzinfo=UTC)


def add(mailbox: EwsMailbox, subject: str, day: int = 6, **fields: Any) -> str:
    return mailbox.add(subject=subject, start=at(day, 9), end=at(day, 10), **fields)


def sync(folder: Any, state: str | None, max_changes: int = 100) -> tuple[list[Any], str]:
    changes = list(
        folder.sync_items(
            sync_state=state, only_fields=SYNC_FIELDS, max_changes_returned=max_changes
        )
    )
    return changes, folder.item_sync_state


def kinds(changes: list[Any]) -> list[tuple[str, str]]:
    return [(kind, item.id) for kind, item in changes]


# -- sync -------------------------------------------------------------------------------------


def test_first_sync_lists_every_item_as_a_create(ews_server: EwsServer, connect: Connect) -> None:
    mailbox = ews_server.mailbox(ALICE)
    ids = [add(mailbox, "one"), add(mailbox, "two", location="Room 1"), add(mailbox, "three")]
    folder = connect().calendar

    changes, state = sync(folder, None)

    assert kinds(changes) == [("create", item_id) for item_id in ids]
    assert [item.location for _, item in changes] == [None, "Room 1", None]
    assert [item.type for _, item in changes] == ["Single"] * 3
    assert all(item.subject is None for _, item in changes)  # only the asked-for fields
    assert state
    # account.calendar costs two GetFolder requests (root, then calendar) before the sync.
    assert ews_server.requests == [
        ("GetFolder", ALICE),
        ("GetFolder", ALICE),
        ("SyncFolderItems", ALICE),
    ]


def test_create_update_delete_come_back_as_their_change_types(
    ews_server: EwsServer, connect: Connect
) -> None:
    mailbox = ews_server.mailbox(ALICE)
    kept, gone = add(mailbox, "kept"), add(mailbox, "gone")
    folder = connect().calendar
    first, state = sync(folder, None)

    mailbox.update(kept, location="Room 2")
    mailbox.delete(gone)
    new = add(mailbox, "new")
    changes, _ = sync(folder, state)

    assert kinds(changes) == [("update", kept), ("delete", gone), ("create", new)]
    updated = changes[0][1]
    assert updated.location == "Room 2"
    assert updated.changekey != first[0][1].changekey  # every change bumps the ChangeKey
    deleted = changes[1][1]
    assert isinstance(deleted, exchangelib.properties.ItemId)  # a Delete is the ItemId alone
    assert deleted.changekey is None


def test_changes_between_polls_are_folded_per_item(ews_server: EwsServer, connect: Connect) -> None:
    mailbox = ews_server.mailbox(ALICE)
    twice = add(mailbox, "edited twice")
    folder = connect().calendar
    _, state = sync(folder, None)

    mailbox.update(twice, subject="edit 1")
    mailbox.update(twice, location="edit 2")
    fresh = add(mailbox, "created, then edited")
    mailbox.update(fresh, location="Room 3")
    mailbox.delete(add(mailbox, "created, then deleted"))
    changes, _ = sync(folder, state)

    assert kinds(changes) == [("update", twice), ("create", fresh)]
    assert changes[1][1].location == "Room 3"


def test_max_changes_returned_pages_the_changes(ews_server: EwsServer, connect: Connect) -> None:
    mailbox = ews_server.mailbox(ALICE)
    ids = [add(mailbox, f"item {n}", day=6 + n) for n in range(5)]
    folder = connect().calendar
    ews_server.requests.clear()

    changes, state = sync(folder, None, max_changes=2)

    assert kinds(changes) == [("create", item_id) for item_id in ids]
    # Pages of 2, 2 and 1: IncludesLastItemInRange is false until the last one.
    assert ews_server.requests == [("SyncFolderItems", ALICE)] * 3
    assert mailbox.sync(state, 2).changes == ()


def test_a_page_boundary_loses_nothing_that_changes_in_between(
    ews_server: EwsServer, connect: Connect
) -> None:
    mailbox = ews_server.mailbox(ALICE)
    first, second = add(mailbox, "first"), add(mailbox, "second")
    page = mailbox.sync(None, 1)
    assert [c.item_id for c in page.changes] == [first] and not page.includes_last_item_in_range

    mailbox.update(first, location="moved on")  # already delivered: an Update now
    folder = connect().calendar
    changes, _ = sync(folder, page.state)

    assert kinds(changes) == [("create", second), ("update", first)]


def test_an_idle_poll_is_one_request(ews_server: EwsServer, connect: Connect) -> None:
    add(ews_server.mailbox(ALICE), "quiet")
    folder = connect().calendar
    _, state = sync(folder, None)
    ews_server.requests.clear()

    changes, again = sync(folder, state)

    assert changes == []
    assert again == state
    assert ews_server.requests == [("SyncFolderItems", ALICE)]


# -- items ------------------------------------------------------------------------------------


def test_cecp_comes_back_on_sync_and_fetch_only_where_set(
    ews_server: EwsServer, connect: Connect
) -> None:
    mailbox = ews_server.mailbox(ALICE)
    cecp = {"zoomMeetingId": "81234567890", "joinUrl": "https://zoom.us/j/81234567890"}
    with_zoom, without = add(mailbox, "zoom", cecp=cecp), add(mailbox, "plain")
    account = connect()

    changes, _ = sync(account.calendar, None)
    fetched = list(
        account.fetch(ids=[(i.id, i.changekey) for _, i in changes], only_fields=FETCH_FIELDS)
    )
    not_asked = list(account.fetch(ids=[(with_zoom, None)], only_fields=["subject"]))

    assert [getattr(item, CECP) for _, item in changes] == [json.dumps(cecp), None]
    assert [(item.id, getattr(item, CECP)) for item in fetched] == [
        (with_zoom, json.dumps(cecp)),
        (without, None),
    ]
    assert json.loads(getattr(fetched[0], CECP)) == cecp
    assert getattr(not_asked[0], CECP) is None


def test_fetch_returns_the_full_single_item(ews_server: EwsServer, connect: Connect) -> None:
    item_id = ews_server.mailbox(ALICE).add(
        subject="Planning",
        start=datetime(2024, 5, 6, 9, tzinfo=BERLIN),
        end=datetime(2024, 5, 6, 10, 30, tzinfo=BERLIN),
        timezone="Europe/Berlin",
        location="Room 4",
    )
    [item] = connect().fetch(ids=[(item_id, None)], only_fields=FETCH_FIELDS)

    assert (item.subject, item.location, item.type, item.is_all_day) == (
        "Planning",
        "Room 4",
        "Single",
        False,
    )
    assert item.start == datetime(2024, 5, 6, 7, tzinfo=UTC)  # served in UTC, parsed aware
    assert item.end == datetime(2024, 5, 6, 8, 30, tzinfo=UTC)
    assert item._start_timezone == EWSTimeZone("Europe/Berlin")  # from "W. Europe Standard Time"
    assert item.uid.startswith("040000008200E00074C5B7101A82E008")
    assert item.recurrence is None and item.modified_occurrences is None


def test_a_weekly_series_with_a_moved_and_a_cancelled_occurrence(
    ews_server: EwsServer, connect: Connect
) -> None:
    mailbox = ews_server.mailbox(ALICE)
    series = mailbox.add(
        subject="Standup",
        start=datetime(2024, 5, 6, 9, tzinfo=BERLIN),
        end=datetime(2024, 5, 6, 9, 15, tzinfo=BERLIN),
        timezone="Europe/Berlin",
        recurrence=Weekly(days=("MO", "WE"), count=10),
        cecp={"zoomMeetingId": "1"},
    )
    account = connect()
    folder = account.calendar
    _, state = sync(folder, None)

    moved_from = datetime(2024, 5, 8, 9, tzinfo=BERLIN)
    mailbox.move_occurrence(
        series,
        moved_from,
        datetime(2024, 5, 8, 11, tzinfo=BERLIN),
        datetime(2024, 5, 8, 11, 15, tzinfo=BERLIN),
    )
    mailbox.cancel_occurrence(series, datetime(2024, 5, 13, 9, tzinfo=BERLIN))
    changes, _ = sync(folder, state)
    [item] = account.fetch(ids=[(series, None)], only_fields=FETCH_FIELDS)

    assert kinds(changes) == [("update", series)]  # exceptions are changes of the master
    assert changes[0][1].type == "RecurringMaster"
    assert item.type == "RecurringMaster"
    assert item.start == datetime(2024, 5, 6, 7, tzinfo=UTC)
    pattern, boundary = item.recurrence.pattern, item.recurrence.boundary
    assert isinstance(pattern, WeeklyPattern)
    assert (pattern.interval, pattern.weekdays) == (1, [1, 3])  # parsed as 1-based numbers
    assert isinstance(boundary, NumberedPattern)
    assert (boundary.start, boundary.number) == (date(2024, 5, 6), 10)
    [moved] = item.modified_occurrences
    assert (moved.start, moved.end, moved.original_start) == (
        datetime(2024, 5, 8, 9, tzinfo=UTC),
        datetime(2024, 5, 8, 9, 15, tzinfo=UTC),
        datetime(2024, 5, 8, 7, tzinfo=UTC),
    )
    assert moved.id and moved.id != series  # an exception has an ItemId of its own
    [cancelled] = item.deleted_occurrences
    assert cancelled.start == datetime(2024, 5, 13, 7, tzinfo=UTC)  # the original start
    assert item._start_timezone == EWSTimeZone("Europe/Berlin")


def test_daily_series_until_a_date_and_an_all_day_event(
    ews_server: EwsServer, connect: Connect
) -> None:
    mailbox = ews_server.mailbox(ALICE)
    daily = add(mailbox, "daily", recurrence=Daily(interval=2, until=date(2024, 5, 20)))
    holiday = mailbox.add(
        subject="Holiday",
        start=datetime(2024, 5, 9, tzinfo=BERLIN),
        end=datetime(2024, 5, 11, tzinfo=BERLIN),
        timezone="Europe/Berlin",
        all_day=True,
    )
    by_id = {
        i.id: i
        for i in connect().fetch(ids=[(daily, None), (holiday, None)], only_fields=FETCH_FIELDS)
    }

    boundary = by_id[daily].recurrence.boundary
    assert by_id[daily].recurrence.pattern.interval == 2
    assert (boundary.start, boundary.end) == (date(2024, 5, 6), date(2024, 5, 20))
    all_day = by_id[holiday]
    assert all_day.is_all_day
    # exchangelib turns all-day times into dates in the item's zone, the end date inclusive.
    assert (all_day.start, all_day.end) == (date(2024, 5, 9), date(2024, 5, 10))


def test_fetching_a_deleted_item_yields_error_item_not_found(
    ews_server: EwsServer, connect: Connect
) -> None:
    mailbox = ews_server.mailbox(ALICE)
    gone = add(mailbox, "gone")
    mailbox.delete(gone)

    [result] = connect().fetch(ids=[(gone, None)], only_fields=FETCH_FIELDS)

    assert isinstance(result, ews.ErrorItemNotFound)  # returned, not raised


# -- failures ---------------------------------------------------------------------------------


def test_busy_raises_error_server_busy_with_the_back_off(
    ews_server: EwsServer, connect: Connect
) -> None:
    add(ews_server.mailbox(ALICE), "one")
    folder = connect().calendar
    ews_server.busy(back_off_ms=1500)

    with pytest.raises(ews.ErrorServerBusy) as raised:
        sync(folder, None)
    changes, _ = sync(folder, None)

    assert raised.value.back_off == 1.5  # seconds, from BackOffMilliseconds
    assert len(changes) == 1


def test_invalidated_sync_states_raise_error_invalid_sync_state_data(
    ews_server: EwsServer, connect: Connect
) -> None:
    add(ews_server.mailbox(ALICE), "one")
    folder = connect().calendar
    _, state = sync(folder, None)
    ews_server.invalidate_sync_states()

    with pytest.raises(ews.ErrorInvalidSyncStateData):
        sync(folder, state)
    # exchangelib quirk: sync_state=None falls back to folder.item_sync_state, the stale one.
    with pytest.raises(ews.ErrorInvalidSyncStateData):
        sync(folder, None)
    folder.item_sync_state = None
    changes, fresh = sync(folder, None)

    assert [kind for kind, _ in changes] == ["create"]
    assert fresh != state


def test_a_sync_state_is_valid_for_its_own_mailbox_only(
    ews_server: EwsServer, connect: Connect
) -> None:
    add(ews_server.mailbox(ALICE), "alice's")
    ews_server.mailbox("bob@example.org")
    _, alice_state = sync(connect().calendar, None)

    with pytest.raises(ews.ErrorInvalidSyncStateData):
        sync(connect("bob@example.org").calendar, alice_state)


def test_denied_impersonation_raises_error_impersonate_user_denied(
    ews_server: EwsServer, connect: Connect
) -> None:
    ews_server.mailbox(ALICE)
    ews_server.deny(ALICE)

    with pytest.raises(ews.ErrorImpersonateUserDenied):
        _ = connect().calendar


def test_an_address_without_a_mailbox_raises_error_non_existent_mailbox(
    ews_server: EwsServer, connect: Connect
) -> None:
    with pytest.raises(ews.ErrorNonExistentMailbox):
        _ = connect("nobody@example.org").calendar


def test_a_wrong_password_raises_unauthorized_error(
    ews_server: EwsServer, connect: Connect
) -> None:
    ews_server.mailbox(ALICE)

    with pytest.raises(ews.UnauthorizedError):
        _ = connect(password="not the password").calendar
    assert ews_server.requests == []  # refused before EWS read it


# -- the data model on its own ----------------------------------------------------------------


def test_the_model_refuses_what_exchange_could_not_hold(ews_server: EwsServer) -> None:
    mailbox = ews_server.mailbox(ALICE)
    naive = datetime(2024, 5, 6, 9)
    with pytest.raises(ValueError, match="timezone-aware"):
        mailbox.add(subject="naive", start=naive, end=at(6, 10))
    with pytest.raises(ValueError, match="occurrences"):  # 2024-05-07 is a Tuesday
        add(mailbox, "off pattern", day=7, recurrence=Weekly(days=("MO",)))
    series = add(mailbox, "series", recurrence=Weekly(days=("MO",), count=2))
    with pytest.raises(ValueError, match="not an occurrence"):
        mailbox.cancel_occurrence(series, at(27, 9))  # the third Monday: past the count
    with pytest.raises(ValueError, match="midnight"):
        add(mailbox, "all day at nine", all_day=True)
