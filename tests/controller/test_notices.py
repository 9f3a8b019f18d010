"""The re-consent notice of My Account, exhaustively."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from linkzoom.controller.notices import ReauthorizationNotice, reauthorization_notice

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("until", "notice"),
    [
        (None, None),
        (timedelta(days=365), None),
        (timedelta(days=30, seconds=1), None),
        (timedelta(days=30), ReauthorizationNotice(due=False, days_left=30)),
        (timedelta(days=29, hours=1), ReauthorizationNotice(due=False, days_left=30)),
        (timedelta(days=1), ReauthorizationNotice(due=False, days_left=1)),
        (timedelta(seconds=1), ReauthorizationNotice(due=False, days_left=1)),
        (timedelta(0), ReauthorizationNotice(due=True, days_left=0)),
        (-timedelta(days=3), ReauthorizationNotice(due=True, days_left=0)),
    ],
)
def test_reauthorization_warning_starts_thirty_days_ahead(
    until: timedelta | None, notice: ReauthorizationNotice | None
) -> None:
    by = None if until is None else NOW + until
    assert reauthorization_notice(by, NOW) == notice
