"""Directory login against a real slapd (see tests/support/slapd.py), plus the pure name rules.

Active Directory's UPN binds ("alice@example.org") cannot be reproduced faithfully with OpenLDAP:
a simple bind name must be a DN there, and authz-regexp only rewrites SASL identities. UPN mode
is therefore covered as pure tests of how the bind name is built.
"""

from __future__ import annotations

import logging
import socket
import time
import unicodedata
from collections.abc import Iterator

import pytest

from linkzoom.config import LdapSettings
from linkzoom.identity.ldap import (
    DirectoryUser,
    LdapDirectory,
    bind_name,
    bindable_username,
)
from linkzoom.identity.usernames import MAX_USERNAME
from linkzoom.problems import ServiceUnavailable
from tests.support.slapd import SlapdServer

ldap = pytest.mark.ldap


def directory(server: SlapdServer, **changes: object) -> LdapDirectory:
    return LdapDirectory(server.settings(**changes))


@ldap
async def test_good_login_by_dn_template_returns_profile(slapd_server: SlapdServer) -> None:
    user = await directory(slapd_server).authenticate("alice", slapd_server.passwords["alice"])

    assert user == DirectoryUser(
        username="alice",
        display_name="Alice Liddell",
        email="alice@example.org",
        is_admin=False,
    )


@ldap
async def test_admin_found_through_group_member_when_memberof_is_hidden(
    slapd_server: SlapdServer,
) -> None:
    user = await directory(slapd_server).authenticate("bob", slapd_server.passwords["bob"])

    assert user is not None
    assert user.is_admin
    assert user.display_name == "Bob Builder"


@ldap
async def test_admin_found_through_memberof_when_group_is_unreadable(
    slapd_server: SlapdServer,
) -> None:
    # Different case and spacing from the stored DN: compared after normalising.
    shouted = slapd_server.auditors_group.upper().replace(",", ", ")
    user = await directory(slapd_server, admin_group=shouted).authenticate(
        "chloé", slapd_server.passwords["chloé"]
    )

    assert user is not None
    assert user.is_admin


@ldap
@pytest.mark.parametrize("group", ["staff_group", "ops_group"])
async def test_admin_found_through_unique_member_and_member_uid(
    slapd_server: SlapdServer, group: str
) -> None:
    admins = directory(slapd_server, admin_group=getattr(slapd_server, group))

    alice = await admins.authenticate("alice", slapd_server.passwords["alice"])
    bob = await admins.authenticate("bob", slapd_server.passwords["bob"])

    assert alice is not None
    assert alice.is_admin
    assert bob is not None
    assert not bob.is_admin


@ldap
async def test_no_admin_group_means_nobody_is_admin(slapd_server: SlapdServer) -> None:
    user = await directory(slapd_server, admin_group=None).authenticate(
        "bob", slapd_server.passwords["bob"]
    )

    assert user is not None
    assert not user.is_admin


