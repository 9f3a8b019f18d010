from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkzoom.problems import WebhookRejected
from linkzoom.zoom.webhook_signature import sign, url_validation_response, verify

SECRET = "whsec_test_secret"
BODY = (
    b'{"event":"meeting.deleted","payload":{"account_id":"AAAAAA","object":{"id":12345}},'
    b'"event_ts":1658855950000}'
)
TIMESTAMP = "1658855950"
SENT_AT = datetime.fromtimestamp(1658855950, UTC)
# Computed independently: printf 'v0:1658855950:<BODY>' | openssl dgst -sha256 -hmac <SECRET>
OPENSSL_SIGNATURE = "v0=1ec76e35b79364946dd62f6cad5181265a3899940acd7399fce27a75c3983640"


def zoom_formula(secret: str, timestamp: str, body: bytes) -> str:
    """Zoom's webhook-sample: 'v0=' + HMAC_SHA256(secret, `v0:${ts}:${body}`).hex."""
    message = f"v0:{timestamp}:{body.decode()}"
    return "v0=" + hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def test_sign_matches_an_openssl_computed_vector() -> None:
    assert sign(SECRET, TIMESTAMP, BODY) == OPENSSL_SIGNATURE


def test_url_validation_matches_an_openssl_computed_vector() -> None:
    assert url_validation_response(SECRET, "qgg8vlvZRS6UYooatFL8Aw") == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": "f18fe384261e2c24739b3049c107257c38a5094f873fd62c28da085e693a518f",
    }


def test_verify_accepts_zooms_signature() -> None:
    verify(SECRET, TIMESTAMP, OPENSSL_SIGNATURE, BODY, now=SENT_AT + timedelta(seconds=3))


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [(None, OPENSSL_SIGNATURE), (TIMESTAMP, None), ("", OPENSSL_SIGNATURE), (TIMESTAMP, "")],
)
def test_missing_headers_are_rejected(timestamp: str | None, signature: str | None) -> None:
    with pytest.raises(WebhookRejected, match="missing"):
        verify(SECRET, timestamp, signature, BODY, now=SENT_AT)


@pytest.mark.parametrize(
    "signature",
    [
        OPENSSL_SIGNATURE[:-1] + "1",
        OPENSSL_SIGNATURE.removeprefix("v0="),
        "v1=" + OPENSSL_SIGNATURE.removeprefix("v0="),
        OPENSSL_SIGNATURE.upper(),
        "v0=ünïcödé",
        sign("another secret", TIMESTAMP, BODY),
    ],
)
def test_wrong_signatures_are_rejected(signature: str) -> None:
    with pytest.raises(WebhookRejected, match="does not match"):
        verify(SECRET, TIMESTAMP, signature, BODY, now=SENT_AT)


def test_tampered_body_is_rejected() -> None:
    with pytest.raises(WebhookRejected):
        verify(SECRET, TIMESTAMP, OPENSSL_SIGNATURE, BODY.replace(b"12345", b"12346"), now=SENT_AT)


def test_a_signature_for_another_timestamp_is_rejected() -> None:
    with pytest.raises(WebhookRejected):
        verify(SECRET, "1658855951", OPENSSL_SIGNATURE, BODY, now=SENT_AT)


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (timedelta(0), True),
        (timedelta(minutes=5), True),
        (-timedelta(minutes=5), True),
        (timedelta(minutes=5, seconds=1), False),  # replayed later
        (-timedelta(minutes=5, seconds=1), False),  # from the future
        (timedelta(days=400), False),
    ],
)
def test_replay_window_is_five_minutes_either_side(offset: timedelta, accepted: bool) -> None:
    now = SENT_AT + offset
    if accepted:
        verify(SECRET, TIMESTAMP, OPENSSL_SIGNATURE, BODY, now=now)
    else:
        with pytest.raises(WebhookRejected, match="replay window"):
            verify(SECRET, TIMESTAMP, OPENSSL_SIGNATURE, BODY, now=now)


def test_millisecond_timestamps_are_understood() -> None:
    millis = "1658855950123"
    signature = sign(SECRET, millis, BODY)
    verify(SECRET, millis, signature, BODY, now=SENT_AT + timedelta(seconds=1))
    with pytest.raises(WebhookRejected, match="replay window"):
        verify(SECRET, millis, signature, BODY, now=SENT_AT + timedelta(minutes=6))


@pytest.mark.parametrize("timestamp", ["yesterday", "-1658855950", "1658855950.5", "١٢٣"])
def test_non_numeric_timestamps_are_rejected(timestamp: str) -> None:
    with pytest.raises(WebhookRejected):
        verify(SECRET, timestamp, sign(SECRET, timestamp, BODY), BODY, now=SENT_AT)


def test_custom_max_age() -> None:
    with pytest.raises(WebhookRejected):
        verify(
            SECRET,
            TIMESTAMP,
            OPENSSL_SIGNATURE,
            BODY,
            now=SENT_AT + timedelta(seconds=61),
            max_age=timedelta(minutes=1),
        )


def test_rejection_is_a_401_without_bearer_challenge() -> None:
    with pytest.raises(WebhookRejected) as caught:
        verify(SECRET, TIMESTAMP, "v0=bad", BODY, now=SENT_AT)
    assert caught.value.status == 401
    assert caught.value.code == "webhook-rejected"
    assert caught.value.headers() == {}


def test_an_empty_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError):
        sign("", TIMESTAMP, BODY)
    with pytest.raises(ValueError):
        url_validation_response("", "plain")


@given(
    secret=st.text(min_size=1),
    seconds=st.integers(min_value=0, max_value=4_000_000_000),
    body=st.binary(),
)
def test_sign_follows_zooms_formula_and_verifies(secret: str, seconds: int, body: bytes) -> None:
    timestamp = str(seconds)
    signature = sign(secret, timestamp, body)
    if body.isascii():  # the formula above decodes the body as text, as Zoom's sample does
        assert signature == zoom_formula(secret, timestamp, body)
    verify(secret, timestamp, signature, body, now=datetime.fromtimestamp(seconds, UTC))


@given(body=st.binary(min_size=1), index=st.integers(min_value=0), bit=st.integers(0, 7))
def test_any_flipped_bit_in_the_body_is_rejected(body: bytes, index: int, bit: int) -> None:
    signature = sign(SECRET, TIMESTAMP, body)
    position = index % len(body)
    tampered = bytearray(body)
    tampered[position] ^= 1 << bit
    with pytest.raises(WebhookRejected):
        verify(SECRET, TIMESTAMP, signature, bytes(tampered), now=SENT_AT)


@given(secret=st.text(min_size=1), plain=st.text())
def test_url_validation_is_hmac_of_the_plain_token(secret: str, plain: str) -> None:
    answer = url_validation_response(secret, plain)
    expected = hmac.new(secret.encode(), plain.encode(), hashlib.sha256).hexdigest()
    assert answer == {"plainToken": plain, "encryptedToken": expected}
