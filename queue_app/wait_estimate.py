"""How long each citizen in a branch will wait: a forward simulation of the branch's open counters.

Pure: plain data in (the waiting line of every service the open counters serve, what each counter
serves and how long its current citizen has been at it, the pace of each service, the
appointments still to check in today), plain dicts out. The database side is
``waiting_line.branch_line``.

The simulation does what ``counters.call_next`` does, in fast-forward: whenever a counter comes
free it calls the first ticket in calling order (priority first, then ``queued_at``, then id)
among the services it serves, skipping paused services; the ticket then keeps the counter busy
for its service's seconds per citizen. A booked appointment joins the line at its slot's start
(``tickets.check_in`` queues it there), so a counter with nobody else to call waits for it. A
ticket's wait is the simulated time until it is called.

Run three times: at the services' pace (the estimate), and at 0.75 and 1.35 times their
durations (the range: a low and a high that the actual wait mostly falls within; see
docs/waiting_time.md). One run is O(tickets x services per counter) plus a heap per service:
a few milliseconds for a branch with hundreds waiting.

What it cannot know: citizens who have not come yet (a priority walk-in who arrives later goes
ahead), no-shows, counters that open or close later, and the end of the day (a ticket the office
will not reach today still gets the time the counters would need).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

# The range: every duration shortened or lengthened by these factors. Service times vary from
# one citizen to the next (a lognormal spread of about half their mean in the day simulation),
# and the pace itself is an average that drifts over the day.
LOW_FACTOR = 0.75
HIGH_FACTOR = 1.35
# A citizen at a counter for longer than the usual time is not expected to leave this second:
# service times have a long tail, so count at least this share of the usual time still to go.
OVERRUN_SHARE = 0.25
# The id of the newcomer whose wait ``newcomer_wait`` asks for: after every real ticket.
NEWCOMER_ID = -1


@dataclass(frozen=True)
class Service:
    """A service as the simulation needs it."""

    id: int
    seconds_each: float  # waiting_line.seconds_per_citizen
    paused: bool = False  # its tickets are not called (service_state: a system it needs is down)
    # Share of its usual pace: a degraded service is done by hand at manual_fallback_percent.
    pace_share: float = 1.0

    @property
    def seconds_per_citizen(self) -> float:
        return self.seconds_each / self.pace_share if self.pace_share > 0 else math.inf


@dataclass(frozen=True)
class Counter:
    """An open counter: what it serves, and the citizen it is serving, if any."""

    id: int
    service_ids: frozenset[int]
    serving_service_id: int | None = None  # the service of its called ticket
    serving_for_seconds: float = 0.0  # how long that ticket has been at the counter


@dataclass(frozen=True)
class Ticket:
    """A waiting ticket, or an appointment still to check in (``due`` True): it joins the line at
    ``queued_at``, its slot's start."""

    id: int
    service_id: int
    priority: bool
    queued_at: datetime
    due: bool = False


@dataclass(frozen=True)
class Line:
    now: datetime
    services: Mapping[int, Service]
    counters: list[Counter]
    tickets: list[Ticket] = field(default_factory=list)
    # When the counters start calling, if later than ``now``: the opening, for a line read
    # before it (tickets taken early, ``early_tickets_minutes``). Waits still count from ``now``.
    starts: datetime | None = None


@dataclass(frozen=True)
class Wait:
    """Minutes until a ticket is called: the estimate, and the range around it."""

    minutes: int
    low: int
    high: int


_Key = tuple[bool, datetime, float]


def _order(ticket: Ticket) -> _Key:
    # waiting_line.CALLING_ORDER; the newcomer goes after every real ticket queued with it.
    return (
        not ticket.priority,
        ticket.queued_at,
        math.inf if ticket.id == NEWCOMER_ID else ticket.id,
    )


