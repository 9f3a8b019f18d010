"""Default meeting settings and the fake dial-in numbers the sandbox hands out.

The numbers are in the 555-01xx range that North American numbering reserves for fiction, so a
simulated invitation can never ring anyone.
"""

from __future__ import annotations

from typing import Any

GLOBAL_DIAL_IN_NUMBERS: list[dict[str, str]] = [
    {
        "country": "US",
        "country_name": "US",
        "city": "New York",
        "number": "+1 212 555 0100",
        "type": "toll",
    },
    {
        "country": "US",
        "country_name": "US",
        "city": "San Jose",
        "number": "+1 408 555 0199",
        "type": "toll",
    },
]

# Occurrence updates may change only these settings (SPEC23 PATCH ?occurrence_id=).
OCCURRENCE_SETTINGS = frozenset(
    {
        "host_video",
        "participant_video",
        "join_before_host",
        "mute_upon_entry",
        "waiting_room",
        "watermark",
        "auto_recording",
    }
)

# Computed by Zoom; a client cannot set them.
READ_ONLY_SETTINGS = frozenset({"global_dial_in_numbers"})


def default_settings() -> dict[str, Any]:
    """A fresh copy of the settings a new meeting gets before the request's own are merged."""
    return {
        "host_video": False,
        "participant_video": False,
        "cn_meeting": False,
        "in_meeting": False,
        "join_before_host": False,
        "jbh_time": 0,
        "mute_upon_entry": False,
        "watermark": False,
        "use_pmi": False,
        "approval_type": 2,
        "audio": "both",
        "auto_recording": "none",
        "enforce_login": False,
        "enforce_login_domains": "",
        "alternative_hosts": "",
        "alternative_hosts_email_notification": True,
        "close_registration": False,
        "show_share_button": False,
        "allow_multiple_devices": False,
        "registrants_confirmation_email": True,
        "waiting_room": False,
        "request_permission_to_unmute_participants": False,
        "global_dial_in_countries": ["US"],
        "registrants_email_notification": True,
        "meeting_authentication": False,
        "encryption_type": "enhanced_encryption",
        "approved_or_denied_countries_or_regions": {"enable": False},
        "breakout_room": {"enable": False},
        "internal_meeting": False,
        "continuous_meeting_chat": {"enable": False, "auto_add_invited_external_users": False},
        "participant_focused_meeting": False,
        "push_change_to_calendar": False,
        "email_notification": True,
        "private_meeting": False,
        "focus_mode": False,
        "device_testing": False,
    }


def merge_settings(current: dict[str, Any], requested: dict[str, Any]) -> dict[str, Any]:
    """``current`` updated with ``requested``, minus read-only keys, with Zoom's coupling rules."""
    merged = dict(current)
    merged.update({k: v for k, v in requested.items() if k not in READ_ONLY_SETTINGS})
    # Zoom: join before host is disabled while the waiting room is on.
    if merged.get("waiting_room") is True:
        merged["join_before_host"] = False
    return merged
