"""A citizen without a phone books at the office: the kiosk (or staff) books a paused service's
earliest free time with no number, nobody is texted, and the printed slip is the record. From
anywhere else a booking still needs the number."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from queue_app.models import Message, SlotBooking, Ticket, TicketKind, TicketStatus
from queue_app.web.extensions import db

BRANCH = "/api/v1/branches/cairo-civil"


@pytest.fixture
def paused(client, make_branch, make_backend, make_token):
    """The branch's one service paused by a declared outage with no expected end: it gives no
    walk-in ticket and offers tomorrow's first slot instead. Returns that slot's start."""
    backend = make_backend()
    make_branch(backends=[backend])
    declared = client.post(
        f"/api/v1/backends/{backend.code}/outages", json={}, headers=make_token("admin")
    )
    assert declared.status_code in (200, 201), declared.json
    [service] = client.get(BRANCH).json["services"]
    assert service["state"] == "paused"
    return service["next_slot"]


def _state() -> tuple:
    db.session.expire_all()
    return (
        db.session.scalar(select(func.count()).select_from(Ticket)),
        db.session.scalar(select(func.count()).select_from(Message)),
        tuple(db.session.execute(select(SlotBooking.starts_at, SlotBooking.booked)).all()),
    )


def _book(client, start, headers=None, **body):
    return client.post(
        f"{BRANCH}/appointments",
        json={"service": "id-card", "start": start, **body},
        headers=headers or {},
    )


def test_a_kiosk_books_a_paused_services_earliest_time_without_a_number(client, paused, make_token):
    kiosk = make_token("kiosk")
    walk_in = client.post(f"{BRANCH}/tickets", json={"service": "id-card"}, headers=kiosk)
    assert walk_in.status_code == 409
    assert walk_in.json["fields"]["next_slot"] == paused == "2026-11-25T06:00:00+00:00"

    booked = _book(client, paused, kiosk)
    assert booked.status_code == 201, booked.json
    assert booked.json["status"] == "scheduled"
    assert booked.json["kind"] == "appointment"
    assert booked.json["slot"]["start"] == paused
    assert booked.json["qr_url"].endswith("/qr.png")
    ticket = db.session.scalars(select(Ticket)).one()
    assert (ticket.phone, ticket.kind, ticket.status) == (
        None,
        TicketKind.APPOINTMENT,
        TicketStatus.SCHEDULED,
    )
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0  # nobody to text
    assert db.session.scalar(select(SlotBooking.booked)) == 1

    # Citizens without a number are not one citizen: a second one books the same way.
    second = _book(client, paused, kiosk)
    assert second.status_code == 201, second.json
    assert second.json["number"] != booked.json["number"]


def test_a_retry_with_its_idempotency_key_gets_the_same_booking(client, paused, make_token):
    headers = {**make_token("kiosk"), "Idempotency-Key": "kiosk-1-no-phone"}
    first = _book(client, paused, headers)
    again = _book(client, paused, headers)
    assert first.status_code == again.status_code == 201
    assert again.json["token"] == first.json["token"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_staff_of_the_branch_may_book_without_a_number(client, paused, make_token):
    assert _book(client, paused, make_token("staff")).status_code == 201


def test_a_public_booking_without_a_number_is_refused(client, paused):
    before = _state()
    refused = _book(client, paused)
    assert refused.status_code == 422
    assert refused.json["error"] == "invalid_input"
    assert set(refused.json) == {"error", "message", "fields"}
    assert refused.json["fields"] == {"phone": ["required"]}
    assert _state() == before


@pytest.mark.parametrize(
    ("headers", "status", "error"),
    [
        ({"Authorization": "Bearer not-a-token"}, 401, "unauthorized"),
        ({"Authorization": "Basic abc"}, 401, "unauthorized"),
        (None, 403, "forbidden"),  # a kiosk of another branch
    ],
)
def test_no_number_with_a_token_that_is_not_the_branchs_is_refused(
    client, paused, make_branch, make_token, headers, status, error
):
    if headers is None:
        make_branch("giza-traffic")
        headers = make_token("kiosk", "giza-traffic")
    before = _state()
    refused = _book(client, paused, headers)
    assert refused.status_code == status, refused.json
    assert refused.json["error"] == error
    assert set(refused.json) == {"error", "message", "fields"}
    assert _state() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": ""}, "phone"),  # an empty number is a bad number, not no number
        ({"phone": "123"}, "phone"),
        ({"start": "tomorrow"}, "start"),
    ],
)
def test_bad_input_from_a_kiosk_keeps_the_error_shape(client, paused, make_token, body, field):
    before = _state()
    body = {"start": paused, **body}
    refused = _book(client, body.pop("start"), make_token("kiosk"), **body)
    assert refused.status_code == 422, refused.json
    assert set(refused.json) == {"error", "message", "fields"}
    assert field in refused.json["fields"]
    assert _state() == before
