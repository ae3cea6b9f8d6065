"""Recovery offers: a system back while the office is still open gives back the afternoon.

An outage with no end known moves its line to the next opening day. When the system comes back
at 12:30, the counters would stand idle while the moved citizens come tomorrow. So the citizens
it moved to a later day are offered today's free counter time: as many as the open counters can
still serve before closing, beyond the line already waiting, the appointments still due today
and the offers still awaiting an answer, earliest ticket first (priority, then issue order).
The offers go out in waves (``outage_moves`` asks every few minutes): an offer not taken within
``ANSWER_WITHIN`` no longer holds its place, and the next moved citizens are offered it, until
nobody is left to offer or closing is too near. Whoever answers first takes the time; one who
answers after today's room is gone keeps their new time (``NoFreeSlot``).

An offer is the one second message a citizen may get about a ticket on one day (DESIGN.md:
nobody is texted more than once a day otherwise): it asks nothing and takes nothing away. A
citizen who accepts (the ticket page's button, or a reply of 1) gives their new time back for
the earliest time today that leaves them half an hour to come, and checks in at the kiosk as
for any booking. One who does not keeps their new time, and the offer lapses at
``offer_until``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from queue_app import directory, opening_hours, service_demand, slots, texting, waiting_line
from queue_app.clock import Clock
from queue_app.db import Bilingual, commit
from queue_app.directory import ServiceInfo
from queue_app.errors import NoFreeSlot, StateConflict
from queue_app.models import Outage, Service, Ticket, TicketEvent, TicketKind, TicketStatus
from queue_app.tickets import (
    CHECK_IN_CLOSES_AFTER,
    TicketView,
    find_ticket,
    open_offer_until,
    view_ticket,
)

# An offer must leave time to come back and be served: none when closing is nearer than this,
# and it lapses this long before closing.
LEAD_BEFORE_CLOSING = timedelta(minutes=60)
LAPSES_BEFORE_CLOSING = timedelta(minutes=30)
# The time a citizen who takes the offer is given to come back. Check-in stays open
# ``CHECK_IN_CLOSES_AFTER`` into a slot and the line keeps the slot's start as their place, so
# a slot that starts up to that long (less five minutes to find the kiosk) before they can be
# there still serves them: waiting for the next whole slot left the counters idle for most
# of the first hour after the system came back.
COME_BACK_WITHIN = timedelta(minutes=30)
FIRST_SLOT_AFTER = COME_BACK_WITHIN - CHECK_IN_CLOSES_AFTER + timedelta(minutes=5)
# An offer holds its place this long; after that, the next wave may offer the place again (the
# one offered before may still take it while room remains). Most who take one do so at once.
ANSWER_WITHIN = timedelta(minutes=15)


@dataclass(frozen=True)
class Offers:
    offered: int
    texted: int
    # False while the office is not open yet today: a system back before opening is offered
    # once the doors open, so the caller asks again.
    decided: bool = True
    # True when no later wave can offer anything: nobody moved is left to offer, or closing is
    # too near (or the office closed for the day).
    finished: bool = True


def free_places_today(
    session: Session, service: ServiceInfo, now: datetime, closing: datetime
) -> int:
    """How many more citizens the service's open counters can serve before closing, beyond
    those already in its line, its appointments still due today and the walk-ins it usually
    gets for the rest of the day (``slots.usual_walk_ins``; none counted without history)."""
    measured = session.scalar(
        select(Service.measured_service_seconds).where(Service.id == service.id)
    )
    seconds_each = waiting_line.seconds_per_citizen(service.avg_service_minutes, measured)
    today = now.astimezone(service.branch.zone).date()
    counters = service.branch.counter_time_for(
        service,
        open_only=True,
        demand=service_demand.served_minutes(session, service.branch, today),
    )
    can_serve = math.floor(counters * (closing - now).total_seconds() / seconds_each)
    already = session.scalar(
        select(func.count()).where(
            Ticket.service_id == service.id,
            (Ticket.status == TicketStatus.WAITING)
            | (
                (Ticket.status == TicketStatus.SCHEDULED)
                & (Ticket.slot_start >= now)
                & (Ticket.slot_start < closing)
            ),
        )
    )
    # The walk-ins the rest of the day usually brings come too: the offers must not fill the
    # afternoon over their heads (a line of an hour in the day simulation).
    usual = slots.usual_walk_ins(session, service, today)
    expected = math.ceil(usual.between(now, closing)) if usual is not None else 0
    return max(0, can_serve - (already or 0) - expected)


def _room_today(session: Session, service: ServiceInfo, now: datetime, closing: datetime) -> int:
    """The places today's slots still hold for those who take an offer (``take_offer``)."""
    found = slots.openings(
        session,
        service,
        now,
        now + FIRST_SLOT_AFTER,
        10**6,
        horizon_days=1,
        whole_walk_in_share=True,
    )
    return sum(o.room + o.walk_in_room for o in found if o.start < closing)


def _awaiting_answer(
    session: Session, service: ServiceInfo, now: datetime, closing: datetime, cause: str
) -> int:
    """The service's offers made within ``ANSWER_WITHIN`` and not taken yet: each still holds
    its place in today's room."""
    recent = select(TicketEvent.ticket_id).where(
        TicketEvent.event == "offered",
        TicketEvent.note == cause,
        TicketEvent.at > now - ANSWER_WITHIN,
    )
    return (
        session.scalar(
            select(func.count()).where(
                Ticket.service_id == service.id,
                Ticket.status == TicketStatus.SCHEDULED,
                Ticket.slot_start >= closing,
                Ticket.offer_until > now,
                Ticket.id.in_(recent),
            )
        )
        or 0
    )


