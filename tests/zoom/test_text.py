"""Zoom's text rules: one clean line, cut to Zoom's limit as Zoom counts it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkzoom.zoom.text import clean_text, fit, has_control, utf16_length

# Pure and fast, but a loaded two-core machine can stall any example past the 200 ms default.
no_deadline = settings(deadline=None)


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Budget\r\nreview", "Budget review"),
        ("  Q3   plan  ", "Q3 plan"),
        ("a\x00b\x07c", "abc"),
        ("line\u2028break", "line break"),
        ("lone \ud800 surrogate", "lone surrogate"),
        ("Caf\u00e9 \U0001f389", "Caf\u00e9 \U0001f389"),
    ],
)
def test_clean_text(text: str, expected: str) -> None:
    assert clean_text(text) == expected


@no_deadline
@given(st.text(max_size=600))
def test_fit_stays_within_zooms_limit_and_keeps_a_prefix(text: str) -> None:
    fitted = fit(text)
    assert utf16(fitted) <= 200
    if utf16(text) <= 200:
        assert fitted == text
    else:
        assert fitted.endswith("…") and text.startswith(fitted[:-1].rstrip())


@no_deadline
@given(st.text(alphabet=st.characters(), max_size=300))
def test_utf16_length_is_what_java_counts(text: str) -> None:
    assert utf16_length(text) == utf16(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("AAMkADk/create==", False), ("with space", False), ("nul\x00", True), ("\ud800", True)],
)
def test_has_control(text: str, expected: bool) -> None:
    assert has_control(text) is expected
