from __future__ import annotations

import base64
import hashlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkzoom.zoom.pkce import challenge_s256, new_verifier

UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]+")
verifiers = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~",
    min_size=43,
    max_size=128,
)


def test_rfc7636_appendix_b_vector() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert challenge_s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.mark.parametrize("length", [43, 64, 128])
def test_verifier_has_requested_length_of_unreserved_characters(length: int) -> None:
    verifier = new_verifier(length)
    assert len(verifier) == length
    assert UNRESERVED.fullmatch(verifier)


def test_default_verifier_is_valid_and_fresh_each_time() -> None:
    verifiers_made = {new_verifier() for _ in range(50)}
    assert len(verifiers_made) == 50
    assert all(43 <= len(v) <= 128 and UNRESERVED.fullmatch(v) for v in verifiers_made)


@pytest.mark.parametrize("length", [0, 42, 129])
def test_verifier_length_outside_rfc_range_is_refused(length: int) -> None:
    with pytest.raises(ValueError):
        new_verifier(length)


@pytest.mark.parametrize("verifier", ["short", "a" * 129, "a" * 42 + "!", "ä" * 43, "a" * 42 + " "])
def test_challenge_refuses_invalid_verifiers(verifier: str) -> None:
    with pytest.raises(ValueError):
        challenge_s256(verifier)


@given(verifiers)
def test_challenge_is_unpadded_base64url_sha256(verifier: str) -> None:
    challenge = challenge_s256(verifier)
    assert len(challenge) == 43 and "=" not in challenge
    decoded = base64.urlsafe_b64decode(challenge + "=")
    assert decoded == hashlib.sha256(verifier.encode()).digest()
