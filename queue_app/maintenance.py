"""Announced maintenance windows of back-end systems: announcing one (the appointments inside it
move after it), withdrawing one, and the windows not yet over, as the pages read them (no Flask).

What a manager may announce is bounded so that the public pages can always show it: a window
runs at most ``LONGEST`` and lies within ``HORIZON`` of now (a window dated in the year 9999 once
made /status and the kiosk answer 500)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from queue_app import outages, rescheduler, texting
from queue_app.access import MANAGER_AND_UP, Principal
from queue_app.clock import Clock
from queue_app.db import rowcount
from queue_app.errors import (
    Forbidden,
    InvalidInput,
    MaintenanceAlreadyAnnounced,
    NotFound,
    StateConflict,
)
from queue_app.models import Backend, Maintenance, Role, Service, Ticket, TicketStatus


def announce(
    session: Session,
    clock: Clock,
    by: Principal,
    backend_code: str,
    *,
    starts_at: datetime,
    ends_at: datetime,
    note: str | None,
) -> Maintenance:
    """Announce a maintenance window: it shows on /status and the kiosk, slots inside it are no
    longer booked, and appointments already inside it are moved after it and texted. A manager
    may announce it only for a system one of their branch's services needs.
    Raises NotFound, Forbidden, InvalidInput, MaintenanceAlreadyAnnounced."""
    now = clock.now()
    starts_at, ends_at = _checked(starts_at, ends_at, now)
    backend = outages.backend_by_code(session, backend_code)
    require_may_manage(session, by, backend)
    _raise_if_announced(session, backend.id, starts_at, ends_at)
    window = Maintenance(
        backend_id=backend.id,
        starts_at=starts_at,
        ends_at=ends_at,
        note=note,
        announced_at=now,
    )
    session.add(window)
    try:
        session.commit()
    except IntegrityError:
        # The same window, announced by someone else since the check above (the unique index).
        session.rollback()
        _raise_if_announced(session, backend.id, starts_at, ends_at)
        raise
    return _move_inside(session, clock, backend, window)


def preview_announce(
    session: Session,
    clock: Clock,
    by: Principal,
    backend_code: str,
    *,
    starts_at: datetime,
    ends_at: datetime,
) -> int:
    """What ``announce`` would do, without doing it: how many appointments it would move.
    Raises what ``announce`` raises."""
    starts_at, ends_at = _checked(starts_at, ends_at, clock.now())
    backend = outages.backend_by_code(session, backend_code)
    require_may_manage(session, by, backend)
    _raise_if_announced(session, backend.id, starts_at, ends_at)
    return len(_inside(session, backend.id, starts_at, ends_at))


def reschedule_window(
    session: Session,
    clock: Clock,
    by: Principal,
    backend_code: str,
    window_id: int,
    *,
    starts_at: datetime,
    ends_at: datetime,
    note: str | None,
    dry_run: bool = False,
) -> tuple[Maintenance | None, int]:
    """Give a window that has not begun other times: it is withdrawn and the new one announced
    in one transaction, so the status page never shows both or neither. Appointments inside the
    new times move after it (those the old one moved keep their times). With ``dry_run``,
    nothing changes and the answer is (None, how many would move).
    Raises NotFound, Forbidden, InvalidInput, StateConflict, MaintenanceAlreadyAnnounced."""
    now = clock.now()
    starts_at, ends_at = _checked(starts_at, ends_at, now)
    backend = outages.backend_by_code(session, backend_code)
    require_may_manage(session, by, backend)
    old = session.get(Maintenance, window_id)
    if old is None or old.backend_id != backend.id:
        raise NotFound(f"no maintenance window {window_id} of {backend_code!r}", id=window_id)
    if old.cancelled_at is not None or old.starts_at <= now:
        raise StateConflict(
            "only a window that has not begun can be given other times; withdraw a running "
            "one (it ends now) and announce another",
            id=window_id,
        )
    if (old.starts_at, old.ends_at) != (starts_at, ends_at):
        _raise_if_announced(session, backend.id, starts_at, ends_at)
    if dry_run:
        return None, len(_inside(session, backend.id, starts_at, ends_at))
    # Conditional, so that two managers changing or withdrawing it at once cannot both win.
    withdrawn = rowcount(
        session.execute(
            update(Maintenance)
            .where(
                Maintenance.id == window_id,
                Maintenance.cancelled_at.is_(None),
                Maintenance.starts_at > now,
            )
            .values(cancelled_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    if not withdrawn:
        session.rollback()
        raise StateConflict("this window began or was withdrawn meanwhile", id=window_id)
    window = Maintenance(
        backend_id=backend.id, starts_at=starts_at, ends_at=ends_at, note=note, announced_at=now
    )
    session.add(window)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        _raise_if_announced(session, backend.id, starts_at, ends_at)
        raise
    window = _move_inside(session, clock, backend, window)
    return window, window.tickets_moved


def may_manage(session: Session, by: Principal, backend_id: int) -> bool:
    """An admin may announce maintenance for any system; a manager for a system that one of the
    services of their branches needs (a Cairo manager cannot close Giza's system)."""
    if by.role not in MANAGER_AND_UP:
        return False
    if by.role == Role.ADMIN:
        return True
    branch_ids = session.scalars(
        select(Service.branch_id).where(
            Service.id.in_(outages.services_needing(session, backend_id))
        )
    )
    return any(by.acts_for(branch_id) for branch_id in branch_ids)


def require_may_manage(session: Session, by: Principal, backend: Backend) -> None:
    """Raises Forbidden unless ``by`` may announce, change or withdraw ``backend``'s windows."""
    if not may_manage(session, by, backend.id):
        raise Forbidden(
            "a manager may announce, change or withdraw maintenance only for a system that "
            "one of their branch's services needs",
            backend=backend.code,
        )


def _inside(session: Session, backend_id: int, starts_at: datetime, ends_at: datetime) -> list[int]:
    """The booked appointments, of the services needing the system, inside the window."""
    return list(
        session.scalars(
            select(Ticket.id).where(
                Ticket.service_id.in_(outages.services_needing(session, backend_id)),
                Ticket.status == TicketStatus.SCHEDULED,
                Ticket.slot_start < ends_at,
                Ticket.slot_end > starts_at,
            )
        )
    )


def _move_inside(
    session: Session, clock: Clock, backend: Backend, window: Maintenance
) -> Maintenance:
    """Move the appointments inside a committed window after it, text them, count them."""
    name_ar, name_en = backend.name_ar, backend.name_en  # read once: the moves commit
    starts_at, ends_at = window.starts_at, window.ends_at

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


def _raise_if_announced(
    session: Session, backend_id: int, starts_at: datetime, ends_at: datetime
) -> None:
    same = session.scalar(
        select(Maintenance.id).where(
            Maintenance.backend_id == backend_id,
            Maintenance.starts_at == starts_at,
            Maintenance.ends_at == ends_at,
            Maintenance.cancelled_at.is_(None),
        )
    )
    if same is not None:
        raise MaintenanceAlreadyAnnounced("this window is already announced", id=same)


# How far ahead a window may be announced, how long it may last, and how late its announcement may
# come (a window that began this morning can still be announced while it runs).
HORIZON = timedelta(days=365)
LONGEST = timedelta(days=7)
LATE = timedelta(days=1)


def _checked(starts_at: datetime, ends_at: datetime, now: datetime) -> tuple[datetime, datetime]:
    """The window in UTC, or InvalidInput saying what is wrong with it."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidInput("give start and end with their UTC offset", start=["needs an offset"])
    try:
        starts_at = starts_at.astimezone(UTC)
    except OverflowError:
        raise InvalidInput("the start is not a real date", start=["out of range"]) from None
    try:
        ends_at = ends_at.astimezone(UTC)
    except OverflowError:
        raise InvalidInput("the end is not a real date", end=["out of range"]) from None
    if ends_at <= starts_at:
        raise InvalidInput("the window ends before it starts", end=["not after start"])
    if ends_at <= now:
        raise InvalidInput("this window is already over", end=["in the past"])
    if starts_at < now - LATE:
        raise InvalidInput(
            "a window that started more than a day ago cannot be announced",
            start=["more than a day ago"],
        )
    if starts_at > now + HORIZON:
        raise InvalidInput(
            "a window can be announced at most a year ahead", start=["more than a year ahead"]
        )
    if ends_at > now + HORIZON:
        raise InvalidInput(
            "a window must end within a year from now", end=["more than a year ahead"]
        )
    if ends_at - starts_at > LONGEST:
        raise InvalidInput(
            "a maintenance window lasts 7 days at most; announce a longer one as an outage "
            "or as several windows",
            end=["longer than 7 days"],
        )
    return starts_at, ends_at


def withdraw(
    session: Session, clock: Clock, by: Principal, backend_code: str, window_id: int
) -> Maintenance:
    """Withdraw an announced window: one that has not started is withdrawn (kept, with
    ``cancelled_at``); one that is running ends now. The appointments it moved keep their new
    times: their citizens were told, and moving them back would text them again.
    Raises NotFound, Forbidden, StateConflict."""
    now = clock.now()
    backend = outages.backend_by_code(session, backend_code)
    require_may_manage(session, by, backend)
    window = session.get(Maintenance, window_id)
    if window is None or window.backend_id != backend.id:
        raise NotFound(f"no maintenance window {window_id} of {backend_code!r}", id=window_id)
    # One conditional UPDATE each, so that two managers withdrawing at once cannot both win.
    still_on = (
        Maintenance.id == window.id,
        Maintenance.cancelled_at.is_(None),
        Maintenance.ends_at > now,
    )
    changed = rowcount(
        session.execute(
            update(Maintenance)
            .where(*still_on, Maintenance.starts_at >= now)
            .values(cancelled_at=now)
            .execution_options(synchronize_session=False)
        )
    ) or rowcount(
        session.execute(
            update(Maintenance)
            .where(*still_on, Maintenance.starts_at < now)
            .values(ends_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    if not changed:
        session.rollback()
        raise StateConflict("this window is already over or withdrawn", id=window_id)
    session.commit()
    session.refresh(window)
    return window


def not_ended(
    session: Session, now: datetime, backend_ids: Iterable[int] | None = None
) -> list[Maintenance]:
    """Windows not yet over and not cancelled, the soonest first, with their system loaded;
    only those of ``backend_ids`` when given. Windows starting beyond ``HORIZON`` are left out:
    they can no longer be announced, only stored before that rule (the pages show days without
    their year, so a window in 9999 would read as this December)."""
    query = (
        select(Maintenance)
        .options(joinedload(Maintenance.backend))
        .where(
            Maintenance.ends_at > now,
            Maintenance.starts_at <= now + HORIZON,
            Maintenance.cancelled_at.is_(None),
        )
        .order_by(Maintenance.starts_at, Maintenance.id)
    )
    if backend_ids is not None:
        query = query.where(Maintenance.backend_id.in_(list(backend_ids)))
    return list(session.scalars(query))


__all__ = [
    "HORIZON",
    "LONGEST",
    "announce",
    "may_manage",
    "not_ended",
    "preview_announce",
    "require_may_manage",
    "reschedule_window",
    "withdraw",
]
