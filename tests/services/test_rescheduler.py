"""The rescheduler against a real database: moves, messages, capacity, idempotence, chunks."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from queue_app import appointments, directory, rescheduler, slots, texting
from queue_app.errors import SlotFull
from queue_app.models import (
    Backend,
    Maintenance,
    Message,
    SlotBooking,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from queue_app.web.extensions import db
from tests.conftest import needs_postgresql

# The fixture's clock is Tuesday 24 November 2026, 10:00 in Cairo.
WEDNESDAY_8 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 08:00 Cairo


def words(ticket, service, start) -> str:
    return f"{service.code} {ticket.locale} {start.isoformat()}"


@pytest.fixture
def line(client, make_backend, make_branch, make_token):
    """Ten waiting walk-ins at cairo-civil (one counter: 2 appointments per 30-minute slot),
    every other one with a phone, the fourth a priority ticket. The service needs the civil
    registry's system, which has no outage and no maintenance until a test announces one."""
    make_branch(backends=[make_backend()])
    kiosk = make_token("kiosk")
    made = []
    for n in range(10):
        body = {"service": "id-card", "priority": n == 3}
        if n % 2 == 0:
            body["phone"] = f"0101234{n:04d}"
        made.append(
            client.post("/api/v1/branches/cairo-civil/tickets", json=body, headers=kiosk).json
        )
    db.session.execute(Message.__table__.delete())  # the "ticket issued" SMS: not ours here
    db.session.commit()
    return made


def _ids() -> list[int]:
    return list(db.session.scalars(select(Ticket.id).order_by(Ticket.id)))


def _run(clock, ids, **kw):
    kw.setdefault("not_before", WEDNESDAY_8)
    kw.setdefault("cause", "outage:1")
    outcome = rescheduler.reschedule(db.session, clock, ids, message_for=words, **kw)
    db.session.expire_all()
    return outcome


def _tickets() -> list[Ticket]:
    return list(db.session.scalars(select(Ticket).order_by(Ticket.id)))


def test_waiting_tickets_move_to_slots_in_order_priority_first(clock, line):
    outcome = _run(clock, _ids())
    assert (outcome.moved, outcome.unplaced, outcome.texted) == (10, 0, 5)
    tickets = _tickets()
    assert {t.status for t in tickets} == {TicketStatus.SCHEDULED}
    starts = [t.slot_start for t in tickets]
    # The priority ticket (the fourth) takes the first place; then issue order, 2.5 places a
    # slot (2, 3, 2, 3: the halves carried).
    assert starts[3] == WEDNESDAY_8
    plain = [s for i, s in enumerate(starts) if i != 3]
    assert plain == sorted(plain)
    assert plain[0] == WEDNESDAY_8
    assert plain[1] == WEDNESDAY_8 + timedelta(minutes=30)
    assert max(starts) == WEDNESDAY_8 + timedelta(hours=1, minutes=30)
    assert all(t.queued_at is None for t in tickets)
    counts = dict(db.session.execute(select(SlotBooking.starts_at, SlotBooking.booked)).all())
    assert sum(counts.values()) == 10
    assert sorted(counts.values()) == [2, 2, 3, 3]


def test_each_citizen_with_a_phone_gets_one_message_with_the_new_time(clock, line):
    _run(clock, _ids())
    messages = db.session.scalars(select(Message).order_by(Message.ticket_id)).all()
    tickets = {t.id: t for t in _tickets()}
    assert len(messages) == 5
    for message in messages:
        ticket = tickets[message.ticket_id]
        assert message.to == ticket.phone
        assert message.event == "rescheduled:outage:1"
        assert message.body == f"id-card ar {ticket.slot_start.isoformat()}"
        assert message.urgency == ticket.slot_start


def test_running_it_again_moves_nobody_twice(clock, line):
    ids = _ids()
    _run(clock, ids)
    before = [(t.slot_start, t.version) for t in _tickets()]
    again = _run(clock, ids)
    assert (again.moved, again.already_moved) == (0, 10)
    assert [(t.slot_start, t.version) for t in _tickets()] == before
    assert db.session.scalar(select(func.count()).select_from(Message)) == 5
    events = db.session.scalar(
        select(func.count()).select_from(TicketEvent).where(TicketEvent.event == "rescheduled")
    )
    assert events == 10


def test_bookings_already_held_and_closed_days_are_respected(client, clock, line):
    # Thursday 08:00 Cairo is full (two booked); Friday and Saturday are closed.
    thursday_8 = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    for phone in ("01099999991", "01099999992"):
        booked = client.post(
            "/api/v1/branches/cairo-civil/appointments",
            json={"service": "id-card", "start": thursday_8.isoformat(), "phone": phone},
        )
        assert booked.status_code == 201, booked.json
    late_thursday = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # 14:00: two slots left that day
    outcome = _run(clock, _ids()[:10], not_before=thursday_8)
    assert outcome.moved == 10
    starts = sorted(t.slot_start for t in _tickets() if t.kind.value == "walk_in")
    assert thursday_8 not in starts
    assert all(s.weekday() not in (4, 5) for s in starts)  # no Friday, no Saturday
    assert max(starts) < late_thursday + timedelta(hours=1)


def _maintenance(clock, starts_at: datetime, ends_at: datetime) -> None:
    """Announced maintenance of the system the line's service needs: its slots are blocked for
    every booking and every move, whatever the cause."""
    backend = db.session.scalars(select(Backend)).one()
    db.session.add(
        Maintenance(
            backend_id=backend.id, starts_at=starts_at, ends_at=ends_at, announced_at=clock.now()
        )
    )
    db.session.commit()


