"""POST /tickets/{token}/check-in: an appointment's citizen arrives and enters the waiting line.

Appointments are booked by a later issue; here scheduled tickets are made with the models.
The clock stands at Tuesday 10:00 in Cairo (08:00 UTC)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from queue_app import numbering, tickets
from queue_app.db import Base
from queue_app.models import Branch, Service, Ticket, TicketEvent, TicketKind, TicketStatus
from queue_app.web.extensions import db

STAFF_CALL = "/api/v1/branches/cairo-civil/counters/1/call-next"


def _row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }


def _assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.json
    assert set(body) == {"error", "message", "fields"}
    assert body["error"] == code
    assert body["message"]
    return body


def _check_in(client, token: str, headers: dict[str, str]):
    return client.post(f"/api/v1/tickets/{token}/check-in", headers=headers)


@pytest.fixture
def make_appointment(app, clock) -> Callable[..., Ticket]:
    """A scheduled ticket for a slot of ``minutes`` (default 30) starting at ``start``."""

    def make(
        start: datetime, *, branch: str = "cairo-civil", service: str = "id-card", **extra
    ) -> Ticket:
        found = db.session.scalars(
            select(Service).join(Branch).where(Branch.code == branch, Service.code == service)
        ).one()
        local_day = start.astimezone(found.branch.zone).date()
        ticket = Ticket(
            token=tickets.new_token(),
            branch_id=found.branch_id,
            service_id=found.id,
            letter=found.letter,
            local_day=local_day,
            sequence=numbering.take_number(
                db.session, found.branch_id, found.letter, local_day, clock.now()
            ).sequence,
            kind=TicketKind.APPOINTMENT,
            status=TicketStatus.SCHEDULED,
            issued_at=clock.now() - timedelta(days=2),  # booked two days ago
            slot_start=start,
            slot_end=start + timedelta(minutes=30),
            **extra,
        )
        ticket.events.append(TicketEvent(at=ticket.issued_at, event="booked"))
        db.session.add(ticket)
        db.session.commit()
        return ticket

    return make


@pytest.fixture
def kiosk(make_branch, make_token) -> dict[str, str]:
    make_branch()
    return make_token("kiosk")


def test_check_in_within_the_window(client, kiosk, make_appointment, clock):
    appointment = make_appointment(clock.now() + timedelta(minutes=20))
    response = _check_in(client, appointment.token, kiosk)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "waiting"
    assert body["kind"] == "appointment"
    assert body["position"] == 1
    assert body["slot"]["start"] == "2026-11-24T08:20:00+00:00"
    assert [h["event"] for h in body["history"]] == ["booked", "checked_in"]
    stored = db.session.scalar(select(Ticket).where(Ticket.token == appointment.token))
    assert stored.queued_at == appointment.slot_start


def test_place_in_line_is_the_slot_start(
    client, kiosk, make_token, make_appointment, take_walk_in, clock
):
    """Walk-ins issued before the slot began go first; those issued after it began come after
    the appointment, however late in its window the citizen checked in."""
    before = take_walk_in()  # 10:00
    appointment = make_appointment(clock.now() + timedelta(minutes=5))  # slot at 10:05
    clock.advance(minutes=7)
    after = take_walk_in()  # 10:07
    clock.advance(minutes=3)
    checked_in = _check_in(client, appointment.token, kiosk).json  # 10:10
    assert checked_in["position"] == 2
    assert client.get(f"/api/v1/tickets/{after['token']}").json["position"] == 3
    staff = make_token("staff")
    called = [client.post(STAFF_CALL, headers=staff).json["token"] for _ in range(3)]
    assert called == [before["token"], appointment.token, after["token"]]


def test_priority_appointment_goes_with_the_priority_tickets(
    client, kiosk, make_appointment, take_walk_in, clock
):
    take_walk_in()
    appointment = make_appointment(clock.now() + timedelta(minutes=10), priority=True)
    assert _check_in(client, appointment.token, kiosk).json["position"] == 1


@pytest.mark.parametrize(
    ("minutes_to_slot", "allowed"),
    [
        (30, True),  # check-in opens half an hour before
        (31, False),
        (-15, True),  # and closes a quarter of an hour after the slot starts
        (-16, False),
    ],
)
def test_window_edges(client, kiosk, make_appointment, clock, minutes_to_slot, allowed):
    appointment = make_appointment(clock.now() + timedelta(minutes=minutes_to_slot))
    response = _check_in(client, appointment.token, kiosk)
    assert (response.status_code == 200) is allowed, response.json


def test_too_early_says_when_check_in_opens(client, kiosk, make_appointment, clock):
    appointment = make_appointment(clock.now() + timedelta(hours=2))  # 12:00
    before = _row_counts()
    body = _assert_error(_check_in(client, appointment.token, kiosk), 409, "too_early")
    assert body["fields"]["opens_at"] == "2026-11-24T09:30:00+00:00"  # 11:30 in Cairo
    assert body["fields"]["slot_start"] == "2026-11-24T10:00:00+00:00"
    assert _row_counts() == before
    clock.advance(minutes=90)
    assert _check_in(client, appointment.token, kiosk).status_code == 200


def test_too_late_says_what_to_do(client, kiosk, make_appointment, clock):
    appointment = make_appointment(clock.now() - timedelta(minutes=20))  # 09:40
    before = _row_counts()
    body = _assert_error(_check_in(client, appointment.token, kiosk), 409, "too_late")
    assert body["fields"]["closed_at"] == "2026-11-24T07:55:00+00:00"  # 09:55 in Cairo
    assert body["fields"]["options"] == ["walk_in", "book"]
    assert "walk-in ticket" in body["message"]
    assert "book" in body["message"]
    assert _row_counts() == before
    stored = db.session.scalar(select(Ticket.status).where(Ticket.token == appointment.token))
    assert stored == TicketStatus.SCHEDULED


def test_only_a_scheduled_ticket_checks_in(client, kiosk, make_appointment, take_walk_in, clock):
    walk_in = take_walk_in()
    before = _row_counts()
    body = _assert_error(_check_in(client, walk_in["token"], kiosk), 409, "state_conflict")
    assert body["fields"] == {"status": "waiting"}
    assert _row_counts() == before

    appointment = make_appointment(clock.now() + timedelta(minutes=10))
    assert _check_in(client, appointment.token, kiosk).status_code == 200
    again = _assert_error(_check_in(client, appointment.token, kiosk), 409, "state_conflict")
    assert again["fields"] == {"status": "waiting"}

    cancelled = make_appointment(clock.now() + timedelta(minutes=10))
    client.post(f"/api/v1/tickets/{cancelled.token}/cancel")
    gone = _assert_error(_check_in(client, cancelled.token, kiosk), 409, "state_conflict")
    assert gone["fields"] == {"status": "cancelled"}


@pytest.mark.parametrize("role", ["kiosk", "staff", "manager", "admin"])
def test_who_may_check_in(client, make_branch, make_token, make_appointment, clock, role):
    make_branch()
    appointment = make_appointment(clock.now() + timedelta(minutes=10))
    assert _check_in(client, appointment.token, make_token(role)).status_code == 200


def test_another_branchs_token_is_refused(client, make_branch, make_token, make_appointment, clock):
    make_branch()
    make_branch("giza-traffic", services=[("licence-renewal", "L")])
    appointment = make_appointment(clock.now() + timedelta(minutes=10))
    before = _row_counts()
    for role in ("kiosk", "staff"):
        body = _assert_error(
            _check_in(client, appointment.token, make_token(role, "giza-traffic")), 403, "forbidden"
        )
        assert body["fields"] == {"branch": "giza-traffic"}
    after = _row_counts()
    del after["api_tokens"], before["api_tokens"]
    # The staff token's refusal is kept in the audit trail; the kiosk's is not.
    assert after == {**before, "audit_events": before["audit_events"] + 1}


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "unauthorized"),
        ({"Authorization": "Bearer not-a-token"}, 401, "unauthorized"),
    ],
)
def test_without_a_good_token(client, kiosk, make_appointment, clock, headers, status, code):
    appointment = make_appointment(clock.now() + timedelta(minutes=10))
    before = _row_counts()
    _assert_error(_check_in(client, appointment.token, headers), status, code)
    assert _row_counts() == before


def test_unknown_ticket(client, kiosk):
    before = _row_counts()
    _assert_error(_check_in(client, "forged-token-0000000000000000", kiosk), 404, "not_found")
    _assert_error(
        client.get("/api/v1/tickets/x/check-in", headers=kiosk), 405, "method_not_allowed"
    )
    assert _row_counts() == before


def test_the_ticket_page_shows_the_checked_in_ticket(client, kiosk, make_appointment, clock):
    appointment = make_appointment(clock.now() + timedelta(minutes=10))
    _check_in(client, appointment.token, kiosk)
    html = client.get(f"/t/{appointment.token}?lang=en").text
    assert "Checked in" in html
    assert "Waiting" in html


@pytest.fixture
def take_walk_in(client, kiosk) -> Callable[[], dict]:
    def take() -> dict:
        response = client.post(
            "/api/v1/branches/cairo-civil/tickets", json={"service": "id-card"}, headers=kiosk
        )
        assert response.status_code == 201, response.json
        return response.json

    return take
