"""The rescheduler's placing rules, as properties over random lines and calendars."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from queue_app.rescheduler import Opening, Waiting, calling_order, plan

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
