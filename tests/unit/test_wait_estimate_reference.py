"""The simulation's fast form (wait_estimate: one preparation for the three runs, no lambdas in
the loop) against the plain one it replaced, kept here as the reference: on any line, the same
call times to the second."""

from __future__ import annotations

import heapq
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from queue_app.wait_estimate import (
    HIGH_FACTOR,
    LOW_FACTOR,
    OVERRUN_SHARE,
    Counter,
    Line,
    Service,
    Ticket,
    _Key,
    _order,
    call_times,
    waits,
    waits_and_tail,
)

NOW = datetime(2026, 12, 7, 8, tzinfo=UTC)


def reference_call_times(line: Line, *, scale: float = 1.0) -> dict[int, float | None]:
    """Seconds from ``line.now`` until each ticket is called, every duration times ``scale``;
    None for a ticket no open counter will call (a paused service, no counter serving it)."""
    called: dict[int, float | None] = {t.id: None for t in line.tickets}
    callable_ids = {s.id for s in line.services.values() if not s.paused}
    # Per service, the tickets in the line now (a heap in calling order), and those still to come
    # (by the time they join).
    ready: dict[int, list[tuple[_Key, Ticket]]] = {}
    coming: list[tuple[float, _Key, Ticket]] = []
    for ticket in line.tickets:
        if ticket.service_id not in callable_ids:
            continue
        joins = (ticket.queued_at - line.now).total_seconds() if ticket.due else 0.0
        if joins > 0:
            coming.append((joins, _order(ticket), ticket))
        else:
            ready.setdefault(ticket.service_id, []).append((_order(ticket), ticket))
    for heap in ready.values():
        heapq.heapify(heap)
    heapq.heapify(coming)

    # Counters by the time they come free; ties by id, as the order they were given in.
    free: list[tuple[float, int, Counter]] = []
    opens_in = max(0.0, (line.starts - line.now).total_seconds()) if line.starts else 0.0
    for n, counter in enumerate(line.counters):
        serves = counter.service_ids & callable_ids
        if not serves:
            continue
        busy = 0.0
        serving = line.services.get(counter.serving_service_id or -1)
        if serving is not None:
            expected = serving.seconds_per_citizen * scale
            busy = max(expected - counter.serving_for_seconds, expected * OVERRUN_SHARE)
        heapq.heappush(free, (max(busy, opens_in), n, counter))

    while free:
        at, n, counter = heapq.heappop(free)
        while coming and coming[0][0] <= at:
            _, key, ticket = heapq.heappop(coming)
            heapq.heappush(ready.setdefault(ticket.service_id, []), (key, ticket))
        heads = [queue[0] for s in counter.service_ids if (queue := ready.get(s))]
        if heads:
            key, ticket = min(heads, key=lambda head: head[0])
            heapq.heappop(ready[ticket.service_id])
            called[ticket.id] = at
            took = line.services[ticket.service_id].seconds_per_citizen * scale
            heapq.heappush(free, (at + took, n, counter))
            continue
        # Nobody to call now: wait for the next appointment of a service it serves, if any.
        later = [c[0] for c in coming if c[2].service_id in counter.service_ids]
        if later:
            heapq.heappush(free, (min(later), n, counter))
    return called


@st.composite
def lines(draw: st.DrawFn) -> Line:
    service_ids = list(range(1, draw(st.integers(1, 4)) + 1))
    services = {
        i: Service(
            i,
            draw(st.sampled_from([60.0, 300.0, 360.0, 500.0])),
            paused=draw(st.booleans()) and draw(st.booleans()),
            pace_share=draw(st.sampled_from([1.0, 1.0, 0.5, 0.0])),
        )
        for i in service_ids
    }
    counters = [
        Counter(
            n,
            frozenset(draw(st.sets(st.sampled_from(service_ids), min_size=1))),
            serving_service_id=draw(st.sampled_from([None, *service_ids])),
            serving_for_seconds=draw(st.floats(0, 900)),
        )
        for n in range(draw(st.integers(0, 4)))
    ]
    tickets = []
    for ticket_id in range(draw(st.integers(0, 40))):
        due = draw(st.booleans()) and draw(st.booleans())
        offset = draw(st.integers(1, 4000)) if due else -draw(st.integers(0, 4000))
        tickets.append(
            Ticket(
                ticket_id,
                draw(st.sampled_from(service_ids)),
                draw(st.booleans()) and draw(st.booleans()),
                NOW + timedelta(seconds=offset),
                due=due,
            )
        )
    starts = NOW + timedelta(minutes=draw(st.sampled_from([0, 0, 30])))
    return Line(NOW, services, counters, tickets, starts=starts)


@settings(max_examples=300, deadline=None)
@given(lines(), st.sampled_from([1.0, LOW_FACTOR, HIGH_FACTOR]))
def test_the_fast_simulation_calls_everyone_when_the_plain_one_does(line: Line, scale: float):
    assert call_times(line, scale=scale) == reference_call_times(line, scale=scale)


@st.composite
def lines_with_newcomers(draw: st.DrawFn) -> tuple[Line, list[Ticket]]:
    line = draw(lines())
    # No appointment still to come: the only lines that have a tail.
    tickets = [t for t in line.tickets if not t.due]
    line = Line(line.now, line.services, line.counters, tickets, starts=line.starts)
    newcomers = [
        Ticket(1000 + k, draw(st.sampled_from(sorted(line.services))), False, NOW)
        for k in range(draw(st.integers(1, 12)))
    ]
    return line, newcomers


@settings(max_examples=300, deadline=None)
@given(lines_with_newcomers())
def test_joining_the_tail_gives_each_newcomer_the_wait_of_the_whole_line_run_again(
    case: tuple[Line, list[Ticket]],
):
    line, newcomers = case
    known, tail = waits_and_tail(line)
    assert tail is not None
    assert known == waits(line)
    everyone = Line(
        line.now, line.services, line.counters, [*line.tickets, *newcomers], line.starts
    )
    again = waits(everyone)
    assert [tail.join(t.service_id) for t in newcomers] == [again[t.id] for t in newcomers]


def test_a_line_with_an_appointment_still_to_come_has_no_tail():
    services = {1: Service(1, 300.0)}
    line = Line(
        NOW,
        services,
        [Counter(1, frozenset({1}))],
        [Ticket(1, 1, False, NOW + timedelta(minutes=20), due=True)],
    )
    assert waits_and_tail(line)[1] is None
