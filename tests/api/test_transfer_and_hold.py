"""A counter transfers a called ticket, or puts it on hold and later resumes it or sends it back.

POST /tickets/{token}/transfer, /hold, /resume, /back-to-line (staff of the ticket's branch).
The clock stands at Tuesday 10:00 in Cairo; each ticket is issued a minute after the last.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from queue_app.db import Base
from queue_app.models import AuditEvent, Ticket
from queue_app.web.extensions import db

CALL = "/api/v1/branches/cairo-civil/counters/{counter}/call-next"


@pytest.fixture
def office(make_branch, make_token) -> dict[str, dict[str, str]]:
    make_branch(services=[("id-card", "A"), ("birth-cert", "B")], counters=2)
    return {"kiosk": make_token("kiosk"), "staff": make_token("staff")}


@pytest.fixture
def take(client, office, clock) -> Callable[[str], dict[str, Any]]:
    def take_(service: str = "id-card") -> dict[str, Any]:
        response = client.post(
            "/api/v1/branches/cairo-civil/tickets",
            json={"service": service},
            headers=office["kiosk"],
        )
        assert response.status_code == 201, response.json
        clock.advance(minutes=1)
        return response.json

    return take_


@pytest.fixture
def act(client, office) -> Callable[..., Any]:
    def act_(token: str, action: str, json: dict[str, Any] | None = None, headers=None) -> Any:
        return client.post(
            f"/api/v1/tickets/{token}/{action}",
            json=json,
            headers=office["staff"] if headers is None else headers,
        )

    return act_


def _call(client, office, counter: str = "1") -> dict[str, Any]:
    response = client.post(CALL.format(counter=counter), headers=office["staff"])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def _error(response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert set(response.json) == {"error", "message", "fields"}
    assert response.json["error"] == code
    assert response.json["message"]
    return response.json


def _snapshot() -> dict[str, Any]:
    """Every table's row count and every ticket's state: what a refused request must not touch."""
    db.session.expire_all()
    # The audit trail is left out: it keeps refusals (tests/api/test_audit_trail.py).
    counts = {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
        if table.name != "audit_events"
    }
    rows = db.session.execute(
        select(
            Ticket.token,
            Ticket.status,
            Ticket.service_id,
            Ticket.counter_id,
            Ticket.for_counter_id,
            Ticket.version,
        ).order_by(Ticket.id)
    ).all()
    return {"counts": counts, "tickets": [tuple(row) for row in rows]}


def test_transfer_to_another_service_keeps_its_place(client, office, take, act) -> None:
    first = take("id-card")
    later_b = [take("birth-cert"), take("birth-cert")]
    assert _call(client, office)["token"] == first["token"]

    moved = act(first["token"], "transfer", {"service": "birth-cert"})

    assert moved.status_code == 200, moved.json
    body = moved.json
    assert (body["status"], body["service"], body["counter"]) == ("waiting", "birth-cert", None)
    assert body["number"] == first["number"]  # the printed number stays the citizen's
    # It joined before both B tickets, so it is at the front of their line.
    assert body["position"] == 1
    assert client.get(f"/api/v1/tickets/{later_b[0]['token']}").json["position"] == 2
    assert body["history"][-1]["event"] == "transferred"
    assert body["history"][-1]["note"] == "birth-cert"
    assert _call(client, office, "2")["token"] == first["token"]


def test_transfer_to_a_counter_waits_in_that_counter_s_own_line(client, office, take, act) -> None:
    first, second, third = take(), take(), take()
    _call(client, office, "1")

    body = act(first["token"], "transfer", {"counter": "2"}).json

    assert (body["status"], body["counter"], body["service"]) == ("waiting", "2", "id-card")
    # Counter 1 does not call it: it is counter 2's.
    assert _call(client, office, "1")["token"] == second["token"]
    # Counter 2 calls its own line first.
    assert _call(client, office, "2")["token"] == first["token"]
    assert _call(client, office, "2")["token"] == third["token"]
    events = client.get(f"/api/v1/tickets/{first['token']}").json["history"]
    assert [(e["event"], e["note"]) for e in events[-3:]] == [
        ("transferred", "id-card @ 2"),
        ("called", "2"),
        ("done", None),
    ]


def test_hold_then_resume_then_back_to_the_line(client, office, take, act) -> None:
    first, second, third = take(), take(), take()
    _call(client, office)

    held = act(first["token"], "hold").json
    assert (held["status"], held["counter"], held["position"]) == ("on_hold", "1", None)
    assert held["history"][-1]["event"] == "held"
    branch = client.get("/api/v1/branches/cairo-civil").json
    id_card = next(s for s in branch["services"] if s["code"] == "id-card")
    assert id_card["waiting"] == 2  # a held citizen is not waiting for anyone else's turn
    assert next(c for c in branch["counters"] if c["code"] == "1")["now_serving"] is None

    # The counter goes on: the next citizen is called, the held one stays held.
    assert _call(client, office)["token"] == second["token"]
    assert client.get(f"/api/v1/tickets/{first['token']}").json["status"] == "on_hold"
    busy = _error(act(first["token"], "resume"), 409, "counter_busy")
    assert busy["fields"]["serving"] == second["number"]

    assert act(second["token"], "done").status_code == 200
    resumed = act(first["token"], "resume").json
    assert (resumed["status"], resumed["counter"]) == ("called", "1")
    assert resumed["history"][-1]["event"] == "resumed"

    act(first["token"], "hold")
    back = act(first["token"], "back-to-line").json
    assert (back["status"], back["counter"]) == ("waiting", None)
    assert back["position"] == 1  # its old place, before the third ticket
    assert back["history"][-1]["event"] == "back_to_line"
    assert _call(client, office, "2")["token"] == first["token"]
    assert client.get(f"/api/v1/tickets/{third['token']}").json["position"] == 1


def test_a_held_citizen_who_never_comes_back_is_a_no_show(client, office, take, act) -> None:
    first = take()
    _call(client, office)
    act(first["token"], "hold")
    assert act(first["token"], "no-show").json["status"] == "no_show"


@pytest.mark.parametrize(
    ("action", "json", "status", "code"),
    [
        ("hold", None, 409, "state_conflict"),  # only a called ticket is put aside
        ("resume", None, 409, "state_conflict"),
        ("back-to-line", None, 409, "state_conflict"),
        ("transfer", {"service": "birth-cert"}, 409, "state_conflict"),
    ],
)
def test_actions_on_a_waiting_ticket_are_refused(
    client, office, take, act, action, json, status, code
) -> None:
    waiting = take()
    before = _snapshot()
    _error(act(waiting["token"], action, json), status, code)
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("json", "status", "code", "field"),
    [
        ({}, 422, "invalid_input", "service"),
        ({"service": "id-card"}, 422, "invalid_input", "service"),  # its own line
        ({"counter": "1"}, 422, "invalid_input", "counter"),  # already at that counter
        ({"service": "passport"}, 404, "not_found", "service"),
        ({"counter": "9"}, 404, "not_found", "counter"),
        ({"service": 7}, 422, "invalid_input", "service"),
        ({"service": ""}, 422, "invalid_input", "service"),
        ({"counter": "2", "extra": True}, 422, "invalid_input", "extra"),
    ],
)
def test_bad_transfers_are_refused_and_change_nothing(
    client, office, take, act, json, status, code, field
) -> None:
    called = take()
    _call(client, office)
    before = _snapshot()
    body = _error(act(called["token"], "transfer", json), status, code)
    assert field in body["fields"]
    assert _snapshot() == before


def test_a_counter_that_does_not_serve_the_service_is_refused(
    client, office, take, act, make_token
) -> None:
    manager = make_token("manager")
    patched = client.patch(
        "/api/v1/branches/cairo-civil/counters/2", json={"services": ["id-card"]}, headers=manager
    )
    assert patched.status_code == 200, patched.json
    called = take()
    _call(client, office)
    before = _snapshot()
    body = _error(
        act(called["token"], "transfer", {"service": "birth-cert", "counter": "2"}),
        422,
        "invalid_input",
    )
    assert "counter" in body["fields"]
    assert _snapshot() == before


def test_transfer_body_that_is_not_json(client, office, take) -> None:
    called = take()
    _call(client, office)
    before = _snapshot()
    response = client.post(
        f"/api/v1/tickets/{called['token']}/transfer",
        data="{not json",
        content_type="application/json",
        headers=office["staff"],
    )
    assert response.status_code in (400, 422)
    assert set(response.json) == {"error", "message", "fields"}
    assert _snapshot() == before


@pytest.mark.parametrize("action", ["hold", "resume", "back-to-line", "transfer"])
def test_who_may_act(client, office, take, act, make_branch, make_token, action) -> None:
    make_branch("giza-civil")
    elsewhere, kiosk = make_token("staff", "giza-civil"), make_token("kiosk")
    called = take()
    _call(client, office)
    before = _snapshot()
    json = {"counter": "2"} if action == "transfer" else None
    _error(act(called["token"], action, json, elsewhere), 403, "forbidden")
    _error(act(called["token"], action, json, kiosk), 403, "forbidden")
    _error(act(called["token"], action, json, {}), 401, "unauthorized")
    _error(act("no-such-token", action, json), 404, "not_found")
    assert _snapshot() == before
    refusals = db.session.scalars(
        select(AuditEvent.role).where(AuditEvent.outcome == "refused")
    ).all()
    assert refusals == ["staff"]  # the other branch's staff; a kiosk is not recorded
