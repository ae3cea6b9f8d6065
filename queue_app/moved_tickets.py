"""The new times of tickets moved today whose citizens left no mobile number: the display board's
list of them.

DESIGN.md, outages step 2: every citizen with a number gets one SMS; the others see the new slot
on their ticket's page and on the display board. A citizen holding only a paper ticket may never
open its page, so the board in the hall lists the ticket numbers moved today with their new
times. Only the number, the service and the time: nothing else about the citizen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from queue_app import directory
from queue_app.directory import BranchInfo, ServiceInfo
from queue_app.models import Ticket, TicketEvent, TicketStatus
from queue_app.models.tickets import ticket_number

# A board is read from across a room: the latest moves fit on it, older ones are on the tickets'
# pages (and the hour of the move is long past for them).
BOARD_LIMIT = 30
# The rescheduler's event for every move it makes, whatever the cause (outage, maintenance,
# capacity cut, closed counter, holiday).
RESCHEDULED = "rescheduled"


@dataclass(frozen=True)
class MovedTicket:
    number: str
    service: ServiceInfo
    slot_start: datetime
    slot_end: datetime | None
    moved_at: datetime  # the latest move today


def local_day_bounds(branch: BranchInfo, now: datetime) -> tuple[datetime, datetime]:
    """The branch's local day that holds ``now``, as UTC instants [start, end)."""
    zone = branch.zone
    day = now.astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def moved_today(
    session: Session, branch_code: str, now: datetime, *, limit: int = BOARD_LIMIT
) -> list[MovedTicket]:
    """The tickets of ``branch_code`` moved by the rescheduler during the branch's local day
    of ``now``, still holding their new time (``scheduled``), whose citizens left no number:
    the latest ``limit`` moves, most recent first. Raises NotFound."""
    branch = directory.current(session).branch(branch_code)
    services = {service.id: service for service in branch.services}
    if not services:
        return []
    day_start, day_end = local_day_bounds(branch, now)
    moved_at = func.max(TicketEvent.at).label("moved_at")
    # From the branch's scheduled tickets (ix_tickets_line: service, status) to their events
    # (indexed by ticket): no scan of the whole history of events.
    rows = session.execute(
        select(
            Ticket.id,
            Ticket.letter,
            Ticket.sequence,
            Ticket.service_id,
            Ticket.slot_start,
            Ticket.slot_end,
            moved_at,
        )
        .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
        .where(
            Ticket.service_id.in_(services),
            Ticket.status == TicketStatus.SCHEDULED,
            Ticket.phone.is_(None),
            Ticket.slot_start.is_not(None),
            TicketEvent.event == RESCHEDULED,
            TicketEvent.at >= day_start,
            TicketEvent.at < day_end,
        )
        # The ticket's other columns follow from its key (both databases allow them).
        .group_by(Ticket.id)
        .order_by(moved_at.desc(), Ticket.id.desc())
        .limit(limit)
    ).all()
    return [
        MovedTicket(
            number=ticket_number(row.letter, row.sequence),
            service=services[row.service_id],
            slot_start=row.slot_start,
            slot_end=row.slot_end,
            moved_at=row.moved_at,
        )
        for row in rows
    ]
