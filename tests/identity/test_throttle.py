from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkzoom.identity.throttle import (
    ADDRESS_POLICY,
    PAIR_POLICY,
    USER_POLICY,
    block_after,
    keys_for,
)

NOW = datetime(2026, 11, 22, tzinfo=UTC)


@pytest.mark.parametrize(
    ("failures", "blocked_for"),
    [
        (0, None),
        (4, None),
        (5, timedelta(seconds=30)),
        (6, timedelta(seconds=60)),
        (7, timedelta(seconds=120)),
        (9, timedelta(seconds=480)),
        (10, timedelta(minutes=15)),
        (500, timedelta(minutes=15)),
    ],
)
def test_pair_block_doubles_up_to_the_cap(failures: int, blocked_for: timedelta | None) -> None:
    until = block_after(PAIR_POLICY, failures, NOW)
    assert (until - NOW if until else None) == blocked_for


def test_accounts_get_more_room_than_one_client_and_addresses_the_most() -> None:
    assert block_after(USER_POLICY, 9, NOW) is None
    assert block_after(USER_POLICY, 10, NOW) is not None
    assert block_after(ADDRESS_POLICY, 19, NOW) is None
    assert block_after(ADDRESS_POLICY, 20, NOW) is not None


@given(st.integers(min_value=0, max_value=10_000))
def test_block_is_monotonic_and_bounded(failures: int) -> None:
    this = block_after(USER_POLICY, failures, NOW)
    following = block_after(USER_POLICY, failures + 1, NOW)
    if following is None:
        assert this is None
        return
    assert this is None or this <= following
    assert following - NOW <= USER_POLICY.max_block


def test_keys_cover_user_pair_and_address() -> None:
    assert [k for k, _ in keys_for("alice", "10.0.0.1")] == [
        "user:alice",
        "pair:alice@10.0.0.1",
        "addr:10.0.0.1",
    ]
    assert [k for k, _ in keys_for("alice", None)] == ["user:alice"]