def test_slots_blocked_by_maintenance_are_skipped(clock, line):
    _maintenance(clock, WEDNESDAY_8, WEDNESDAY_8 + timedelta(hours=3))
    _run(clock, _ids())
    assert min(t.slot_start for t in _tickets()) == WEDNESDAY_8 + timedelta(hours=3)


def test_without_room_the_last_in_line_stay_as_they_are(clock, line, make_token, client):
    _maintenance(clock, WEDNESDAY_8, WEDNESDAY_8 + timedelta(days=70))
    outcome = _run(clock, _ids())
    assert (outcome.moved, outcome.unplaced) == (0, 10)
    assert {t.status for t in _tickets()} == {TicketStatus.WAITING}


def test_a_dry_run_changes_nothing(clock, line):
    outcome = _run(clock, _ids(), dry_run=True)
    assert outcome.moved == 10
    assert {t.status for t in _tickets()} == {TicketStatus.WAITING}
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0


def test_a_failure_mid_run_leaves_each_chunk_whole(clock, line, monkeypatch):
    """A crash in the middle of a mass move: the chunks written are whole (moves with their
    messages), the rest untouched, and running it again finishes the job."""
    monkeypatch.setattr(rescheduler, "CHUNK", 4)
    calls = {"n": 0}

    def failing(ticket, service, start):
        calls["n"] += 1
        if calls["n"] == 3:  # the second chunk's first message
            raise RuntimeError("worker killed")
        return words(ticket, service, start)

    with pytest.raises(RuntimeError):
        rescheduler.reschedule(
            db.session, clock, _ids(), not_before=WEDNESDAY_8, cause="outage:1", message_for=failing
        )
    db.session.rollback()
    db.session.expire_all()
    tickets = _tickets()
    moved = [t for t in tickets if t.status == TicketStatus.SCHEDULED]
    assert [t.id for t in moved] == _ids()[:4]
    texted = set(db.session.scalars(select(Message.ticket_id)))
    assert texted == {t.id for t in moved if t.phone}
    assert sum(db.session.scalars(select(SlotBooking.booked))) == 4
    finished = _run(clock, _ids())
    assert (finished.moved, finished.already_moved) == (6, 4)
    assert db.session.scalar(select(func.count()).select_from(Message)) == 5


# --- no slot ever holds more than its capacity -------------------------------------------


@needs_postgresql
@pytest.mark.postgresql
@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
def test_parallel_bookings_and_a_mass_move_never_overbook(
    app, clock, make_branch, make_token, client
):
    """32 threads book the same few slots while a mass reschedule fills them too."""
    make_branch()
    kiosk = make_token("kiosk")
    for _ in range(12):
        client.post(
            "/api/v1/branches/cairo-civil/tickets", json={"service": "id-card"}, headers=kiosk
        )
    ids = _ids()
    engine = db.engine
    starts = [WEDNESDAY_8 + timedelta(minutes=30 * i) for i in range(4)]
    results: list[str] = []
    barrier = threading.Barrier(33)

    def book(n: int) -> None:
        barrier.wait()
        with Session(engine, expire_on_commit=False) as session:
            texting.set_public_url(session.info, "http://queue.test")
            try:
                appointments.book(
                    session,
                    clock,
                    "cairo-civil",
                    "id-card",
                    start=starts[n % 4],
                    phone=f"0105555{n:04d}",
                )
                results.append("booked")
            except SlotFull:
                results.append("full")

    def move() -> None:
        barrier.wait()
        with Session(engine, expire_on_commit=False) as session:
            rescheduler.reschedule(
                session, clock, ids, not_before=WEDNESDAY_8, cause="outage:9", message_for=words
            )

    threads = [threading.Thread(target=book, args=(n,)) for n in range(32)]
    threads.append(threading.Thread(target=move))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    db.session.expire_all()
    held = db.session.execute(
        select(Ticket.slot_start, func.count())
        .where(Ticket.status == TicketStatus.SCHEDULED)
        .group_by(Ticket.slot_start)
    ).all()
    service = directory.current(db.session).branch("cairo-civil").service("id-card")
    places = {
        start: n
        for start, _, n in slots.capacities(db.session, service, clock.now()).day_slots(
            WEDNESDAY_8.date()
        )
    }
    assert all(n <= places[start] for start, n in held), held  # 2.5 a slot: 2, 3, 2, 3, ...
    counted = dict(db.session.execute(select(SlotBooking.starts_at, SlotBooking.booked)).all())
    assert counted == dict(held)  # the counters agree with the tickets
    assert results.count("booked") + results.count("full") == 32
    # The four slots hold ten, shared with the moved tickets.
    assert results.count("booked") <= sum(places[start] for start in starts) == 10
    assert (
        db.session.scalar(select(func.count()).where(Ticket.status == TicketStatus.SCHEDULED))
        == results.count("booked") + 12
    )


@pytest.mark.parametrize("capacity", [1, 3])
def test_many_bookings_of_one_slot_stop_at_its_capacity(app, clock, make_branch, capacity):
    make_branch()
    service = directory.current(db.session).branch("cairo-civil").service("id-card")
    taken = [slots.take_place(db.session, service.id, WEDNESDAY_8, capacity) for _ in range(5)]
    db.session.commit()
    assert taken == [True] * capacity + [False] * (5 - capacity)
    assert db.session.scalar(select(SlotBooking.booked)) == capacity
