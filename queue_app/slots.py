"""Slots: the times a service takes appointments, and how many people each can take.

A slot is not stored: it follows from the branch's hours on a local day, cut into the service's
``slot_minutes`` in wall-clock time (so a 09:00 slot is at 09:00 on both sides of a
daylight-saving change). What is stored is how many bookings each slot holds
(``SlotBooking``), bumped with a conditional UPDATE so that no slot ever holds more than its
capacity, whatever runs at the same time.

Capacity, per slot: the manager's override for that date when there is one; otherwise the
counters that serve the service (a counter serving several services gives each an equal share
of its time) × the slot's length ÷ the time one citizen takes (measured, or the configured
average), less the share the manager keeps for walk-ins. Slots later today count
the counters open now (a counter closed at noon serves nobody this afternoon); slots of later
days count every counter that serves the service (tomorrow's staff are not in yet).

That figure is seldom whole: a service with a third of one counter takes 0.4 citizens in a
slot. The fractions are carried from slot to slot (``whole_places``), so 0.4 a slot is a place
in two slots out of five: flooring each slot alone would give the service nothing, for ever.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from queue_app import opening_hours, service_demand, waiting_line
from queue_app.db import insert
from queue_app.directory import ServiceInfo
from queue_app.models import (
    CapacityOverride,
    Maintenance,
    Outage,
    Service,
    SlotBooking,
    Ticket,
    TicketKind,
)

# How far ahead slots exist: booking further out would promise counters nobody has planned.
BOOKING_HORIZON_DAYS = 60


@dataclass(frozen=True)
class Slot:
    start: datetime  # UTC
    end: datetime
    capacity: int
    booked: int

    @property
    def available(self) -> int:
        return max(self.capacity - self.booked, 0)


def _wall_clock_starts(
    day: date, hours: tuple[time, time], zone: ZoneInfo, minutes: int
) -> Iterator[tuple[datetime, datetime]]:
    """Slot starts and ends on ``day`` in local wall-clock steps from the opening time; a time
    that does not exist locally (skipped by a daylight-saving change) is no slot, and a slot is
    never cut short."""
    # Steps from the opening time as the manager wrote it, not from the instant it stands for:
    # an opening inside a spring-forward gap opens when the clocks jump (``instant_of``), yet
    # its slots keep their usual times (00:45, 01:15 ... less those in the gap).
    opens, closes = hours
    step = timedelta(minutes=minutes)
    start = datetime.combine(day, opens)
    last = datetime.combine(day, closes)

    def real(wall: datetime) -> bool:
        # A wall time in a spring-forward gap comes back as another wall time.
        return (
            wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall
        )

    while start + step <= last:
        end = start + step
        # Both ends must exist: a slot ending in the gap would run into the next one.
        if real(start) and real(end):
            yield (
                start.replace(tzinfo=zone).astimezone(UTC),
                end.replace(tzinfo=zone).astimezone(UTC),
            )
        start = end


def slot_times(service: ServiceInfo, day: date) -> list[tuple[datetime, datetime]]:
    """The slots of ``service`` on a local ``day`` (none on a closed day)."""
    branch = service.branch
    hours = branch.hours.hours_on(day)
    if hours is None:
        return []
    return list(_wall_clock_starts(day, hours, branch.zone, service.slot_minutes))


def exact_capacity(
    counters: float | Fraction,
    slot_minutes: int,
    seconds_per_citizen: float,
    walk_in_percent: int,
) -> Fraction:
    """How many appointments one slot takes when the manager has not said otherwise, as an
    exact fraction. ``counters`` may be a fraction: the share of shared counters' time the
    service has."""
    if counters <= 0 or seconds_per_citizen <= 0:
        return Fraction(0)
    # In fractions: 3 counters × 30 min ÷ 9.5 min × 95 % is exactly 9, and floats make it 8.99.
    each = Fraction(seconds_per_citizen).limit_denominator(10**6)
    served = Fraction(counters).limit_denominator(10**6) * slot_minutes * 60 / each
    return served * (100 - walk_in_percent) / 100


def default_capacity(
    counters: float | Fraction,
    slot_minutes: int,
    seconds_per_citizen: float,
    walk_in_percent: int,
) -> int:
    """The whole places every slot takes at least (``whole_places`` adds the fractions)."""
    return math.floor(exact_capacity(counters, slot_minutes, seconds_per_citizen, walk_in_percent))


def whole_places(each: Fraction, slots: int, carried: Fraction = Fraction(0)) -> list[int]:
    """Whole places for ``slots`` slots in a row that each take ``each`` (a fraction), the
    fraction left by one slot carried to the next: slot k gets ⌊carried + (k+1)·each⌋ −
    ⌊carried + k·each⌋. Half a place a slot is a place every second slot, and the places of
    a run add up to its exact total, less a fraction under one."""
    if each <= 0:
        return [0] * slots
    marks = [math.floor(carried + k * each) for k in range(slots + 1)]
    return [marks[k + 1] - marks[k] for k in range(slots)]


@dataclass(frozen=True)
class Capacities:
    """What a service's slots can take, read once for a range of days."""

    service: ServiceInfo
    today: date
    measured_seconds: float | None
    overrides: Sequence[tuple[date, date, int]]  # (first day, last day, per slot)
    # What the branch's services asked of its counters lately (``service_demand``): how a
    # shared counter's time is split.
    demand: Mapping[int, float] = field(default_factory=dict)

    def override(self, day: date) -> int | None:
        for first, last, per_slot in reversed(self.overrides):  # the newest override wins
            if first <= day <= last:
                return per_slot
        return None

    def exact(self, day: date) -> Fraction:
        """What one slot of ``day`` takes, before the fractions are carried."""
        override = self.override(day)
        if override is not None:
            return Fraction(override)
        return self._exact(day, self.service.walk_in_percent)

    def exact_walk_in_share(self, day: date) -> Fraction:
        """What one slot of ``day`` keeps for walk-ins: the rest of the counters' time (none
        on a day the manager set the capacity of: the manager's word is the whole of it)."""
        if self.override(day) is not None:
            return Fraction(0)
        return self._exact(day, 0) - self._exact(day, self.service.walk_in_percent)

    def _exact(self, day: date, walk_in_percent: int) -> Fraction:
        service, branch = self.service, self.service.branch
        counters = branch.counter_time_for(service, open_only=day == self.today, demand=self.demand)
        return exact_capacity(
            counters,
            service.slot_minutes,
            waiting_line.seconds_per_citizen(service.avg_service_minutes, self.measured_seconds),
            walk_in_percent,
        )

    def day_slots(self, day: date) -> list[tuple[datetime, datetime, int]]:
        """Every slot of ``day`` (begun, blocked or not) with the whole places it takes. The
        fraction carried into the first slot follows from the date, as if every earlier day
        had the same slots: so the places of a slot do not depend on when it is asked, and a
        service with less than a place a day still gets one every few days."""
        return self._carried(day, self.exact(day))

    def walk_in_share_slots(
        self, day: date, *, expected: Fraction = Fraction(0)
    ) -> list[tuple[datetime, datetime, int]]:
        """Every slot of ``day`` with the whole places of its walk-in share, carried the same
        way: beside ``day_slots``, the counters' whole time, slot by slot. ``expected``: the
        walk-ins a slot is expected to bring, whose places are left out (what is left is
        the share that would go unused)."""
        return self._carried(day, max(Fraction(0), self.exact_walk_in_share(day) - expected))

    def unused_walk_in_share(self, day: date, usual: UsualWalkIns | None) -> dict[datetime, int]:
        """Per slot start of ``day``: the whole places of its walk-in share that the usual
        walk-ins (``usual_walk_ins``) leave unused, with ``WALK_IN_MARGIN`` kept above their
        mean; none without history. The fractions are carried from slot to slot, from zero at
        the day's first slot."""
        if usual is None:
            return {}
        share = self.exact_walk_in_share(day)
        unused: dict[datetime, int] = {}
        total = Fraction(0)
        placed = 0
        for start, end, _ in self.day_slots(day):
            total += max(Fraction(0), share - usual.between(start, end) * WALK_IN_MARGIN)
            unused[start] = math.floor(total) - placed
            placed += unused[start]
        return unused

    def _carried(self, day: date, each: Fraction) -> list[tuple[datetime, datetime, int]]:
        times = slot_times(self.service, day)
        carried = (day.toordinal() * len(times) * each) % 1
        places = whole_places(each, len(times), carried)
        return [(start, end, n) for (start, end), n in zip(times, places, strict=True)]

    def places_on(self, day: date) -> int:
        """Every place of ``day``'s slots."""
        return sum(n for _, _, n in self.day_slots(day))


