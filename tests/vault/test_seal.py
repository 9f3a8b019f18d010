from __future__ import annotations

from pathlib import Path

import pytest

from linkzoom.config import Settings
from linkzoom.problems import SealedDataUnreadable
from linkzoom.vault.keyring import KeySource, generate_key
from linkzoom.vault.seal import Sealer, preference_context
from tests.support.keys import new_keyring


def sealer(tmp_path: Path, keys: str | None = None) -> Sealer:
    return Sealer(KeySource(Settings(var_dir=tmp_path, keys=keys or new_keyring())))


def test_round_trip_and_fresh_nonce_each_time(tmp_path: Path) -> None:
    vault = sealer(tmp_path)
    context = preference_context(1, "Zoom", "oauth")
    kid, first = vault.seal(b"secret", context)
    _, second = vault.seal(b"secret", context)
    assert first != second
    assert b"secret" not in first
    assert vault.open(kid, first, context) == b"secret"


@pytest.mark.parametrize(
    "other",
    [
        preference_context(2, "Zoom", "oauth"),
        preference_context(1, "Zoom", "other"),
        preference_context(1, "Other", "oauth"),
        preference_context(11, "Zoom", "oauth"),
    ],
)
def test_ciphertext_does_not_open_in_another_context(tmp_path: Path, other: bytes) -> None:
    vault = sealer(tmp_path)
    kid, sealed = vault.seal(b"secret", preference_context(1, "Zoom", "oauth"))
    with pytest.raises(SealedDataUnreadable):
        vault.open(kid, sealed, other)


def test_contexts_do_not_collide_by_concatenation() -> None:
    assert preference_context(1, "Zoomo", "auth") != preference_context(1, "Zoom", "oauth")


def test_tampering_is_detected(tmp_path: Path) -> None:
    vault = sealer(tmp_path)
    context = preference_context(1, "Zoom", "oauth")
    kid, sealed = vault.seal(b"secret", context)
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SealedDataUnreadable):
        vault.open(kid, tampered, context)
    with pytest.raises(SealedDataUnreadable):
        vault.open(kid, sealed[:5], context)


def test_unknown_key_id_is_a_clear_error(tmp_path: Path) -> None:
    vault = sealer(tmp_path)
    with pytest.raises(SealedDataUnreadable, match="unknown key"):
        vault.open(generate_key().kid, b"x" * 40, b"")
