"""A real Radicale CalDAV server (PyPI ``radicale``) for tests: its own process on a free
loopback port, its own storage folder, htpasswd logins. Tests change calendars through it with
the ``caldav`` client, as any other CalDAV client would::

    server = start_radicale(tmp_path, {"alice": "alice-password"})
    url = server.make_calendar("alice", "work")
    server.client("alice").calendar(url=url).save_event(ical)

:meth:`RadicaleServer.forget_sync_tokens` removes the server's record of the sync tokens it
issued (Radicale keeps them in each collection's ``.Radicale.cache/sync-token`` folder, pruned
after ``[storage] max_sync_token_age``): the next sync from an old token is answered with the
``DAV:valid-sync-token`` precondition (RFC 6578 §3.2), as after that age has passed.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caldav.davclient import DAVClient

from tests.support.processes import Process, free_port, python_env

# Radicale's rights file (its "from_file" rights backend; first matching section wins): users
# own their principal and calendars, except calendars named ro-…, which they may only read.
RIGHTS = """\
[read-only-calendars]
user: .+
collection: {user}/ro-[^/]+
permissions: r

[own-calendars]
user: .+
collection: {user}(/[^/]+)?
permissions: RrWw

[root]
user: .+
collection:
permissions: R
"""


@dataclass
class RadicaleServer:
    url: str
    storage: Path
    passwords: dict[str, str]
    process: Process

    def client(self, user: str, password: str | None = None) -> DAVClient:
        return DAVClient(
            url=f"{self.url}/{user}/", username=user, password=password or self.passwords[user]
        )

    def make_calendar(self, user: str, name: str) -> str:
        """A new calendar collection of ``user``; its URL."""
        client: Any = self.client(user)
        calendar: Any = client.principal().make_calendar(name=name, cal_id=name)
        return str(calendar.url)

    def calendar(self, user: str, url: str) -> Any:
        client: Any = self.client(user)
        return client.calendar(url=url)

    def seed_calendar(self, user: str, name: str, objects: Mapping[str, str]) -> str:
        """A calendar written straight into the storage folder, as Radicale's multifilesystem
        backend keeps it (a folder per collection, ``.Radicale.props``, one ``.ics`` per
        object): how a test makes a calendar its user may only read. Its URL."""
        folder = self.storage / "collection-root" / user / name
        folder.mkdir(parents=True)
        (folder / ".Radicale.props").write_text(
            json.dumps({"D:displayname": name, "tag": "VCALENDAR"})
        )
        for uid, data in objects.items():
            (folder / f"{uid}.ics").write_text(data)
        return f"{self.url}/{user}/{name}/"

    def forget_sync_tokens(self) -> None:
        for folder in self.storage.rglob("sync-token"):
            if folder.is_dir() and folder.parent.name == ".Radicale.cache":
                shutil.rmtree(folder)

    def stop(self) -> None:
        self.process.stop()


def start_radicale(folder: Path, passwords: Mapping[str, str]) -> RadicaleServer:
    folder.mkdir(parents=True, exist_ok=True)
    storage = folder / "collections"
    users = folder / "users"
    users.write_text("".join(f"{user}:{password}\n" for user, password in passwords.items()))
    rights = folder / "rights"
    rights.write_text(RIGHTS)
    port = free_port()
    config = folder / "config"
    config.write_text(
        "[server]\n"
        f"hosts = 127.0.0.1:{port}\n"
        "[auth]\n"
        "type = htpasswd\n"
        f"htpasswd_filename = {users}\n"
        "htpasswd_encryption = plain\n"
        # No pause after a refused login (Radicale's guard against guessing, 1 s by default):
        # a new caldav client's first request goes without credentials, to learn the scheme
        # from the 401, and the tests make many clients.
        "delay = 0\n"
        "[rights]\n"
        "type = from_file\n"
        f"file = {rights}\n"
        "[storage]\n"
        f"filesystem_folder = {storage}\n"
        "[logging]\n"
        "level = warning\n"
    )
    url = f"http://127.0.0.1:{port}"
    process = Process(
        name="radicale",
        args=[sys.executable, "-m", "radicale", "--config", str(config)],
        env=python_env({}),
        log_path=folder / "radicale.log",
        ready_url=url + "/.web/",
    ).start()
    return RadicaleServer(url=url, storage=storage, passwords=dict(passwords), process=process)
