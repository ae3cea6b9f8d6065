"""What counter staff and managers do at a counter: call, finish, mark no-show, recall, hold,
transfer, open."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session

from queue_app import (
    capacity,
    coming_back,
    directory,
    line_revision,
    pace,
    service_state,
    texting,
)
from queue_app.access import Principal
from queue_app.branches import CounterView, counter_view
from queue_app.clock import Clock
from queue_app.db import commit, flush, rowcount
from queue_app.directory import CounterInfo
from queue_app.errors import CounterBusy, InvalidInput, NotFound, StateConflict
from queue_app.models import Counter, Service, Ticket, TicketEvent, TicketKind, TicketStatus
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
    flush(session)
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


def _take_the_counter(session: Session, counter: CounterInfo) -> None:
    """One press at a time per counter: bump its ``calls`` only if nobody bumped it since we
    read it. The row lock (PostgreSQL) or the write lock (SQLite) this takes is held to the
    commit, so a second device pressing at the same moment waits, then finds the count moved
    and is told so, instead of finishing the citizen the first press just called.

    Raises CounterBusy.
    """
    seen = session.scalar(select(Counter.calls).where(Counter.id == counter.id))
    won = rowcount(
        session.execute(
            update(Counter)
            .where(Counter.id == counter.id, Counter.calls == seen)
            .values(calls=Counter.calls + 1)
            .execution_options(synchronize_session=False)
        )
    )
    if not won:
        session.rollback()
        raise CounterBusy(
            f"another device at counter {counter.code} called at the same moment; "
            "its screen shows who is called now",
            counter=counter.code,
        )


def _serving(session: Session, counter_id: int) -> list[Ticket]:
    return list(
        session.scalars(
            select(Ticket).where(
                Ticket.counter_id == counter_id, Ticket.status == TicketStatus.CALLED
            )
        )
    )


def call_next(
    session: Session, clock: Clock, principal: Principal, branch_code: str, counter_code: str
) -> Ticket | None:
    """Finish the counter's current ticket and call the next one in line among the services it
    serves, skipping paused services. Tickets transferred to this counter come first (its own
    line), then the services' common line. Returns None when nobody is waiting.

    Raises NotFound, Forbidden, StateConflict (counter closed), CounterBusy (another device at
    this counter pressed at the same moment).
    """
    now = clock.now()
    counter = _counter_for(session, principal, branch_code, counter_code)
    if not counter.is_open:
        raise StateConflict(f"counter {counter.code} is closed", counter=counter.code)
    _take_the_counter(session, counter)
    for ticket in _serving(session, counter.id):
        _finish(session, ticket, TicketStatus.DONE, now)
    flush(session)
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
    own_line_first = case((Ticket.for_counter_id == counter.id, 0), else_=1)
    for _ in range(CALL_ATTEMPTS):
        candidate = session.scalar(
            select(Ticket)
            .where(
                Ticket.service_id.in_(callable_ids),
                Ticket.status == TicketStatus.WAITING,
                or_(Ticket.for_counter_id.is_(None), Ticket.for_counter_id == counter.id),
                # Tickets that came back late have their own turn (coming_back.next_to_call).
                Ticket.came_back_at.is_(None),
            )
            .order_by(own_line_first, *CALLING_ORDER)
            .limit(1)
        )
        if candidate is None or candidate.for_counter_id != counter.id:
            returned = coming_back.next_to_call(
                session, callable_ids, regulars_waiting=candidate is not None
            )
            candidate = returned or candidate
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
                    for_counter_id=None,
                    called_at=now,
                    version=Ticket.version + 1,
                )
                .execution_options(synchronize_session=False)
            )
        )
        if won:
            line_revision.touch(session, [candidate.branch_id])  # a bulk UPDATE: not seen
            session.add(
                TicketEvent(ticket_id=candidate.id, at=now, event="called", note=counter.code)
            )
            _tell_called(session, now, candidate, counter.code)
            commit(session)
            session.refresh(candidate)
            return candidate
        session.expire(candidate)
    raise StateConflict("too many counters are calling at once; try again")


def _tell_called(session: Session, now: datetime, ticket: Ticket, counter_code: str) -> None:
    """Waiting anywhere: a walk-in with a number, of a service that tells the turn near, may be
    away from the hall; one text says they are called, and where."""
    service = directory.current(session).service_by_id(ticket.service_id)
    if ticket.kind == TicketKind.WALK_IN and ticket.phone and service.tells_turn_near:
        texting.called(session, now, ticket, service.branch, counter_code)


def came_back(session: Session, clock: Clock, principal: Principal, token: str) -> Ticket:
    """The citizen of a ticket marked no-show is back at the counter or the desk: within the
    branch's grace period it waits again near the front (``coming_back``).

    Raises NotFound, Forbidden, StateConflict, TooLate (the grace period is over).
    """
    ticket = _staff_ticket(session, principal, token)
    return coming_back.back_in_line(session, clock.now(), ticket)


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
    """A called citizen who did not come, or a held one who never came back. Raises NotFound,
    Forbidden, StateConflict."""
    ticket = _staff_ticket(session, principal, token)
    _finish(session, ticket, TicketStatus.NO_SHOW, clock.now())
    commit(session)
    return ticket


def _require_status(ticket: Ticket, wanted: tuple[TicketStatus, ...], action: str) -> None:
    if ticket.status not in wanted:
        names = " or ".join(status.value for status in wanted)
        raise StateConflict(
            f"ticket {ticket.number} is {ticket.status.value}; only a {names} one can be {action}",
            status=ticket.status.value,
        )


def _counter_code(ticket: Ticket) -> str | None:
    return ticket.counter.code if ticket.counter is not None else None


def recall(session: Session, clock: Clock, principal: Principal, token: str) -> Ticket:
    """Call a called ticket again (shown and announced once more). Raises NotFound, Forbidden,
    StateConflict."""
    ticket = _staff_ticket(session, principal, token)
    _require_status(ticket, (TicketStatus.CALLED,), "recalled")
    ticket.move_to(TicketStatus.CALLED, clock.now(), event="recalled", note=_counter_code(ticket))
    commit(session)
    return ticket


def hold(session: Session, clock: Clock, principal: Principal, token: str) -> Ticket:
    """Put the called citizen aside (a document to fetch): the ticket leaves the counter and is
    not in anyone's line; its counter stays its own, to resume it or send it back to the line.

    Raises NotFound, Forbidden, StateConflict (not called).
    """
    ticket = _staff_ticket(session, principal, token)
    _require_status(ticket, (TicketStatus.CALLED,), "put on hold")
    ticket.move_to(TicketStatus.ON_HOLD, clock.now(), event="held", note=_counter_code(ticket))
    commit(session)
    return ticket


def resume(session: Session, clock: Clock, principal: Principal, token: str) -> Ticket:
    """The held citizen is back: their counter calls them again, as one more press of that
    counter (two devices resuming and calling at once are told apart).

    Raises NotFound, Forbidden, StateConflict (not on hold, counter closed or gone),
    CounterBusy (the counter is serving someone else: finish them first).
    """
    now = clock.now()
    ticket = _staff_ticket(session, principal, token)
    _require_status(ticket, (TicketStatus.ON_HOLD,), "resumed")
    branch = directory.current(session).service_by_id(ticket.service_id).branch
    counter = next((c for c in branch.counters if c.id == ticket.counter_id), None)
    if counter is None or not counter.is_open:
        raise StateConflict(
            f"the counter that put {ticket.number} on hold is closed; send it back to the line",
            counter=counter.code if counter else None,
        )
    _take_the_counter(session, counter)
    busy = [t for t in _serving(session, counter.id) if t.id != ticket.id]
    if busy:
        raise CounterBusy(
            f"counter {counter.code} is serving {busy[0].number}; finish it first",
            counter=counter.code,
            serving=busy[0].number,
        )
    ticket.move_to(TicketStatus.CALLED, now, event="resumed", note=counter.code)
    # The time on hold is not service time (pace.recent_service_times measures from here).
    ticket.called_at = now
    commit(session)
    return ticket


def back_to_line(session: Session, clock: Clock, principal: Principal, token: str) -> Ticket:
    """A held ticket waits again in its service's line, in its old place (``queued_at`` is
    kept): the citizen already waited their turn once.

    Raises NotFound, Forbidden, StateConflict (not on hold).
    """
    ticket = _staff_ticket(session, principal, token)
    _require_status(ticket, (TicketStatus.ON_HOLD,), "sent back to the line")
    note = _counter_code(ticket)
    ticket.counter_id = None
    ticket.called_at = None
    ticket.move_to(TicketStatus.WAITING, clock.now(), event="back_to_line", note=note)
    commit(session)
    return ticket


def transfer(
    session: Session,
    clock: Clock,
    principal: Principal,
    token: str,
    *,
    service_code: str | None = None,
    counter_code: str | None = None,
) -> Ticket:
    """Send a called (or held) ticket to another service of the branch, or to one counter.

    The rule, kept fair to everyone: the ticket keeps its place in line (``queued_at``, when its
    citizen first joined), so in the target service's line it comes before everyone who joined
    after it: at or near the front, priority tickets still first. Sent to a counter, it waits in
    that counter's own line, which the counter calls before its common line; no other counter
    calls it.

    Raises NotFound (ticket, service or counter), Forbidden, StateConflict (not called or held),
    InvalidInput (nothing to transfer to, the same place, a counter not serving the service).
    """
    if service_code is None and counter_code is None:
        raise InvalidInput(
            "say where to: a service, a counter, or both",
            service=["missing"],
            counter=["missing"],
        )
    ticket = _staff_ticket(session, principal, token)
    _require_status(ticket, (TicketStatus.CALLED, TicketStatus.ON_HOLD), "transferred")
    service = directory.current(session).service_by_id(ticket.service_id)
    branch = service.branch
    if service_code is not None:
        service = branch.service(service_code)
    counter = branch.counter(counter_code) if counter_code is not None else None
    if counter is not None and not counter.serves(service):
        raise InvalidInput(
            f"counter {counter.code} does not serve {service.code}",
            counter=[f"does not serve {service.code}"],
        )
    if counter is None and service.id == ticket.service_id:
        raise InvalidInput(
            f"ticket {ticket.number} is already for {service.code}; name another service or a "
            "counter",
            service=["same as the ticket's"],
        )
    if counter is not None and counter.id == ticket.counter_id:
        raise InvalidInput(
            f"ticket {ticket.number} is already at counter {counter.code}",
            counter=["same as the ticket's"],
        )
    ticket.service_id = service.id
    ticket.for_counter_id = counter.id if counter is not None else None
    ticket.counter_id = None
    ticket.called_at = None
    note = service.code if counter is None else f"{service.code} @ {counter.code}"
    ticket.move_to(TicketStatus.WAITING, clock.now(), event="transferred", note=note)
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