def capacities(session: Session, service: ServiceInfo, now: datetime) -> Capacities:
    measured = session.scalar(
        select(Service.measured_service_seconds).where(Service.id == service.id)
    )
    rows = session.execute(
        select(CapacityOverride.first_day, CapacityOverride.last_day, CapacityOverride.per_slot)
        .where(CapacityOverride.service_id == service.id)
        .order_by(CapacityOverride.id)
    ).all()
    today = now.astimezone(service.branch.zone).date()
    return Capacities(
        service,
        today,
        measured,
        [(r.first_day, r.last_day, r.per_slot) for r in rows],
        service_demand.served_minutes(session, service.branch, today),
    )


def booked_counts(
    session: Session, service_ids: Iterable[int], start: datetime, end: datetime
) -> dict[tuple[int, datetime], int]:
    """Bookings held per (service, slot start) in [start, end), in one query."""
    rows = session.execute(
        select(SlotBooking.service_id, SlotBooking.starts_at, SlotBooking.booked).where(
            SlotBooking.service_id.in_(list(service_ids)),
            SlotBooking.starts_at >= start,
            SlotBooking.starts_at < end,
        )
    )
    return {(service_id, starts_at): booked for service_id, starts_at, booked in rows}


def slots_of(
    session: Session, service: ServiceInfo, now: datetime, first_day: date, days: int
) -> list[Slot]:
    """The service's slots on ``days`` local days from ``first_day``: those not yet begun and
    not blocked by maintenance or an outage of a system the service needs."""
    # Only days that can be booked: before today nothing is free, after the horizon nothing may
    # be booked, and a day near the calendar's ends (9999-12-31) cannot be computed at all.
    today = now.astimezone(service.branch.zone).date()
    last = today + timedelta(days=BOOKING_HORIZON_DAYS)
    if first_day > last or (today - first_day).days >= days:
        return []
    caps = capacities(session, service, now)
    blocked = blocked_times(session, service, now)
    times = [
        (start, end, places)
        for offset in range(days)
        if today <= (day := first_day + timedelta(days=offset)) <= last
        for start, end, places in caps.day_slots(day)
        if start > now and not overlaps(start, end, blocked)
    ]
    if not times:
        return []
    booked = booked_counts(session, [service.id], times[0][0], times[-1][1])
    return [Slot(s, e, cap, booked.get((service.id, s), 0)) for s, e, cap in times]


