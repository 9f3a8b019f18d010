"""``config_from_env``."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkzoom.sandbox import SandboxConfigError, config_from_env


def test_defaults() -> None:
    config = config_from_env({})
    assert config.client_id == "sandbox-client"
    assert len(config.client_secret) >= 24
    assert config_from_env({}).client_secret != config.client_secret
    assert config.webhook_secret is None and config.webhook_url is None
    assert config.daily_write_limit == 100 and config.qps is None and config.state_file is None


def test_everything_from_the_environment() -> None:
    config = config_from_env(
        {
            "LINKZOOM_ZOOM_CLIENT_ID": "cid",
            "LINKZOOM_ZOOM_CLIENT_SECRET": "secret",
            "LINKZOOM_ZOOM_WEBHOOK_SECRET": "hook",
            "LINKZOOM_SANDBOX_WEBHOOK_URL": "http://127.0.0.1:8000/webhooks/zoom",
            "LINKZOOM_SANDBOX_DAILY_WRITE_LIMIT": "5000",
            "LINKZOOM_SANDBOX_QPS": "light=30, medium=20,Heavy=10",
            "LINKZOOM_SANDBOX_STATE_FILE": "var/sandbox.json",
        }
    )
    assert (config.client_id, config.client_secret, config.webhook_secret) == (
        "cid",
        "secret",
        "hook",
    )
    assert config.webhook_url == "http://127.0.0.1:8000/webhooks/zoom"
    assert config.daily_write_limit == 5000
    assert config.qps == {"light": 30, "medium": 20, "heavy": 10}
    assert config.state_file == Path("var/sandbox.json")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LINKZOOM_SANDBOX_DAILY_WRITE_LIMIT", "many"),
        ("LINKZOOM_SANDBOX_DAILY_WRITE_LIMIT", "0"),
        ("LINKZOOM_SANDBOX_QPS", "light"),
        ("LINKZOOM_SANDBOX_QPS", "extreme=5"),
        ("LINKZOOM_SANDBOX_QPS", "light=fast"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SandboxConfigError, match=name):
        config_from_env({name: value})
