"""Roles hold on every API route: the people and tokens of one branch (Giza) are refused, with
403 and nothing changed, on every route that acts on another branch's (Cairo's) tickets,
counters, capacity, statistics, systems and their outages, reports and maintenance.

The table names every /api/v1 route: a new route fails ``test_every_route_is_in_the_table``
until it says whether it is public or which call makes it touch Cairo."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from queue_app import maintenance, outages
from queue_app.access import Principal
from queue_app.models import (
    AuditEvent,
    CapacityOverride,
    Maintenance,
    Outage,
    OutageReport,
    Role,
    Service,
    Ticket,
    TicketEvent,
)
from queue_app.web.extensions import db
from tests.conftest import csrf_of, sign_in

# Readable by anyone, or acting on a ticket by its secret token (the citizen's own).
PUBLIC = {
    "api-docs.openapi_json",
    "backends.list_backends",
    "backends.list_outages",
    "branches.list_branches",
    "branches.get_branch",
    "appointments.list_slots",
    "appointments.book",
    "appointments.ask_booking_code",
    "tickets.get_ticket",
    "tickets.accept_offer",
    "tickets.cancel_ticket",
    "tickets.confirm_ticket",
    "tickets.next_slot",
}

ADMIN = Principal(role=Role.ADMIN, branch_id=None, branch_code=None)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Cairo:
    """What the calls act on: Cairo's tickets, in each state a route needs."""

    called: str  # a ticket called at counter 1
    held: str  # a ticket on hold
    booked: str  # an appointment, for check-in
    window: int  # a maintenance window of Cairo's own system


def calls(cairo: Cairo, start: str, end: str) -> dict[str, Call]:
    b = "/api/v1/branches/cairo-civil"
    t = "/api/v1/tickets"
    s = "/api/v1/backends"
    return {
        "branches.take_ticket": Call("POST", f"{b}/tickets", {"service": "id-card"}),
        "counters.call_next": Call("POST", f"{b}/counters/2/call-next"),
        "counters.patch_counter": Call("PATCH", f"{b}/counters/1", {"open": False}),
        "appointments.set_capacity": Call(
            "PUT",
            f"{b}/services/id-card/capacity",
            {"from": "2026-11-25", "to": "2026-11-25", "per_slot": 0},
        ),
        "statistics.branch_statistics": Call(
            "GET", f"{b}/statistics?from=2026-11-24&to=2026-11-24"
        ),
        "audit.branch_audit": Call("GET", f"{b}/audit"),
        "audit.branch_audit_csv": Call("GET", f"{b}/audit.csv"),
        "tickets.ticket_done": Call("POST", f"{t}/{cairo.called}/done"),
        "tickets.ticket_no_show": Call("POST", f"{t}/{cairo.called}/no-show"),
        "tickets.ticket_recall": Call("POST", f"{t}/{cairo.called}/recall"),
        "tickets.ticket_hold": Call("POST", f"{t}/{cairo.called}/hold"),
        "tickets.ticket_transfer": Call(
            "POST", f"{t}/{cairo.called}/transfer", {"service": "passport"}
        ),
        "tickets.ticket_resume": Call("POST", f"{t}/{cairo.held}/resume"),
        "tickets.ticket_back_to_line": Call("POST", f"{t}/{cairo.held}/back-to-line"),
        "tickets.ticket_came_back": Call("POST", f"{t}/{cairo.called}/came-back"),
        "tickets.check_in": Call("POST", f"{t}/{cairo.booked}/check-in"),
        "backends.declare_outage": Call(
            "POST", f"{s}/civil-registry/outages", {"branch": "cairo-civil"}
        ),
        "backends.resolve_outage": Call(
            "POST", f"{s}/passport-system/outages/resolve", {"branch": "cairo-civil"}
        ),
        "backends.report_down": Call(
            "POST", f"{s}/civil-registry/reports", {"branch": "cairo-civil"}
        ),
        "backends.system_back": Call(
            "POST", f"{s}/passport-system/back", {"branch": "cairo-civil"}
        ),
        "backends.announce_maintenance": Call(
            "POST", f"{s}/civil-registry/maintenance", {"start": start, "end": end}
        ),
        "backends.withdraw_maintenance": Call(
            "DELETE", f"{s}/civil-registry/maintenance/{cairo.window}"
        ),
    }


