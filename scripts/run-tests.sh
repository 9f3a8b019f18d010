#!/usr/bin/env bash
# Runs the whole suite (or the pytest arguments given). When PostgreSQL answers on
# 127.0.0.1:5432 it creates a throwaway database for this run, so the suite covers SQLite and
# PostgreSQL, and drops it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

pg_admin_url="${LINKZOOM_TEST_PG_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
created_db=""
cleanup() {
  if [ -n "$created_db" ]; then
    .venv/bin/python scripts/pg_database.py drop "$pg_admin_url" "$created_db" || true
  fi
}
trap cleanup EXIT

if [ -z "${LINKZOOM_TEST_POSTGRES_URL:-}" ]; then
  if created_db=$(.venv/bin/python scripts/pg_database.py create "$pg_admin_url" 2>/dev/null); then
    export LINKZOOM_TEST_POSTGRES_URL="${pg_admin_url%/*}/$created_db"
    echo "PostgreSQL found: the suite also runs against $LINKZOOM_TEST_POSTGRES_URL"
  else
    created_db=""
    echo "PostgreSQL not reachable on 127.0.0.1:5432: the suite runs on SQLite only"
  fi
fi

# Two pytest workers (pytest-xdist) by default: most of the suite's time is spent waiting on
# subprocesses, sockets and databases, so two workers on two cores nearly halve it. Each worker
# has its own database templates, directory server and ports. LINKZOOM_TEST_WORKERS=0 runs
# everything in one process (for -x, --pdb, or reading a failure's output in order).
# worksteal: a worker that runs dry takes tests from the end of the other's queue, so the two
# finish together (tests/conftest.py puts the long tests first).
workers="${LINKZOOM_TEST_WORKERS:-2}"
dist=()
if [ "$workers" != 0 ]; then
  dist=(--dist worksteal)
fi
.venv/bin/pytest -n "$workers" "${dist[@]}" "$@"