def find_slot(
    session: Session, service: ServiceInfo, now: datetime, start: datetime
) -> Slot | None:
    """The slot that starts exactly at ``start``, or None when no slot starts then."""
    # In UTC: a datetime of the branch's zone inside the hour Egypt repeats in October is never
    # == any instant of another zone (PEP 495), so the first 23:00 would match no slot.
    start = start.astimezone(UTC)
    day = start.astimezone(service.branch.zone).date()
    for slot in slots_of(session, service, now, day, 1):
        if slot.start == start:
            return slot
    return None


def blocked_times(
    session: Session, service: ServiceInfo, after: datetime
) -> list[tuple[datetime, datetime]]:
    """Times this service cannot be booked because a system it needs is away: announced
    maintenance windows, and a current outage everywhere or at its branch (to its expected
    end; with no end known, to the end of the branch's day)."""
    backend_ids = [b.id for b in service.backends]
    if not backend_ids:
        return []
    blocked = [
        (start, end)
        for start, end in session.execute(
            select(Maintenance.starts_at, Maintenance.ends_at).where(
                Maintenance.backend_id.in_(backend_ids),
                Maintenance.ends_at > after,
                Maintenance.cancelled_at.is_(None),
            )
        )
    ]
    zone = service.branch.zone
    for started, expected_end in session.execute(
        select(Outage.started_at, Outage.expected_end).where(
            Outage.backend_id.in_(backend_ids),
            Outage.ended_at.is_(None),
            # An outage of another branch alone leaves this one's times free.
            or_(Outage.branch_id.is_(None), Outage.branch_id == service.branch.id),
        )
    ):
        if expected_end is None:
            local = after.astimezone(zone)
            expected_end = datetime.combine(
                local.date() + timedelta(days=1), datetime.min.time(), tzinfo=zone
            ).astimezone(UTC)
        blocked.append((started, expected_end))
    return blocked


def overlaps(start: datetime, end: datetime, blocked: Iterable[tuple[datetime, datetime]]) -> bool:
    return any(start < b_end and b_start < end for b_start, b_end in blocked)


# --- free slots ----------------------------------------------------------------------------


@dataclass
class Opening:
    """A slot with room left, as the planner fills it."""

    start: datetime
    end: datetime
    room: int
    capacity: int = 0  # what the slot takes in all, bookings included
    # Places of today's walk-in share that the walk-ins an outage moves may take: they are that
    # day's walk-ins, as far as that day's own walk-ins would leave it unused
    # (``openings(walk_ins_until=...)``). Nobody else may.
    walk_in_room: int = 0
    whole: int = 0  # the capacity those walk-ins may fill: appointments and walk-in share


