"""The last numbers called at a branch today, newest first: what the hall's board lists, chimes
for and reads out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from queue_app import coming_back, directory
from queue_app.models import Ticket, TicketEvent, TicketStatus
from queue_app.models.tickets import ticket_number

# What sends a citizen to a counter: a first call, a call once more, a held ticket called back.
CALL_EVENTS = ("called", "recalled", "resumed")
# As many as the board has room for; the one just called is also on its counter's card.
SHOWN = 8


@dataclass(frozen=True)
class Call:
    id: int  # the event's: grows with every call, so a board knows which calls it has not seen
    number: str
    counter: str
    at: datetime
    status: TicketStatus  # what became of the ticket since (on hold, transferred, done...)
    # Its citizen was told by text (turn near, called): they may be on their way to the hall.
    told: bool = False


def last_calls(session: Session, branch_code: str, now: datetime, limit: int = SHOWN) -> list[Call]:
    """The branch's last calls of its local day, newest first. Raises NotFound."""
    branch = directory.current(session).branch(branch_code)
    local_midnight = datetime.combine(now.astimezone(branch.zone).date(), time(), branch.zone)
    rows = session.execute(
        select(TicketEvent.id, TicketEvent.at, TicketEvent.note, Ticket.letter, Ticket.sequence)
        .add_columns(Ticket.status, Ticket.id.label("ticket_id"))
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(
            Ticket.branch_id == branch.id,
            TicketEvent.event.in_(CALL_EVENTS),
            TicketEvent.at >= local_midnight,
        )
        .order_by(TicketEvent.id.desc())
        .limit(limit)
    ).all()
    told = coming_back.told_among(session, sorted({row.ticket_id for row in rows}))
    return [
        Call(
            id=row.id,
            number=ticket_number(row.letter, row.sequence),
            counter=row.note or "",
            at=row.at,
            status=row.status,
            told=row.ticket_id in told,
        )
        for row in rows
    ]
