"""Nobody can flood a stranger's phone: at most 8 messages a day to one number (the default
QUEUE_SMS_DAILY_CAP); the request that would send the 9th answers 429 and changes nothing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from queue_app import appointments, outbox
from queue_app.errors import RateLimited
from queue_app.models import Message, MessageStatus, SlotBooking, Ticket
from queue_app.web.extensions import db
from tests.conftest import needs_postgresql

BRANCH = "/api/v1/branches/cairo-civil"
PHONE, E164 = "01012345678", "+201012345678"
POSTGRESQL_ONLY = pytest.mark.parametrize(
    "db_kind", [pytest.param("postgresql", marks=[pytest.mark.postgresql, needs_postgresql])]
)
WAIT_S = 60


@pytest.fixture
def branch(make_branch):
    return make_branch()


def _book(client, start: str = "2026-11-24T11:00:00+02:00", phone: str = PHONE):
    response = client.post(
        f"{BRANCH}/appointments", json={"service": "id-card", "start": start, "phone": phone}
    )
    assert response.status_code == 201, response.json
    return response.json["token"]


def _state() -> tuple:
    """Everything a refused request must leave as it was."""
    db.session.expire_all()
    return (
        tuple(db.session.execute(select(Ticket.id, Ticket.slot_start, Ticket.version)).all()),
        tuple(db.session.execute(select(Message.id, Message.status)).all()),
        tuple(db.session.execute(select(SlotBooking.starts_at, SlotBooking.booked)).all()),
    )


def _refused(response) -> None:
    assert response.status_code == 429, response.json
    assert response.json["error"] == "rate_limited"
    assert set(response.json) == {"error", "message", "fields"}
    assert "phone" in response.json["fields"]


def test_another_time_asked_again_and_again_stops_at_the_cap(client, branch):
    token = _book(client)  # one message: the booking
    for _ in range(7):  # seven moves: eight messages in all
        assert client.post(f"/api/v1/tickets/{token}/next-slot").status_code == 200
    before = _state()
    for _ in range(3):
        _refused(client.post(f"/api/v1/tickets/{token}/next-slot"))
    assert _state() == before  # not moved, nothing written
    assert db.session.scalar(select(func.count()).where(Message.to == E164)) == 8


def test_the_cap_starts_again_at_the_branch_s_midnight(client, branch, clock):
    token = _book(client, start="2026-11-25T08:00:00+02:00")
    for _ in range(7):
        assert client.post(f"/api/v1/tickets/{token}/next-slot").status_code == 200
    clock.set(datetime(2026, 11, 24, 21, 59, tzinfo=UTC))  # 23:59 in Cairo
    _refused(client.post(f"/api/v1/tickets/{token}/next-slot"))
    clock.advance(minutes=1)  # midnight in Cairo, 22:00 UTC
    moved = client.post(f"/api/v1/tickets/{token}/next-slot")
    assert moved.status_code == 200, moved.json


def test_tickets_for_one_number_stop_at_the_cap(client, branch, make_token):
    kiosk = make_token("kiosk")
    for _ in range(8):
        taken = client.post(
            f"{BRANCH}/tickets", json={"service": "id-card", "phone": PHONE}, headers=kiosk
        )
        assert taken.status_code == 201
    before = _state()
    _refused(
        client.post(f"{BRANCH}/tickets", json={"service": "id-card", "phone": PHONE}, headers=kiosk)
    )
    assert _state() == before
    other = client.post(
        f"{BRANCH}/tickets", json={"service": "id-card", "phone": "01098765432"}, headers=kiosk
    )
    assert other.status_code == 201  # another number has its own count
    assert (
        client.post(f"{BRANCH}/tickets", json={"service": "id-card"}, headers=kiosk).status_code
        == 201
    )


def test_messages_over_the_cap_are_suppressed_with_the_reason(client, branch, clock):
    token = _book(client)
    for _ in range(7):
        client.post(f"/api/v1/tickets/{token}/next-slot")
    ticket = db.session.scalar(select(Ticket).where(Ticket.token == token))
    # What no request refuses: an office's mass move, an answer to a reply, "your turn".
    outbox.enqueue_rows(
        db.session,
        [
            outbox.row(
                clock.now(),
                ticket_id=ticket.id,
                event="rescheduled:outage:1",
                to=E164,
                locale="ar",
                body="moved",
            ),
            outbox.row(
                clock.now(), ticket_id=None, event="reply:SM1", to=E164, locale="ar", body="help"
            ),
        ],
    )
    outbox.enqueue(
        db.session,
        clock.now(),
        ticket=ticket,
        event="turn_near",
        to=E164,
        locale="ar",
        body="your turn is near",
    )
    outbox.enqueue(
        db.session,
        clock.now(),
        ticket=None,
        event="opted-out:SM2",
        to=E164,
        locale="ar",
        body="you will get no more messages",
    )
    db.session.commit()
    stored = {
        m.event: (m.status, m.error)
        for m in db.session.scalars(select(Message).where(Message.to == E164))
    }
    held = (MessageStatus.SUPPRESSED, "daily cap: this number had its 8 messages today")
    assert stored["rescheduled:outage:1"] == held
    assert stored["reply:SM1"] == held
    assert stored["turn_near"] == (MessageStatus.QUEUED, None)  # exempt, and not counted
    assert stored["opted-out:SM2"] == (MessageStatus.QUEUED, None)
    claimed = outbox.claim(db.session, clock.now() + timedelta(minutes=1), "worker", 100)
    assert "moved" not in {m.body for m in claimed}
    assert {"your turn is near", "you will get no more messages"} <= {m.body for m in claimed}


def test_a_bulk_write_counts_its_own_rows(app, clock):
    rows = [
        outbox.row(
            clock.now(),
            ticket_id=None,
            event=f"rescheduled:capacity:{n}",
            to=E164,
            locale="ar",
            body=f"move {n}",
        )
        for n in range(10)
    ]
    outbox.enqueue_rows(db.session, rows)
    db.session.commit()
    statuses = list(db.session.scalars(select(Message.status).order_by(Message.id)))
    assert statuses == [MessageStatus.QUEUED] * 8 + [MessageStatus.SUPPRESSED] * 2


def test_room_found_for_one_message_is_room_for_one_only(app, clock):
    """``ensure_room`` saves the outbox a second count for the request's own message, once:
    a second message in the same transaction is counted as usual."""
    from queue_app import daily_cap

    def send(n: int) -> None:
        outbox.enqueue(
            db.session,
            clock.now(),
            ticket=None,
            event=f"rescheduled:capacity:{n}",
            to=E164,
            locale="ar",
            body=f"move {n}",
        )

    for n in range(7):
        send(n)
    db.session.commit()
    daily_cap.ensure_room(db.session, clock.now(), E164, "Africa/Cairo")  # the 8th fits
    send(7)
    send(8)
    db.session.commit()
    daily_cap.ensure_room(db.session, clock.now(), "+201099999999", "Africa/Cairo")
    db.session.rollback()  # the room found in a transaction ends with it
    assert not daily_cap.take_room(db.session, "+201099999999")
    statuses = list(db.session.scalars(select(Message.status).order_by(Message.id)))
    assert statuses == [MessageStatus.QUEUED] * 8 + [MessageStatus.SUPPRESSED]


@POSTGRESQL_ONLY
def test_requests_racing_for_the_last_message_of_the_day_let_one_through(
    app, client, branch, clock
):
    token = _book(client)
    for _ in range(6):  # the booking and six moves: seven messages, one left
        assert client.post(f"/api/v1/tickets/{token}/next-slot").status_code == 200
    db.session.remove()  # the test's own session holds no lock while the requests race
    start = threading.Barrier(6)

    def ask(token: str) -> str:
        with app.app_context():
            start.wait(timeout=WAIT_S)
            try:
                appointments.next_slot(db.session, clock, token)
            except RateLimited:
                return "refused"
            finally:
                db.session.remove()
            return "moved"

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(ask, [token] * 6, timeout=WAIT_S))
    assert sorted(answers) == ["moved"] + ["refused"] * 5
    counted = db.session.scalar(select(func.count()).where(Message.to == E164))
    assert counted == 8
