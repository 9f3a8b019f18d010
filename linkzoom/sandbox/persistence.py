"""Optional JSON persistence of the sandbox state, so ``make run`` survives restarts.

Nothing is written per request: a change schedules one save a second later (further changes in
that second ride along), the JSON is built in the event loop (a consistent snapshot, since no
await can interleave) and written from a thread, atomically via rename. Shutdown saves
synchronously. Authorization codes, the request log and counters are not kept. No bearer secret
is written either: tokens are stored as digests, and each meeting's start-URL key (which Zoom
rotates anyway) is dropped and issued afresh on load.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from . import ids
from .records import Meeting, Occurrence

FORMAT_VERSION = 1
SAVE_DELAY_SECONDS = 1.0


def encode(value: Any) -> Any:
    """Records to JSON-ready values; datetimes become ``{"$dt": iso}``."""
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    return value


def _decode_hook(obj: dict[str, Any]) -> Any:
    if obj.keys() == {"$dt"}:
        return datetime.fromisoformat(obj["$dt"])
    return obj


def decode_text(text: str) -> dict[str, Any]:
    data = json.loads(text, object_hook=_decode_hook)
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise ValueError("not a sandbox state file of a known version")
    return data


def meeting_to_json(meeting: Meeting) -> dict[str, Any]:
    data: dict[str, Any] = encode(meeting)
    del data["start_zak"]
    return data


def meeting_from_json(data: dict[str, Any]) -> Meeting:
    occurrences = {k: Occurrence(**v) for k, v in data.pop("occurrences").items()}
    return Meeting(**data, occurrences=occurrences, start_zak=ids.token("sbxzak_"))


class StateFile:
    """Debounced saving of ``snapshot()`` to ``path``; inert when ``path`` is None."""

    def __init__(self, path: Path | None, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.path = path
        self._snapshot = snapshot
        self._timer: asyncio.TimerHandle | None = None
        self._writing: asyncio.Task[None] | None = None

    def read(self) -> dict[str, Any] | None:
        if self.path is None or not self.path.exists():
            return None
        return decode_text(self.path.read_text(encoding="utf-8"))

    def mark_dirty(self) -> None:
        if self.path is None or self._timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._timer = loop.call_later(SAVE_DELAY_SECONDS, self._save_soon)

    def _save_soon(self) -> None:
        self._timer = None
        assert self.path is not None
        text = json.dumps(encode(self._snapshot()))
        if self._writing is not None and not self._writing.done():
            # A slow disk is still busy with the previous save: try again a bit later.
            self.mark_dirty()
            return
        self._writing = asyncio.get_running_loop().create_task(
            asyncio.to_thread(_write_atomically, self.path, text)
        )

    async def aclose(self) -> None:
        """Cancel the pending timer and save now (shutdown)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._writing is not None:
            await asyncio.gather(self._writing, return_exceptions=True)
        self.save_now()

    def save_now(self) -> None:
        if self.path is not None:
            _write_atomically(self.path, json.dumps(encode(self._snapshot())))


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