@dataclass(frozen=True)
class _Prepared:
    """What every run of the simulation starts from, whatever its scale: worked out once for
    the three runs of ``waits``."""

    tickets: list[Ticket]
    # Per service, the tickets in the line now, a heap in calling order; and those still to come
    # (by the time they join), a heap too.
    ready: dict[int, list[tuple[_Key, Ticket]]]
    coming: list[tuple[float, _Key, Ticket]]
    # Per open counter that serves a callable service: its place in the given order, the
    # services it serves, and the service of the citizen it is serving.
    counters: list[tuple[int, Counter, tuple[int, ...]]]
    opens_in: float


def _prepare(line: Line) -> _Prepared:
    callable_ids = {s.id for s in line.services.values() if not s.paused}
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
    counters = [
        (n, counter, tuple(counter.service_ids))
        for n, counter in enumerate(line.counters)
        if counter.service_ids & callable_ids
    ]
    opens_in = max(0.0, (line.starts - line.now).total_seconds()) if line.starts else 0.0
    return _Prepared(line.tickets, ready, coming, counters, opens_in)


def call_times(line: Line, *, scale: float = 1.0) -> dict[int, float | None]:
    """Seconds from ``line.now`` until each ticket is called, every duration times ``scale``;
    None for a ticket no open counter will call (a paused service, no counter serving it)."""
    return _run(line, _prepare(line), scale)


def _run(
    line: Line, prepared: _Prepared, scale: float, ends: dict[int, float] | None = None
) -> dict[int, float | None]:
    """The simulation at ``scale``. ``ends``, if given, gets the time each counter comes free
    with nobody left to call (by its place in ``line.counters``)."""
    called: dict[int, float | None] = {t.id: None for t in prepared.tickets}
    ready = {service_id: list(heap) for service_id, heap in prepared.ready.items()}
    coming = list(prepared.coming)
    took = {s.id: s.seconds_per_citizen * scale for s in line.services.values()}
    heappop, heappush = heapq.heappop, heapq.heappush

    # Counters by the time they come free; ties by their place in the given order.
    free: list[tuple[float, int, Counter, tuple[int, ...]]] = []
    for n, counter, serves in prepared.counters:
        busy = 0.0
        serving = line.services.get(counter.serving_service_id or -1)
        if serving is not None:
            expected = serving.seconds_per_citizen * scale
            busy = max(expected - counter.serving_for_seconds, expected * OVERRUN_SHARE)
        free.append((max(busy, prepared.opens_in), n, counter, serves))
    heapq.heapify(free)

    while free:
        at, n, counter, serves = heappop(free)
        while coming and coming[0][0] <= at:
            _, key, ticket = heappop(coming)
            heappush(ready.setdefault(ticket.service_id, []), (key, ticket))
        # The first in calling order among the heads of the services it serves.
        best: list[tuple[_Key, Ticket]] | None = None
        for service_id in serves:
            queue = ready.get(service_id)
            if queue and (best is None or queue[0][0] < best[0][0]):
                best = queue
        if best is not None:
            ticket = heappop(best)[1]
            called[ticket.id] = at
            heappush(free, (at + took[ticket.service_id], n, counter, serves))
            continue
        # Nobody to call now: wait for the next appointment of a service it serves, if any.
        later = [c[0] for c in coming if c[2].service_id in counter.service_ids]
        if later:
            heappush(free, (min(later), n, counter, serves))
        elif ends is not None:
            ends[n] = at
    return called


def _minutes(seconds: float | None, rounding: str) -> int | None:
    if seconds is None or math.isinf(seconds):
        return None
    # A started minute counts for the estimate and the high end; the low end rounds down.
    return math.floor(seconds / 60) if rounding == "down" else math.ceil(seconds / 60 - 1e-9)


def waits(line: Line) -> dict[int, Wait | None]:
    """Per ticket of ``line``: its wait, or None when no open counter will call it."""
    return waits_and_tail(line)[0]


# The three runs: the estimate, the low end and the high end of its range.
SCALES = (1.0, LOW_FACTOR, HIGH_FACTOR)


