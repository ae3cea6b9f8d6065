"""Every bad request gets the JSON error shape of DESIGN.md and leaves the database as it was."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from queue_app.db import Base
from queue_app.web.extensions import db

TICKETS = "/api/v1/branches/cairo-civil/tickets"


def _row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }


def _assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.json
    assert set(body) == {"error", "message", "fields"}
    assert body["error"] == code
    assert body["message"]
    return body


@pytest.fixture
def kiosk(make_branch, make_token) -> dict[str, str]:
    make_branch()
    make_branch("giza-traffic", services=[("licence-renewal", "L")])
    return make_token("kiosk")


@pytest.mark.parametrize(
    ("path", "body", "status", "code", "field"),
    [
        ("/api/v1/branches/nowhere/tickets", {"service": "id-card"}, 404, "not_found", "branch"),
        (TICKETS, {"service": "passport"}, 404, "not_found", "service"),
        (TICKETS, {"service": "id-card", "phone": "12"}, 422, "invalid_phone", "phone"),
        (TICKETS, {"service": "id-card", "phone": "0223456789"}, 422, "invalid_phone", "phone"),
        (TICKETS, {}, 422, "invalid_input", "service"),
        (TICKETS, {"service": 7}, 422, "invalid_input", "service"),
        (TICKETS, {"service": "id-card", "locale": "fr"}, 422, "invalid_input", "locale"),
        (TICKETS, {"service": "id-card", "priority": "maybe"}, 422, "invalid_input", "priority"),
        (TICKETS, {"service": "id-card", "colour": "red"}, 422, "invalid_input", "colour"),
    ],
)
def test_bad_ticket_requests(client, kiosk, path, body, status, code, field):
    before = _row_counts()
    response = client.post(path, json=body, headers=kiosk)
    assert field in _assert_error(response, status, code)["fields"]
    assert _row_counts() == before


def test_malformed_json(client, kiosk):
    before = _row_counts()
    response = client.post(
        TICKETS, data='{"service": "id-card"', headers={**kiosk, "Content-Type": "application/json"}
    )
    _assert_error(response, 400, "bad_request")
    assert _row_counts() == before


def test_body_over_64_kib(client, kiosk):
    before = _row_counts()
    padding = "x" * (64 * 1024)
    response = client.post(TICKETS, json={"service": "id-card", "phone": padding}, headers=kiosk)
    _assert_error(response, 413, "too_large")
    assert _row_counts() == before


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer not-a-token", "Basic dXNlcjpwYXNz", "bearer  "],
)
def test_missing_or_wrong_token(client, kiosk, authorization):
    before = _row_counts()
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.post(TICKETS, json={"service": "id-card"}, headers=headers)
    _assert_error(response, 401, "unauthorized")
    assert _row_counts() == before


def test_token_of_another_branch(client, kiosk, make_token):
    giza = make_token("kiosk", "giza-traffic")
    before = _row_counts()
    _assert_error(client.post(TICKETS, json={"service": "id-card"}, headers=giza), 403, "forbidden")
    assert _row_counts() == before


def test_kiosk_cannot_act_as_staff(client, kiosk):
    token = client.post(TICKETS, json={"service": "id-card"}, headers=kiosk).json["token"]
    before = _row_counts()
    for path in (
        "/api/v1/branches/cairo-civil/counters/1/call-next",
        f"/api/v1/tickets/{token}/done",
        f"/api/v1/tickets/{token}/no-show",
        f"/api/v1/tickets/{token}/recall",
    ):
        _assert_error(client.post(path, headers=kiosk), 403, "forbidden")
    _assert_error(
        client.patch(
            "/api/v1/branches/cairo-civil/counters/1", json={"open": False}, headers=kiosk
        ),
        403,
        "forbidden",
    )
    assert _row_counts() == before


def test_staff_of_another_branch_cannot_touch_tickets(client, kiosk, make_token):
    token = client.post(TICKETS, json={"service": "id-card"}, headers=kiosk).json["token"]
    giza_staff = make_token("staff", "giza-traffic")
    before = _row_counts()
    _assert_error(
        client.post("/api/v1/branches/cairo-civil/counters/1/call-next", headers=giza_staff),
        403,
        "forbidden",
    )
    _assert_error(
        client.post(f"/api/v1/tickets/{token}/done", headers=giza_staff), 403, "forbidden"
    )
    # Nothing changes but the audit trail, which keeps both refusals (test_audit_trail.py).
    assert _row_counts() == {**before, "audit_events": before["audit_events"] + 2}


def test_admin_acts_for_every_branch(client, kiosk, make_token):
    admin = make_token("admin")
    response = client.post(TICKETS, json={"service": "id-card"}, headers=admin)
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/tickets/forged-token-0000000000000000"),
        ("post", "/api/v1/tickets/forged-token-0000000000000000/cancel"),
        ("get", "/api/v1/branches/nowhere"),
        ("get", "/api/v1/no-such-endpoint"),
    ],
)
def test_unknown_things_are_404(client, kiosk, method, path):
    before = _row_counts()
    _assert_error(getattr(client, method)(path), 404, "not_found")
    assert _row_counts() == before


def test_forged_token_at_counter_is_404(client, kiosk, make_token):
    staff = make_token("staff")
    before = _row_counts()
    _assert_error(client.post("/api/v1/tickets/forged/done", headers=staff), 404, "not_found")
    assert _row_counts() == before


def test_wrong_method_is_405_in_the_same_shape(client, kiosk):
    _assert_error(client.delete(TICKETS, headers=kiosk), 405, "method_not_allowed")


def test_bad_counter_changes(client, kiosk, make_token):
    manager = make_token("manager")
    before = _row_counts()
    counter = "/api/v1/branches/cairo-civil/counters/1"
    _assert_error(
        client.patch(counter, json={"services": ["nope"]}, headers=manager), 404, "not_found"
    )
    _assert_error(
        client.patch(counter, json={"services": []}, headers=manager), 422, "invalid_input"
    )
    _assert_error(
        client.patch(counter, json={"open": "yes please"}, headers=manager), 422, "invalid_input"
    )
    _assert_error(
        client.patch(
            "/api/v1/branches/cairo-civil/counters/9", json={"open": True}, headers=manager
        ),
        404,
        "not_found",
    )
    assert _row_counts() == before


def test_closed_counter_cannot_call(client, kiosk, make_token):
    manager, staff = make_token("manager"), make_token("staff")
    closed = client.patch(
        "/api/v1/branches/cairo-civil/counters/1", json={"open": False}, headers=manager
    )
    assert closed.json == {"code": "1", "open": False, "services": ["id-card"], "now_serving": None}
    response = client.post("/api/v1/branches/cairo-civil/counters/1/call-next", headers=staff)
    _assert_error(response, 409, "state_conflict")
    # With its only counter closed the service takes no walk-ins: nobody would call them.
    _assert_error(
        client.post(TICKETS, json={"service": "id-card"}, headers=kiosk), 409, "service_closed"
    )
