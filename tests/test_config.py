from __future__ import annotations

from pathlib import Path

import pytest

from linkzoom.config import ConfigError, load_settings


def test_defaults_need_no_configuration() -> None:
    settings = load_settings({})
    assert settings.database_url == "sqlite:///./var/linkzoom.db"
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.zoom_sandboxed
    assert settings.reauthorize_days == 365
    assert settings.zoom_daily_write_limit == 100
    assert settings.var_dir == Path("./var")
    assert settings.ldap is None


def test_values_are_read_and_normalised() -> None:
    settings = load_settings(
        {
            "LINKZOOM_PUBLIC_URL": "https://links.example.org/",
            "LINKZOOM_ZOOM_CLIENT_ID": "abc",
            "LINKZOOM_ZOOM_CLIENT_SECRET": "def",
            "LINKZOOM_REAUTHORIZE_DAYS": "30",
            "LINKZOOM_DATABASE_URL": "postgresql://u@db/linkzoom",
            "LINKZOOM_LDAP_URL": "ldap://dc.example.org",
            "LINKZOOM_LDAP_BASE_DN": "dc=example,dc=org",
            "LINKZOOM_LDAP_UPN_SUFFIX": "@example.org",
            "LINKZOOM_CONTROLLER_IDLE_MINUTES": "10",
            "LINKZOOM_CONTROLLER_SESSION_HOURS": "8",
        }
    )
    assert (settings.controller_idle_minutes, settings.controller_session_hours) == (10, 8)
    assert settings.public_url == "https://links.example.org"
    assert settings.secure_cookies
    assert not settings.zoom_sandboxed
    assert settings.reauthorize_days == 30
    assert settings.ldap is not None and settings.ldap.upn_suffix == "example.org"


def test_trusted_proxies_are_addresses_or_networks() -> None:
    settings = load_settings({"LINKZOOM_TRUSTED_PROXIES": "10.0.0.7, 192.168.0.0/16,,::1"})
    assert settings.trusted_proxies == ("10.0.0.7/32", "192.168.0.0/16", "::1/128")
    assert load_settings({}).trusted_proxies == ()


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"LINKZOOM_PUBLIC_URL": "ftp://x"}, "LINKZOOM_PUBLIC_URL"),
        ({"LINKZOOM_PUBLIC_URL": "http://x/?a=b"}, "LINKZOOM_PUBLIC_URL"),
        ({"LINKZOOM_REAUTHORIZE_DAYS": "soon"}, "LINKZOOM_REAUTHORIZE_DAYS"),
        ({"LINKZOOM_REAUTHORIZE_DAYS": "0"}, "LINKZOOM_REAUTHORIZE_DAYS"),
        ({"LINKZOOM_ZOOM_DAILY_WRITE_LIMIT": "-1"}, "LINKZOOM_ZOOM_DAILY_WRITE_LIMIT"),
        ({"LINKZOOM_DATABASE_URL": "mysql://x"}, "LINKZOOM_DATABASE_URL"),
        ({"LINKZOOM_ZOOM_CLIENT_ID": "id"}, "LINKZOOM_ZOOM_CLIENT_SECRET"),
        ({"LINKZOOM_ZOOM_API_URL": "api.zoom.us"}, "LINKZOOM_ZOOM_API_URL"),
        ({"LINKZOOM_LOG_FORMAT": "xml"}, "LINKZOOM_LOG_FORMAT"),
        ({"LINKZOOM_LDAP_URL": "http://dc"}, "LINKZOOM_LDAP_URL"),
        ({"LINKZOOM_LDAP_URL": "ldap://dc"}, "LINKZOOM_LDAP_BASE_DN"),
        (
            {"LINKZOOM_LDAP_URL": "ldap://dc", "LINKZOOM_LDAP_BASE_DN": "dc=x"},
            "LINKZOOM_LDAP_UPN_SUFFIX",
        ),
        ({"LINKZOOM_ZOOM_TIMEOUT_SECONDS": "-3"}, "LINKZOOM_ZOOM_TIMEOUT_SECONDS"),
        ({"LINKZOOM_TRUSTED_PROXIES": "10.0.0.1, proxy.local"}, "LINKZOOM_TRUSTED_PROXIES"),
        ({"LINKZOOM_CONTROLLER_IDLE_MINUTES": "0"}, "LINKZOOM_CONTROLLER_IDLE_MINUTES"),
        ({"LINKZOOM_CONTROLLER_SESSION_HOURS": "a day"}, "LINKZOOM_CONTROLLER_SESSION_HOURS"),
        (
            {"LINKZOOM_CONTROLLER_IDLE_MINUTES": "90", "LINKZOOM_CONTROLLER_SESSION_HOURS": "1"},
            "LINKZOOM_CONTROLLER_IDLE_MINUTES",
        ),
    ],
)
def test_a_bad_value_names_its_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ)
    assert caught.value.variable == variable
    assert str(caught.value).startswith(variable + ":")
    assert "\n" not in str(caught.value)