def openings(
    session: Session,
    service: ServiceInfo,
    now: datetime,
    not_before: datetime,
    needed: int,
    *,
    horizon_days: int = BOOKING_HORIZON_DAYS,
    walk_ins_until: datetime | None = None,
    whole_walk_in_share: bool = False,
) -> list[Opening]:
    """The service's slots starting at or after ``not_before`` with room left, day by day until
    their free places reach ``needed`` or the horizon does. A few queries per service.

    ``walk_ins_until``: today's slots also offer the part of their walk-in share that today's
    walk-ins would leave unused (``Opening.walk_in_room``), for the walk-ins an outage moves
    within their own day. Today's walk-ins are expected at the rate the service took them from
    opening until then (when its kiosk stopped issuing them: the outage's start); with no
    such time to go by, nothing is offered. On later days those walk-ins may take the part of
    the share that the service's walk-ins of the last weeks would leave unused
    (``usual_walk_ins``, with a margin); with too little history, none.
    ``whole_walk_in_share``: all of today's share (recovery offers, which count the free
    counter time apart). Everybody else leaves the walk-in share to walk-ins."""
    caps = capacities(session, service, now)
    # Every booking and every move keeps clear of announced maintenance and outages of the
    # systems the service needs.
    blocked = blocked_times(session, service, now)
    zone = service.branch.zone
    first_day = max(not_before, now).astimezone(zone).date()
    horizon_end = datetime.combine(
        first_day + timedelta(days=horizon_days + 1), datetime.min.time(), tzinfo=zone
    )
    # What every slot in the horizon already holds, in one query (a few hundred rows at most).
    booked = booked_counts(session, [service.id], not_before, horizon_end)
    openings: list[Opening] = []
    room = 0
    usual: UsualWalkIns | None = None
    asked_usual = False
    for offset in range(horizon_days):
        day = first_day + timedelta(days=offset)
        share = {}
        if whole_walk_in_share and day == caps.today:
            share = {s: n for s, _, n in caps.walk_in_share_slots(day)}
        elif walk_ins_until is not None and day == caps.today:
            expected = walk_ins_per_slot(session, service, day, walk_ins_until)
            if expected is not None:
                share = {s: n for s, _, n in caps.walk_in_share_slots(day, expected=expected)}
        elif walk_ins_until is not None and day > caps.today:
            if not asked_usual:
                usual, asked_usual = usual_walk_ins(session, service, caps.today), True
            share = caps.unused_walk_in_share(day, usual)
        for start, end, places in caps.day_slots(day):
            if start < not_before or start <= now or overlaps(start, end, blocked):
                continue
            taken = booked.get((service.id, start), 0)
            whole = places + share.get(start, 0)
            left = max(0, places - taken)
            walk_in_left = max(0, whole - max(taken, places))
            if left > 0 or walk_in_left > 0:
                openings.append(Opening(start, end, left, places, walk_in_left, whole))
                room += left + walk_in_left
        if room >= needed:
            break
    return openings


# How many days of history say how many walk-ins a slot brings, and the margin kept above
# their mean (a day busier than most).
USUAL_WALK_INS_MIN_DAYS = 5
WALK_IN_MARGIN = Fraction(5, 4)


@dataclass(frozen=True)
class UsualWalkIns:
    """When a service's walk-ins came over the last weeks."""

    days: int  # days with walk-ins in the history
    minutes: list[float]  # local times of day they were issued, in minutes, sorted
    zone: ZoneInfo  # the branch's

    def between(self, start: datetime, end: datetime) -> Fraction:
        """How many came on a usual day between the local times of day of ``start`` (to the
        minute) and ``end``."""
        local = start.astimezone(self.zone)
        first = local.hour * 60 + local.minute
        last = first + (end - start).total_seconds() / 60
        came = bisect.bisect_left(self.minutes, last) - bisect.bisect_left(self.minutes, first)
        return Fraction(came, self.days)


def usual_walk_ins(session: Session, service: ServiceInfo, today: date) -> UsualWalkIns | None:
    """When the service's walk-in tickets were issued over the ``service_demand.HISTORY_DAYS``
    before ``today``; None with fewer than ``USUAL_WALK_INS_MIN_DAYS`` days. One query."""
    first = today - timedelta(days=service_demand.HISTORY_DAYS)
    rows = session.execute(
        select(Ticket.local_day, Ticket.issued_at).where(
            Ticket.service_id == service.id,
            Ticket.kind == TicketKind.WALK_IN,
            Ticket.local_day >= first,
            Ticket.local_day < today,
        )
    ).all()
    days = len({day for day, _ in rows})
    if days < USUAL_WALK_INS_MIN_DAYS:
        return None
    zone = service.branch.zone
    minutes = []
    for _, issued in rows:
        local = issued.astimezone(zone)
        minutes.append(local.hour * 60 + local.minute + local.second / 60)
    return UsualWalkIns(days, sorted(minutes), zone)


