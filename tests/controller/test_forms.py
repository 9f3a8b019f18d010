"""Form parsing: every field checked, every bad field named, nothing half-applied."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkzoom.controller.forms import (
    AuditFilter,
    CredentialChange,
    parse_audit_filter,
    parse_credentials,
    parse_meeting_defaults,
    parse_reauthorize_days,
    parse_user_query,
)
from linkzoom.problems import ValidationFailed
from linkzoom.zoom.meeting_defaults import MeetingDefaults


def fields(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.message for e in exc.value.errors}


def test_meeting_defaults_from_checkboxes() -> None:
    parsed = parse_meeting_defaults({"duration_minutes": " 45 ", "waiting_room": "on"})
    assert parsed == MeetingDefaults(
        duration_minutes=45,
        join_before_host=False,
        waiting_room=True,
        passcode=False,
        mute_upon_entry=False,
    )
    everything = parse_meeting_defaults(
        {
            "duration_minutes": "1440",
            "join_before_host": "on",
            "waiting_room": "on",
            "passcode": "on",
            "mute_upon_entry": "on",
        }
    )
    assert everything.join_before_host and everything.passcode and everything.mute_upon_entry


@pytest.mark.parametrize("raw", ["", "0", "1441", "-5", "abc", "2.5", "٣٠", "123456"])
def test_meeting_defaults_refuse_bad_durations(raw: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        parse_meeting_defaults({"duration_minutes": raw})
    assert list(fields(exc)) == ["duration_minutes"]


@pytest.mark.parametrize(
    ("raw", "days"), [("", None), ("  ", None), ("1", 1), ("365", 365), ("3650", 3650)]
)
def test_reauthorize_days(raw: str, days: int | None) -> None:
    assert parse_reauthorize_days({"reauthorize_days": raw}) == days


@pytest.mark.parametrize("raw", ["0", "3651", "-1", "x", "1e3", "999999"])
def test_reauthorize_days_refused(raw: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        parse_reauthorize_days({"reauthorize_days": raw})
    assert list(fields(exc)) == ["reauthorize_days"]


@pytest.mark.parametrize(
    ("form", "current", "change"),
    [
        # A new app: id and secret together.
        (
            {"client_id": "abc", "client_secret": "s3cret"},
            None,
            CredentialChange(client_id="abc", client_secret="s3cret"),
        ),
        # The same id re-submitted with a new secret rotates only the secret.
        (
            {"client_id": "abc", "client_secret": "new"},
            "abc",
            CredentialChange(client_secret="new"),
        ),
        # Only the webhook secret.
        (
            {"client_id": "abc", "webhook_secret": "w"},
            "abc",
            CredentialChange(webhook_secret="w"),
        ),
        # An emptied id field keeps the id (secrets and ids are left as they are when empty).
        ({"client_id": "", "webhook_secret": "w"}, "abc", CredentialChange(webhook_secret="w")),
        (
            {"client_id": " xyz ", "client_secret": "t", "webhook_secret": "w"},
            "abc",
            CredentialChange(client_id="xyz", client_secret="t", webhook_secret="w"),
        ),
    ],
)
def test_credentials(form: dict[str, str], current: str | None, change: CredentialChange) -> None:
    assert parse_credentials(form, current_client_id=current) == change


@pytest.mark.parametrize(
    ("form", "current", "bad"),
    [
        ({"client_id": "new-id"}, "abc", {"client_secret"}),
        ({"client_id": "abc"}, "abc", {"client_id"}),  # nothing to change
        ({}, None, {"client_id"}),
        ({"client_secret": "s"}, None, {"client_id"}),  # over the sandbox, an app needs its id
        ({"client_id": "a b", "client_secret": "s"}, None, {"client_id"}),
        ({"client_id": "abc", "client_secret": "s\x00"}, None, {"client_secret"}),
        ({"client_id": "x" * 201, "client_secret": "s"}, None, {"client_id"}),
        (
            {"client_id": "abc", "client_secret": "s" * 501, "webhook_secret": "w w"},
            None,
            {"client_secret", "webhook_secret"},
        ),
    ],
)
def test_credentials_refused(form: dict[str, str], current: str | None, bad: set[str]) -> None:
    with pytest.raises(ValidationFailed) as exc:
        parse_credentials(form, current_client_id=current)
    assert set(fields(exc)) == bad


def test_secrets_stay_out_of_reprs() -> None:
    change = CredentialChange(client_id="abc", client_secret="s3cret", webhook_secret="hook")
    assert "s3cret" not in repr(change) and "hook" not in repr(change)
    assert change.changed == ["client_id", "client_secret", "webhook_secret"]


def test_user_query() -> None:
    assert parse_user_query({"q": "  Ali ", "page": "2"}).text == "Ali"
    assert parse_user_query({"q": "", "page": "x"}).page == 1
    assert parse_user_query({"q": "a" * 500}).text == "a" * 100


def test_audit_filter() -> None:
    wanted, errors = parse_audit_filter(
        {"action": "zoom.revoked", "actor": "root", "since": "2026-11-01", "until": "2026-11-22"}
    )
    assert errors == []
    assert wanted.since_at == datetime(2026, 11, 1, tzinfo=UTC)
    assert wanted.until_before == datetime(2026, 11, 23, tzinfo=UTC)
    assert wanted.query() == {
        "action": "zoom.revoked",
        "actor": "root",
        "since": "2026-11-01",
        "until": "2026-11-22",
    }
    assert AuditFilter().query() == {}
    assert AuditFilter().since_at is None and AuditFilter().until_before is None


@pytest.mark.parametrize(
    ("params", "bad"),
    [
        ({"since": "yesterday"}, ["since"]),
        ({"until": "20261122"}, ["until"]),
        ({"since": "2026-02-30"}, ["since"]),
        ({"since": "2026-11-22", "until": "2026-11-01"}, ["until"]),
    ],
)
def test_bad_audit_dates_are_named_and_dropped(params: dict[str, str], bad: list[str]) -> None:
    wanted, errors = parse_audit_filter(params)
    assert [e.field for e in errors] == bad
    for name in bad:
        assert getattr(wanted, name) is None


@given(st.dates())
def test_audit_days_are_whole_utc_days(day: date) -> None:
    wanted, errors = parse_audit_filter({"since": day.isoformat(), "until": day.isoformat()})
    assert not errors
    assert wanted.since_at is not None and wanted.until_before is not None
    assert (wanted.until_before - wanted.since_at).days == 1