def test_every_route_is_in_the_table(app: Flask) -> None:
    routes = {r.endpoint for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1")}
    cairo = Cairo("t", "t", "t", 1)
    listed = PUBLIC | set(calls(cairo, "", ""))
    assert routes - listed == set(), "say whether these routes are public or scoped"
    assert listed - routes == set(), "the table names routes that are gone"


@pytest.fixture
def cairo(
    app: Flask,
    client: FlaskClient,
    make_backend: Callable[..., Any],
    make_branch: Callable[..., Any],
    make_token: Callable[..., dict[str, str]],
    clock: Any,
) -> Cairo:
    """Cairo uses the civil registry and the passport systems (the passport one down at Cairo,
    declared by its manager); Giza only the traffic system."""
    civil = make_backend("civil-registry")
    passport = make_backend("passport-system", name_ar="الجوازات", name_en="Passports")
    traffic = make_backend("traffic", name_ar="المرور", name_en="Traffic")
    make_branch(
        services=[("id-card", "A"), ("passport", "P")],
        counters=2,
        backends=[civil],
    )
    # The passport service needs the passport system, not the civil registry.
    service = db.session.scalars(select(Service).where(Service.code == "passport")).one()
    service.backends = [passport]
    db.session.commit()
    make_branch("giza", backends=[traffic])
    kiosk = make_token("kiosk")
    staff = make_token("staff")
    tokens = []
    for _ in range(3):
        answer = client.post(
            "/api/v1/branches/cairo-civil/tickets", json={"service": "id-card"}, headers=kiosk
        )
        assert answer.status_code == 201, answer.json
        tokens.append(answer.json["token"])
    # Counter 1 calls the first and holds it, then calls the second.
    assert (
        client.post("/api/v1/branches/cairo-civil/counters/1/call-next", headers=staff).json[
            "token"
        ]
        == tokens[0]
    )
    assert client.post(f"/api/v1/tickets/{tokens[0]}/hold", headers=staff).status_code == 200
    assert (
        client.post("/api/v1/branches/cairo-civil/counters/1/call-next", headers=staff).json[
            "token"
        ]
        == tokens[1]
    )
    slots = client.get("/api/v1/branches/cairo-civil/services/id-card/slots").json
    booked = client.post(
        "/api/v1/branches/cairo-civil/appointments",
        json={"service": "id-card", "start": slots[0]["start"], "phone": "01012345678"},
    )
    assert booked.status_code == 201, booked.json
    window = maintenance.announce(
        db.session,
        clock,
        ADMIN,
        "civil-registry",
        starts_at=clock.now() + timedelta(days=3),
        ends_at=clock.now() + timedelta(days=3, hours=1),
        note=None,
    )
    outages.declare(db.session, clock, "passport-system", branch_code="cairo-civil")
    return Cairo(called=tokens[1], held=tokens[0], booked=booked.json["token"], window=window.id)


def _state() -> tuple[Any, ...]:
    """Everything the routes could change."""
    db.session.expire_all()
    tickets = tuple(
        db.session.execute(
            select(Ticket.id, Ticket.status, Ticket.counter_id, Ticket.service_id).order_by(
                Ticket.id
            )
        ).all()
    )
    counts = tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (TicketEvent, Outage, OutageReport, Maintenance, CapacityOverride)
    )
    open_outages = db.session.scalar(select(func.count(Outage.id)).where(Outage.ended_at.is_(None)))
    withdrawn = db.session.scalar(
        select(func.count(Maintenance.id)).where(Maintenance.cancelled_at.is_not(None))
    )
    return tickets, counts, open_outages, withdrawn


CALLERS = ["kiosk token", "staff token", "manager token", "staff person", "manager person"]


@pytest.mark.parametrize("caller", CALLERS)
def test_giza_is_refused_on_every_route_that_touches_cairo(
    app: Flask,
    client: FlaskClient,
    cairo: Cairo,
    make_token: Callable[..., dict[str, str]],
    make_person: Callable[..., Any],
    clock: Any,
    caller: str,
) -> None:
    headers: dict[str, str] = {}
    kind, how = caller.split()
    if how == "token":
        headers = make_token(kind, "giza")
    else:
        make_person(f"giza-{kind}", kind, branches=("giza",))
        sign_in(client, f"giza-{kind}")
        headers = {"X-CSRFToken": csrf_of(client.get("/counter/giza").text)}
    start = (clock.now() + timedelta(days=5)).isoformat()
    end = (clock.now() + timedelta(days=5, hours=1)).isoformat()
    before = _state()
    answers = {}
    for endpoint, call in calls(cairo, start, end).items():
        response = client.open(call.path, method=call.method, json=call.body, headers=headers)
        answers[endpoint] = (response.status_code, (response.json or {}).get("error"))
    refused = {e: a for e, a in answers.items() if a != (403, "forbidden")}
    assert refused == {}, f"{caller} was not refused on these routes"
    assert _state() == before
    # Each refusal of a route that changes something is in the audit trail (kiosks' are not).
    audited = [e for e in answers if getattr(app.view_functions[e], "audit_action", None)]
    refusals = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.outcome == "refused")
    )
    assert refusals == (0 if kind == "kiosk" else len(audited))
