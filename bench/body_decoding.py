"""Decode and validate one compose body: msgspec (what the API uses), pydantic, and the
hand-written field checks the API had before (kept here, verbatim in behaviour, as the
baseline). Each figure is the best of ``--repeat`` timeit runs; ratios are against the baseline
measured in the same run.

    .venv/bin/python bench/body_decoding.py [--number 100000] [--repeat 7]

pydantic comes with the ``bench`` extra (``make bench``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import timeit
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from linkzoom.compose.bodies import MAX_DURATION_MINUTES, MAX_TOPIC_INPUT, ComposeBody
from linkzoom.compose.inputs import order_of
from linkzoom.compose.meeting_plan import is_time_zone
from linkzoom.compose.models import ComposeOrder
from linkzoom.http.typed_body import decode_model
from linkzoom.problems import FieldError, ValidationFailed

BODY = json.dumps(
    {"topic": "Budget review", "duration_minutes": 45, "timezone": "Europe/Berlin"}
).encode()
BAD = json.dumps({"topic": [], "duration_minutes": -1, "timezone": "x"}).encode()


def hand_checked(raw: bytes) -> ComposeOrder:
    """The API's compose decoding before msgspec: ``json.loads`` and checks field by field."""
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValidationFailed.one("", "expected a JSON object")
    return _compose_order(data)


def _compose_order(data: Mapping[str, Any]) -> ComposeOrder:
    errors: list[FieldError] = []
    topic = data.get("topic")
    if topic is not None and not isinstance(topic, str):
        errors.append(FieldError(field="topic", message="must be a string"))
    elif topic is not None and len(topic) > MAX_TOPIC_INPUT:
        errors.append(
            FieldError(field="topic", message=f"must be at most {MAX_TOPIC_INPUT} characters")
        )
    duration = data.get("duration_minutes")
    if duration is not None and (
        isinstance(duration, bool)
        or not isinstance(duration, int)
        or not 1 <= duration <= MAX_DURATION_MINUTES
    ):
        errors.append(FieldError(field="duration_minutes", message="must be a whole number"))
    timezone = data.get("timezone")
    if timezone is not None and (not isinstance(timezone, str) or not is_time_zone(timezone)):
        errors.append(FieldError(field="timezone", message="must be an IANA time zone name"))
    if errors:
        raise ValidationFailed(errors)
    return ComposeOrder(topic=topic, duration_minutes=duration, timezone=timezone)


def with_msgspec(raw: bytes) -> ComposeOrder:
    return decode_model(raw, ComposeBody, order_of)


def pydantic_decoder() -> Callable[[bytes], ComposeOrder]:
    from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

    class PydanticCompose(BaseModel):
        model_config = ConfigDict(frozen=True, strict=True)
        topic: Annotated[str, Field(max_length=MAX_TOPIC_INPUT)] | None = None
        duration_minutes: Annotated[StrictInt, Field(ge=1, le=MAX_DURATION_MINUTES)] | None = None
        timezone: str | None = None

    def decode(raw: bytes) -> ComposeOrder:
        try:
            body = PydanticCompose.model_validate_json(raw)
        except ValidationError as exc:
            raise ValidationFailed(
                [
                    FieldError(field=".".join(map(str, e["loc"])), message=e["msg"])
                    for e in exc.errors()
                ]
            ) from None
        if body.timezone is not None and not is_time_zone(body.timezone):
            raise ValidationFailed.one("timezone", "must be an IANA time zone name")
        return ComposeOrder(
            topic=body.topic, duration_minutes=body.duration_minutes, timezone=body.timezone
        )

    return decode


def best(function: Callable[[bytes], object], raw: bytes, number: int, repeat: int) -> float:
    def run() -> None:
        with contextlib.suppress(ValidationFailed):
            function(raw)

    return min(timeit.repeat(run, number=number, repeat=repeat)) / number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    candidates = {
        "hand checks (before)": hand_checked,
        "msgspec (now)": with_msgspec,
        "pydantic": pydantic_decoder(),
    }
    for name, raw in (("valid body", BODY), ("invalid body (3 bad fields)", BAD)):
        print(f"{name}: {raw.decode()}")
        baseline = best(hand_checked, raw, args.number, args.repeat)
        for label, function in candidates.items():
            seconds = (
                baseline
                if function is hand_checked
                else best(function, raw, args.number, args.repeat)
            )
            print(f"  {label:22} {seconds * 1e6:7.2f} us  {seconds / baseline:.2f}x before")


if __name__ == "__main__":
    main()
