"""Request and response bodies of the API as typed models (msgspec structs).

A request body is decoded and type-checked in one pass by msgspec (the hot path: the compose
button). Only when that pass refuses the body is it read again, field by field, to name every
bad field at once in the same ``422 validation-failed`` as before (``problems.FieldError``):
msgspec stops at the first error and words it its own way, and our answers are a contract.

Checks types cannot express (IANA zones, instants with offsets, windows of time, calendar
semantics) are a ``then`` function run on the decoded model; it raises ``ValidationFailed``.
When types and ``then`` both find problems, the client hears of all of them, one per field.

Messages: a model's ``MESSAGES`` names the message of a field for any failure of it; other
fields get one derived from their type ("is required", "must be a string", "must be at most N
characters", ...).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from types import UnionType
from typing import Annotated, Any, ClassVar, TypeVar, Union, get_args, get_origin

import msgspec
from msgspec import inspect as mi
from starlette.requests import Request
from starlette.responses import Response

from linkzoom.http.body import read_bytes
from linkzoom.problems import BadRequest, FieldError, UnsupportedMediaType, ValidationFailed

M = TypeVar("M", bound="Body")
R = TypeVar("R")

# An instant in an answer: ISO 8601 in UTC, ``2026-03-08T09:30:00Z``.
Instant = Annotated[str, msgspec.Meta(extra_json_schema={"format": "date-time"})]


class Body(msgspec.Struct, kw_only=True, frozen=True):
    """Base of every request body. Unknown members are ignored (clients may be newer)."""

    # Field name -> the message for any failure of that field (else derived from its type).
    MESSAGES: ClassVar[Mapping[str, str]] = {}
    # Fields the OpenAPI document lists as required although the type allows them absent:
    # their absence is refused by ``then`` with a message of its own (calendar events).
    SCHEMA_REQUIRED: ClassVar[tuple[str, ...]] = ()


class Answer(msgspec.Struct, kw_only=True, frozen=True):
    """Base of every JSON response body."""


def same(model: M) -> M:
    """``then`` for a model that needs no check beyond its types."""
    return model


async def read_model(
    request: Request,
    model: type[M],
    then: Callable[[M], R],
    *,
    allow_empty: bool = False,
) -> R:
    """The body as ``model``, size-limited and media-type-checked like every JSON body."""
    limit: int = request.app.state.settings.max_body_bytes
    raw = await read_bytes(request, limit)
    if allow_empty and not raw.strip():
        return convert_model({}, model, then)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType("Send the body as application/json.")
    return decode_model(raw, model, then)


def decode_model(raw: bytes, model: type[M], then: Callable[[M], R]) -> R:
    try:
        decoded = _decoder(model).decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        # Refused: find out what exactly. The standard library also reads what msgspec does not
        # (lone surrogate escapes, NaN), so the answer is the field-level one it always was.
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise BadRequest(f"The body is not valid JSON: {reason}.") from None
        return convert_model(data, model, then)
    return then(decoded)


def convert_model(data: object, model: type[M], then: Callable[[M], R]) -> R:
    """``data`` (already parsed JSON) as ``model``, then ``then``; every bad field named."""
    if not isinstance(data, dict):
        raise ValidationFailed.one("", "expected a JSON object")
    try:
        converted = msgspec.convert(data, model)
    except msgspec.ValidationError:
        pass
    else:
        return then(converted)
    errors = _field_errors(data, model)
    bad = {e.field.split(".")[0] for e in errors}
    partial = _without(data, bad, model)
    if partial is not None:
        try:
            then(partial)
        except ValidationFailed as refused:
            errors += [e for e in refused.errors if e.field.split(".")[0] not in bad]
    order = {f.encode_name: i for i, f in enumerate(_fields(model))}
    errors.sort(key=lambda e: order.get(e.field.split(".")[0], len(order)))
    raise ValidationFailed(errors)


def _without(data: dict[str, Any], bad: set[str], model: type[M]) -> M | None:
    """The body with its bad fields left out, so ``then`` can still judge the others."""
    try:
        return msgspec.convert({k: v for k, v in data.items() if k not in bad}, model)
    except msgspec.ValidationError:
        return None  # a bad field is required: nothing more to judge


def _field_errors(data: dict[str, Any], model: type[Body]) -> list[FieldError]:
    errors: list[FieldError] = []
    for field in _fields(model):
        name, info = field.encode_name, field.info
        value = data.get(name)
        if name not in data and not field.required:
            continue
        override = model.MESSAGES.get(name)
        if value is None and not _allows_none(info):
            missing = "is required" if field.required else _message(value, info)
            errors.append(FieldError(field=name, message=override or missing))
            continue
        if _fits(value, field.annotation):
            continue
        items = _items_of(field.annotation)
        main = _main(info)
        if (
            items is not None
            and isinstance(value, list)
            and isinstance(main, mi.ListType)
            and (main.min_length or 0) <= len(value) <= (main.max_length or len(value))
        ):
            errors += [
                FieldError(field=f"{name}.{i}", message=override or _message(item, items[1]))
                for i, item in enumerate(value)
                if not _fits(item, items[0])
            ]
            continue
        errors.append(FieldError(field=name, message=override or _message(value, info)))
    return errors


@dataclass(frozen=True)
class _Field:
    encode_name: str
    annotation: Any  # as declared, constraints included: what msgspec converts with
    info: mi.Type  # the same, inspected: what the messages are derived from
    required: bool


@cache
def _decoder(model: type[Body]) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(model)


@cache
def _fields(model: type[Body]) -> tuple[_Field, ...]:
    info = mi.type_info(model)
    assert isinstance(info, mi.StructType)
    declared = {f.name: f.type for f in msgspec.structs.fields(model)}
    return tuple(
        _Field(
            encode_name=f.encode_name, annotation=declared[f.name], info=f.type, required=f.required
        )
        for f in info.fields
    )


def _fits(value: object, annotation: Any) -> bool:
    try:
        msgspec.convert(value, annotation)
    except msgspec.ValidationError:
        return False
    return True


def _items_of(annotation: Any) -> tuple[Any, mi.Type] | None:
    """The item type of a ``list[X] | None`` field, declared and inspected."""
    members = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else ()
    for member in members or (annotation,):
        base = get_args(member)[0] if get_origin(member) is Annotated else member
        if get_origin(base) is list:
            item = get_args(base)[0]
            return item, mi.type_info(item)
    return None


def _allows_none(info: mi.Type) -> bool:
    if isinstance(info, mi.UnionType):
        return any(isinstance(t, mi.NoneType | mi.AnyType) for t in info.types)
    return isinstance(info, mi.NoneType | mi.AnyType)


def _main(info: mi.Type) -> mi.Type:
    """``T`` of ``T | None``."""
    if isinstance(info, mi.UnionType):
        others = [t for t in info.types if not isinstance(t, mi.NoneType)]
        if len(others) == 1:
            return others[0]
    return info


def _message(value: object, info: mi.Type) -> str:
    main = _main(info)
    if isinstance(main, mi.StrType):
        if main.min_length and (not isinstance(value, str) or len(value) < main.min_length):
            return "must be a non-empty string"
        if not isinstance(value, str):
            return "must be a string"
        return f"must be at most {main.max_length} characters"
    if isinstance(main, mi.BoolType):
        return "must be true or false"
    if isinstance(main, mi.IntType):
        low, high = main.ge, main.le
        if low is not None and high is not None:
            return f"must be a whole number from {low} to {high}"
        return "must be a whole number"
    if isinstance(main, mi.ListType):
        if isinstance(value, list) and main.max_length is not None:
            return f"must be a list of at most {main.max_length} items"
        return "must be a list"
    return "is not valid"


class ModelResponse(Response):
    """A typed answer as ``application/json``, encoded by msgspec."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        try:
            return msgspec.json.encode(content)
        except UnicodeEncodeError:
            # A lone surrogate the client sent us (JSON's \\ud800 escapes decode to one) and
            # that we now echo cannot be UTF-8: it becomes "?" instead of the answer a 500.
            text = json.dumps(msgspec.to_builtins(content), ensure_ascii=False)
            return text.encode("utf-8", "replace")
