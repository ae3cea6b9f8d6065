"""The rescheduler's placing rules, as properties over random lines and calendars."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from queue_app.rescheduler import Opening, Waiting, calling_order, plan
from queue_app.slots import Capacities
from tests.helpers.office_shapes import OfficeShape, as_directory, office_shapes

T0 = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


@st.composite
def lines(draw):
    """Tickets of up to three services, and each service's free slots."""
    services = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3, unique=True))
    tickets = []
    for n in range(draw(st.integers(0, 60))):
        tickets.append(
            Waiting(
                id=n + 1,
                service_id=draw(st.sampled_from(services)),
                priority=draw(st.booleans()),
                issued_at=T0 - timedelta(minutes=draw(st.integers(0, 600))),
            )
        )
    openings = {}
    for service in services:
        rooms = draw(st.lists(st.integers(0, 4), max_size=25))
        openings[service] = [
            Opening(T0 + timedelta(minutes=30 * i), T0 + timedelta(minutes=30 * (i + 1)), room)
            for i, room in enumerate(rooms)
        ]
    return tickets, openings


def _rooms(openings):
    return {(sid, o.start): o.room for sid, slots in openings.items() for o in slots}


@settings(max_examples=300, deadline=None)
@given(lines())
def test_no_slot_takes_more_than_its_room(line):
    tickets, openings = line
    rooms = _rooms(openings)
    moves, _ = plan(tickets, openings)
    taken = Counter((m.service_id, m.start) for m in moves)
    assert all(n <= rooms[key] for key, n in taken.items())


@settings(max_examples=300, deadline=None)
@given(lines())
def test_everyone_is_placed_while_room_lasts_and_the_last_in_line_wait(line):
    tickets, openings = line
    room = Counter()
    for sid, slots in openings.items():
        room[sid] = sum(o.room for o in slots)
    moves, unplaced = plan(tickets, openings)
    assert len(moves) + len(unplaced) == len(tickets)
    assert len({m.ticket_id for m in moves}) == len(moves)  # nobody placed twice
    for sid in room:
        line_of = sorted((t for t in tickets if t.service_id == sid), key=calling_order)
        placed = [t for t in line_of if any(m.ticket_id == t.id for m in moves)]
        assert len(placed) == min(len(line_of), room[sid])
        assert placed == line_of[: len(placed)]  # those left over are the last in line


@settings(max_examples=300, deadline=None)
@given(lines())
def test_an_earlier_ticket_never_gets_a_later_slot_in_its_class(line):
    tickets, openings = line
    moves, _ = plan(tickets, openings)
    start = {m.ticket_id: m.start for m in moves}
    placed = [t for t in tickets if t.id in start]
    for a in placed:
        for b in placed:
            if a.service_id != b.service_id:
                continue
            if a.priority == b.priority and calling_order(a) < calling_order(b):
                assert start[a.id] <= start[b.id]
            if a.priority and not b.priority:  # priority first, whenever issued
                assert start[a.id] <= start[b.id]


def test_a_plain_example():
    tickets = [
        Waiting(1, 7, False, T0),
        Waiting(2, 7, True, T0 + timedelta(minutes=5)),  # priority: first despite coming later
        Waiting(3, 7, False, T0 + timedelta(minutes=1)),
    ]
    slot = [Opening(T0, T0 + timedelta(minutes=30), 1), Opening(T0 + timedelta(hours=1), T0, 1)]
    moves, unplaced = plan(tickets, {7: slot})
    assert [(m.ticket_id, m.start) for m in moves] == [(2, T0), (1, T0 + timedelta(hours=1))]
    assert [t.id for t in unplaced] == [3]


# --- over real office shapes: the openings that slots.openings would give ------------------

TUESDAY = date(2026, 11, 24)  # the day the plan runs; slots from the next day on
WEDNESDAY_8 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 08:00 in Cairo


@dataclass(frozen=True)
class Scene:
    """A plan's input over one office shape: its tickets, the places of each slot (from
    ``Capacities.day_slots``) and what is already booked in them, and the time the moves may
    start from."""

    shape: OfficeShape
    tickets: list[Waiting]
    places: dict[tuple[int, datetime], tuple[datetime, int]]  # (service, start) -> (end, places)
    booked: dict[tuple[int, datetime], int]
    not_before: datetime

    def openings(self) -> dict[int, list[Opening]]:
        """As ``slots.openings`` builds them: slots from ``not_before`` with room left, each
        service's in time order."""
        found: dict[int, list[Opening]] = {}
        for (sid, start), (end, places) in sorted(self.places.items()):
            left = places - self.booked.get((sid, start), 0)
            if start >= self.not_before and left > 0:
                found.setdefault(sid, []).append(Opening(start, end, left, places))
        return found