def make_offers(
    session: Session,
    clock: Clock,
    outage: Outage,
    services: list[ServiceInfo],
    system: Bilingual,
) -> Offers:
    """One wave: offer today's free time, beyond the offers still awaiting an answer, to the
    next citizens ``outage`` moved to a later day, at the branch of ``services``, in the
    caller's transaction. Nothing when the office closes too soon."""
    now = clock.now()
    offered = texted = 0
    if not services:
        return Offers(0, 0)
    branch = services[0].branch
    closing = opening_hours.closing_time(branch.hours, now, branch.zone)
    if closing is None:
        opens_later = opening_hours.opening_later_today(branch.hours, now, branch.zone)
        return Offers(0, 0, decided=opens_later is None)
    if closing - now < LEAD_BEFORE_CLOSING:
        return Offers(0, 0)
    until = closing - LAPSES_BEFORE_CLOSING
    cause = f"outage:{outage.id}"
    finished = True
    for service in services:
        room = min(
            free_places_today(session, service, now, closing),
            _room_today(session, service, now, closing),
        ) - _awaiting_answer(session, service, now, closing, cause)
        if room <= 0:
            finished = False  # room may come as the line drains or offers go unanswered
            continue
        moved_by_it = select(TicketEvent.ticket_id).where(
            TicketEvent.event == "rescheduled",
            or_(TicketEvent.note == cause, TicketEvent.note.like(f"{cause}:%")),  # evenings too
        )
        moved = session.scalars(
            select(Ticket)
            .where(
                Ticket.service_id == service.id,
                Ticket.status == TicketStatus.SCHEDULED,
                Ticket.slot_start >= closing,
                Ticket.offer_until.is_(None),
                or_(
                    Ticket.id.in_(moved_by_it),
                    # Booked while the service was paused (the kiosk offers the earliest free
                    # time instead of a ticket): as displaced by the outage as those it moved.
                    and_(
                        Ticket.kind == TicketKind.APPOINTMENT,
                        Ticket.issued_at >= outage.started_at,
                        Ticket.issued_at <= (outage.ended_at or now),
                    ),
                ),
            )
            .order_by(Ticket.priority.desc(), Ticket.issued_at, Ticket.id)
            .limit(room + 1)  # one more: is anybody left for a later wave?
            # The rescheduler moved them in bulk: what the database holds, not a stale copy.
            .execution_options(populate_existing=True)
        ).all()
        if len(moved) > room:
            finished = False
            moved = moved[:room]
        for ticket in moved:
            ticket.offer_until = until
            # Added, not appended: appending would load each ticket's history first.
            session.add(TicketEvent(ticket_id=ticket.id, at=now, event="offered", note=cause))
            offered += 1
            texted += texting.offer_today(session, now, ticket, branch, cause, system.name, until)
    return Offers(offered, texted, finished=finished)


def take_offer(session: Session, now: datetime, ticket: Ticket, *, note: str | None = None) -> None:
    """In the caller's transaction: give the ticket the earliest time today that leaves
    ``COME_BACK_WITHIN`` to come back by its check-in's end (``FIRST_SLOT_AFTER``), from today's
    free room (the walk-in share included: the citizens moved by the outage were today's), and
    free its later time. It stays a booked time, checked in at the kiosk on arrival. Raises
    StateConflict when it holds no open offer (none made, lapsed, or taken), NoFreeSlot when
    today's room is taken meanwhile (its new time stays)."""
    if open_offer_until(ticket, now) is None:
        raise StateConflict(
            f"ticket {ticket.number} holds no offer of today's time (none was made, or it lapsed)",
            status=ticket.status.value,
        )
    service = directory.current(session).service_by_id(ticket.service_id)
    closing = opening_hours.closing_time(service.branch.hours, now, service.branch.zone)
    earliest = now + FIRST_SLOT_AFTER
    old_start = ticket.slot_start
    # The free counter time was counted when the offer was made (``free_places_today``).
    found = slots.openings(session, service, now, earliest, 1, whole_walk_in_share=True)
    for opening in found:
        if closing is None or opening.start >= closing:
            break
        if slots.take_place(session, service.id, opening.start, opening.whole):
            if old_start is not None:
                slots.give_back(session, service.id, old_start)
            ticket.slot_start, ticket.slot_end = opening.start, opening.end
            ticket.offer_until = None
            ticket.events.append(TicketEvent(at=now, event="offer_accepted", note=note))
            return
    raise NoFreeSlot("today's free time has been taken meanwhile; your new time stays")


def accept(session: Session, clock: Clock, token: str) -> TicketView:
    """The citizen takes today's free time offered after an outage. Raises NotFound,
    StateConflict."""
    now = clock.now()
    ticket = find_ticket(session, token)
    take_offer(session, now, ticket)
    commit(session)
    return view_ticket(session, now, ticket)


__all__ = [
    "Offers",
    "accept",
    "free_places_today",
    "make_offers",
    "take_offer",
]
