"""The waiting line: calling order, a ticket's position and its estimated wait."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import BindParameter, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from queue_app import pace
from queue_app.models import Service, Ticket, TicketStatus

# Priority tickets (elderly, disability, pregnancy) first, then by place in the line: the issue
# time of a walk-in, the slot start of a checked-in appointment (tickets.check_in).
CALLING_ORDER = (Ticket.priority.desc(), Ticket.queued_at, Ticket.id)


def _ahead_statement(priority: bool) -> Select[int, float | None]:
    """Count of waiting tickets called before a ticket of this class, plus the service's measured
    pace. Built once per class with bound parameters: building SQL expressions per request costs
    more than running them."""
    service_id: BindParameter[int] = bindparam("service_id")
    queued_at: BindParameter[datetime] = bindparam("queued_at")
    ticket_id: BindParameter[int] = bindparam("ticket_id")
    earlier_same_class = and_(
        Ticket.priority.is_(priority),
        or_(
            Ticket.queued_at < queued_at,
            and_(Ticket.queued_at == queued_at, Ticket.id < ticket_id),
        ),
    )
    # Every priority ticket goes before a plain one, whenever it was issued.
    before = earlier_same_class if priority else or_(Ticket.priority.is_(True), earlier_same_class)
    ahead = (
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.service_id == service_id, Ticket.status == TicketStatus.WAITING, before)
        .scalar_subquery()
    )
    return select(ahead, Service.measured_service_seconds).where(Service.id == service_id)


_AHEAD = {True: _ahead_statement(True), False: _ahead_statement(False)}


def people_ahead(session: Session, ticket: Ticket) -> tuple[int, float | None]:
    """How many wait before ``ticket``, and the service's measured seconds per citizen, in one
    round trip."""
    row = session.execute(
        _AHEAD[ticket.priority],
        {"service_id": ticket.service_id, "queued_at": ticket.queued_at, "ticket_id": ticket.id},
    ).one()
    return row[0] or 0, row[1]


def waiting_and_pace(
    session: Session, service_ids: Iterable[int]
) -> dict[int, tuple[int, float | None]]:
    """Per service: how many are waiting and the measured seconds per citizen, in one query."""
    ids = list(service_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Service.id, func.count(Ticket.id), Service.measured_service_seconds)
        .outerjoin(
            Ticket,
            and_(Ticket.service_id == Service.id, Ticket.status == TicketStatus.WAITING),
        )
        .where(Service.id.in_(ids))
        .group_by(Service.id, Service.measured_service_seconds)
    )
    return {service_id: (waiting, measured) for service_id, waiting, measured in rows}


def seconds_per_citizen(avg_service_minutes: float, measured_seconds: float | None) -> float:
    """What one citizen takes at a counter: the measured pace when there is one (``pace``),
    the configured time until then. The bounds are applied here too, so a pace stored before
    they existed, or by hand, cannot run away either."""
    configured = avg_service_minutes * 60
    if measured_seconds is None:
        return configured
    return pace.bounded(measured_seconds, configured)


def estimated_wait_minutes(ahead: int, seconds_each: float, open_counters: int) -> int | None:
    """Minutes until a citizen with ``ahead`` people before them is called; None with no counter
    open, since no honest estimate exists then."""
    if open_counters <= 0:
        return None
    return math.ceil(ahead * seconds_each / open_counters / 60)
