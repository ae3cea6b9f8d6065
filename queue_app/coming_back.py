"""Coming back late (waiting anywhere): a walk-in told by text that their turn was near, or
that they were called, who missed the call may come back within the branch's
``late_grace_minutes`` and is called near the front.

The place near the front, and why it cannot starve the line: a ticket that came back is called
after at least one regular ticket of its service was called since it came back ("next but
one"), and never right after another ticket that came back while regulars wait. So returning
tickets go one at a time between regulars, and each regular waits for at most one of them per
call. A ticket comes back once; after the grace period the citizen takes a new ticket.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from queue_app import directory
from queue_app.db import commit
from queue_app.errors import StateConflict, TooLate
from queue_app.models import (
    Message,
    MessageStatus,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketStatus,
)

EVENT = "came_back"
# The texts that may have sent a citizen away from the hall or back to it.
TOLD_EVENTS = ("turn_near", "called")
# A text that is written, on its way or arrived: one that failed told nobody.
TOLD_STATUSES = (
    MessageStatus.QUEUED,
    MessageStatus.SENDING,
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
)


def told_by_message() -> ColumnElement[bool]:
    """A condition on ``Ticket``: its citizen was told by text that the turn is near or that
    they are called (``TOLD_EVENTS``, a message that has not failed)."""
    return exists().where(
        Message.ticket_id == Ticket.id,
        Message.event.in_(TOLD_EVENTS),
        Message.status.in_(TOLD_STATUSES),
    )


def was_told(session: Session, ticket_id: int) -> bool:
    return bool(session.scalar(select(Ticket.id).where(Ticket.id == ticket_id, told_by_message())))


def told_among(session: Session, ticket_ids: Sequence[int]) -> set[int]:
    """Which of these tickets' citizens were told by text (the board's marker)."""
    if not ticket_ids:
        return set()
    return set(
        session.scalars(select(Ticket.id).where(Ticket.id.in_(ticket_ids), told_by_message()))
    )


def back_in_line(session: Session, now: datetime, ticket: Ticket) -> Ticket:
    """The citizen of a missed ticket is back: within the grace period it waits again, to be
    called near the front (``next_to_call``); commit.

    Raises StateConflict (not a missed walk-in, not told by text, already came back once, no
    grace at this branch), TooLate (the grace period is over, with ``grace_ended_at``: take a
    new ticket).
    """
    branch = directory.current(session).service_by_id(ticket.service_id).branch
    if ticket.kind != TicketKind.WALK_IN or ticket.status != TicketStatus.NO_SHOW:
        raise StateConflict(
            f"ticket {ticket.number} is {ticket.status.value}; only a walk-in ticket that missed "
            "its call can come back",
            status=ticket.status.value,
        )
    if ticket.came_back_at is not None:
        raise StateConflict(
            f"ticket {ticket.number} came back once already and missed its call again; "
            "take a new ticket",
            status=ticket.status.value,
            options=["walk_in"],
        )
    if branch.late_grace_minutes == 0:
        raise StateConflict(
            f"{branch.code} keeps no place for citizens who come back late; take a new ticket",
            status=ticket.status.value,
            options=["walk_in"],
        )
    if not was_told(session, ticket.id):
        raise StateConflict(
            f"ticket {ticket.number} was not told by text that its turn came, so it keeps no "
            "place; take a new ticket",
            status=ticket.status.value,
            options=["walk_in"],
        )
    missed_at = ticket.finished_at or now
    grace_ends = missed_at + timedelta(minutes=branch.late_grace_minutes)
    if now > grace_ends:
        raise TooLate(
            f"ticket {ticket.number} missed its call and the {branch.late_grace_minutes} minutes "
            f"to come back ended at {grace_ends.isoformat()}; take a new ticket",
            grace_ended_at=grace_ends.isoformat(),
            options=["walk_in"],
        )
    note = ticket.counter.code if ticket.counter is not None else None
    ticket.move_to(TicketStatus.WAITING, now, event=EVENT, note=note)
    ticket.came_back_at = now
    ticket.counter_id = None
    ticket.for_counter_id = None
    ticket.called_at = None
    ticket.finished_at = None
    commit(session)
    return ticket


def next_to_call(
    session: Session, service_ids: Sequence[int], *, regulars_waiting: bool
) -> Ticket | None:
    """The ticket that came back to call now among ``service_ids``, if its turn has come: the
    first to come back whose service called a regular ticket since, and whose service's last
    call was not another ticket that came back. Without regulars waiting, the first to come
    back is called at once."""
    returned = session.scalars(
        select(Ticket)
        .where(
            Ticket.service_id.in_(service_ids),
            Ticket.status == TicketStatus.WAITING,
            Ticket.came_back_at.is_not(None),
            Ticket.for_counter_id.is_(None),
        )
        .order_by(Ticket.came_back_at, Ticket.id)
    ).all()
    if not returned:
        return None
    if not regulars_waiting:
        return returned[0]
    for ticket in returned:
        # The service's last call since this ticket came back, in the order calls were made
        # (event ids grow; two calls may share a moment), and whether its ticket had come back.
        last_call = session.execute(
            select(Ticket.came_back_at, TicketEvent.at)
            .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
            .where(
                Ticket.service_id == ticket.service_id,
                Ticket.id != ticket.id,
                TicketEvent.event == "called",
                TicketEvent.at >= ticket.came_back_at,
            )
            .order_by(TicketEvent.id.desc())
            .limit(1)
        ).first()
        if last_call is None:
            continue
        was_returning = (
            last_call.came_back_at is not None and last_call.came_back_at <= last_call.at
        )
        if not was_returning:
            return ticket
    return None
