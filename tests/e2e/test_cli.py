"""The command line contract of DESIGN.md, run as real processes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.keys import new_keyring
from tests.support.processes import linkzoom_command, python_env


def run(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        linkzoom_command(*args),
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.one_database
def test_migrate_users_zoom_switch_and_key_rotation(database_url: str, tmp_path: Path) -> None:
    env = python_env({"LINKZOOM_DATABASE_URL": database_url, "LINKZOOM_VAR_DIR": str(tmp_path)})
    assert run(env, "migrate").returncode == 0
    added = run(
        env,
        "users",
        "add",
        "Dana",
        "--admin",
        "--email",
        "d@example.org",
        "--password-stdin",
        stdin="dana-password-1\n",
    )
    assert added.returncode == 0 and "added admin dana" in added.stdout
    duplicate = run(env, "users", "add", "dana", "--password-stdin", stdin="dana-password-1\n")
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    short = run(env, "users", "add", "eve", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least" in short.stderr
    assert run(env, "zoom", "status").stdout.strip() == "disabled"
    assert run(env, "zoom", "enable").stdout.strip() == "enabled"
    assert run(env, "zoom", "status").stdout.strip() == "enabled"
    assert run(env, "zoom", "disable").stdout.strip() == "disabled"
    rotated = run(env, "keys", "rotate")
    if database_url.startswith("postgresql"):
        # Several hosts share PostgreSQL: a per-host generated ring is refused, by name.
        assert rotated.returncode == 2
        assert rotated.stderr.startswith("linkzoom: LINKZOOM_KEYS: required with PostgreSQL")
    else:
        assert rotated.returncode == 0 and "every value is under" in rotated.stdout
        assert len((tmp_path / "keys").read_text().split(",")) == 2
    generated = run(env, "keys", "generate").stdout.strip()
    assert generated.count(":") == 1 and len(generated) > 40


def test_bad_configuration_stops_with_one_line(tmp_path: Path) -> None:
    env = python_env({"LINKZOOM_REAUTHORIZE_DAYS": "forever", "LINKZOOM_VAR_DIR": str(tmp_path)})
    done = run(env, "zoom", "status")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "linkzoom: LINKZOOM_REAUTHORIZE_DAYS: expected an integer, got 'forever'"
    ]
    bad_keys = run(
        python_env({"LINKZOOM_KEYS": "k1:abc", "LINKZOOM_VAR_DIR": str(tmp_path)}), "keys", "rotate"
    )
    assert bad_keys.returncode == 2 and bad_keys.stderr.startswith("linkzoom: LINKZOOM_KEYS:")
    assert "abc" not in bad_keys.stderr.replace("LINKZOOM_KEYS", "")


@pytest.mark.one_database
def test_addin_manifest_prints_both_manifests_for_the_public_url(
    database_url: str, tmp_path: Path
) -> None:
    env = python_env(
        {
            "LINKZOOM_DATABASE_URL": database_url,
            "LINKZOOM_VAR_DIR": str(tmp_path),
            "LINKZOOM_PUBLIC_URL": "https://mail.example.org",
            "LINKZOOM_KEYS": new_keyring(),
        }
    )
    assert run(env, "migrate").returncode == 0
    xml = run(env, "addin", "manifest")
    assert xml.returncode == 0 and xml.stdout.startswith('<?xml version="1.0"')
    assert 'DefaultValue="https://mail.example.org/addin/commands.html"' in xml.stdout
    assert "not https" not in xml.stderr
    manifest = json.loads(run(env, "addin", "manifest", "--format", "json").stdout)
    assert manifest["id"] in xml.stdout  # one add-in id, generated once
    plain = run(env | {"LINKZOOM_PUBLIC_URL": "http://10.0.0.5:8000"}, "addin", "manifest")
    assert (
        plain.returncode == 0
        and "is not https; Outlook loads add-ins only over https" in plain.stderr
    )
