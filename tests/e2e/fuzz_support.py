"""Schemathesis against a running ``linkzoom run`` and its built-in sandbox, over loopback.

Every operation of ``/openapi.json`` is called with generated requests (bodies, parameters and
headers that fit the schema, and ones that do not), as a signed-in device whose user has linked
Zoom, then the linked operations as stateful sequences (compose create → sent/delete by its
``id``; calendar PUT → GET/DELETE of the same event). Each answer must:

- not be a server error (< 500);
- conform to the document: status code, content type and body schema;
- if it is an error, be ``application/problem+json`` with ``type``, ``title``/``detail`` and a
  ``status`` equal to the HTTP status (the OAuth pages answer HTML for people instead);
- carry no secret: the device token, the Zoom tokens, codes and app secrets the sandbox issued.

The service's log is searched for the same secrets at the end. The two operations that end the
device's session or its Zoom link run last, so they do not cut the others short.

``make fuzz`` runs this with a budget of ten thousand cases; ``test_fuzz.py`` a smoke of it.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky, Unsatisfiable
from schemathesis import Case as _Case
from schemathesis import CheckContext, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.consent_http import link_zoom
from tests.support.processes import Process, free_port, linkzoom_command, python_env

SANDBOX = "/zoom-sandbox"
PROBLEM_JSON = "application/problem+json"
HTML_PAGES = ("/oauth/",)
# They end the device's session or its Zoom link: called last, when nothing else needs them.
DESTRUCTIVE = ("zoomAuthorizationDelete", "sessionDelete")
Case = _Case[Any]
UNSENDABLE = (httpx.LocalProtocolError, httpx.InvalidURL, UnicodeEncodeError)


@dataclass
class Target:
    url: str
    token: str
    password: str
    service: Process

    def issued_secrets(self) -> set[str]:
        issued = httpx.get(f"{self.url}{SANDBOX}/_sandbox/secrets", timeout=10).json()
        found = {s for values in issued.values() for s in values if isinstance(s, str)}
        return {s for s in found | {self.token, self.password} if len(s) >= 8}


@contextlib.contextmanager
def running_target(tmp: Path, database_url: str | None = None) -> Iterator[Target]:
    """``linkzoom run`` with no Zoom app (the sandbox mounted in the same process), on SQLite
    or the (empty) database named, its first-start admin signed in as a device and linked to a
    sandbox Zoom account."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = python_env(
        {
            "PWD": str(tmp),
            "LINKZOOM_PUBLIC_URL": url,
            "LINKZOOM_VAR_DIR": str(tmp / "var"),
            "LINKZOOM_DATABASE_URL": database_url or f"sqlite:///{tmp}/var/linkzoom.db",
            "LINKZOOM_LOG_LEVEL": "DEBUG",  # the leak search holds at the chattiest level
            # Thousands of meetings are made: Zoom's daily cap would answer most with 429.
            "LINKZOOM_ZOOM_DAILY_WRITE_LIMIT": "10000000",
        }
    )
    if database_url is not None:  # `linkzoom run` migrates SQLite only
        subprocess.run(linkzoom_command("migrate"), env=env, check=True, capture_output=True)
    service = Process(
        name="linkzoom-fuzz",
        args=linkzoom_command("run", "--port", str(port)),
        env=env,
        log_path=tmp / "service.log",
        ready_url=url + "/readyz",
    ).start()
    try:
        found = re.search(r"created user 'admin' with password (\S+)", service.output())
        assert found is not None, service.output()
        password = found.group(1)
        signed_in = httpx.post(
            url + "/api/v1/sessions",
            json={"username": "admin", "password": password, "device_name": "fuzz"},
        )
        assert signed_in.status_code == 201, signed_in.text
        token = signed_in.json()["token"]
        with httpx.Client(
            base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=20
        ) as api:
            link_zoom(api, "fuzz@zoom.test")
            assert api.get("/api/v1/me").json()["zoom"]["linked"] is True
        yield Target(url=url, token=token, password=password, service=service)
    finally:
        service.stop()


@dataclass
class Tally:
    """What the run did and found."""

    started: float = field(default_factory=time.monotonic)
    cases: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    by_operation: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    flaky_runs: int = 0  # stateful runs hypothesis stopped as flaky (see _stateful)
    unsendable: int = 0  # generated requests HTTP cannot carry (a header with a newline, ...)
    bodies: list[bytes] = field(default_factory=list)

    def record(self, label: str, response: httpx.Response) -> None:
        self.cases += 1
        self.statuses[f"{response.status_code // 100}xx"] += 1
        self.by_operation[label] += 1
        self.by_status[f"{label} {response.status_code}"] += 1
        self.bodies.append(response.content + repr(response.headers.multi_items()).encode())

    def fail(self, label: str, case: Case, problem: BaseException) -> None:
        if len(self.failures) < 200:
            self.failures.append(f"{label}: {problem}\n  {case.as_curl_command()}")

    def summary(self) -> str:
        seconds = time.monotonic() - self.started
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return (
            f"{self.cases} cases in {seconds:.1f} s ({statuses}); "
            f"{len(self.failures)} failures; {len(self.by_operation)} operations; "
            f"{self.unsendable} generated requests HTTP cannot carry, not sent"
        )


