"""The waiting line: calling order, a ticket's position and its estimated wait."""

from __future__ import annotations

import math
from collections.abc import Iterable

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from queue_app.models import Ticket, TicketStatus

# Priority tickets (elderly, disability, pregnancy) first, then the order they were issued.
CALLING_ORDER = (Ticket.priority.desc(), Ticket.issued_at, Ticket.id)


def ahead_of(ticket: Ticket) -> ColumnElement[bool]:
    """Waiting tickets of the same service that will be called before ``ticket``."""
    earlier_same_class = and_(
        Ticket.priority.is_(ticket.priority),
        or_(
            Ticket.issued_at < ticket.issued_at,
            and_(Ticket.issued_at == ticket.issued_at, Ticket.id < ticket.id),
        ),
    )
    # Every priority ticket goes before a plain one, whenever it was issued.
    before = (
        earlier_same_class
        if ticket.priority
        else or_(Ticket.priority.is_(True), earlier_same_class)
    )
    return and_(
        Ticket.service_id == ticket.service_id, Ticket.status == TicketStatus.WAITING, before
    )


def people_ahead(session: Session, ticket: Ticket) -> int:
    return session.scalar(select(func.count()).select_from(Ticket).where(ahead_of(ticket))) or 0


def waiting_counts(session: Session, service_ids: Iterable[int]) -> dict[int, int]:
    """How many are waiting per service, in one query."""
    ids = list(service_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Ticket.service_id, func.count())
        .where(Ticket.service_id.in_(ids), Ticket.status == TicketStatus.WAITING)
        .group_by(Ticket.service_id)
    )
    counts = dict.fromkeys(ids, 0)
    counts.update((service_id, n) for service_id, n in rows)
    return counts


def estimated_wait_minutes(ahead: int, seconds_each: float, open_counters: int) -> int | None:
    """Minutes until a citizen with ``ahead`` people before them is called; None with no counter
    open, since no honest estimate exists then."""
    if open_counters <= 0:
        return None
    return math.ceil(ahead * seconds_each / open_counters / 60)
