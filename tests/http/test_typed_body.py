"""Typed bodies: one msgspec pass when the body is good; when it is not, the same field-level
422 the hand-written checks gave (every bad field, in declaration order, our own wording)."""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar

import msgspec
import pytest

from linkzoom.http.typed_body import Answer, Body, ModelResponse, decode_model, same
from linkzoom.problems import BadRequest, FieldError, ValidationFailed

Short = Annotated[str, msgspec.Meta(max_length=2)]


class Sample(Body, frozen=True):
    MESSAGES: ClassVar[dict[str, str]] = {"when": "must be an instant"}

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=5)]
    note: Annotated[str, msgspec.Meta(max_length=3)] | None = None
    count: Annotated[int, msgspec.Meta(ge=1, le=9)] | None = None
    flag: bool = False
    when: str | None = None
    items: Annotated[list[Short], msgspec.Meta(max_length=3)] | None = None


def not_x(body: Sample) -> Sample:
    """A check types cannot express."""
    if body.note == "x":
        raise ValidationFailed.one("note", "must not be x")
    return body


def errors(raw: bytes) -> list[FieldError]:
    with pytest.raises(ValidationFailed) as refused:
        decode_model(raw, Sample, not_x)
    return list(refused.value.errors)


def test_a_good_body_decodes_in_one_pass() -> None:
    body = decode_model(b'{"name": "ab", "count": 3, "unknown": [1]}', Sample, same)
    assert body == Sample(name="ab", count=3)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, [("name", "is required")]),
        ({"name": None}, [("name", "is required")]),
        ({"name": ""}, [("name", "must be a non-empty string")]),
        ({"name": 5}, [("name", "must be a non-empty string")]),
        ({"name": "abcdef"}, [("name", "must be at most 5 characters")]),
        ({"name": "a", "note": 1}, [("note", "must be a string")]),
        ({"name": "a", "count": True}, [("count", "must be a whole number from 1 to 9")]),
        ({"name": "a", "count": 2.5}, [("count", "must be a whole number from 1 to 9")]),
        ({"name": "a", "flag": None}, [("flag", "must be true or false")]),
        ({"name": "a", "when": 3}, [("when", "must be an instant")]),
        ({"name": "a", "items": ["ok", 1, "abc"]}, [("items.1", "must be a string"),
                                                   ("items.2", "must be at most 2 characters")]),
        ({"name": "a", "items": ["a"] * 4}, [("items", "must be a list of at most 3 items")]),
        ({"name": "a", "items": "a"}, [("items", "must be a list")]),
        # Type errors and the semantic check's, together, in declaration order.
        ({"name": "a", "count": 0, "note": "x"}, [("note", "must not be x"),
                                                  ("count", "must be a whole number from 1 to 9")]),
        # A required field is bad: the rest cannot be judged as a whole, types only.
        ({"count": 0, "note": "x"}, [("name", "is required"),
                                     ("count", "must be a whole number from 1 to 9")]),
    ],
)  # fmt: skip
def test_each_bad_field_is_named_with_our_message(
    data: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert [(e.field, e.message) for e in errors(json.dumps(data).encode())] == expected


def test_what_msgspec_cannot_read_gets_the_answer_it_always_had() -> None:
    # A lone surrogate escape is JSON the standard library reads: a field-level answer.
    assert errors(b'{"name": "a", "note": "\\ud800\\ud800\\ud800\\ud800"}')[0].field == "note"
    assert errors(b"[1]") == [FieldError(field="", message="expected a JSON object")]
    assert errors(b"1e999") == [FieldError(field="", message="expected a JSON object")]
    for raw in (b"{", b"\xff", b""):
        with pytest.raises(BadRequest):
            decode_model(raw, Sample, same)


class Echo(Answer, frozen=True):
    text: str


def test_an_answer_echoing_a_lone_surrogate_is_encoded_not_a_500() -> None:
    assert json.loads(bytes(ModelResponse(Echo(text="a\ud800b")).body)) == {"text": "a?b"}
    assert ModelResponse(Echo(text="é")).body == '{"text":"é"}'.encode()
