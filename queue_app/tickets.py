"""A citizen's ticket: take a walk-in ticket, look it up, cancel it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from queue_app import directory, numbering, service_state, waiting_line
from queue_app.access import Principal
from queue_app.clock import Clock
from queue_app.db import commit
from queue_app.directory import BranchInfo, CounterInfo, ServiceInfo
from queue_app.errors import InvalidPhone, NotFound, ServiceClosed, ServicePaused
from queue_app.models import Ticket, TicketEvent, TicketKind, TicketStatus
from sms.numbers import InvalidNumber, to_e164

LOCALES = ("ar", "en")


def new_token() -> str:
    """192 random bits: the QR code is the only key to a ticket's page; it must not be guessed."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class TicketView:
    """A ticket with what its owner wants to know: where they stand and how long it will take."""

    ticket: Ticket
    branch: BranchInfo
    service: ServiceInfo
    counter: CounterInfo | None
    position: int | None
    eta_minutes: int | None
    service_status: service_state.ServiceStatus


def _parse_phone(raw: str | None, branch: BranchInfo) -> str | None:
    if not raw:
        return None
    try:
        return to_e164(raw, branch.country)
    except InvalidNumber:
        raise InvalidPhone(
            f"not a mobile number for {branch.country}: {raw}",
            phone=[f"a mobile number valid in {branch.country}"],
        ) from None


def _check_takes_walk_ins(service: ServiceInfo, status: service_state.ServiceStatus) -> None:
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
) -> TicketView:
    """Issue a walk-in ticket and put it in the waiting line.

    Raises NotFound (branch, service), Forbidden (another branch's token), InvalidPhone,
    ServicePaused (a back-end system it needs is down), ServiceClosed.
    """
    now = clock.now()
    branch = directory.current(session).branch(branch_code)
    principal.require_branch(branch.id)
    service = branch.service(service_code)
    e164 = _parse_phone(phone, branch)
    status = service_state.status_of(service, now)
    _check_takes_walk_ins(service, status)
    local_day = now.astimezone(branch.zone).date()
    ticket = Ticket(
        token=new_token(),
        branch_id=branch.id,
        service_id=service.id,
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
    session.flush()
    # Counted inside the same transaction: the place printed on the ticket is the place it took.
    view = _view(session, ticket, branch, service, status)
    commit(session)
    return view


def find_ticket(session: Session, token: str) -> Ticket:
    """Raises NotFound; a forged token and a deleted ticket look the same."""
    ticket = session.scalar(
        select(Ticket).where(Ticket.token == token).options(selectinload(Ticket.events))
    )
    if ticket is None:
        raise NotFound("no such ticket")
    return ticket


def _view(
    session: Session,
    ticket: Ticket,
    branch: BranchInfo,
    service: ServiceInfo,
    status: service_state.ServiceStatus,
) -> TicketView:
    position = eta = None
    if ticket.status == TicketStatus.WAITING:
        ahead, measured = waiting_line.people_ahead(session, ticket)
        position = ahead + 1
        eta = waiting_line.estimated_wait_minutes(
            ahead,
            waiting_line.seconds_per_citizen(service.avg_service_minutes, measured),
            branch.open_counters_serving(service),
        )
    counter = None
    if ticket.counter_id is not None:
        counter = next((c for c in branch.counters if c.id == ticket.counter_id), None)
    return TicketView(
        ticket=ticket,
        branch=branch,
        service=service,
        counter=counter,
        position=position,
        eta_minutes=eta,
        service_status=status,
    )


def view_ticket(session: Session, clock: Clock, ticket: Ticket) -> TicketView:
    service = directory.current(session).service_by_id(ticket.service_id)
    return _view(
        session, ticket, service.branch, service, service_state.status_of(service, clock.now())
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