@st.composite
def scenes(draw: st.DrawFn) -> Scene:
    shape = draw(office_shapes())
    services = as_directory(shape)
    first = TUESDAY + timedelta(days=draw(st.integers(1, 7)))
    days = [first + timedelta(days=n) for n in range(draw(st.integers(1, 3)))]
    places: dict[tuple[int, datetime], tuple[datetime, int]] = {}
    booked: dict[tuple[int, datetime], int] = {}
    rnd = draw(st.randoms(use_true_random=False))
    for service in services:
        caps = Capacities(service, TUESDAY, None, [])
        full = draw(st.sampled_from([0.0, 0.3, 0.7, 1.0]))  # how booked the slots are already
        for day in days:
            for start, end, n in caps.day_slots(day):
                places[(service.id, start)] = (end, n)
                if n and rnd.random() < full:
                    booked[(service.id, start)] = rnd.randint(1, n)
    not_before = WEDNESDAY_8 + timedelta(
        days=(first - date(2026, 11, 25)).days, minutes=draw(st.integers(0, 8 * 60))
    )
    tickets = [
        Waiting(
            id=n + 1,
            service_id=draw(st.integers(1, len(services))),
            priority=draw(st.booleans()),
            issued_at=T0 - timedelta(minutes=draw(st.integers(0, 120))),
        )
        for n in range(draw(st.integers(0, 60)))
    ]
    return Scene(shape, tickets, places, booked, not_before)


@settings(max_examples=300, deadline=None)
@given(scenes())
def test_over_office_shapes_everyone_is_placed_or_left_over_and_no_slot_overflows(scene):
    note(scene.shape.describe())
    openings = scene.openings()
    room = {sid: sum(o.room for o in free) for sid, free in openings.items()}
    moves, unplaced = plan(scene.tickets, openings)
    event("some left over" if unplaced else "everyone placed")

    # Each ticket once: moved, or left over (to be counted as unplaced).
    assert sorted([m.ticket_id for m in moves] + [t.id for t in unplaced]) == sorted(
        t.id for t in scene.tickets
    )
    service_of = {t.id: t.service_id for t in scene.tickets}
    taken = Counter((m.service_id, m.start) for m in moves)
    for m in moves:
        assert m.service_id == service_of[m.ticket_id]
        # A real slot of its own service, from not_before on, with its own end.
        assert (m.service_id, m.start) in scene.places
        assert m.end == scene.places[(m.service_id, m.start)][0]
        assert m.start >= scene.not_before
    # No slot takes more than its places, with what it held already.
    for key, n in taken.items():
        assert scene.booked.get(key, 0) + n <= scene.places[key][1], key
    # The openings are used up in place, never below nothing.
    for sid, free in openings.items():
        for o in free:
            assert o.room >= 0
            assert (
                o.room == o.capacity - scene.booked.get((sid, o.start), 0) - taken[(sid, o.start)]
            )
    # Left over only when the service's room has run out.
    for sid in {t.service_id for t in unplaced}:
        placed = sum(1 for m in moves if m.service_id == sid)
        assert placed == room.get(sid, 0)


def _priority_then_issue(ticket: Waiting) -> tuple[bool, datetime, int]:
    """The calling order, written out here rather than taken from the module under test."""
    return (not ticket.priority, ticket.issued_at, ticket.id)


@settings(max_examples=300, deadline=None)
@given(scenes())
def test_over_office_shapes_the_calling_order_is_kept_and_nobody_waits_for_nothing(scene):
    note(scene.shape.describe())
    openings = scene.openings()
    moves, unplaced = plan(scene.tickets, openings)
    start = {m.ticket_id: m.start for m in moves}
    left_over = {t.id for t in unplaced}
    for sid in {t.service_id for t in scene.tickets}:
        line = sorted((t for t in scene.tickets if t.service_id == sid), key=_priority_then_issue)
        # Those left over are the last in line: priority first, then issue order.
        placed = [t for t in line if t.id in start]
        assert placed == line[: len(placed)]
        assert all(t.id in left_over for t in line[len(placed) :])
        # An earlier ticket of a class never gets a later slot than a later one of the class,
        # and a priority ticket never a later one than a plain one.
        for a, b in pairwise(placed):
            assert start[a.id] <= start[b.id], (a, b)
        # Served as soon as the office can: no slot before a moved ticket's is left with room.
        free = openings.get(sid, [])
        for t in placed:
            assert all(o.room == 0 for o in free if o.start < start[t.id])
