"""A real OpenLDAP ``slapd`` on a loopback port, for tests that must talk to a directory.

:func:`running_slapd` writes a private ``slapd.conf`` and MDB database into a scratch directory,
starts Debian's ``/usr/sbin/slapd`` in the foreground (``-d 0``) listening only on
``ldap://127.0.0.1:<free port>/``, loads the fixture entries through the LDAP protocol with
``ldapadd`` (so the memberOf overlay sees them, as it would see an administrator's changes), and
stops the process at exit. Nothing under ``/etc/ldap`` is written and the system slapd, if any,
is left alone; the stock schema files are only read.

The directory deliberately mimics what login code meets in the field:

* ``allow bind_anon_dn``: like Active Directory, a simple bind with a DN and an empty password
  succeeds as an anonymous session, so a login that forgets to refuse empty passwords is
  exploitable here too.
* the memberOf overlay maintains ``memberOf`` for ``groupOfNames`` groups (the AD way), but
  ACLs hide ``memberOf`` on bob's entry (as a server without the overlay would) and hide the
  ``linkzoom-auditors`` group entry itself, so each way of finding group membership can be
  tested on its own.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from linkzoom.config import LdapSettings

SLAPD = Path("/usr/sbin/slapd")
CLIENT_TOOLS = ("ldapadd", "ldapwhoami")
MODULE_DIR = Path("/usr/lib/ldap")
SCHEMA_DIR = Path("/etc/ldap/schema")
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")

BASE_DN = "dc=example,dc=org"
PEOPLE = f"ou=people,{BASE_DN}"
GROUPS = f"ou=groups,{BASE_DN}"
ROOT_DN = f"cn=admin,{BASE_DN}"
USER_DN_TEMPLATE = f"uid={{username}},{PEOPLE}"
START_TIMEOUT_SECONDS = 15.0


class SlapdUnavailable(RuntimeError):
    """slapd or the OpenLDAP client tools are missing, or slapd would not start."""


@dataclass(frozen=True, kw_only=True)
class Account:
    uid: str
    password: str
    display_name: str
    email: str

    @property
    def dn(self) -> str:
        return f"uid={self.uid},{PEOPLE}"


ACCOUNTS = (
    Account(uid="alice", password="Down the rabbit-hole 1865", display_name="Alice Liddell",
            email="alice@example.org"),
    Account(uid="bob", password="can we fix it? yes!", display_name="Bob Builder",
            email="bob@example.org"),
    Account(uid="chloé", password="crème brûlée ☕ 2024", display_name="Chloé Dubois",
            email="chloe@example.org"),
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class SlapdServer:
    url: str
    base_dn: str
    user_dn_template: str
    admin_group: str  # groupOfNames, member bob (whose memberOf is hidden)
    auditors_group: str  # groupOfNames, member chloé; the group entry itself is unreadable
    staff_group: str  # groupOfUniqueNames, uniqueMember alice
    ops_group: str  # posixGroup, memberUid alice
    root_dn: str
    root_password: str
    passwords: Mapping[str, str]  # uid -> password
    workdir: Path

    def settings(self, **changes: object) -> LdapSettings:
        """LdapSettings for this server (DN-template mode); ``changes`` override fields."""
        base = LdapSettings(
            url=self.url,
            base_dn=self.base_dn,
            user_dn_template=self.user_dn_template,
            admin_group=self.admin_group,
            timeout_seconds=5.0,
        )
        return dataclasses.replace(base, **changes)  # type: ignore[arg-type]

    def whoami(self, dn: str, password: str) -> subprocess.CompletedProcess[str]:
        """``ldapwhoami`` as an independent client: it sends empty passwords, ldap3 will not."""
        return subprocess.run(
            ["ldapwhoami", "-x", "-H", self.url, "-D", dn, "-w", password],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip


@contextmanager
def running_slapd(workdir: Path) -> Iterator[SlapdServer]:
    """Start slapd with the fixture directory loaded; stop it (terminate, then kill) at exit."""
    _require_tools()
    root_password = base64.urlsafe_b64encode(os.urandom(18)).decode()
    (workdir / "root.pw").write_text(root_password)  # no newline: ldapadd -y sends it verbatim
    (workdir / "data.ldif").write_text(_fixture_ldif(), encoding="utf-8")
    for attempt in range(3):  # the free port can be taken between probing and slapd's bind()
        port = _free_port()
        server = SlapdServer(
            url=f"ldap://127.0.0.1:{port}/",
            base_dn=BASE_DN,
            user_dn_template=USER_DN_TEMPLATE,
            admin_group=f"cn=linkzoom-admins,{GROUPS}",
            auditors_group=f"cn=linkzoom-auditors,{GROUPS}",
            staff_group=f"cn=linkzoom-staff,{GROUPS}",
            ops_group=f"cn=linkzoom-ops,{GROUPS}",
            root_dn=ROOT_DN,
            root_password=root_password,
            passwords={account.uid: account.password for account in ACCOUNTS},
            workdir=workdir,
        )
        data = workdir / f"mdb-{attempt}"
        data.mkdir()
        config = workdir / "slapd.conf"
        config.write_text(_slapd_conf(workdir, data, _ssha(root_password)))
        log_path = workdir / f"slapd-{attempt}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [SLAPD, "-d", "0", "-f", config, "-h", server.url],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            if _wait_until_ready(process, server):
                loaded = _ldap_tool(server, "ldapadd", "-f", str(workdir / "data.ldif"))
                if loaded.returncode != 0:
                    raise SlapdUnavailable(f"ldapadd failed: {loaded.stderr or loaded.stdout}")
                yield server
                return
        finally:
            _stop(process)
    raise SlapdUnavailable(f"slapd did not start; see {log_path}:\n{log_path.read_text()}")


def _require_tools() -> None:
    missing = [str(SLAPD)] if not SLAPD.exists() else []
    missing += [tool for tool in CLIENT_TOOLS if shutil.which(tool) is None]
    if missing:
        raise SlapdUnavailable(
            f"{', '.join(missing)} not found: the LDAP tests need the Debian packages slapd and "
            "ldap-utils. Run `make test` (it installs them via scripts/install-test-deps.sh)."
        )


def _slapd_conf(workdir: Path, data: Path, root_hash: str) -> str:
    includes = "\n".join(f"include {SCHEMA_DIR / name}.schema" for name in SCHEMAS)
    return f"""{includes}
