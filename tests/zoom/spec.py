"""Check JSON bodies against Zoom's own OpenAPI 3.0 document (``tests/specs/zoom``).

``validate_request_body`` is stricter than the document in one way and looser in one:

* **Strict:** every object schema is closed (``additionalProperties: false``), so a field the spec
  does not know fails, as does a misspelt one. Zoom ignores unknown fields silently, so without
  this a typo would pass every test and do nothing in production.
* **Erratum:** the spec gives ``recurrence.weekly_days`` as one of ``"1"``…``"7"``, but its own
  description, Zoom's API reference and cal.com send comma-separated lists (``"2,4"``). We accept
  ``^[1-7](,[1-7])*$``.

Responses are checked as published (open objects), since Zoom adds response fields freely.
The 1.9 MB document is parsed once per process; validators are cached per operation.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jsonschema.protocols import Validator
from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30WriteValidator,
    oas30_format_checker,
)
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

__all__ = ["SPEC_PATH", "validate_request_body", "validate_response_body"]

SPEC_PATH = Path(__file__).resolve().parents[1] / "specs" / "zoom" / "ZoomMeetingAPISpec.json"
_SPEC_URI = "urn:linkzoom:zoom-meeting-api"
_WEEKLY_DAYS = {"type": "string", "pattern": "^[1-7](,[1-7])*$"}
_COMBINATORS = ("allOf", "anyOf", "oneOf")


def validate_request_body(method: str, path_template: str, body: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``body`` is a valid request body for the
    operation (e.g. ``("POST", "/users/{userId}/meetings", {...})``)."""
    pointer = _operation_pointer(method, path_template) + "/requestBody/content/application~1json"
    _validator(OAS30WriteValidator, pointer + "/schema", strict=True).validate(body)


def validate_response_body(
    method: str, path_template: str, status: int, body: dict[str, Any]
) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``body`` matches the documented response."""
    pointer = _operation_pointer(method, path_template) + f"/responses/{status}/content"
    _validator(OAS30ReadValidator, pointer + "/application~1json/schema", strict=False).validate(
        body
    )


def _operation_pointer(method: str, path_template: str) -> str:
    paths = _document(strict=False)["paths"]
    if method.lower() not in paths.get(path_template, {}):
        raise LookupError(f"the Zoom spec has no operation {method} {path_template}")
    return f"/paths/{_escape(path_template)}/{method.lower()}"


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@functools.cache
def _validator(kind: type[Validator], pointer: str, *, strict: bool) -> Validator:
    resolved = _registry(strict).resolver().lookup(f"{_SPEC_URI}#{quote(pointer)}").contents
    if not isinstance(resolved, dict):
        raise LookupError(f"the Zoom spec has no schema at {pointer}")
    schema = {"$ref": f"{_SPEC_URI}#{quote(pointer)}"}
    validator: Validator = kind(
        schema, registry=_registry(strict), format_checker=oas30_format_checker
    )
    return validator


@functools.cache
def _registry(strict: bool) -> Registry[Any]:
    resource: Resource[Any] = DRAFT4.create_resource(_document(strict))
    registry: Registry[Any] = Registry().with_resource(_SPEC_URI, resource)
    return registry


@functools.cache
def _document(strict: bool) -> dict[str, Any]:
    if strict:
        document = copy.deepcopy(_document(strict=False))
        _close_objects(document)
        return document
    document = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    _fix_weekly_days(document)
    return dict(document)


def _close_objects(node: object, *, in_combinator: bool = False) -> None:
    """``additionalProperties: false`` on every object schema outside allOf/anyOf/oneOf (where
    closing each branch would reject the other branches' properties)."""
    if isinstance(node, dict):
        if (
            node.get("type") == "object"
            and isinstance(node.get("properties"), dict)
            and "additionalProperties" not in node
            and not in_combinator
        ):
            node["additionalProperties"] = False
        for key, value in node.items():
            _close_objects(value, in_combinator=key in _COMBINATORS)
    elif isinstance(node, list):
        for item in node:
            _close_objects(item, in_combinator=in_combinator)


def _fix_weekly_days(node: object) -> None:
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict) and isinstance(properties.get("weekly_days"), dict):
            properties["weekly_days"] = _WEEKLY_DAYS | {
                "description": properties["weekly_days"].get("description", "")
            }
        for value in node.values():
            _fix_weekly_days(value)
    elif isinstance(node, list):
        for item in node:
            _fix_weekly_days(item)


# Sample payloads in the shapes Zoom really sends (zoom-api.md §1-3; SPEC23 examples; Rivet
# types). Functions, so each test gets a fresh dict to mutate. test_models checks the response
# samples against the spec's response schemas.

START_URL = (
    "https://us05web.zoom.us/s/92674392836?zak=eyJ0eXAiOiJKV1QiLCJzdiI6IjAwMDAwMSIsImFsZyI6"
    "IkhTMjU2In0.host-zak-secret"
)


def token_response() -> dict[str, Any]:
    return {
        "access_token": "eyJhbGciOiJIUzUxMiJ9.access-secret",
        "token_type": "bearer",
        "refresh_token": "eyJhbGciOiJIUzUxMiJ9.refresh-secret",
        "expires_in": 3599,
        "scope": "meeting:write:meeting meeting:read:meeting user:read:user",
        "api_url": "https://api.zoom.us",
    }


