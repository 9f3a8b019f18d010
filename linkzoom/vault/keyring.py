"""The key ring: named AES-256 keys, the first one primary (used for every new seal).

A ring comes from ``LINKZOOM_KEYS`` (``kid:base64key,…``) or, when that is unset, from a key file
under the var directory that is created on first start (mode 0600). Old keys stay in the ring so
rows sealed under them still open until ``linkzoom keys rotate`` has re-sealed everything.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from linkzoom.config import ConfigError, Settings

log = logging.getLogger(__name__)

KEY_BYTES = 32
_KID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True, kw_only=True)
class Key:
    kid: str
    secret: bytes = field(repr=False)


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[Key, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a key ring needs at least one key")
        kids = [k.kid for k in self.keys]
        if len(set(kids)) != len(kids):
            raise ValueError("key ids must be unique")

    @property
    def primary(self) -> Key:
        return self.keys[0]

    def find(self, kid: str) -> Key | None:
        return next((k for k in self.keys if k.kid == kid), None)

    def with_new_primary(self, key: Key) -> KeyRing:
        return KeyRing((key, *self.keys))

    def render(self) -> str:
        return ",".join(f"{k.kid}:{base64.b64encode(k.secret).decode()}" for k in self.keys)

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """Parse ``kid:base64key,…``; raises ``ValueError`` with a message naming no key bytes."""
        keys = []
        for position, item in enumerate(filter(None, (p.strip() for p in text.split(","))), 1):
            kid, sep, encoded = item.partition(":")
            if not sep or not _KID.match(kid):
                raise ValueError(f"entry {position}: expected kid:base64key with a short key id")
            try:
                secret = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"key {kid!r} is not valid base64") from None
            if len(secret) != KEY_BYTES:
                raise ValueError(f"key {kid!r} must be {KEY_BYTES} bytes, got {len(secret)}")
            keys.append(Key(kid=kid, secret=secret))
        return cls(tuple(keys))


def generate_key(now: datetime | None = None) -> Key:
    moment = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")
    return Key(kid=f"k{moment}-{secrets.token_hex(3)}", secret=secrets.token_bytes(KEY_BYTES))


class KeySource:
    """Where the ring lives. File rings are re-read when a row names a key we do not know yet,
    so a rotation done by ``linkzoom keys rotate`` reaches running processes without restart."""

    def __init__(self, settings: Settings) -> None:
        self._env_keys = settings.keys
        # A generated file serves one host's processes, so only a local (SQLite) database.
        self._shared_file_allowed = settings.is_sqlite
        self.path = settings.var_dir / "keys"
        self._lock = threading.Lock()
        self._last_reload = 0.0
        self.ring = self._load()

    @property
    def from_environment(self) -> bool:
        return self._env_keys is not None

    def _load(self) -> KeyRing:
        if self._env_keys is not None:
            try:
                return KeyRing.parse(self._env_keys)
            except ValueError as exc:
                raise ConfigError("KEYS", str(exc)) from None
        if not self._shared_file_allowed:
            raise ConfigError(
                "KEYS",
                "required with PostgreSQL: every process (API and worker, on every host) must "
                "use the same key ring, which a generated per-host file cannot promise",
            )
        if not self.path.exists() and create_key_file(self.path, KeyRing((generate_key(),))):
            log.warning(
                "no LINKZOOM_KEYS set: generated a key ring at %s; back it up, without it the "
                "stored Zoom grants cannot be read",
                self.path,
            )
        try:
            return KeyRing.parse(self.path.read_text())
        except ValueError as exc:
            raise ConfigError("KEYS", f"key file {self.path}: {exc}") from None

    def find(self, kid: str) -> Key | None:
        key = self.ring.find(kid)
        if key is None and not self.from_environment:
            with self._lock:
                if time.monotonic() - self._last_reload > 1.0:
                    self._last_reload = time.monotonic()
                    self.ring = self._load()
            key = self.ring.find(kid)
        return key

    def replace(self, ring: KeyRing) -> None:
        if self.from_environment:
            raise RuntimeError("the key ring comes from LINKZOOM_KEYS; change it there")
        write_key_file(self.path, ring)
        self.ring = ring


def create_key_file(path: Path, ring: KeyRing) -> bool:
    """Create the key file unless it exists; ``False`` when another process got there first
    (then its ring is the one to read). Two processes starting together on one host both find
    no file; a hard link is an atomic create-if-absent, so exactly one ring is ever written and
    both read it back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    _write_synced(candidate, ring)
    try:
        os.link(candidate, path)
    except FileExistsError:
        return False
    finally:
        candidate.unlink()
    return True


def write_key_file(path: Path, ring: KeyRing) -> None:
    """Write atomically with mode 0600: a crash leaves the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    _write_synced(temporary, ring)
    os.replace(temporary, path)


def _write_synced(path: Path, ring: KeyRing) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(ring.render() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