def walk_ins_per_slot(
    session: Session, service: ServiceInfo, day: date, until: datetime
) -> Fraction | None:
    """How many walk-ins one of the service's slots brings on ``day``, at the rate its walk-in
    tickets were issued from opening until ``until``; None before any such time."""
    zone = service.branch.zone
    window = opening_hours.window_on(service.branch.hours, day, zone)
    if window is None or until <= window[0]:
        return None
    minutes = (min(until, window[1]) - window[0]).total_seconds() / 60
    issued = session.scalar(
        select(func.count()).where(
            Ticket.service_id == service.id,
            Ticket.kind == TicketKind.WALK_IN,
            Ticket.local_day == day,
            Ticket.issued_at < until,
        )
    )
    return Fraction(issued or 0) * service.slot_minutes / Fraction(minutes).limit_denominator(10**6)


def next_free(
    session: Session, service: ServiceInfo, now: datetime, after: datetime | None = None
) -> Opening | None:
    """The first slot with room that starts after ``after`` (default: now): what the kiosk and
    the booking page offer when a time is taken, paused or full."""
    after = after or now
    for opening in openings(session, service, now, after, 1):
        if opening.start > after:
            return opening
    return None


# --- holding places in slots ---------------------------------------------------------------


def take_place(session: Session, service_id: int, start: datetime, capacity: int) -> bool:
    """Hold one place in a slot inside the caller's transaction; False when it is full.

    The row is bumped with ``booked = booked + 1 WHERE booked < capacity``: on PostgreSQL the
    row lock makes concurrent bookings of one slot take turns and see each other's counts, on
    SQLite the write lock does; so the count never passes the capacity. A share lock on the
    service's row waits for a bulk booking (``lock_slots``) of the same service to finish.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(Service.id).where(Service.id == service_id).with_for_update(read=True)
        )
    session.execute(
        insert(session, SlotBooking)
        .values(service_id=service_id, starts_at=start, booked=0)
        .on_conflict_do_nothing()
    )
    taken = session.execute(
        update(SlotBooking)
        .where(
            SlotBooking.service_id == service_id,
            SlotBooking.starts_at == start,
            SlotBooking.booked < capacity,
        )
        .values(booked=SlotBooking.booked + 1)
        .returning(SlotBooking.booked)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    return taken is not None


def give_back(session: Session, service_id: int, start: datetime, places: int = 1) -> None:
    """Free places in a slot (a cancellation, a move to another slot), in the caller's
    transaction."""
    session.execute(
        update(SlotBooking)
        .where(
            and_(SlotBooking.service_id == service_id, SlotBooking.starts_at == start),
            SlotBooking.booked >= places,
        )
        .values(booked=SlotBooking.booked - places)
        .execution_options(synchronize_session=False)
    )


def add_places(session: Session, counts: Mapping[tuple[int, datetime], int]) -> None:
    """Add many bookings at once (the rescheduler's bulk write): one upsert per slot touched,
    sent as one executemany. The caller has checked them against capacity under the lock that
    ``lock_slots`` took."""
    if not counts:
        return
    rows = [
        {"service_id": service_id, "starts_at": start, "booked": n}
        for (service_id, start), n in counts.items()
    ]
    stmt = insert(session, SlotBooking)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["service_id", "starts_at"],
            set_={"booked": SlotBooking.booked + stmt.excluded.booked},
        ),
        rows,
    )


def lock_for_bulk_booking(session: Session) -> None:
    """Start the caller's transaction with SQLite's write lock, so that what it reads next
    stays true until it commits (PostgreSQL locks rows instead: ``lock_slots``)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(Service)
            .where(Service.id < 0)
            .values(slot_minutes=1)
            .execution_options(synchronize_session=False)
        )


def lock_slots(session: Session, service_ids: Iterable[int], start: datetime) -> None:
    """Make bookings of these services' slots wait for the caller's transaction: bookings
    take a share lock on their service's row (``take_place``), a bulk booking an exclusive one,
    so that the counts it reads stay true until it commits. SQLite has one writer anyway."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        select(Service.id)
        .where(Service.id.in_(list(service_ids)))
        .order_by(Service.id)
        .with_for_update()
    )
