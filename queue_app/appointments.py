"""Appointments: book a slot, confirm it, take the next free one, and move bookings when
capacity shrinks.

An appointment is a ticket of kind ``appointment`` that holds one place in one slot while it is
``scheduled``; it enters the waiting line at check-in (tickets.check_in). Its number is taken for
the slot's local day when it is booked, from the same gap-free sequence as walk-ins.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from queue_app import directory, numbering, opening_hours, outbox, rescheduler, slots
from queue_app.access import Principal
from queue_app.clock import Clock
from queue_app.db import commit
from queue_app.directory import ServiceInfo
from queue_app.errors import InvalidInput, InvalidPhone, StateConflict
from queue_app.models import (
    CapacityOverride,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketStatus,
)
from queue_app.models.tickets import ACTIVE_STATUSES
from queue_app.tickets import (
    LOCALES,
    TicketView,
    find_ticket,
    remember_key,
    replay,
    view_ticket,
)
from sms import templates
from sms.numbers import InvalidNumber, to_e164


class SlotFull(StateConflict):
    code = "slot_full"


class AlreadyBooked(StateConflict):
    """One active appointment per number per service: a second would hold a place twice."""

    code = "already_booked"


class SystemAway(StateConflict):
    """The slot falls in announced maintenance or an outage of a system the service needs."""

    code = "system_unavailable"


class NoFreeSlot(StateConflict):
    code = "no_free_slot"


def _link(public_url: str, token: str) -> str:
    return f"{public_url}/t/{token}"


def _aware(start: datetime) -> datetime:
    if start.tzinfo is None:
        raise InvalidInput(
            "give the start with its UTC offset, as in 2026-12-06T09:30:00+02:00",
            start=["needs a UTC offset"],
        )
    return start


def book(
    session: Session,
    clock: Clock,
    branch_code: str,
    service_code: str,
    *,
    start: datetime,
    phone: str,
    locale: str = "ar",
    public_url: str,
    idempotency_key: str | None = None,
) -> TicketView:
    """Book the slot of ``service_code`` that starts at ``start`` for the citizen at ``phone``,
    and queue the confirmation SMS in the same transaction.

    With an ``idempotency_key`` (a kiosk's retry after a lost answer), a repeat answers with the
    appointment the first request booked, ``replayed`` set, instead of ``already_booked``.

    Raises NotFound (branch, service), InvalidPhone, InvalidInput (not a slot start, in the
    past, a closed day), AlreadyBooked, SlotFull.
    """
    now = clock.now()
    start = _aware(start)
    branch = directory.current(session).branch(branch_code)
    service = branch.service(service_code)
    try:
        e164 = to_e164(phone, branch.country)
    except InvalidNumber as exc:
        raise InvalidPhone(str(exc), phone=[str(exc)]) from None
    locale = locale if locale in LOCALES else "ar"
    request = json.dumps(["appointment", service.code, start.isoformat(), e164, locale])
    fingerprint = hashlib.sha256(request.encode()).hexdigest()
    if idempotency_key is not None:
        earlier = replay(session, clock, branch, idempotency_key, fingerprint)
        if earlier is not None:
            return earlier
    slot = _the_slot(session, service, now, start)
    existing = session.scalar(
        select(Ticket).where(
            Ticket.phone == e164,
            Ticket.service_id == service.id,
            Ticket.kind == TicketKind.APPOINTMENT,
            Ticket.status.in_(ACTIVE_STATUSES),
        )
    )
    if existing is not None:
        raise AlreadyBooked(
            f"this number already has appointment {existing.number} for this service; cancel "
            "it or move it from its ticket page",
            ticket=existing.number,
            slot_start=existing.slot_start.isoformat() if existing.slot_start else None,
        )
    if not slots.take_place(session, service.id, slot.start, slot.capacity):
        session.rollback()
        raise SlotFull(
            "this time is fully booked; choose another",
            start=slot.start.isoformat(),
            next_slot=_next_free_start(session, service, now, slot.start),
        )
    local_day = slot.start.astimezone(branch.zone).date()
    sequence = numbering.next_number(session, branch.id, service.letter, local_day)
    ticket = Ticket(
        token=secrets.token_urlsafe(24),
        branch_id=branch.id,
        service_id=service.id,
        letter=service.letter,
        local_day=local_day,
        sequence=sequence,
        kind=TicketKind.APPOINTMENT,
        status=TicketStatus.SCHEDULED,
        phone=e164,
        locale=locale,
        issued_at=now,
        slot_start=slot.start,
        slot_end=slot.end,
    )
    ticket.events.append(TicketEvent(at=now, event="booked"))
    session.add(ticket)
    session.flush()
    if idempotency_key is not None:
        winner = remember_key(session, clock, branch, idempotency_key, fingerprint, ticket)
        if winner is not None:
            return winner
    _confirmation(session, now, ticket, service, public_url, event="booked")
    view = view_ticket(session, clock, ticket)
    commit(session)
    return view


def _the_slot(session: Session, service: ServiceInfo, now: datetime, start: datetime) -> slots.Slot:
    """The bookable slot that starts at ``start``. Raises InvalidInput saying why not."""
    branch = service.branch
    if start <= now:
        raise InvalidInput("this time has passed; choose a later one", start=["in the past"])
    local_day = start.astimezone(branch.zone).date()
    if opening_hours.window_on(branch.hours, local_day, branch.zone) is None:
        raise InvalidInput(
            f"{branch.code} is closed on {local_day.isoformat()}",
            start=["the branch is closed that day"],
        )
    if local_day > now.astimezone(branch.zone).date() + timedelta(days=slots.BOOKING_HORIZON_DAYS):
        raise InvalidInput(
            f"appointments can be booked up to {slots.BOOKING_HORIZON_DAYS} days ahead",
            start=["too far ahead"],
        )
    if any(
        blocked_start <= start < blocked_end
        for blocked_start, blocked_end in slots.blocked_times(session, service, now)
    ):
        raise SystemAway(
            "a system this service needs is down or under announced maintenance then; choose "
            "a later time",
            start=start.isoformat(),
            next_slot=_next_free_start(session, service, now, start),
        )
    slot = slots.find_slot(session, service, now, start)
    if slot is None:
        times = [s.isoformat() for s, _ in slots.slot_times(service, local_day)[:3]]
        raise InvalidInput(
            "no slot starts at this time; slots start at " + ", ".join(times) + " ...",
            start=["not the start of a slot"],
        )
    return slot


def _next_free_start(
    session: Session, service: ServiceInfo, now: datetime, after: datetime
) -> str | None:
    opening = slots.next_free(session, service, now, after)
    return opening.start.isoformat() if opening is not None else None


def _confirmation(
    session: Session,
    now: datetime,
    ticket: Ticket,
    service: ServiceInfo,
    public_url: str,
    *,
    event: str,
) -> None:
    if ticket.phone is None or ticket.slot_start is None:
        return
    locale = ticket.locale
    outbox.enqueue(
        session,
        now,
        ticket=ticket,
        event=event,
        to=ticket.phone,
        locale=locale,
        body=templates.appointment_confirmed(
            locale,
            service=service.name(locale),
            branch=service.branch.name(locale),
            start=ticket.slot_start,
            timezone=service.branch.timezone,
            link=_link(public_url, ticket.token),
        ),
        urgency=ticket.slot_start,
    )


# A booked citizen who has not checked in this long after the slot began has missed it.
MISSED_AFTER = timedelta(minutes=15)


def mark_missed(session: Session, clock: Clock) -> int:
    """Appointments never checked in by ``MISSED_AFTER`` past their slot's start become
    no-shows (for the worker, every minute); return how many."""
    now = clock.now()
    missed = list(
        session.scalars(
            select(Ticket).where(
                Ticket.status == TicketStatus.SCHEDULED,
                Ticket.slot_start < now - MISSED_AFTER,
            )
        )
    )
    for ticket in missed:
        ticket.move_to(TicketStatus.NO_SHOW, now, event="missed")
    commit(session)
    return len(missed)


def earliest_slot(session: Session, service: ServiceInfo, now: datetime) -> datetime | None:
    """The first slot with room from now (what the kiosk offers for a paused or full service)."""
    opening = slots.next_free(session, service, now)
    return opening.start if opening is not None else None


# --- the citizen's choices -----------------------------------------------------------------


def confirm(session: Session, clock: Clock, token: str) -> TicketView:
    """The citizen will come at the ticket's time. Raises NotFound, StateConflict."""
    now = clock.now()
    ticket = find_ticket(session, token)
    if ticket.status != TicketStatus.SCHEDULED:
        raise StateConflict(
            f"ticket {ticket.number} is {ticket.status.value}; only a booked time can be confirmed",
            status=ticket.status.value,
        )
    ticket.events.append(TicketEvent(at=now, event="confirmed"))
    commit(session)
    return view_ticket(session, clock, ticket)


def next_slot(session: Session, clock: Clock, token: str, *, public_url: str) -> TicketView:
    """Move a booked ticket to the next free slot after its current one, freeing that one at
    once, and text the new time. Raises NotFound, StateConflict, NoFreeSlot."""
    now = clock.now()
    ticket = find_ticket(session, token)
    service = directory.current(session).service_by_id(ticket.service_id)
    if not move_to_next_slot(session, now, ticket, service):
        session.rollback()
        raise NoFreeSlot("no later time is free in the coming weeks; your booking stays as it is")
    _another_slot_message(session, now, ticket, service, public_url)
    commit(session)
    return view_ticket(session, clock, ticket)


def move_to_next_slot(
    session: Session, now: datetime, ticket: Ticket, service: ServiceInfo
) -> bool:
    """In the caller's transaction: move a scheduled ticket to the first free slot after its
    own, freeing its place; False when none is free. Raises StateConflict for a ticket that
    holds no slot."""
    if ticket.status != TicketStatus.SCHEDULED or ticket.slot_start is None:
        raise StateConflict(
            f"ticket {ticket.number} is {ticket.status.value}; only a booked time can be moved",
            status=ticket.status.value,
        )
    old_start = ticket.slot_start
    for opening in slots.openings(session, service, now, old_start, 1):
        if opening.start <= old_start:
            continue
        if slots.take_place(session, service.id, opening.start, opening.capacity):
            slots.give_back(session, service.id, old_start)
            ticket.slot_start, ticket.slot_end = opening.start, opening.end
            ticket.events.append(TicketEvent(at=now, event="moved", note=old_start.isoformat()))
            session.flush()
            return True
    return False


def _another_slot_message(
    session: Session, now: datetime, ticket: Ticket, service: ServiceInfo, public_url: str
) -> None:
    if ticket.phone is None or ticket.slot_start is None:
        return
    moves = sum(1 for e in ticket.events if e.event == "moved")
    outbox.enqueue(
        session,
        now,
        ticket=ticket,
        event=f"moved:{moves}",
        to=ticket.phone,
        locale=ticket.locale,
        body=templates.another_slot(
            ticket.locale,
            start=ticket.slot_start,
            timezone=service.branch.timezone,
            link=_link(public_url, ticket.token),
        ),
        urgency=ticket.slot_start,
    )


# --- capacity cuts ------------------------------------------------------------------------


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
        booked[slot_start].append(ticket_id)
    caps = slots.capacities(session, service, now)
    valid: dict[datetime, int] = {}
    for offset in range((last_day - first_day).days + 1):
        day = first_day + timedelta(days=offset)
        per_slot = caps.per_slot(day)
        for slot_start, _ in slots.slot_times(service, day):
            valid[slot_start] = per_slot
    over = []
    for slot_start, ticket_ids in booked.items():
        capacity = valid.get(slot_start, 0)
        if len(ticket_ids) > capacity:
            over.append((slot_start, ticket_ids[: len(ticket_ids) - capacity]))
    return over


def move_overflow(
    session: Session,
    clock: Clock,
    service: ServiceInfo,
    first_day: date,
    last_day: date,
    *,
    cause: str,
    public_url: str,
    dry_run: bool = False,
) -> tuple[int, rescheduler.Outcome]:
    """Move the bookings over capacity in these days to later free slots (each after its own
    slot) and text them. Returns how many were over capacity and what the rescheduler did."""
    now = clock.now()
    over = _overflow(session, service, now, first_day, last_day)
    total = rescheduler.Outcome()
    count = sum(len(ids) for _, ids in over)
    if dry_run:
        session.rollback()
        return count, total
    for slot_start, ticket_ids in over:
        outcome = rescheduler.reschedule(
            session,
            clock,
            ticket_ids,
            not_before=slot_start,
            cause=cause,
            message_for=capacity_message(service, public_url),
        )
        total.moved += outcome.moved
        total.unplaced += outcome.unplaced
        total.texted += outcome.texted
    return count, total


def move_all_overflow(
    session: Session, clock: Clock, *, public_url: str, cause: str
) -> rescheduler.Outcome:
    """After the hours, holidays, counters or services of branches changed (a config file
    loaded): move every booking in the coming weeks that its slot can no longer take."""
    now = clock.now()
    total = rescheduler.Outcome()
    for branch in directory.current(session).branches:
        today = now.astimezone(branch.zone).date()
        last = today + timedelta(days=slots.BOOKING_HORIZON_DAYS)
        for service in branch.services:
            _, outcome = move_overflow(
                session, clock, service, today, last, cause=cause, public_url=public_url
            )
            total.moved += outcome.moved
            total.unplaced += outcome.unplaced
            total.texted += outcome.texted
    return total


def capacity_message(service: ServiceInfo, public_url: str) -> rescheduler.MessageFor:
    def word(ticket: rescheduler.TicketRow, svc: ServiceInfo, start: datetime) -> str:
        return templates.rescheduled_for_capacity(
            ticket.locale,
            branch=svc.branch.name(ticket.locale),
            start=start,
            timezone=svc.branch.timezone,
            link=_link(public_url, ticket.token),
        )

    return word


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
    public_url: str,
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
    session.add(
        CapacityOverride(
            service_id=service.id,
            first_day=first_day,
            last_day=last_day,
            per_slot=per_slot,
            created_at=now,
            set_by=principal.role.value,
        )
    )
    session.flush()
    cause = f"capacity:{now.isoformat()}"
    if dry_run:
        count, _ = move_overflow(
            session,
            clock,
            service,
            first_day,
            last_day,
            cause=cause,
            public_url=public_url,
            dry_run=True,
        )
        return CapacityChange(first_day, last_day, per_slot, count, 0, 0, 0, dry_run=True)
    session.commit()
    count, outcome = move_overflow(
        session, clock, service, first_day, last_day, cause=cause, public_url=public_url
    )
    return CapacityChange(
        first_day, last_day, per_slot, count, outcome.moved, outcome.unplaced, outcome.texted, False
    )
