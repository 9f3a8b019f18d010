"""Create or drop a throwaway PostgreSQL database for a test run (used by run-tests.sh)."""

from __future__ import annotations

import secrets
import sys

import psycopg


def main() -> int:
    action, admin_url = sys.argv[1], sys.argv[2]
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as connection:
        if action == "create":
            name = f"linkzoom_test_{secrets.token_hex(4)}"
            connection.execute(f'CREATE DATABASE "{name}"')
            print(name)
        elif action == "drop":
            name = sys.argv[3]
            if not name.startswith("linkzoom_test_"):
                raise SystemExit("refusing to drop a database this script did not create")
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            raise SystemExit(f"unknown action {action}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
