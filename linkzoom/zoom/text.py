"""Zoom's rules for the text we send it (pure): one line, no characters a database or JSON
encoder refuses, and within Zoom's length limits as Zoom counts them."""

from __future__ import annotations

import unicodedata

TOPIC_LIMIT = 200  # Zoom's maxLength for topic
_DROPPED = frozenset({"Cc", "Cs"})  # control characters, surrogates


def clean_text(text: str) -> str:
    """One line: runs of whitespace (line breaks too) made one space, control characters and
    lone surrogates (which no database or JSON encoder accepts) dropped."""
    if text.isprintable():  # the usual case: no control, surrogate or odd space characters
        return " ".join(text.split())
    kept = (ch for ch in text if ch.isspace() or unicodedata.category(ch) not in _DROPPED)
    return " ".join("".join(kept).split())


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control character or a lone surrogate."""
    return not text.isprintable() and any(unicodedata.category(ch) in _DROPPED for ch in text)


def fit(text: str, limit: int = TOPIC_LIMIT) -> str:
    """``text`` cut to ``limit`` UTF-16 code units, ending in "…" when cut.

    Zoom counts length in UTF-16 units (it is a Java service), so an emoji counts twice; cutting
    by code point never splits a surrogate pair.
    """
    if utf16_length(text) <= limit:
        return text
    kept, used = [], 1  # room for the ellipsis
    for ch in text:
        used += utf16_length(ch)
        if used > limit:
            break
        kept.append(ch)
    return "".join(kept).rstrip() + "…"


def utf16_length(text: str) -> int:
    """The length Zoom sees."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)
