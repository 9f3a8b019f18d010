"""The session mechanism's pure rules, exhaustively: verdicts, policies, when to touch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkzoom.identity.sessions import SessionPolicy, needs_touch, session_verdict
from linkzoom.store.controller_tables import ControllerSession
from linkzoom.store.models import DeviceSession

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
POLICY = SessionPolicy(
    table=ControllerSession,
    token_prefix="lzc_",
    idle=timedelta(minutes=30),
    absolute=timedelta(hours=12),
)
NO_IDLE = SessionPolicy(table=DeviceSession, token_prefix="lzd_", absolute=timedelta(days=30))


@pytest.mark.parametrize(
    ("idle_for", "left", "revoked", "verdict"),
    [
        (timedelta(0), timedelta(hours=12), False, "active"),
        (timedelta(minutes=29, seconds=59), timedelta(hours=1), False, "active"),
        (timedelta(minutes=30), timedelta(hours=1), False, "idle"),
        (timedelta(hours=2), timedelta(hours=1), False, "idle"),
        (timedelta(minutes=1), timedelta(0), False, "expired"),
        (timedelta(minutes=1), -timedelta(seconds=1), False, "expired"),
        (timedelta(hours=2), timedelta(0), False, "expired"),  # both: the absolute one wins
        (timedelta(0), timedelta(hours=12), True, "revoked"),
        (timedelta(hours=2), -timedelta(hours=1), True, "revoked"),
    ],
)
def test_session_verdicts(
    idle_for: timedelta, left: timedelta, revoked: bool, verdict: str
) -> None:
    assert (
        session_verdict(
            last_seen_at=NOW - idle_for,
            expires_at=NOW + left,
            revoked_at=NOW if revoked else None,
            now=NOW,
            policy=POLICY,
        )
        == verdict
    )


@given(
    idle=st.integers(min_value=0, max_value=10**6),
    left=st.integers(min_value=-(10**6), max_value=10**6),
)
def test_a_session_is_active_exactly_inside_both_deadlines(idle: int, left: int) -> None:
    verdict = session_verdict(
        last_seen_at=NOW - timedelta(seconds=idle),
        expires_at=NOW + timedelta(seconds=left),
        revoked_at=None,
        now=NOW,
        policy=POLICY,
    )
    assert POLICY.idle is not None
    inside = idle < POLICY.idle.total_seconds() and left > 0
    assert (verdict == "active") == inside


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="idle"):
        SessionPolicy(
            table=ControllerSession,
            token_prefix="lzc_",
            idle=timedelta(hours=2),
            absolute=timedelta(hours=1),
        )
    with pytest.raises(ValueError, match="idle"):
        SessionPolicy(
            table=ControllerSession,
            token_prefix="lzc_",
            idle=timedelta(0),
            absolute=timedelta(hours=12),
        )


@pytest.mark.parametrize(("since", "touch"), [(0, False), (59, False), (60, True), (3600, True)])
def test_last_seen_is_written_at_most_once_a_minute(since: int, touch: bool) -> None:
    assert needs_touch(NOW - timedelta(seconds=since), NOW) is touch


@given(idle=st.integers(min_value=0, max_value=10**8))
def test_without_an_idle_timeout_only_the_deadline_ends_a_session(idle: int) -> None:
    verdict = session_verdict(
        last_seen_at=NOW - timedelta(seconds=idle),
        expires_at=NOW + timedelta(seconds=1),
        revoked_at=None,
        now=NOW,
        policy=NO_IDLE,
    )
    assert verdict == "active"
