from __future__ import annotations

import base64
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from linkzoom.config import ConfigError, Settings
from linkzoom.vault.keyring import KeyRing, KeySource, create_key_file, generate_key


def test_ring_round_trips_and_primary_is_first() -> None:
    ring = KeyRing((generate_key(), generate_key()))
    parsed = KeyRing.parse(ring.render())
    assert parsed == ring
    assert parsed.primary == ring.keys[0]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "nokey",
        "k1:not-base64!!",
        "k1:" + base64.b64encode(b"short").decode(),
        "bad id:" + base64.b64encode(bytes(32)).decode(),
        "k1:{k},k1:{k}".format(k=base64.b64encode(bytes(32)).decode()),
    ],
)
def test_bad_rings_are_refused_without_echoing_key_bytes(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        KeyRing.parse(text)
    secret_part = text.partition(":")[2]
    if len(secret_part) > 8:
        assert secret_part not in str(caught.value)


def test_key_repr_hides_the_secret() -> None:
    key = generate_key()
    assert base64.b64encode(key.secret).decode() not in repr(key)
    assert repr(key.secret) not in repr(key)


def test_missing_ring_is_generated_with_owner_only_permissions(tmp_path: Path) -> None:
    source = KeySource(Settings(var_dir=tmp_path))
    mode = stat.S_IMODE((tmp_path / "keys").stat().st_mode)
    assert mode == 0o600
    assert KeySource(Settings(var_dir=tmp_path)).ring == source.ring


def test_bad_environment_ring_stops_start_up_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        KeySource(Settings(var_dir=tmp_path, keys="k1:zzz"))
    assert caught.value.variable == "LINKZOOM_KEYS"


def test_file_ring_is_reloaded_when_a_row_names_an_unknown_key(tmp_path: Path) -> None:
    running = KeySource(Settings(var_dir=tmp_path))
    rotating = KeySource(Settings(var_dir=tmp_path))
    new = generate_key()
    rotating.replace(rotating.ring.with_new_primary(new))
    assert running.find(new.kid) == new


def test_postgresql_without_a_shared_ring_stops_start_up(tmp_path: Path) -> None:
    """Each host would otherwise generate its own ring and not read the others' seals."""
    settings = Settings(var_dir=tmp_path, database_url="postgresql://db.internal/linkzoom")
    with pytest.raises(ConfigError) as caught:
        KeySource(settings)
    assert caught.value.variable == "LINKZOOM_KEYS" and "PostgreSQL" in str(caught.value)
    assert not (tmp_path / "keys").exists()
    keys = KeyRing((generate_key(),)).render()
    assert KeySource(settings.replace(keys=keys)).ring == KeyRing.parse(keys)


def test_processes_starting_together_end_up_with_one_ring(tmp_path: Path) -> None:
    """Twelve processes racing to create the file (each in its own interpreter) all read the
    one ring that was written; before, the last os.replace won and the others kept theirs."""
    script = (
        "import sys; from pathlib import Path; from linkzoom.config import Settings; "
        "from linkzoom.vault.keyring import KeySource; "
        "print(KeySource(Settings(var_dir=Path(sys.argv[1]))).ring.primary.kid)"
    )
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(12)
    ]
    kids = {racer.communicate(timeout=60)[0].strip() for racer in racers}
    assert len(kids) == 1
    assert kids == {KeyRing.parse((tmp_path / "keys").read_text()).primary.kid}
    assert [p.name for p in tmp_path.iterdir()] == ["keys"]  # no candidate files left over


def test_losing_the_race_reads_the_winners_ring(tmp_path: Path) -> None:
    winner = KeyRing((generate_key(),))
    assert create_key_file(tmp_path / "keys", winner)
    assert not create_key_file(tmp_path / "keys", KeyRing((generate_key(),)))
    assert KeySource(Settings(var_dir=tmp_path)).ring == winner
