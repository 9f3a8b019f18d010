"""The container image as the Dockerfile describes it, checked where no Docker engine runs (this
machine has the Docker client, no daemon): its entry point and command start linkzoom as the image
would and its own health check passes against it; it runs as a non-root user on a slim base; and
compose.yaml migrates before the service starts and refuses to start without its secrets."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support.processes import Process, free_port, python_env

ROOT = Path(__file__).resolve().parents[2]
IMAGE_PORT = "8000"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions of the final stage, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    last_from = max(i for i, (keyword, _) in enumerate(found) if keyword == "FROM")
    return found[last_from:]


def test_the_images_command_serves_and_passes_the_images_own_health_check(
    tmp_path: Path,
) -> None:
    final = instructions()
    by_keyword: dict[str, list[str]] = {}
    for keyword, rest in final:
        by_keyword.setdefault(keyword, []).append(rest)
    assert by_keyword["FROM"][0].endswith("-slim")
    assert by_keyword["USER"] == ["linkzoom"]  # never root
    entrypoint = json.loads(by_keyword["ENTRYPOINT"][0])
    command = json.loads(by_keyword["CMD"][0])
    assert entrypoint == ["linkzoom"] and command[0] == "run"
    health = by_keyword["HEALTHCHECK"][0]
    probe = json.loads(health[health.index("CMD ") + len("CMD ") :])
    assert probe[0] == "python"

    # The image's environment, with its state directory moved under tmp_path.
    image_env = dict(re.findall(r"(\w+)=(\S+)", " ".join(by_keyword["ENV"])))
    image_env["LINKZOOM_VAR_DIR"] = str(tmp_path / "var")
    port = str(free_port())
    argv = [a.replace(IMAGE_PORT, port) for a in command]
    env = python_env(image_env | {"LINKZOOM_PUBLIC_URL": f"http://127.0.0.1:{port}"})
    # `linkzoom` is the console script pip installs; here it is run from the same interpreter.
    service = Process(
        name="image",
        args=[sys.executable, "-m", "linkzoom.cli", *argv],
        env=env,
        log_path=tmp_path / "image.log",
        ready_url=f"http://127.0.0.1:{port}/readyz",
    ).start()
    check = [sys.executable, *[a.replace(IMAGE_PORT, port) for a in probe[1:]]]
    try:
        healthy = subprocess.run(check, capture_output=True, timeout=30, check=False)
    finally:
        service.stop()
    assert healthy.returncode == 0, healthy.stderr
    stopped = subprocess.run(check, capture_output=True, timeout=30, check=False)
    assert stopped.returncode != 0  # and it notices when the service is gone


def test_compose_migrates_first_and_will_not_start_without_its_secrets() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "migrate", "linkzoom"}
    assert services["migrate"]["command"] == ["migrate"]
    assert services["linkzoom"]["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"}
    }
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    environment = services["linkzoom"]["environment"]
    for required in ("LINKZOOM_KEYS", "LINKZOOM_PUBLIC_URL", "LINKZOOM_DATABASE_URL"):
        assert ":?" in environment[required], f"{required} must be required, not defaulted"
    assert environment["LINKZOOM_DATABASE_URL"].startswith("postgresql://")
    # Published on loopback only: the TLS proxy is what the world reaches.
    assert services["linkzoom"]["ports"] == ["127.0.0.1:8000:8000"]