def problem_details(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """An error is a problem document whose ``status`` is the HTTP status."""
    if response.status_code < 400:
        return None
    media_type = response.headers.get("content-type", [""])[0].split(";")[0]
    if case.path.startswith(HTML_PAGES):
        assert media_type == "text/html", f"an OAuth page's error as {media_type}"
        return True
    assert media_type == PROBLEM_JSON, f"{response.status_code} as {media_type!r}"
    body = response.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("type"), str) and "/problems/" in body["type"], body
    assert body.get("title") or body.get("detail"), body
    assert body.get("status") == response.status_code, body
    return True


def no_secret(secrets: set[str]) -> Callable[[CheckContext, Response, Case], bool | None]:
    def check(ctx: CheckContext, response: Response, case: Case) -> bool | None:
        text = response.content + repr(response.headers).encode()
        for secret in secrets:
            assert secret.encode() not in text, f"a secret of {len(secret)} chars in an answer"
        return True

    return check


def run(
    target: Target, *, cases: int, stateful_share: float = 0.2, seed: int | None = None
) -> Tally:
    """About ``cases`` requests in all, spread over every operation; returns what happened."""
    schema = schemathesis.openapi.from_url(target.url + "/openapi.json")
    secrets = target.issued_secrets()
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        problem_details,
        no_secret(secrets),
    ]
    tally = Tally()
    client = httpx.Client(timeout=30, headers={"Authorization": f"Bearer {target.token}"})
    operations = [_ok(result) for result in schema.get_all_operations()]
    regular = [o for o in operations if not _last(_operation_id(o))]
    last = sorted((o for o in operations if _last(_operation_id(o))), key=_operation_id_order)
    stateful = int(cases * stateful_share)
    # Half the requests fit the schema, half do not (schemathesis' negative mode). Hypothesis
    # stops early where there is little to vary, so passes repeat until the budget is spent.
    per_mode = max(1, (cases - stateful) // (2 * len(operations)))
    reserved = 2 * per_mode * len(last)

    def stateless(group: list[Any], examples: int, pass_seed: int | None) -> None:
        for index, operation in enumerate(group):
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _stateless(
                    operation.as_strategy(generation_mode=mode),
                    label=f"{operation.method.upper()} {operation.path}",
                    examples=examples,
                    # Negative cases keep a made-up token now and then: 401s are checked too.
                    call=functools.partial(send, client, as_user=mode is GenerationMode.POSITIVE),
                    checks=checks,
                    tally=tally,
                    seed=None if pass_seed is None else pass_seed + index,
                )

    stateless(regular, per_mode, seed)
    if stateful:
        _stateful(schema, tally, checks, steps=stateful, client=client, seed=seed)
    for extra in range(1, 6):
        remaining = cases - reserved - tally.cases
        if remaining <= 0:
            break
        more = max(1, remaining // (2 * len(regular)) + 1)
        stateless(regular, more, None if seed is None else seed + 1000 * extra)
    stateless(last, per_mode, seed)
    secrets |= target.issued_secrets()  # and what was issued meanwhile
    leaked = [s for s in secrets if any(s.encode() in body for body in tally.bodies)]
    tally.failures += [f"a secret of {len(s)} chars in an answer" for s in leaked]
    target.service.stop()  # flush its log
    log = target.service.output()
    # The first start prints the admin's password once, by design (DESIGN.md); nothing else.
    in_log = [s for s in secrets - {target.password} if s in log]
    tally.failures += [f"a secret of {len(s)} chars in the log" for s in in_log]
    tally.failures += [
        f"log: {line}" for line in log.splitlines() if "Traceback" in line or "unhandled" in line
    ][:20]
    return tally


def _ok(result: Any) -> Any:
    operation = result.ok()  # an operation the schema could not be read for fails here
    return operation


def _operation_id(operation: Any) -> str | None:
    found: str | None = operation.definition.raw.get("operationId")
    return found


def _last(operation_id: str | None) -> int:
    return DESTRUCTIVE.index(operation_id) + 1 if operation_id in DESTRUCTIVE else 0


def _operation_id_order(operation: Any) -> int:
    return _last(_operation_id(operation))


def send(client: httpx.Client, case: Case, *, as_user: bool = True) -> httpx.Response:
    """The case's request, sent by httpx (schemathesis' own transport, requests, does not work
    with the urllib3 fork that caldav's niquests installs in its place). ``as_user``: with the
    device's token, not the one schemathesis made up for the bearer scheme."""
    request = case.as_transport_kwargs(base_url=str(case.operation.base_url))
    data = request.get("data")
    headers = {k: str(v) for k, v in (request.get("headers") or {}).items()}
    if as_user:
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
    if cookies := request.get("cookies"):
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return client.request(
        request["method"],
        request["url"],
        headers=headers,
        params=request.get("params"),
        content=data if isinstance(data, bytes | str) else None,
        data=data if isinstance(data, dict) else None,
        json=request.get("json"),
        files=request.get("files"),
    )


def _settings(examples: int, seed: int | None) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=seed is not None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: every failure is recorded
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )


def _stateless(
    strategy: st.SearchStrategy[Case],
    *,
    label: str,
    examples: int,
    call: Callable[[Case], httpx.Response],
    checks: list[Any],
    tally: Tally,
    seed: int | None,
) -> None:
    @_settings(examples, seed)
    @given(case=strategy)
    def test(case: Case) -> None:
        try:
            response = call(case)
        except UNSENDABLE:
            tally.unsendable += 1
            return
        tally.record(label, response)
        try:
            case.validate_response(response, checks=checks)
        except Exception as failure:  # collected, not raised: the run goes on
            tally.fail(label, case, failure)

    with contextlib.suppress(Unsatisfiable):  # nothing to vary: no inputs to break
        test()


# The operations linked in the document, as two families: schemathesis starts a sequence only
# at a POST when there is one, so the calendar's PUT → GET/DELETE gets a machine of its own.
LINKED = (
    ("composeMeetingCreate", "composeMeetingSent", "composeMeetingDelete"),
    ("calendarZoomPut", "calendarZoomGet", "calendarZoomDelete"),
)
# A sequence goes on only from a success. Generated zones and times are nearly never real ones,
# so a sequence's first request gets real ones (the stateless phase has tried the others).
REAL_EVENT = {
    "start": "2031-05-06T14:00:00+02:00",
    "end": "2031-05-06T15:00:00+02:00",
    "timezone": "Europe/Berlin",
}


def _realistic(case: Case) -> None:
    if not isinstance(case.body, dict):
        return
    if case.operation.definition.raw.get("operationId") == "composeMeetingCreate":
        case.body["timezone"] = "Europe/Berlin"
    elif case.operation.definition.raw.get("operationId") == "calendarZoomPut":
        case.body.update(REAL_EVENT)
        case.body.pop("recurrence", None)
        case.body.pop("exdates", None)


def _stateful(
    schema: Any,
    tally: Tally,
    checks: list[Any],
    *,
    steps: int,
    client: httpx.Client,
    seed: int | None,
) -> None:
    for family in LINKED:
        budget = tally.cases + steps // len(LINKED)

        class Links(schema.include(operation_id=list(family)).as_state_machine()):  # type: ignore[misc]
            def before_call(self, case: Case) -> None:
                _realistic(case)

            def call(self, case: Case, **kwargs: Any) -> Response:
                try:
                    response = send(client, case)
                except UNSENDABLE:
                    tally.unsendable += 1
                    reject()
                tally.record(f"stateful {case.method} {case.path}", response)
                return Response.from_httpx(response, verify=False)

            def validate_response(self, response: Response, case: Case, **kwargs: Any) -> None:
                try:
                    case.validate_response(response, checks=checks)
                except Exception as failure:
                    tally.fail(f"stateful {case.method} {case.path}", case, failure)

        for _ in range(100):  # each run makes some steps; a bound all the same
            if tally.cases >= budget:
                break
            try:
                Links.run(
                    settings=settings(
                        _settings(max(1, (budget - tally.cases) // 10), seed),
                        stateful_step_count=10,
                    )
                )
            except Flaky:
                # The service's answers steer the next steps (links), so a replayed prefix may
                # go another way; hypothesis calls that flaky. The steps so far were checked.
                tally.flaky_runs += 1


def main() -> None:
    parser = argparse.ArgumentParser(description="Fuzz a running linkzoom with schemathesis.")
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--database-url", default=None, help="an empty PostgreSQL database (default: SQLite)"
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="linkzoom-fuzz-") as tmp,
        running_target(Path(tmp)) as target,
    ):
        tally = run(target, cases=args.cases, seed=args.seed)
    for label, count in sorted(tally.by_status.items()):
        print(f"  {count:6}  {label}")
    for failure in tally.failures:
        print("FAIL", failure)
    print(tally.summary())
    sys.exit(1 if tally.failures or tally.statuses["5xx"] else 0)


if __name__ == "__main__":
    main()
