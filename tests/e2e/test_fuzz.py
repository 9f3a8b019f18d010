"""A short schemathesis run over every operation of /openapi.json (``make fuzz`` runs the
long one): no server error, answers as documented, errors as problem documents, no secret in
an answer or the log. See tests/e2e/fuzz_support.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.fuzz_support import run, running_target


@pytest.mark.one_database  # linkzoom run on SQLite, as `make run` has it
@pytest.mark.timeout(90)
def test_generated_requests_get_documented_answers(tmp_path: Path) -> None:
    with running_target(tmp_path) as target:
        tally = run(target, cases=300, seed=14)
    print(tally.summary())
    assert tally.failures == [], "\n".join(tally.failures)
    assert tally.statuses["5xx"] == 0
    assert tally.cases >= 250
    # The sequences really ran: a compose was sent, an event's meeting read back.
    assert tally.by_status["stateful POST /api/v1/compose/meetings 201"] > 0
    assert any(k.startswith("stateful GET /api/v1/calendar") for k in tally.by_status)
