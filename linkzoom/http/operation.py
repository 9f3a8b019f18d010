"""The route and operation types the OpenAPI document (:mod:`.openapi`) is built from, and
the problems routes share. Each capability lists its own routes' operations next to its
routes (``<capability>/operations.py``); :mod:`.operations` gathers them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from linkzoom.http.typed_body import Answer, Body
from linkzoom.problems import (
    BadRequest,
    FeatureDisabled,
    NotAuthenticated,
    PayloadTooLarge,
    Problem,
    ReauthorizationRequired,
    SealedDataUnreadable,
    ServiceUnavailable,
    UnsupportedMediaType,
    ValidationFailed,
    ZoomAccessTokenRejected,
    ZoomError,
    ZoomGrantInvalid,
    ZoomMeetingLocked,
    ZoomMeetingNotFound,
    ZoomNotLinked,
    ZoomRateLimited,
    ZoomRequestInvalid,
    ZoomUnavailable,
)


@dataclass(frozen=True, kw_only=True)
class Reply:
    """A success answer: a typed JSON body, another media type, or none."""

    status: int
    description: str
    model: type[Answer] | None = None
    media_type: str | None = None  # a body that is not JSON (``text/html``, ``text/plain``)
    headers: tuple[str, ...] = ()  # names in :data:`linkzoom.http.openapi.HEADERS`
    links: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Parameter:
    name: str
    where: str  # "path", "query" or "header"
    schema: Mapping[str, Any]
    description: str
    required: bool = False


@dataclass(frozen=True, kw_only=True)
class Operation:
    method: str
    path: str  # OpenAPI's template: ``{event_key}``, not Starlette's ``{event_key:path}``
    operation_id: str
    summary: str
    tag: str
    replies: tuple[Reply, ...]
    problems: tuple[type[Problem], ...] = ()
    request: type[Body] | None = None
    request_required: bool = True  # an empty body counts as ``{}`` when not
    request_schema: Mapping[str, Any] | None = None  # a JSON body not decoded into a model
    other_media: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    parameters: tuple[Parameter, ...] = ()
    bearer: bool = False
    html_problems: bool = False  # a browser page: its problems are rendered as HTML


# Problems by what a route does. Every route that reads the database can find it down (503).
DATABASE = (ServiceUnavailable,)
SIGNED_IN = (NotAuthenticated, *DATABASE)
ZOOM_FEATURE = (*SIGNED_IN, FeatureDisabled)
JSON_BODY = (BadRequest, PayloadTooLarge, UnsupportedMediaType, ValidationFailed)
# A call to Zoom on the user's behalf: their grant (vault), Zoom's limits and answers.
ZOOM_CALLS = (
    ZoomNotLinked,
    ReauthorizationRequired,
    ZoomRateLimited,
    ZoomError,
    ZoomMeetingNotFound,
    ZoomMeetingLocked,
    ZoomRequestInvalid,
    ZoomGrantInvalid,
    ZoomAccessTokenRejected,
    ZoomUnavailable,
    SealedDataUnreadable,
)

NO_STORE = ("Cache-Control",)
