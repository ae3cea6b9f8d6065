"""Issue 13's properties of an outage's moves, over random office shapes, on a real database.

Each example builds an office (tests/helpers/office_shapes.py: 1 to 6 counters, 1 to 5 services a
counter, 3 to 30 minutes a citizen, slots of 10 to 60 minutes, 0 to 100 % kept for walk-ins),
issues real walk-in tickets and books real appointments through the domain's own functions, on
the test clock, then starts an outage and runs the worker's timers (``outage_moves.run_timers``)
or calls ``rescheduler.reschedule`` itself with small chunks. Then, whatever the shape:

- every affected ticket (the waiting line and the appointments inside the outage, of the
  services that need the system) is moved to a slot after the moves' start and clear of the
  outage, or left as it was and counted as unplaced; the counts add up;
- no slot holds more than its places (``Capacities.day_slots``), counted both ways: the slot's
  booking row and the scheduled tickets in it;
- each service's calling order is kept: priority first, then issue order; those left without a
  slot are the last in line;
- nobody is texted twice for the move, and everyone moved who has a phone is texted once.

The examples are few and small (the fixtures run them on SQLite and on PostgreSQL); the pure
planner gets many more in tests/unit/test_rescheduler_plan.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from unittest import mock

import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import select

from queue_app import (
    access,
    appointments,
    directory,
    outage_moves,
    outages,
    rescheduler,
    slots,
    tickets,
)
from queue_app.clock import FixedClock
from queue_app.directory import ServiceInfo
from queue_app.models import (
    Backend,
    Maintenance,
    Message,
    Outage,
    SlotBooking,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from queue_app.web.extensions import db
from tests.conftest import TUESDAY_MORNING, _empty_tables
from tests.helpers.office_shapes import (
    BRANCH_CODE,
    OfficeShape,
    ServiceShape,
    as_rows,
    office_shapes,
)

SYSTEM = "civil-registry"
# The scenes start on Tuesday 24 November 2026 at 10:00 in Cairo; the branch closes at 15:00 and
# opens again on Wednesday at 08:00, the first slot of a line moved with no end known.
WEDNESDAY_8 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
TUESDAY_MIDNIGHT = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)  # 00:00 Wednesday in Cairo

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # each example empties the tables itself
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


# --- the scenes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Take:
    """One ticket a scene takes before the outage: a walk-in, or an appointment in the
    ``slot``-th free slot (modulo those free) of today and the next two days."""

    service: int  # modulo the office's services
    appointment: bool
    priority: bool  # walk-ins only
    phone: bool  # appointments always have one
    slot: int
    seconds_later: int  # after the ticket before


takes = st.builds(
    Take,
    service=st.integers(0, 7),
    appointment=st.booleans(),
    priority=st.booleans(),
    phone=st.booleans(),
    slot=st.integers(0, 300),
    seconds_later=st.integers(0, 90),
)


@dataclass(frozen=True)
class Scene:
    shape: OfficeShape
    takes: list[Take]
    expected_minutes: int | None  # the outage's expected length; None: not known


scenes = st.builds(
    Scene,
    shape=office_shapes(max_services=6),
    # Up to 40 tickets, as likely many as few (a plain list would mostly be short).
    takes=st.sampled_from(range(1, 41)).flatmap(lambda n: st.lists(takes, min_size=n, max_size=n)),
    # No end known, an end today, past closing, or days away.
    expected_minutes=st.one_of(st.none(), st.integers(30, 3 * 24 * 60)),
)


def _service_infos() -> list[ServiceInfo]:
    return directory.current(db.session).branch(BRANCH_CODE).services


def _build(scene: Scene, clock: FixedClock) -> None:
    """The office, and its tickets taken one after another on the test clock."""
    db.session.remove()  # nothing of the last example's objects: the ids start again
    _empty_tables()
    clock.set(TUESDAY_MORNING)
    if currently_in_test_context():
        note(scene.shape.describe())
    backend = Backend(code=SYSTEM, name_ar="منظومة الأحوال المدنية", name_en="Civil registry")
    db.session.add(as_rows(scene.shape, backend))
    db.session.commit()
    raw = access.create_token(db.session, clock, "kiosk", BRANCH_CODE)
    kiosk = access.authenticate(db.session, clock, f"Bearer {raw}")
    services = _service_infos()
    for n, take in enumerate(scene.takes):
        clock.advance(seconds=take.seconds_later)
        service = services[take.service % len(services)]
        phone = f"0101234{n:04d}"
        if take.appointment:
            now = clock.now()
            free = [
                s
                for s in slots.slots_of(
                    db.session, service, now, now.astimezone(service.branch.zone).date(), 3
                )
                if s.available > 0
            ]
            if not free:
                continue  # nothing to book: every place is kept for walk-ins
            appointments.book(
                db.session,
                clock,
                BRANCH_CODE,
                service.code,
                start=free[take.slot % len(free)].start,
                phone=phone,
            )
        else:
            tickets.take_walk_in(
                db.session,
                clock,
                kiosk,
                BRANCH_CODE,
                service.code,
                phone=phone if take.phone else None,
                priority=take.priority,
            )


@dataclass(frozen=True)
class Before:
    """A ticket as it was before the moves."""

    id: int
    service_id: int
    status: TicketStatus
    slot_start: datetime | None
    priority: bool
    issued_at: datetime
    phone: str | None


def _snapshot() -> dict[int, Before]:
    db.session.expire_all()
    return {
        t.id: Before(t.id, t.service_id, t.status, t.slot_start, t.priority, t.issued_at, t.phone)
        for t in db.session.scalars(select(Ticket))
    }


def _calling_order(ticket: Before) -> tuple[bool, datetime, int]:
    """Priority first, then issue order (written out, not taken from the engine)."""
    return (not ticket.priority, ticket.issued_at, ticket.id)


# --- the checks, shared by both tests ---------------------------------------------------------


def _moved_for(cause: str) -> set[int]:
    return set(
        db.session.scalars(
            select(TicketEvent.ticket_id).where(
                TicketEvent.event == "rescheduled", TicketEvent.note == cause
            )
        )
    )


def _check_moved_and_left(
    before: dict[int, Before],
    affected: set[int],
    moved: set[int],
    *,
    not_before: datetime,
    now: datetime,
    blocked: tuple[datetime, datetime] | None,
) -> None:
    """Each affected ticket moved to a slot from ``not_before`` clear of ``blocked``, or left
    as it was; every other ticket left as it was."""
    assert moved <= affected, moved - affected
    slot_minutes = {s.id: s.slot_minutes for s in _service_infos()}
    for t in db.session.scalars(select(Ticket)):
        was = before[t.id]
        if t.id in moved:
            assert t.status == TicketStatus.SCHEDULED
            assert t.slot_start is not None
            assert t.slot_end is not None
            assert t.slot_start >= not_before, (t.id, t.slot_start)
            assert t.slot_start > now
            assert t.slot_end - t.slot_start == timedelta(minutes=slot_minutes[t.service_id])
            if blocked is not None:
                assert not slots.overlaps(t.slot_start, t.slot_end, [blocked]), t.slot_start
        else:  # unplaced, or never affected: as it was
            assert (t.status, t.slot_start) == (was.status, was.slot_start), t.id


def _check_capacity(
    clock: FixedClock, before: dict[int, Before], *, walk_ins_until: datetime | None = None
) -> None:
    """No slot holds more than its places; its booking row agrees with its tickets. With
    ``walk_ins_until`` (an outage's line), today's slots may also hold the walk-ins moved within
    their day in the part of the walk-in share that walk-ins at the rate taken until the outage
    would leave unused, and still no more earlier bookings than the appointment places."""
    db.session.expire_all()
    tickets = db.session.execute(
        select(Ticket.id, Ticket.service_id, Ticket.slot_start).where(
            Ticket.status == TicketStatus.SCHEDULED
        )
    ).all()
    held = Counter((sid, start) for _, sid, start in tickets)
    booked_before = Counter(
        (sid, start) for tid, sid, start in tickets if before[tid].slot_start is not None
    )
    rows = {
        (r.service_id, r.starts_at): r.booked
        for r in db.session.execute(
            select(SlotBooking.service_id, SlotBooking.starts_at, SlotBooking.booked)
        )
    }
    assert {key: n for key, n in rows.items() if n} == dict(held)  # the row counts the tickets
    by_id = {s.id: s for s in _service_infos()}
    for sid, start in held:
        service = by_id[sid]
        caps = slots.capacities(db.session, service, clock.now())
        day = start.astimezone(service.branch.zone).date()
        places = {s: n for s, _, n in caps.day_slots(day)}
        assert start in places, f"{start} is not a slot of service {sid}"
        limit = places[start]
        if walk_ins_until is not None and day == caps.today:
            expected = slots.walk_ins_per_slot(db.session, service, day, walk_ins_until)
            if expected is not None:
                share = caps.walk_in_share_slots(day, expected=expected)
                limit += {s: n for s, _, n in share}[start]
        assert held[(sid, start)] <= limit, (sid, start, held[(sid, start)], limit)
        assert booked_before[(sid, start)] <= places[start], (sid, start)


def _check_order(
    before: dict[int, Before], affected: set[int], moved: set[int], *, by_kind: bool = False
) -> None:
    """Per service, in calling order: those moved come first and their slots never go back.
    ``by_kind``: walk-ins and earlier bookings each in their own order, as walk-ins moved
    within their day may also fill room only they may use (``rescheduler.plan``)."""
    db.session.expire_all()
    start = dict(db.session.execute(select(Ticket.id, Ticket.slot_start)).all())
    kinds = (True, False) if by_kind else (None,)
    for sid in {before[i].service_id for i in affected}:
        for walk_in in kinds:
            line = sorted(
                (
                    before[i]
                    for i in affected
                    if before[i].service_id == sid
                    and (walk_in is None or (before[i].slot_start is None) == walk_in)
                ),
                key=_calling_order,
            )
            placed = [t for t in line if t.id in moved]
            assert placed == line[: len(placed)], (
                "a ticket was left without a slot before a later one"
            )
            for a, b in pairwise(placed):
                assert start[a.id] <= start[b.id], (a, start[a.id], b, start[b.id])


def _check_texts(before: dict[int, Before], moved: set[int], cause: str) -> None:
    """At most one message per ticket for this move; one for everyone moved with a phone."""
    rows = db.session.execute(
        select(Message.ticket_id, Message.event, Message.to).where(Message.event.contains(cause))
    ).all()
    per_ticket = Counter(r.ticket_id for r in rows)
    assert all(n == 1 for n in per_ticket.values()), per_ticket
    rescheduled = {r.ticket_id: r.to for r in rows if r.event == f"rescheduled:{cause}"}
    assert rescheduled == {i: before[i].phone for i in moved if before[i].phone}


def _check_told(before: dict[int, Before], unplaced: set[int], cause: str) -> None:
    """Each unplaced ticket with a phone has exactly one message saying no time is free yet,
    and every unplaced ticket is marked as awaiting one."""
    told = Counter(
        db.session.scalars(select(Message.ticket_id).where(Message.event == f"no_slot:{cause}"))
    )
    with_phone = {i for i in unplaced if before[i].phone}
    assert set(told) == with_phone
    assert all(n == 1 for n in told.values()), told
    awaiting = set(db.session.scalars(select(Ticket.id).where(Ticket.awaiting_slot_for == cause)))
    assert awaiting == unplaced


# --- through the worker's timers ---------------------------------------------------------------


@SETTINGS
@given(scene=scenes)
def test_an_outage_places_or_counts_every_affected_ticket_within_capacity_and_in_order(
    app, clock, scene
):
    _build(scene, clock)
    outage = outages.declare(db.session, clock, SYSTEM, expected_minutes=scene.expected_minutes)
    outage_id, started, expected_end = outage.id, outage.started_at, outage.expected_end
    clock.advance(minutes=20)  # the branch's reschedule_after_minutes
    now = clock.now()
    before = _snapshot()
    needing = {s.id for s in _service_infos() if s.backends}
    until = expected_end or WEDNESDAY_8
    affected = {
        t.id
        for t in before.values()
        if t.service_id in needing
        and (
            t.status == TicketStatus.WAITING
            or (t.status == TicketStatus.SCHEDULED and t.slot_start < until)
        )
    }

    report = outage_moves.run_timers(db.session, clock)

    db.session.expire_all()
    cause = f"outage:{outage_id}"
    moved = _moved_for(cause)
    unplaced = affected - moved
    record = db.session.get(Outage, outage_id)
    event("some unplaced" if unplaced else "all moved")
    event(f"{len(affected) // 10 * 10}+ affected")
    # Placed or counted: the counts add up to the affected tickets.
    assert (record.tickets_moved, record.tickets_unplaced) == (len(moved), len(unplaced))
    assert (report.moved, report.unplaced) == (len(moved), len(unplaced))
    assert report.texted == sum(1 for i in moved if before[i].phone)
    assert record.tickets_texted == report.texted + report.told_no_slot
    _check_moved_and_left(
        before,
        affected,
        moved,
        not_before=until,
        now=now,
        blocked=(started, expected_end or TUESDAY_MIDNIGHT),
    )
    _check_told(before, unplaced, cause)
    _check_capacity(clock, before, walk_ins_until=started)
    _check_order(before, affected, moved, by_kind=True)
    _check_texts(before, moved, cause)

    # The worker runs again a minute later: nothing more moves, nobody is texted again.
    after = _snapshot()
    messages = db.session.scalars(select(Message.id).order_by(Message.id)).all()
    clock.advance(minutes=1)
    again = outage_moves.run_timers(db.session, clock)
    assert (again.moved, again.texted) == (0, 0)
    assert _snapshot() == after
    assert db.session.scalars(select(Message.id).order_by(Message.id)).all() == messages


# --- through the rescheduler itself, chunk by chunk --------------------------------------------


@contextmanager
def _chunks_of(size: int) -> Iterator[None]:
    with mock.patch.object(rescheduler, "CHUNK", size):
        yield


def _words(ticket, service, start) -> str:
    return f"{service.code} {start.isoformat()}"


@SETTINGS
@given(
    scene=scenes,
    chunk=st.integers(1, 8),
    not_before_minutes=st.integers(0, 3 * 24 * 60),
    maintenance=st.one_of(st.none(), st.tuples(st.integers(0, 48), st.integers(1, 24))),
)
def test_a_move_in_small_chunks_places_or_counts_everyone_within_capacity_and_in_order(
    app, clock, scene, chunk, not_before_minutes, maintenance
):
    """``run_timers`` moves a small line in one chunk; here the rescheduler gets every waiting
    walk-in and appointment in chunks of 1 to 8, from a random time, around announced
    maintenance, so the order and the counts must hold across the chunks' transactions."""
    _build(scene, clock)
    not_before = WEDNESDAY_8 + timedelta(minutes=not_before_minutes)
    blocked = None
    if maintenance is not None:
        hours_after, hours_long = maintenance
        blocked = (
            WEDNESDAY_8 + timedelta(hours=hours_after),
            WEDNESDAY_8 + timedelta(hours=hours_after + hours_long),
        )
        backend = db.session.scalars(select(Backend)).one()
        db.session.add(
            Maintenance(
                backend_id=backend.id,
                starts_at=blocked[0],
                ends_at=blocked[1],
                announced_at=clock.now(),
            )
        )
        db.session.commit()
        blocked_for = {s.id for s in _service_infos() if s.backends}
    before = _snapshot()
    # What every caller hands over: tickets that cannot stay where they are (the waiting line,
    # appointments before the moves' start). An appointment already at or after ``not_before``
    # counts against its own slot: see the xfail test at the end of this file.
    ids = [
        i
        for i, t in before.items()
        if t.status == TicketStatus.WAITING
        or (t.status == TicketStatus.SCHEDULED and t.slot_start < not_before)
    ]
    cause = "capacity:1"

    with _chunks_of(chunk):
        outcome = rescheduler.reschedule(
            db.session, clock, ids, not_before=not_before, cause=cause, message_for=_words
        )

    db.session.expire_all()
    moved = _moved_for(cause)
    affected = set(ids)
    event("some unplaced" if outcome.unplaced else "all moved")
    event(f"{len(ids) // 10 * 10}+ to move")
    assert outcome.chunks == -(-len(ids) // chunk)
    assert (outcome.moved, outcome.unplaced, outcome.already_moved) == (
        len(moved),
        len(affected - moved),
        0,
    )
    assert {m.ticket_id for m in outcome.moves} == moved
    assert outcome.texted == sum(1 for i in moved if before[i].phone)
    _check_moved_and_left(
        before, affected, moved, not_before=not_before, now=clock.now(), blocked=None
    )
    if blocked is not None:
        for t in db.session.scalars(select(Ticket).where(Ticket.id.in_(moved))):
            if t.service_id in blocked_for:
                assert not slots.overlaps(t.slot_start, t.slot_end, [blocked])
    _check_capacity(clock, before)
    _check_order(before, affected, moved)
    _check_texts(before, moved, cause)

    # Again, with other chunks: nobody moves twice; only those left without a slot are tried.
    with _chunks_of(chunk + 3):
        again = rescheduler.reschedule(
            db.session, clock, ids, not_before=not_before, cause=cause, message_for=_words
        )
    assert again.already_moved == outcome.moved
    assert again.moved + again.unplaced == outcome.unplaced
    if again.moved:
        event("a second run placed some: the first run's moves freed places")
    events = Counter(
        db.session.scalars(
            select(TicketEvent.ticket_id).where(
                TicketEvent.event == "rescheduled", TicketEvent.note == cause
            )
        )
    )
    assert all(n == 1 for n in events.values()), events


# --- found by the property above, with every scheduled ticket handed over ------------------------


@pytest.mark.xfail(
    strict=True,
    reason="rescheduler.reschedule: a ticket handed over while it holds a free slot at or after "
    "not_before counts against its own slot, so it is moved later than the time it has; and the "
    "place it frees is seen by the next chunk, where a ticket later in line takes it: an earlier "
    "ticket ends with a later slot (no caller hands such tickets over today: outage and "
    "maintenance moves start after the window, capacity moves from an overfull slot)",
)
def test_an_earlier_ticket_keeps_its_place_in_line_across_chunks(app, clock):
    # One counter, one service: 10 minutes a citizen, 10-minute slots, no walk-in share:
    # one place a slot.
    shape = OfficeShape((ServiceShape(10, 10, 0, True),), ((0,),))
    wednesday_810 = WEDNESDAY_8 + timedelta(minutes=10)
    _build(Scene(shape, [], None), clock)
    first = appointments.book(
        db.session,
        clock,
        BRANCH_CODE,
        "s0",
        start=clock.now() + timedelta(hours=2),
        phone="01012340001",
    )
    clock.advance(minutes=1)
    second = appointments.book(
        db.session, clock, BRANCH_CODE, "s0", start=wednesday_810, phone="01012340002"
    )
    clock.advance(minutes=1)
    raw = access.create_token(db.session, clock, "kiosk", BRANCH_CODE)
    third = tickets.take_walk_in(
        db.session,
        clock,
        access.authenticate(db.session, clock, f"Bearer {raw}"),
        BRANCH_CODE,
        "s0",
    )
    ids = [t.ticket.id for t in (first, second, third)]

    with _chunks_of(1):
        rescheduler.reschedule(
            db.session, clock, ids, not_before=WEDNESDAY_8, cause="capacity:1", message_for=_words
        )

    db.session.expire_all()
    starts = [db.session.get(Ticket, i).slot_start for i in ids]
    # Found: 08:00 for the first, 08:20 for the second (it had 08:10), 08:10 for the walk-in.
    assert starts == sorted(starts), starts
