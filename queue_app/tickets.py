"""A citizen's ticket: take a walk-in ticket, look it up, cancel it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from queue_app import numbering, service_state, waiting_line
from queue_app.access import Principal
from queue_app.branches import get_branch, get_service
from queue_app.clock import Clock
from queue_app.db import commit
from queue_app.errors import InvalidPhone, NotFound, ServiceClosed, ServicePaused
from queue_app.models import Branch, Counter, Service, Ticket, TicketEvent, TicketKind, TicketStatus
from sms.numbers import InvalidNumber, to_e164

LOCALES = ("ar", "en")


def new_token() -> str:
    """192 random bits: the QR code is the only key to a ticket's page; it must not be guessed."""
    return secrets.token_urlsafe(24)


def take_walk_in(
    session: Session,
    clock: Clock,
    principal: Principal,
    branch_code: str,
    service_code: str,
    *,
    phone: str | None = None,
    locale: str = "ar",
    priority: bool = False,
) -> Ticket:
    """Issue a walk-in ticket and put it in the waiting line.

    Raises NotFound (branch, service), Forbidden (another branch's token), InvalidPhone,
    ServicePaused (a back-end system it needs is down), ServiceClosed.
    """
    now = clock.now()
    branch = get_branch(session, branch_code)
    principal.require_branch(branch.id)
    service = get_service(branch, service_code)
    e164 = None
    if phone:
        try:
            e164 = to_e164(phone, branch.country)
        except InvalidNumber:
            raise InvalidPhone(
                f"not a mobile number for {branch.country}: {phone}",
                phone=[f"a mobile number valid in {branch.country}"],
            ) from None
    status = service_state.status_of(service, now)
    if status.state == service_state.ServiceState.PAUSED:
        raise ServicePaused(
            f"{service.code} is paused: a system it needs is down",
            backends=[b.code for b in status.down_backends],
            next_slot=None,
        )
    if status.state == service_state.ServiceState.CLOSED:
        raise ServiceClosed(
            f"{service.code} is closed now",
            reason=status.closed_reason.value if status.closed_reason else None,
            next_opening=status.next_opening.isoformat() if status.next_opening else None,
        )
    local_day = now.astimezone(branch.zone).date()
    ticket = Ticket(
        token=new_token(),
        branch=branch,
        service=service,
        letter=service.letter,
        local_day=local_day,
        sequence=numbering.next_number(session, branch.id, service.letter, local_day),
        kind=TicketKind.WALK_IN,
        status=TicketStatus.WAITING,
        priority=priority,
        phone=e164,
        locale=locale if locale in LOCALES else "ar",
        issued_at=now,
    )
    ticket.events.append(TicketEvent(at=now, event="issued"))
    session.add(ticket)
    session.commit()
    return ticket


def find_ticket(session: Session, token: str) -> Ticket:
    """Raises NotFound; a forged token and a deleted ticket look the same."""
    ticket = session.scalar(
        select(Ticket)
        .where(Ticket.token == token)
        .options(
            selectinload(Ticket.events),
            selectinload(Ticket.service).selectinload(Service.backends),
            selectinload(Ticket.branch)
            .selectinload(Branch.counters)
            .selectinload(Counter.services),
            selectinload(Ticket.branch).selectinload(Branch.opening_hours),
            selectinload(Ticket.branch).selectinload(Branch.holidays),
        )
    )
    if ticket is None:
        raise NotFound("no such ticket")
    return ticket


@dataclass(frozen=True)
class TicketView:
    """A ticket with what its owner wants to know: where they stand and how long it will take."""

    ticket: Ticket
    position: int | None
    eta_minutes: int | None
    service_status: service_state.ServiceStatus


def view_ticket(session: Session, clock: Clock, ticket: Ticket) -> TicketView:
    position = eta = None
    if ticket.status == TicketStatus.WAITING:
        ahead = waiting_line.people_ahead(session, ticket)
        position = ahead + 1
        eta = waiting_line.estimated_wait_minutes(
            ahead,
            ticket.service.expected_service_seconds,
            service_state.open_counters_serving(ticket.branch, ticket.service),
        )
    return TicketView(
        ticket=ticket,
        position=position,
        eta_minutes=eta,
        service_status=service_state.status_of(ticket.service, clock.now()),
    )


def lookup(session: Session, clock: Clock, token: str) -> TicketView:
    """Raises NotFound."""
    return view_ticket(session, clock, find_ticket(session, token))


def cancel(session: Session, clock: Clock, token: str) -> TicketView:
    """The citizen gives up their place. Raises NotFound, StateConflict."""
    ticket = find_ticket(session, token)
    ticket.move_to(TicketStatus.CANCELLED, clock.now())
    commit(session)
    return view_ticket(session, clock, ticket)
