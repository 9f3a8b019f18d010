"""The notice My Account shows ahead of the yearly Zoom re-consent. Pure: ``now`` is an argument."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

# The 30 days before the yearly re-consent: long enough to notice, short enough not to nag.
REAUTHORIZATION_WARNING = timedelta(days=30)


@dataclass(frozen=True, kw_only=True)
class ReauthorizationNotice:
    due: bool
    days_left: int  # 0 once due


def reauthorization_notice(
    reauthorize_by: datetime | None,
    now: datetime,
    *,
    warn_before: timedelta = REAUTHORIZATION_WARNING,
) -> ReauthorizationNotice | None:
    """A warning from ``warn_before`` ahead of the yearly re-consent, ``None`` before that."""
    if reauthorize_by is None or reauthorize_by - now > warn_before:
        return None
    if now >= reauthorize_by:
        return ReauthorizationNotice(due=True, days_left=0)
    days = math.ceil((reauthorize_by - now) / timedelta(days=1))
    return ReauthorizationNotice(due=False, days_left=days)