modulepath {MODULE_DIR}
moduleload back_mdb
moduleload memberof
pidfile {workdir}/slapd.pid
argsfile {workdir}/slapd.args
allow bind_anon_dn

database mdb
suffix "{BASE_DN}"
rootdn "{ROOT_DN}"
rootpw {root_hash}
directory {data}
maxsize 16777216
overlay memberof

access to attrs=userPassword
    by anonymous auth
    by * none
access to dn.exact="uid=bob,{PEOPLE}" attrs=memberOf
    by * none
access to dn.exact="cn=linkzoom-auditors,{GROUPS}"
    by * none
access to *
    by users read
    by * none
"""


def _fixture_ldif() -> str:
    alice, bob, chloe = ACCOUNTS
    entries: list[list[tuple[str, str]]] = [
        [("dn", BASE_DN), ("objectClass", "dcObject"), ("objectClass", "organization"),
         ("dc", "example"), ("o", "Example")],
        [("dn", PEOPLE), ("objectClass", "organizationalUnit"), ("ou", "people")],
        [("dn", GROUPS), ("objectClass", "organizationalUnit"), ("ou", "groups")],
    ]  # fmt: skip
    for account in ACCOUNTS:
        entries.append([
            ("dn", account.dn), ("objectClass", "inetOrgPerson"), ("uid", account.uid),
            ("cn", account.display_name), ("sn", account.display_name.split()[-1]),
            ("displayName", account.display_name), ("mail", account.email),
            ("userPassword", _ssha(account.password)),
        ])  # fmt: skip
    entries += [
        [("dn", f"cn=linkzoom-admins,{GROUPS}"), ("objectClass", "groupOfNames"),
         ("cn", "linkzoom-admins"), ("member", bob.dn)],
        [("dn", f"cn=linkzoom-auditors,{GROUPS}"), ("objectClass", "groupOfNames"),
         ("cn", "linkzoom-auditors"), ("member", chloe.dn)],
        [("dn", f"cn=linkzoom-staff,{GROUPS}"), ("objectClass", "groupOfUniqueNames"),
         ("cn", "linkzoom-staff"), ("uniqueMember", alice.dn)],
        [("dn", f"cn=linkzoom-ops,{GROUPS}"), ("objectClass", "posixGroup"),
         ("cn", "linkzoom-ops"), ("gidNumber", "5000"), ("memberUid", alice.uid)],
    ]  # fmt: skip
    return "\n".join("".join(_ldif_line(k, v) for k, v in entry) for entry in entries)


def _ldif_line(attribute: str, value: str) -> str:
    # RFC 2849: only plain ASCII may be written as-is; anything else goes base64 ("::").
    if value.isascii() and value.isprintable() and not value.startswith((" ", ":", "<")):
        return f"{attribute}: {value}\n"
    return f"{attribute}:: {base64.b64encode(value.encode()).decode()}\n"


def _ssha(password: str) -> str:
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_ready(process: subprocess.Popen[bytes], server: SlapdServer) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if _ldap_tool(server, "ldapwhoami").returncode == 0:
            return True
        time.sleep(0.05)
    return False


def _ldap_tool(server: SlapdServer, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run an OpenLDAP client as the rootdn, the password read from a file, not argv."""
    command = [tool, "-x", "-H", server.url, "-D", server.root_dn]
    command += ["-y", str(server.workdir / "root.pw"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
