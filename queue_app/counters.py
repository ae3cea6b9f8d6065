"""What counter staff and managers do at a counter: call, finish, mark no-show, recall, open."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from queue_app import capacity, directory, pace, service_state
from queue_app.access import Principal
from queue_app.branches import CounterView, counter_view
from queue_app.clock import Clock
from queue_app.db import commit, rowcount
from queue_app.directory import CounterInfo
from queue_app.errors import InvalidInput, NotFound, StateConflict
from queue_app.models import Counter, Service, Ticket, TicketEvent, TicketStatus
from queue_app.tickets import find_ticket
from queue_app.waiting_line import CALLING_ORDER

# Two counters may race for one ticket; the loser tries the next, a bounded number of times.
CALL_ATTEMPTS = 20


def _record_service_time(session: Session, ticket: Ticket) -> None:
    """Recompute the service's measured pace from its recent finished tickets, this one
    included (it is flushed first). Two counters finishing at once may each miss the other's
    ticket; the next one finished counts both."""
    if ticket.called_at is None:
        return
    session.flush()
    service = directory.current(session).service_by_id(ticket.service_id)
    pace_seconds = pace.measured_pace(
        pace.recent_service_times(session, ticket.service_id), service.avg_service_minutes * 60
    )
    session.execute(
        update(Service)
        .where(Service.id == ticket.service_id)
        .values(measured_service_seconds=pace_seconds)
    )


def _finish(session: Session, ticket: Ticket, status: TicketStatus, now: datetime) -> None:
    ticket.move_to(status, now)
    ticket.finished_at = now
    if status == TicketStatus.DONE:
        _record_service_time(session, ticket)


def _counter_for(
    session: Session, principal: Principal, branch_code: str, code: str
) -> CounterInfo:
    branch = directory.current(session).branch(branch_code)
    principal.require_branch(branch.id)
    return branch.counter(code)


def call_next(
    session: Session, clock: Clock, principal: Principal, branch_code: str, counter_code: str
) -> Ticket | None:
    """Finish the counter's current ticket and call the next one in line among the services it
    serves, skipping paused services. Returns None when nobody is waiting.

    Raises NotFound, Forbidden, StateConflict (counter closed).
    """
    now = clock.now()
    counter = _counter_for(session, principal, branch_code, counter_code)
    if not counter.is_open:
        raise StateConflict(f"counter {counter.code} is closed", counter=counter.code)
    current = session.scalars(
        select(Ticket).where(Ticket.counter_id == counter.id, Ticket.status == TicketStatus.CALLED)
    ).all()
    for ticket in current:
        _finish(session, ticket, TicketStatus.DONE, now)
    # A closed service still has its line called to the end of the day; a paused one does not,
    # since its transactions cannot be done while the system it needs is down.
    callable_ids = [
        s.id
        for s in counter.services
        if service_state.status_of(s, now).state != service_state.ServiceState.PAUSED
    ]
    if not callable_ids:
        commit(session)
        return None
    for _ in range(CALL_ATTEMPTS):
        candidate = session.scalar(
            select(Ticket)
            .where(Ticket.service_id.in_(callable_ids), Ticket.status == TicketStatus.WAITING)
            .order_by(*CALLING_ORDER)
            .limit(1)
        )
        if candidate is None:
            commit(session)
            return None
        # Conditional UPDATE: if another counter called this ticket first, nothing changes here.
        won = rowcount(
            session.execute(
                update(Ticket)
                .where(Ticket.id == candidate.id, Ticket.status == TicketStatus.WAITING)
                .values(
                    status=TicketStatus.CALLED,
                    counter_id=counter.id,
                    called_at=now,
                    version=Ticket.version + 1,
                )
                .execution_options(synchronize_session=False)
            )
        )
        if won:
            session.add(
                TicketEvent(ticket_id=candidate.id, at=now, event="called", note=counter.code)
            )
            commit(session)
            session.refresh(candidate)
            return candidate
        session.expire(candidate)
    raise StateConflict("too many counters are calling at once; try again")


def _staff_ticket(session: Session, principal: Principal, token: str) -> Ticket:
    ticket = find_ticket(session, token)
    principal.require_branch(ticket.branch_id)
    return ticket


def mark_done(session: Session, clock: Clock, principal: Principal, token: str) -> Ticket:
    """Raises NotFound, Forbidden, StateConflict."""
    ticket = _staff_ticket(session, principal, token)
    _finish(session, ticket, TicketStatus.DONE, clock.now())
    commit(session)
    return ticket


def mark_no_show(session: Session, clock: Clock, principal: Principal, token: str) -> Ticket:
    """Raises NotFound, Forbidden, StateConflict."""
    ticket = _staff_ticket(session, principal, token)
    _finish(session, ticket, TicketStatus.NO_SHOW, clock.now())
    commit(session)
    return ticket


def recall(session: Session, clock: Clock, principal: Principal, token: str) -> Ticket:
    """Call a called ticket again (shown and announced once more). Raises NotFound, Forbidden,
    StateConflict."""
    ticket = _staff_ticket(session, principal, token)
    if ticket.status != TicketStatus.CALLED:
        raise StateConflict(
            f"ticket {ticket.number} is {ticket.status.value}; only a called one can be recalled",
            status=ticket.status.value,
        )
    ticket.move_to(TicketStatus.CALLED, clock.now(), event="recalled")
    commit(session)
    return ticket


def update_counter(
    session: Session,
    principal: Principal,
    branch_code: str,
    counter_code: str,
    *,
    is_open: bool | None = None,
    service_codes: list[str] | None = None,
    clock: Clock | None = None,
) -> CounterView:
    """Open or close a counter, or change what it serves. With a ``clock``, the appointments of
    the rest of today that the smaller staffing can no longer take are moved to later slots and
    texted (the latest booked first).

    Raises NotFound, Forbidden, InvalidInput.
    """
    found = _counter_for(session, principal, branch_code, counter_code)
    counter = session.get_one(Counter, found.id)
    if service_codes is not None:
        if not service_codes:
            raise InvalidInput("a counter serves at least one service", services=["empty"])
        by_code = {s.code: s.id for s in directory.current(session).branch(branch_code).services}
        unknown = [c for c in service_codes if c not in by_code]
        if unknown:
            raise NotFound(f"no service {', '.join(unknown)} at {branch_code}", services=unknown)
        wanted = [by_code[c] for c in service_codes]
        counter.services = list(session.scalars(select(Service).where(Service.id.in_(wanted))))
    if is_open is not None:
        counter.is_open = is_open
    commit(session)
    if clock is not None and (is_open is False or service_codes):
        _move_today_s_overflow(session, clock, branch_code)
    return counter_view(session, branch_code, counter_code)


def preview_counter_change(
    session: Session,
    clock: Clock,
    principal: Principal,
    branch_code: str,
    counter_code: str,
    *,
    is_open: bool,
) -> int:
    """How many of today's appointments ``update_counter`` would move: the change is made in
    this transaction, the bookings over the smaller capacity counted, and all rolled back.

    Raises NotFound, Forbidden."""
    found = _counter_for(session, principal, branch_code, counter_code)
    now = clock.now()
    try:
        session.get_one(Counter, found.id).is_open = is_open
        session.flush()  # the directory read below sees the counter closed (directory.py)
        branch = directory.current(session).branch(branch_code)
        today = now.astimezone(branch.zone).date()
        return sum(
            capacity.count_overflow(session, now, service, today, today)
            for service in branch.services
        )
    finally:
        session.rollback()


def _move_today_s_overflow(session: Session, clock: Clock, branch_code: str) -> None:
    now = clock.now()
    branch = directory.current(session).branch(branch_code)
    today = now.astimezone(branch.zone).date()
    for service in branch.services:
        capacity.move_overflow(
            session,
            clock,
            now,
            service,
            today,
            today,
            cause=f"counters:{branch.code}:{now.isoformat()}",
        )
