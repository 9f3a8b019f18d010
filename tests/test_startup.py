"""What every process start pays: heavy libraries only some deployments use stay unimported."""

from __future__ import annotations

import subprocess
import sys


def test_starting_the_service_does_not_import_exchangelib() -> None:
    """exchangelib costs about a quarter of a second to import; only a deployment with an
    Exchange source configured needs it (the mailbox watch imports it on demand)."""
    probe = (
        "import sys, linkzoom.app, linkzoom.cli, linkzoom.worker; "
        "print(sorted(m for m in ('exchangelib', 'lxml', 'requests') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]", done.stdout
