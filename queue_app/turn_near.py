"""Waiting anywhere (DESIGN.md: citizens "may wait anywhere and be told when their turn is
near"): one text to a walk-in who left a mobile number, when their estimated wait falls to the
service's ``turn_near_minutes`` (the branch's unless the service sets its own) or when at most
the service's ``turn_near_people`` are ahead of them, whichever comes first.

The estimate is the ticket page's (``wait_estimate`` over ``waiting_line.branch_line``), and the
people ahead its place in its service's line (``BranchLine.ahead_of``), read each worker round.
A ticket is told once ever: the ``turn_near`` event in its history, and the outbox's unique
(ticket, event) should two workers race.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from queue_app import directory, opening_hours, service_state, texting, wait_estimate, waiting_line
from queue_app.clock import Clock
from queue_app.db import commit
from queue_app.directory import BranchInfo, ServiceInfo
from queue_app.models import Ticket, TicketEvent, TicketKind, TicketStatus

EVENT = "turn_near"
# A ticket this fresh is in the hands of a citizen still at the kiosk, who saw the wait there.
FRESH = timedelta(minutes=5)


def tell_turn_near(session: Session, clock: Clock) -> int:
    """Text every waiting walk-in whose turn is near, in the branches with a service that asks
    for it (``ServiceInfo.tells_turn_near``) while tickets are called or issued there (open, or
    in the early window before the opening); commit. Returns how many were texted."""
    now = clock.now()
    told = 0
    for branch in directory.current(session).branches:
        if any(s.tells_turn_near for s in branch.services) and _line_moves(branch, now):
            told += _tell_branch(session, now, branch)
    commit(session)
    return told


def _line_moves(branch: BranchInfo, now: datetime) -> bool:
    zone = branch.zone
    if opening_hours.is_open(branch.hours, now, zone):
        return True
    opening = opening_hours.next_opening(branch.hours, now, zone)
    return service_state.in_early_window(branch.early_tickets_minutes, opening, now)


def _tell_branch(session: Session, now: datetime, branch: BranchInfo) -> int:
    already = select(TicketEvent.id).where(
        TicketEvent.ticket_id == Ticket.id, TicketEvent.event == EVENT
    )
    candidates = session.scalars(
        select(Ticket)
        .where(
            Ticket.branch_id == branch.id,
            Ticket.kind == TicketKind.WALK_IN,
            Ticket.status == TicketStatus.WAITING,
            Ticket.phone.is_not(None),
            Ticket.issued_at <= now - FRESH,
            ~already.exists(),
        )
        .order_by(Ticket.id)
    ).all()
    services = {s.id: s for s in branch.services if s.tells_turn_near}
    candidates = [t for t in candidates if t.service_id in services]
    if not candidates:
        return 0
    line = waiting_line.branch_line(session, branch, now)
    waits = wait_estimate.waits(line.line)
    told = 0
    for ticket in candidates:
        wait = waits.get(ticket.id)
        if wait is None:
            continue
        service = services[ticket.service_id]
        if not is_near(service, wait.minutes, line.ahead_of(ticket)):
            continue
        if texting.turn_near(session, now, ticket, branch, wait.minutes):
            ticket.events.append(TicketEvent(at=now, event=EVENT))
            told += 1
    return told


def is_near(service: ServiceInfo, minutes: int, people_ahead: int) -> bool:
    """Whether a ticket of ``service`` with this wait and this many people ahead is near its
    turn: by minutes or by people, whichever the service asks for comes first."""
    by_minutes = service.turn_near_minutes > 0 and minutes <= service.turn_near_minutes
    by_people = bool(service.turn_near_people) and people_ahead <= (service.turn_near_people or 0)
    return by_minutes or by_people
