"""Schemathesis against /api/v1/openapi.json, with a token of every role and with none (issue 16).

Every operation of the document gets requests that Hypothesis draws from its schema (positive
data: must be accepted or refused for a documented reason) and requests that break it (negative
data: must be refused with a 4xx), on the demo's offices. Any 5xx fails, and so does an answer
whose status, content type, headers or body the document does not promise.

Bounded for CI: a fixed seed and few examples per operation. ``QUEUE_FUZZ_EXAMPLES`` raises the
number for a longer session on a developer's machine (README, "Fuzzing").
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from queue_app import access, config_file
from queue_app.clock import FixedClock
from queue_app.web.extensions import db

DEMO_FILE = Path(__file__).resolve().parents[2] / "queue_app" / "demo" / "branches.yaml"
EXAMPLES = int(os.environ.get("QUEUE_FUZZ_EXAMPLES", "15"))
ROLES = ["anonymous", "kiosk", "staff", "manager", "admin"]
BRANCH = "cairo-civil"

# Path parameters drawn now and then from the demo, so that requests reach the domain instead of
# stopping at an unknown branch's 404.
KNOWN = {
    "branch_code": ["cairo-civil", "giza-traffic", "jeddah-north"],
    "service_code": ["id-card", "birth-cert", "licence-renewal"],
    "counter_code": ["1", "2", "4"],
    "code": ["civil-registry", "traffic-licensing"],
}


# Rules that JSON Schema cannot state, each documented in its operation's description and its
# 422: for these operations alone a request drawn from the schema may get that 422 (and only a
# 422 in the error shape: the document's own checks still run on it).
CROSS_FIELD_RULES = {
    "POST /api/v1/branches/{branch_code}/tickets": "the phone must be a mobile number of the "
    "branch's country; the channel one the branch offers",
    "POST /api/v1/branches/{branch_code}/appointments": "the phone must be a mobile number of "
    "the branch's country, and is required without a kiosk or staff token; the channel one the "
    "branch offers",
    "PUT /api/v1/branches/{branch_code}/services/{service_code}/capacity": "to not before from",
    "GET /api/v1/branches/{branch_code}/statistics": "to not before from, at most 366 days",
    "POST /api/v1/backends/{code}/maintenance": "end after start",
    "GET /api/v1/branches/{branch_code}/audit": "to not before from",
    "GET /api/v1/branches/{branch_code}/audit.csv": "to not before from",
    "POST /api/v1/backends/{code}/reports": "branch required with an admin token",
    "POST /api/v1/backends/{code}/back": "branch required with an admin token",
}


@dataclass
class Findings:
    requests: int = 0
    failures: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, label: str, err: BaseException) -> None:
        text = str(err)
        first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
        self.failures.setdefault((label, first), text[:1500])


def _token(clock: FixedClock, role: str) -> dict[str, str]:
    raw = access.create_token(db.session, clock, role, None if role == "admin" else BRANCH)
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def demo(app: Flask, clock: FixedClock) -> dict[str, list[str]]:
    """The demo's offices, with tickets in the states counters act on; returns the path
    parameters worth drawing now and then."""
    config_file.load_file(db.session, DEMO_FILE)
    db.session.commit()
    client, admin = app.test_client(), _token(clock, "admin")
    tickets = "/api/v1/branches/cairo-civil/tickets"
    tokens = [
        client.post(tickets, json={"service": service}, headers=admin).json["token"]
        for service in ("id-card", "id-card", "birth-cert", "birth-cert")
    ]
    called = client.post("/api/v1/branches/cairo-civil/counters/1/call-next", headers=admin)
    slot = client.get("/api/v1/branches/cairo-civil/services/id-card/slots").json[0]
    booked = client.post(
        "/api/v1/branches/cairo-civil/appointments",
        json={"service": "id-card", "start": slot["start"], "phone": "01001234567"},
    )
    assert called.status_code == 200, called.text
    assert booked.status_code == 201, booked.text
    return {**KNOWN, "token": [*tokens, booked.json["token"]]}


def _operations(app: Flask) -> Iterator[Any]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    for result in schema.get_all_operations():
        yield result.ok()


def _breakable(operation: Any) -> bool:
    """Whether negative data exists beyond a path segment. A code or token that breaks the
    document (a NUL, over 200 characters) takes Hypothesis hundreds of tries to draw and
    answers 400 or 404 on every route alike: tests/api/test_hostile_requests.py sends them."""
    return bool(operation.query or operation.headers or operation.body)


def _fuzz(
    operation: Any,
    mode: GenerationMode,
    callers: dict[str, dict[str, str]],
    known: dict[str, list[str]],
    found: Findings,
) -> None:
    cross_field = operation.label in CROSS_FIELD_RULES

    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any, data: st.DataObject) -> None:
        role = data.draw(st.sampled_from(sorted(callers)))
        if mode is GenerationMode.POSITIVE:
            for name, values in known.items():
                if name in (case.path_parameters or {}) and data.draw(st.booleans()):
                    case.path_parameters[name] = data.draw(st.sampled_from(values))
        found.requests += 1
        response = case.call(headers=callers[role])
        try:
            case.validate_response(
                response,
                headers=callers[role],
                excluded_checks=[positive_data_acceptance] if cross_field else [],
            )
            if cross_field and mode is GenerationMode.POSITIVE:
                assert response.status_code != 400, response.text
        except (Exception, BaseExceptionGroup) as err:
            found.add(f"{mode.value} {operation.label} as {role}", err)

    run()


def test_the_api_keeps_its_document(app: Flask, clock: FixedClock, demo) -> None:
    callers = {role: {} if role == "anonymous" else _token(clock, role) for role in ROLES}
    found = Findings()
    for operation in _operations(app):
        _fuzz(operation, GenerationMode.POSITIVE, callers, demo, found)
        if _breakable(operation):
            _fuzz(operation, GenerationMode.NEGATIVE, callers, demo, found)
    print(f"{found.requests} requests, {len(found.failures)} failures")
    for (label, _first), text in sorted(found.failures.items()):
        print("FAIL", label, "|", text.replace("\n", " | ")[:700])
    assert not found.failures, "\n\n".join(found.failures.values())


def test_every_path_names_its_methods_when_refusing_another(client, demo) -> None:
    document = client.get("/api/v1/openapi.json").json
    for template, operations in document["paths"].items():
        documented = {method.upper() for method in operations} - {"PARAMETERS"}
        path = template
        for name, values in demo.items():
            path = path.replace("{" + name + "}", values[0])
        path = path.replace("{window_id}", "1")
        for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - documented:
            response = client.open(path, method=method)
            assert response.status_code == 405, (method, path, response.text)
            assert response.is_json, (method, path)
            allowed = {m.strip() for m in response.headers["Allow"].split(",")}
            assert allowed - {"HEAD", "OPTIONS"} == documented, (method, path)
