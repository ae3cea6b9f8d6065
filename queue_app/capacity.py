"""A service's capacity per slot: a manager cuts it (or staffing, hours, holidays do), and the
bookings its slots can no longer take move to later free slots, texted.

The latest booked of a slot move first: who booked early keeps the time they were promised.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from queue_app import directory, rescheduler, slots, texting
from queue_app.access import Principal
from queue_app.clock import Clock
from queue_app.directory import ServiceInfo
from queue_app.errors import InvalidInput, NotFound
from queue_app.models import CapacityOverride, Ticket, TicketStatus


@dataclass(frozen=True)
class CapacityChange:
    first_day: date
    last_day: date
    per_slot: int | None
    over_capacity: int  # bookings beyond the new capacity
    moved: int
    unplaced: int
    texted: int
    dry_run: bool
    # The manager's setting this change added (None for a dry run or an undo): what to undo.
    override_id: int | None = None


def set_capacity(
    session: Session,
    clock: Clock,
    principal: Principal,
    branch_code: str,
    service_code: str,
    *,
    first_day: date,
    last_day: date,
    per_slot: int,
    dry_run: bool = False,
) -> CapacityChange:
    """Set a service's capacity per slot over a range of local days, then move the bookings over
    it (the latest booked first) and text them. With ``dry_run`` nothing changes: the answer
    says how many bookings would move. Raises NotFound, Forbidden, InvalidInput."""
    if per_slot < 0:
        raise InvalidInput("capacity cannot be below zero", per_slot=["must be 0 or more"])
    if last_day < first_day:
        raise InvalidInput("the range ends before it begins", to=["before from"])
    if (last_day - first_day).days > 366:
        raise InvalidInput("set capacity for a year at most at once", to=["more than a year"])
    now = clock.now()
    branch = directory.current(session).branch(branch_code)
    principal.require_branch(branch.id)
    service = branch.service(service_code)
    override = CapacityOverride(
        service_id=service.id,
        first_day=first_day,
        last_day=last_day,
        per_slot=per_slot,
        created_at=now,
        set_by=principal.name or principal.role.value,
    )
    session.add(override)
    session.flush()
    override_id = override.id
    cause = f"capacity:{now.isoformat()}"
    if not dry_run:
        session.commit()
    count, outcome = move_overflow(
        session, clock, now, service, first_day, last_day, cause=cause, dry_run=dry_run
    )
    if dry_run:
        return CapacityChange(first_day, last_day, per_slot, count, 0, 0, 0, dry_run=True)
    return CapacityChange(
        first_day,
        last_day,
        per_slot,
        count,
        outcome.moved,
        outcome.unplaced,
        outcome.texted,
        False,
        override_id=override_id,
    )


def undo_capacity(
    session: Session,
    clock: Clock,
    principal: Principal,
    branch_code: str,
    override_id: int,
    *,
    dry_run: bool = False,
) -> CapacityChange:
    """Take back a capacity setting: the days return to what applied before it. Appointments it
    moved keep their new times (their citizens were told); bookings made in room it added that
    the old capacity cannot take move, as any cut does. With ``dry_run`` nothing changes.

    Raises NotFound (not a setting of this branch), Forbidden."""
    branch = directory.current(session).branch(branch_code)
    principal.require_branch(branch.id)
    override = session.get(CapacityOverride, override_id)
    services = {s.id: s for s in branch.services}
    if override is None or override.service_id not in services:
        raise NotFound(f"no capacity setting {override_id} at {branch_code}", id=override_id)
    service = services[override.service_id]
    first_day, last_day = override.first_day, override.last_day
    now = clock.now()
    session.delete(override)
    session.flush()
    if not dry_run:
        session.commit()
    count, outcome = move_overflow(
        session,
        clock,
        now,
        service,
        first_day,
        last_day,
        cause=f"capacity:{now.isoformat()}",
        dry_run=dry_run,
    )
    return CapacityChange(
        first_day,
        last_day,
        None,
        count,
        outcome.moved,
        outcome.unplaced,
        outcome.texted,
        dry_run,
    )


def move_overflow(
    session: Session,
    clock: Clock,
    now: datetime,
    service: ServiceInfo,
    first_day: date,
    last_day: date,
    *,
    cause: str,
    dry_run: bool = False,
) -> tuple[int, rescheduler.Outcome]:
    """Move the bookings over capacity at ``now`` in these days to later free slots (each after
    its own slot) and text them; the rescheduler reads ``clock`` as it goes, chunk by chunk.
    With ``dry_run`` the transaction is rolled back and nothing moves. Returns how many were
    over capacity and what the rescheduler did."""
    over = _overflow(session, service, now, first_day, last_day)
    total = rescheduler.Outcome()
    count = sum(len(ids) for _, ids in over)
    if dry_run:
        session.rollback()
        return count, total
    message = texting.moved(session, "capacity")
    for slot_start, ticket_ids in over:
        outcome = rescheduler.reschedule(
            session,
            clock,
            ticket_ids,
            not_before=slot_start,
            cause=cause,
            message_for=message,
        )
        _add(total, outcome)
    return count, total


def count_overflow(
    session: Session, now: datetime, service: ServiceInfo, first_day: date, last_day: date
) -> int:
    """How many bookings of these days are over what their slots can take at ``now``."""
    return sum(len(ids) for _, ids in _overflow(session, service, now, first_day, last_day))


def move_all_overflow(session: Session, clock: Clock, *, cause: str) -> rescheduler.Outcome:
    """After the hours, holidays, counters or services of branches changed (a config file
    loaded, ``cause`` says which way): move every booking in the coming weeks that its slot can
    no longer take, and text it."""
    now = clock.now()
    total = rescheduler.Outcome()
    for branch in directory.current(session).branches:
        today = now.astimezone(branch.zone).date()
        last = today + timedelta(days=slots.BOOKING_HORIZON_DAYS)
        for service in branch.services:
            _, outcome = move_overflow(
                session, clock, now, service, today, last, cause=f"{cause}:{now.isoformat()}"
            )
            _add(total, outcome)
    return total


def _add(total: rescheduler.Outcome, outcome: rescheduler.Outcome) -> None:
    total.moved += outcome.moved
    total.unplaced += outcome.unplaced
    total.texted += outcome.texted


def _overflow(
    session: Session, service: ServiceInfo, now: datetime, first_day: date, last_day: date
) -> list[tuple[datetime, list[int]]]:
    """Per slot start, the booked tickets beyond what the slot can take now, the latest booked
    first: for slots whose capacity shrank, and for bookings on times that are no longer slots
    (a holiday added, shorter hours)."""
    zone = service.branch.zone
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    rows = session.execute(
        select(Ticket.id, Ticket.slot_start)
        .where(
            Ticket.service_id == service.id,
            Ticket.status == TicketStatus.SCHEDULED,
            Ticket.slot_start >= max(start, now),
            Ticket.slot_start < end,
        )
        .order_by(Ticket.slot_start, Ticket.issued_at.desc(), Ticket.id.desc())
    ).all()
    booked: dict[datetime, list[int]] = defaultdict(list)
    for ticket_id, slot_start in rows:
        assert slot_start is not None  # the query asks for slot_start >= ...
        booked[slot_start].append(ticket_id)
    caps = slots.capacities(session, service, now)
    valid: dict[datetime, int] = {}
    for offset in range((last_day - first_day).days + 1):
        day = first_day + timedelta(days=offset)
        for slot_start, _, places in caps.day_slots(day):
            valid[slot_start] = places
    over = []
    for slot_start, ticket_ids in booked.items():
        capacity = valid.get(slot_start, 0)
        if len(ticket_ids) > capacity:
            over.append((slot_start, ticket_ids[: len(ticket_ids) - capacity]))
    return over