def user_response() -> dict[str, Any]:
    return {
        "id": "KDcuGIm1QgePTO8WbOqwIQ",
        "first_name": "Jill",
        "last_name": "Chill",
        "display_name": "Jill Chill",
        "email": "jchill@example.com",
        "type": 2,
        "pmi": 3542471135,
        "timezone": "Asia/Shanghai",
        "verified": 1,
        "dept": "Developers",
        "created_at": "2019-06-01T07:58:03Z",
        "user_created_at": "2019-06-01T07:58:03Z",
        "last_login_time": "2019-06-01T07:58:03Z",
        "language": "en-US",
        "account_id": "q6gBJVO5TzexKYTb_I2rpg",
        "account_number": 10009239,
        "status": "active",
        "role_id": "0",
        "role_name": "Owner",
        "login_types": [101],
        "cluster": "us05",
    }


def create_meeting_response(**overrides: Any) -> dict[str, Any]:
    """``POST /users/me/meetings`` 201: no ``uuid``/``status``, but a ``start_url``."""
    body: dict[str, Any] = {
        "assistant_id": "kFFvsJc-Q1OSxaJQLvaa_A",
        "host_email": "jchill@example.com",
        "id": 92674392836,
        "agenda": "Quarterly review",
        "created_at": "2024-03-25T07:29:29Z",
        "duration": 60,
        "h323_password": "123456",
        "join_url": "https://us05web.zoom.us/j/92674392836?pwd=8pEkRweVXPV3Ob2KJYgFTRlDtl1gSn.1",
        "chat_join_url": "https://us05web.zoom.us/launch/jc/92674392836",
        "password": "123456",
        "pstn_password": "123456",
        "encrypted_password": "8pEkRweVXPV3Ob2KJYgFTRlDtl1gSn.1",
        "pmi": "97891943927",
        "pre_schedule": False,
        "settings": {
            "host_video": True,
            "participant_video": False,
            "join_before_host": False,
            "jbh_time": 0,
            "mute_upon_entry": True,
            "watermark": False,
            "use_pmi": False,
            "approval_type": 2,
            "audio": "voip",
            "auto_recording": "none",
            "waiting_room": True,
            "email_notification": False,
            "meeting_authentication": False,
            "global_dial_in_countries": ["US"],
            "global_dial_in_numbers": [
                {
                    "city": "New York",
                    "country": "US",
                    "country_name": "US",
                    "number": "+1 1000200200",
                    "type": "toll",
                }
            ],
            "continuous_meeting_chat": {"enable": False},
        },
        "start_time": "2024-04-02T15:00:00Z",
        "start_url": START_URL,
        "timezone": "Europe/Berlin",
        "topic": "Quarterly review",
        "type": 2,
        "dynamic_host_key": "123456",
        "creation_source": "open_api",
    }
    return body | overrides


def recurring_meeting_response() -> dict[str, Any]:
    """``GET /meetings/{id}`` 200 for a weekly type-8 meeting (adds uuid, host_id, status)."""
    return create_meeting_response(
        uuid="aDYlohsHRtCd4ii1uC2+hA==",
        host_id="KDcuGIm1QgePTO8WbOqwIQ",
        status="waiting",
        type=8,
        recurrence={"type": 2, "repeat_interval": 1, "weekly_days": "2,4", "end_times": 3},
        occurrences=[
            {
                "occurrence_id": "1712070000000",
                "start_time": "2024-04-02T15:00:00Z",
                "duration": 60,
                "status": "available",
            },
            {
                "occurrence_id": "1712242800000",
                "start_time": "2024-04-04T15:00:00Z",
                "duration": 60,
                "status": "available",
            },
        ],
    )


def meeting_list_response(
    *, next_page_token: str = "", ids: tuple[int, ...] = (1, 2)
) -> dict[str, Any]:
    return {
        "page_size": 300,
        "total_records": len(ids),
        "next_page_token": next_page_token,
        "meetings": [
            {
                "uuid": f"uuid-{meeting_id}==",
                "id": meeting_id,
                "host_id": "KDcuGIm1QgePTO8WbOqwIQ",
                "topic": f"Meeting {meeting_id}",
                "type": 2,
                "start_time": "2024-04-02T15:00:00Z",
                "duration": 30,
                "timezone": "Europe/Berlin",
                "agenda": "Truncated to 250 characters in lists",
                "created_at": "2024-03-25T07:29:29Z",
                "join_url": f"https://us05web.zoom.us/j/{meeting_id}",
            }
            for meeting_id in ids
        ],
    }


def error_body(code: int, message: str) -> dict[str, Any]:
    """Zoom's REST error envelope."""
    return {"code": code, "message": message}


INVALID_GRANT = {"reason": "Invalid Token!", "error": "invalid_grant"}
DAILY_USER_LIMIT_MESSAGE = (
    "You have exceeded the daily rate limit (100) of Meeting Create/Update API requests "
    "permitted for this particular user. You may resume these requests at GMT 00:00:00."
)
PER_SECOND_MESSAGE = (
    "You have reached the maximum per-second rate limit for this API. Try again later."
)
ACCOUNT_DAILY_MESSAGE = (
    "You have reached the maximum daily rate limit for this API. Refer to the response header "
    "for details on when you can make another request."
)