def _wait(point: float | None, low: float | None, high: float | None) -> Wait | None:
    minutes = _minutes(point, "up")
    low_minutes = _minutes(low, "down")
    high_minutes = _minutes(high, "up")
    if minutes is None or low_minutes is None or high_minutes is None:
        return None
    # Rounding and the order of calls may cross them; the estimate lies within its range.
    return Wait(minutes, min(low_minutes, minutes), max(high_minutes, minutes))


def waits_and_tail(line: Line) -> tuple[dict[int, Wait | None], Tail | None]:
    """``waits``, and where the runs leave the counters (``Tail``) when no appointment is still
    to come (None otherwise)."""
    prepared = _prepare(line)
    ends: list[dict[int, float]] | None = None if prepared.coming else [{} for _ in SCALES]
    point, low, high = (
        _run(line, prepared, scale, ends[k] if ends is not None else None)
        for k, scale in enumerate(SCALES)
    )
    result = {
        ticket_id: _wait(seconds, low[ticket_id], high[ticket_id])
        for ticket_id, seconds in point.items()
    }
    if ends is None:
        return result, None
    tail = Tail(
        serves=[(n, counter.service_ids) for n, counter, _ in prepared.counters],
        free=[[run[n] for n, _, _ in prepared.counters] for run in ends],
        took=[
            {s.id: s.seconds_per_citizen * scale for s in line.services.values() if not s.paused}
            for scale in SCALES
        ],
    )
    return result, tail


@dataclass
class Tail:
    """Where the three runs leave the open counters once everyone in the line is called: when
    each comes free, in seconds from the line's ``now``. Only for a line with no appointment still
    to come.

    A plain walk-in who joins behind everyone (not a priority ticket, queued after every ticket
    of the line and after those who joined before it) is then called, in the simulation, by the
    first counter serving its service to come free, which is busy with it for the service's
    time: each counter, when it comes free, calls the first in calling order among the services
    it serves, and by then everyone ahead is called. So ``join`` gives the newcomer the wait
    that running the whole line again with it would give, in one step per counter (the tests
    hold it to that), and leaves the counters as that run would."""

    serves: list[tuple[int, frozenset[int]]]  # per counter: its place, the services it serves
    free: list[list[float]]  # per run (SCALES), per counter
    took: list[dict[int, float]]  # per run, per service that can be called: seconds per citizen

    def join(self, service_id: int) -> Wait | None:
        """The wait of a plain walk-in of ``service_id`` joining behind everyone now; the first
        counter free to call it is then busy with it."""
        if service_id not in self.took[0]:
            return None  # paused: nobody calls it
        called: list[float | None] = []
        for free, took in zip(self.free, self.took, strict=True):
            first: int | None = None
            for k, (_, services) in enumerate(self.serves):
                # Ties go to the counter first in order, as the simulation's heap does.
                if service_id in services and (first is None or free[k] < free[first]):
                    first = k
            if first is None:
                return None  # no open counter serves it
            called.append(free[first])
            free[first] += took[service_id]
        return _wait(*called)


def _with_newcomer(line: Line, service_id: int) -> Line:
    newcomer = Ticket(NEWCOMER_ID, service_id, priority=False, queued_at=line.now)
    return Line(line.now, line.services, line.counters, [*line.tickets, newcomer], line.starts)


def newcomer_wait(line: Line, service_id: int) -> Wait | None:
    """The wait of a plain walk-in ticket of ``service_id`` taken now, with its range. None when
    no open counter would call it."""
    return waits(_with_newcomer(line, service_id))[NEWCOMER_ID]


def newcomer_minutes(line: Line, service_id: int) -> int | None:
    """``newcomer_wait`` without the range (one run, not three): what the kiosk and the board
    tell a citizen choosing a service."""
    return _minutes(call_times(_with_newcomer(line, service_id))[NEWCOMER_ID], "up")
