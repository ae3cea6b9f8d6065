"""Announced maintenance windows of back-end systems: announcing one (the appointments inside it
move after it), and the windows not yet over, as the pages read them (no Flask)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from queue_app import outages, rescheduler, texting
from queue_app.clock import Clock
from queue_app.errors import InvalidInput
from queue_app.models import Maintenance, Ticket, TicketStatus


def announce(
    session: Session,
    clock: Clock,
    backend_code: str,
    *,
    starts_at: datetime,
    ends_at: datetime,
    note: str | None,
) -> Maintenance:
    """Announce a maintenance window: it shows on /status and the kiosk, slots inside it are no
    longer booked, and appointments already inside it are moved after it and texted.
    Raises NotFound, InvalidInput."""
    now = clock.now()
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidInput("give start and end with their UTC offset", start=["needs an offset"])
    if ends_at <= starts_at:
        raise InvalidInput("the window ends before it starts", end=["not after start"])
    if ends_at <= now:
        raise InvalidInput("this window is already over", end=["in the past"])
    if ends_at - starts_at > timedelta(days=30):
        raise InvalidInput("a maintenance window lasts 30 days at most", end=["too long"])
    backend = outages.backend_by_code(session, backend_code)
    window = Maintenance(
        backend_id=backend.id,
        starts_at=starts_at,
        ends_at=ends_at,
        note=note,
        announced_at=now,
    )
    session.add(window)
    session.commit()
    name_ar, name_en = backend.name_ar, backend.name_en  # read once: the moves commit

    def system(locale: str) -> str:
        return name_en if locale == "en" else name_ar

    moved = 0
    for service_id in outages.services_needing(session, backend.id):
        inside = list(
            session.scalars(
                select(Ticket.id).where(
                    Ticket.service_id == service_id,
                    Ticket.status == TicketStatus.SCHEDULED,
                    Ticket.slot_start < ends_at,
                    Ticket.slot_end > starts_at,
                )
            )
        )
        if not inside:
            continue
        outcome = rescheduler.reschedule(
            session,
            clock,
            inside,
            not_before=ends_at,
            cause=f"maintenance:{window.id}",
            message_for=texting.moved(session, "maintenance", system=system),
            no_slot_for=texting.no_slot_yet(session, "maintenance", system=system),
        )
        moved += outcome.moved
    window.tickets_moved = moved
    session.commit()
    return window


def not_ended(
    session: Session, now: datetime, backend_ids: Iterable[int] | None = None
) -> list[Maintenance]:
    """Windows not yet over and not cancelled, the soonest first, with their system loaded;
    only those of ``backend_ids`` when given."""
    query = (
        select(Maintenance)
        .options(joinedload(Maintenance.backend))
        .where(Maintenance.ends_at > now, Maintenance.cancelled_at.is_(None))
        .order_by(Maintenance.starts_at, Maintenance.id)
    )
    if backend_ids is not None:
        query = query.where(Maintenance.backend_id.in_(list(backend_ids)))
    return list(session.scalars(query))


__all__ = ["announce", "not_ended"]