@ldap
async def test_wrong_password_is_refused_and_never_logged(
    slapd_server: SlapdServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = slapd_server.passwords["bob"]

    assert await directory(slapd_server).authenticate("alice", wrong) is None
    assert wrong not in caplog.text


@ldap
async def test_unknown_user_is_refused(slapd_server: SlapdServer) -> None:
    assert await directory(slapd_server).authenticate("mallory", "anything at all") is None


@ldap
async def test_empty_password_is_refused_although_slapd_accepts_unauthenticated_bind(
    slapd_server: SlapdServer,
) -> None:
    alice_dn = slapd_server.user_dn_template.format(username="alice")
    # The server really does say yes to "alice's DN, no password" (as AD does): the bind
    # succeeds as an anonymous session, so only our guard stops this being a login.
    bypass = slapd_server.whoami(alice_dn, "")
    assert bypass.returncode == 0, bypass.stderr
    assert bypass.stdout.strip() == "anonymous"

    assert await directory(slapd_server).authenticate("alice", "") is None


@ldap
@pytest.mark.parametrize(
    "username",
    [
        "*",
        "alice)(uid=*",
        "alice*",
        "\\",
        "\\61lice",
        ",ou=people",
        "alice,ou=people",
        "alice+cn=Alice Liddell",
        "uid=alice,ou=people,dc=example,dc=org",
        "#616c696365",
        '"alice"',
        "alice\x00",
        "ali\nce",
        "ali\u200bce",
        "a" * (MAX_USERNAME + 1),
    ],
)
async def test_injection_and_malformed_usernames_are_refused_without_error(
    slapd_server: SlapdServer, username: str
) -> None:
    # alice's real password: only the name is wrong, so a None proves the name did not match.
    password = slapd_server.passwords["alice"]
    assert await directory(slapd_server).authenticate(username, password) is None


@ldap
@pytest.mark.parametrize("typed", ["Chloé", "CHLOÉ", unicodedata.normalize("NFD", "Chloé")])
async def test_non_ascii_user_logs_in_with_non_ascii_password(
    slapd_server: SlapdServer, typed: str
) -> None:
    user = await directory(slapd_server).authenticate(typed, slapd_server.passwords["chloé"])

    assert user is not None
    assert user.username == "chloé"
    assert user.display_name == "Chloé Dubois"


@ldap
@pytest.mark.parametrize("typed", ["ALICE", "Alice", "  alice\t"])
async def test_username_is_case_insensitive_and_trimmed(
    slapd_server: SlapdServer, typed: str
) -> None:
    user = await directory(slapd_server).authenticate(typed, slapd_server.passwords["alice"])

    assert user is not None
    assert user.username == "alice"


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """Accepts TCP connections (kernel backlog) but never answers a byte."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


@ldap
@pytest.mark.parametrize("port_fixture", ["closed_port", "silent_port"])
async def test_unreachable_server_is_service_unavailable_within_timeout(
    slapd_server: SlapdServer, request: pytest.FixtureRequest, port_fixture: str
) -> None:
    port = request.getfixturevalue(port_fixture)
    password = slapd_server.passwords["alice"]
    dead = directory(slapd_server, url=f"ldap://127.0.0.1:{port}/", timeout_seconds=0.5)
    started = time.monotonic()

    with pytest.raises(ServiceUnavailable) as caught:
        await dead.authenticate("alice", password)

    assert time.monotonic() - started < 1.0 + 0.5  # receive timeouts round up to whole seconds
    assert caught.value.detail == "The directory server is not reachable."
    assert caught.value.__cause__ is not None
    assert password not in f"{caught.value!r} {caught.value.__cause__!r}"


@ldap
async def test_tls_failure_is_service_unavailable(slapd_server: SlapdServer) -> None:
    # ldaps:// against a plain-LDAP port: the TLS handshake cannot succeed.
    plain = slapd_server.url.replace("ldap://", "ldaps://")
    with pytest.raises(ServiceUnavailable):
        await directory(slapd_server, url=plain, timeout_seconds=2.0).authenticate(
            "alice", slapd_server.passwords["alice"]
        )


@ldap
async def test_upn_bind_name_refused_by_openldap_is_none(slapd_server: SlapdServer) -> None:
    # OpenLDAP answers invalidDNSyntax to a UPN; that is a refusal, not a crash.
    upn = directory(slapd_server, upn_suffix="example.org")
    assert await upn.authenticate("alice", slapd_server.passwords["alice"]) is None


AD = LdapSettings(
    url="ldaps://dc.example.org", base_dn="dc=example,dc=org", upn_suffix="example.org"
)
OPENLDAP = LdapSettings(
    url="ldap://ldap.example.org",
    base_dn="dc=example,dc=org",
    user_dn_template="uid={username},ou=people,dc=example,dc=org",
)


@pytest.mark.parametrize(
    ("settings", "typed", "expected"),
    [
        (AD, "Alice", "alice@example.org"),
        (AD, "alice@EXAMPLE.org", "alice@example.org"),
        (AD, " ALICE@example.org ", "alice@example.org"),
        (OPENLDAP, "alice", "uid=alice,ou=people,dc=example,dc=org"),
        (OPENLDAP, "a,b=c+d", "uid=a\\,b\\=c\\+d,ou=people,dc=example,dc=org"),
        (OPENLDAP, "#x", "uid=\\#x,ou=people,dc=example,dc=org"),
        (OPENLDAP, "alice@example.org", "uid=alice@example.org,ou=people,dc=example,dc=org"),
    ],
)
def test_bind_name(settings: LdapSettings, typed: str, expected: str) -> None:
    name = bindable_username(typed, settings)
    assert name is not None
    assert bind_name(settings, name) == expected


@pytest.mark.parametrize(
    "typed", ["bob@other.example", "corp\\bob", "@example.org", "", "   ", "a\x7f", "x" * 257]
)
def test_upn_mode_refuses_names_that_would_mean_another_principal(typed: str) -> None:
    assert bindable_username(typed, AD) is None


def test_upn_takes_precedence_over_dn_template() -> None:
    both = LdapSettings(
        url="ldap://x", base_dn="dc=x", upn_suffix="x.org", user_dn_template="uid={username},dc=x"
    )
    assert bind_name(both, "alice") == "alice@x.org"


def test_settings_without_a_way_to_bind_are_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="upn_suffix or user_dn_template"):
        LdapDirectory(LdapSettings(url="ldap://x", base_dn="dc=x"))
