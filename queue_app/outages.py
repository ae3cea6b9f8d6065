"""Outages of back-end systems: learn of them, pause what needs them, reschedule, recover.

Three ways to learn that a system is down: the health monitor's checks (``record_check``, with
hysteresis: ``failure_threshold`` failures in a row to go down, ``recovery_threshold`` successes
to come back), staff reports from counters (``report``: N within M minutes at one branch), and a
manager's declaration (``declare``). Each down period is one ``Outage``.

While a system is down every service that needs it is paused in every branch (service_state
reads the system's state from the directory, so kiosks, counters, boards and ticket pages
follow at once). The timers (``run_timers``, from the worker) then reschedule:

- the waiting line and the appointments inside the outage, per branch, after the branch's
  ``reschedule_after_minutes`` of outage, or at once when the expected end lies past today's
  closing time; slots start after the expected end, or on the next opening day when no end is
  given. A service with manual fallback (``degraded``) keeps the part of its line that its
  reduced rate can serve before closing; only the rest is moved;
- when no end is known and the branch's ``evening_notice`` time has come, the next opening
  day's appointments, so that people are told before they leave home.

Each run is recorded (``OutageMove``) and its moves carry the outage as their cause, so a
restart never runs it twice and nobody is texted twice for it. Recovery resumes the services
and texts nobody: no ticket changed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from queue_app import directory, opening_hours, rescheduler, waiting_line
from queue_app.access import Principal
from queue_app.clock import Clock
from queue_app.directory import BackendInfo, BranchInfo, ServiceInfo
from queue_app.errors import InvalidInput, NotFound, StateConflict
from queue_app.models import (
    Backend,
    BackendHealth,
    BackendState,
    Branch,
    DetectedBy,
    Maintenance,
    Message,
    Outage,
    OutageMove,
    OutageReport,
    Service,
    Ticket,
    TicketStatus,
    service_backends,
)
from sms import templates


def backend_by_code(session: Session, code: str) -> Backend:
    """Raises NotFound."""
    backend = session.scalar(select(Backend).where(Backend.code == code))
    if backend is None:
        raise NotFound(f"no back-end system {code!r}", backend=code)
    return backend


def current_outage(session: Session, backend_id: int) -> Outage | None:
    return session.scalar(
        select(Outage)
        .where(Outage.backend_id == backend_id, Outage.ended_at.is_(None))
        .order_by(Outage.id.desc())
        .limit(1)
    )


def _services_needing(session: Session, backend_id: int) -> list[int]:
    return list(
        session.scalars(
            select(service_backends.c.service_id).where(service_backends.c.backend_id == backend_id)
        )
    )


def go_down(
    session: Session,
    clock: Clock,
    backend: Backend,
    detected_by: DetectedBy,
    *,
    note: str | None = None,
    expected_end: datetime | None = None,
) -> Outage:
    """Mark ``backend`` down and open its outage, in the caller's transaction; if it is down
    already, the current outage (with a newer expected end, if given) is returned."""
    now = clock.now()
    outage = current_outage(session, backend.id)
    if outage is not None:
        if expected_end is not None:
            outage.expected_end = expected_end
        if note:
            outage.note = note
        return outage
    backend.state, backend.state_since = BackendState.DOWN, now
    services = _services_needing(session, backend.id)
    paused = 0
    if services:
        paused = session.scalar(
            select(func.count()).where(
                Ticket.service_id.in_(services), Ticket.status == TicketStatus.WAITING
            )
        )
    outage = Outage(
        backend_id=backend.id,
        started_at=now,
        detected_by=detected_by,
        note=note,
        expected_end=expected_end,
        tickets_paused=paused or 0,
    )
    session.add(outage)
    session.flush()
    return outage


def come_up(session: Session, clock: Clock, backend: Backend, *, ended_by: str) -> Outage | None:
    """Mark ``backend`` up and close its outage, in the caller's transaction. Nothing is sent:
    waiting tickets are served in order again, and no ticket changed."""
    now = clock.now()
    outage = current_outage(session, backend.id)
    if backend.state == BackendState.DOWN:
        backend.state, backend.state_since = BackendState.UP, now
    if outage is not None:
        outage.ended_at, outage.ended_by = now, ended_by
    return outage


def declare(
    session: Session,
    clock: Clock,
    backend_code: str,
    *,
    note: str | None = None,
    expected_minutes: int | None = None,
) -> Outage:
    """A manager declares the system down (a manager of any branch: the system is central and
    so is its outage). Raises NotFound, InvalidInput."""
    if expected_minutes is not None and not 1 <= expected_minutes <= 60 * 24 * 60:
        raise InvalidInput(
            "expected_minutes is between 1 and 86400 (60 days)", expected_minutes=["out of range"]
        )
    backend = backend_by_code(session, backend_code)
    expected_end = (
        clock.now() + timedelta(minutes=expected_minutes) if expected_minutes is not None else None
    )
    outage = go_down(
        session, clock, backend, DetectedBy.MANAGER, note=note, expected_end=expected_end
    )
    session.commit()
    return outage


def resolve(session: Session, clock: Clock, backend_code: str) -> Outage:
    """A manager declares the system up again. Raises NotFound, StateConflict (it is up)."""
    backend = backend_by_code(session, backend_code)
    if backend.state == BackendState.UP:
        raise StateConflict(f"{backend_code} is not down", backend=backend_code)
    outage = come_up(session, clock, backend, ended_by="manager")
    session.commit()
    assert outage is not None
    return outage


def report(
    session: Session,
    clock: Clock,
    principal: Principal,
    backend_code: str,
    *,
    branch_code: str,
    note: str | None = None,
) -> tuple[int, Outage | None]:
    """A counter reports the system down. Enough reports at one branch within its window (the
    branch's ``reports_needed`` within ``reports_within_minutes``) declare it down. Returns the
    number of recent reports and the outage, if there is one now. Raises NotFound, Forbidden."""
    now = clock.now()
    backend = backend_by_code(session, backend_code)
    branch = directory.current(session).branch(branch_code)
    principal.require_branch(branch.id)
    session.add(OutageReport(backend_id=backend.id, branch_id=branch.id, at=now, note=note))
    session.flush()
    row = session.get_one(Branch, branch.id)
    since = now - timedelta(minutes=row.reports_within_minutes)
    recent = session.scalar(
        select(func.count()).where(
            OutageReport.backend_id == backend.id,
            OutageReport.branch_id == branch.id,
            OutageReport.at > since,
        )
    )
    outage = current_outage(session, backend.id)
    if outage is None and recent >= row.reports_needed:
        outage = go_down(
            session,
            clock,
            backend,
            DetectedBy.STAFF_REPORTS,
            note=f"{recent} reports from counters at {branch.code}",
        )
    session.commit()
    return recent, outage


def record_check(
    session: Session, clock: Clock, backend_id: int, *, ok: bool, error: str | None = None
) -> Outage | None:
    """One health check's result, with hysteresis; returns the outage if this check opened or
    closed one. A blip shorter than ``failure_threshold`` checks starts nothing; a system coming
    back on and off stays down until ``recovery_threshold`` good checks in a row."""
    now = clock.now()
    backend = session.get_one(Backend, backend_id)
    health = session.get(BackendHealth, backend_id)
    if health is None:
        health = BackendHealth(backend_id=backend_id, failures_in_a_row=0, successes_in_a_row=0)
        session.add(health)
    health.last_checked_at = now
    changed: Outage | None = None
    if ok:
        health.successes_in_a_row += 1
        health.failures_in_a_row = 0
        health.last_error = None
        if (
            backend.state == BackendState.DOWN
            and health.successes_in_a_row >= backend.recovery_threshold
        ):
            outage = current_outage(session, backend_id)
            # A manager's declaration is ended by a manager, not by a check that passes.
            if outage is None or outage.detected_by != DetectedBy.MANAGER:
                changed = come_up(session, clock, backend, ended_by="health_check")
    else:
        health.failures_in_a_row += 1
        health.successes_in_a_row = 0
        health.last_error = (error or "check failed")[:500]
        if (
            backend.state == BackendState.UP
            and health.failures_in_a_row >= backend.failure_threshold
        ):
            changed = go_down(
                session, clock, backend, DetectedBy.HEALTH_CHECK, note=health.last_error
            )
    session.commit()
    return changed


@dataclass(frozen=True)
class OutageRecord:
    outage: Outage
    backend: Backend
    messages: dict[str, int]  # the outage's SMS by state: queued, sent, delivered, failed...


def records(
    session: Session,
    *,
    backend_code: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
) -> list[OutageRecord]:
    """Outages, newest first, each with what became of its messages. Raises NotFound."""
    query = select(Outage, Backend).join(Backend, Backend.id == Outage.backend_id)
    if backend_code is not None:
        query = query.where(Backend.code == backend_by_code(session, backend_code).code)
    if since is not None:
        query = query.where((Outage.ended_at.is_(None)) | (Outage.ended_at >= since))
    rows = session.execute(query.order_by(Outage.started_at.desc()).limit(limit)).all()
    return [
        OutageRecord(outage, backend, messages_of(session, outage.id)) for outage, backend in rows
    ]


def messages_of(session: Session, outage_id: int) -> dict[str, int]:
    """An outage's messages (every move it caused, the evening notices too) by state."""
    counts = session.execute(
        select(Message.status, func.count())
        .where(
            (Message.event == f"rescheduled:outage:{outage_id}")
            | Message.event.like(f"rescheduled:outage:{outage_id}:%")
        )
        .group_by(Message.status)
    ).all()
    return {status.value: n for status, n in counts}


# --- maintenance -------------------------------------------------------------------------


def announce_maintenance(
    session: Session,
    clock: Clock,
    backend_code: str,
    *,
    starts_at: datetime,
    ends_at: datetime,
    note: str | None,
    public_url: str,
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
    backend = backend_by_code(session, backend_code)
    window = Maintenance(
        backend_id=backend.id,
        starts_at=starts_at,
        ends_at=ends_at,
        note=note,
        announced_at=now,
    )
    session.add(window)
    session.commit()
    name = {"ar": backend.name_ar, "en": backend.name_en}
    moved = 0
    for service_id in _services_needing(session, backend.id):
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
            message_for=_maintenance_message(name, public_url),
        )
        moved += outcome.moved
    window.tickets_moved = moved
    session.commit()
    return window


def _maintenance_message(name: dict[str, str], public_url: str) -> rescheduler.MessageFor:
    def word(ticket: rescheduler.TicketRow, service: ServiceInfo, start: datetime) -> str:
        return templates.rescheduled_for_maintenance(
            ticket.locale,
            system=name.get(ticket.locale, name["ar"]),
            start=start,
            timezone=service.branch.timezone,
            link=f"{public_url}/t/{ticket.token}",
        )

    return word


def _outage_message(backend: BackendInfo, public_url: str) -> rescheduler.MessageFor:
    def word(ticket: rescheduler.TicketRow, service: ServiceInfo, start: datetime) -> str:
        return templates.rescheduled_for_outage(
            ticket.locale,
            system=backend.name(ticket.locale),
            start=start,
            timezone=service.branch.timezone,
            link=f"{public_url}/t/{ticket.token}",
        )

    return word


# --- the timers ---------------------------------------------------------------------------


@dataclass
class TimerReport:
    branches_moved: int = 0
    moved: int = 0
    texted: int = 0
    unplaced: int = 0


def _done(session: Session, outage: Outage, branch: BranchInfo, kind: str) -> bool:
    return session.get(OutageMove, (outage.id, branch.id, kind)) is not None


def _closing_today(branch: BranchInfo, now: datetime) -> datetime | None:
    local = now.astimezone(branch.zone)
    window = opening_hours.window_on(branch.hours, local.date(), branch.zone)
    return window[1] if window else None


def _next_opening_day_start(branch: BranchInfo, now: datetime) -> datetime:
    """The start of the next opening day after today (an outage with no end known counts as
    lasting to the end of the current day)."""
    local = now.astimezone(branch.zone)
    tomorrow = datetime.combine(
        local.date() + timedelta(days=1), datetime.min.time(), tzinfo=branch.zone
    )
    found = opening_hours.next_opening(branch.hours, tomorrow, branch.zone)
    return found or tomorrow


def _serviceable_now(
    session: Session, service: ServiceInfo, now: datetime, closing: datetime | None
) -> int:
    """How many of a degraded service's line its manual rate can still serve today."""
    if closing is None or closing <= now:
        return 0
    measured = session.scalar(
        select(Service.measured_service_seconds).where(Service.id == service.id)
    )
    seconds_each = waiting_line.seconds_per_citizen(service.avg_service_minutes, measured)
    counters = service.branch.open_counters_serving(service)
    rate = counters * (closing - now).total_seconds() / seconds_each
    return math.floor(rate * service.manual_fallback_percent / 100)


def _line_to_move(
    session: Session, service: ServiceInfo, now: datetime, closing: datetime | None
) -> list[int]:
    ids = list(
        session.scalars(
            select(Ticket.id)
            .where(Ticket.service_id == service.id, Ticket.status == TicketStatus.WAITING)
            .order_by(*waiting_line.CALLING_ORDER)
        )
    )
    if service.manual_fallback_percent > 0:
        return ids[_serviceable_now(session, service, now, closing) :]
    return ids


def run_timers(session: Session, clock: Clock, *, public_url: str) -> TimerReport:
    """Everything the outages in progress call for now (the worker runs this every few seconds).
    Safe to run again and from several workers at once: each branch's move is recorded, and the
    rescheduler's cause makes a repeat move nobody."""
    report = TimerReport()
    outages = list(session.scalars(select(Outage).where(Outage.ended_at.is_(None))))
    info = directory.current(session)
    for outage in outages:
        backend = next((b for b in info.backends if b.id == outage.backend_id), None)
        if backend is None:
            continue
        for branch in info.branches:
            services = [s for s in branch.services if any(b.id == backend.id for b in s.backends)]
            if services:
                _move_line(session, clock, outage, backend, branch, services, public_url, report)
                _evening_notice(
                    session, clock, outage, backend, branch, services, public_url, report
                )
    return report


def _move_line(
    session: Session,
    clock: Clock,
    outage: Outage,
    backend: BackendInfo,
    branch: BranchInfo,
    services: list[ServiceInfo],
    public_url: str,
    report: TimerReport,
) -> None:
    now = clock.now()
    if _done(session, outage, branch, "line"):
        return
    closing = _closing_today(branch, now)
    long_enough = now - outage.started_at >= timedelta(minutes=branch.reschedule_after_minutes)
    ends_after_closing = (
        outage.expected_end is not None and closing is not None and outage.expected_end >= closing
    )
    if not (long_enough or ends_after_closing):
        return
    not_before = outage.expected_end or _next_opening_day_start(branch, now)
    # Appointments whose slot falls inside the outage: up to its expected end, or (no end
    # known) the end of today.
    inside_until = outage.expected_end or _next_opening_day_start(branch, now)
    ids_by_service = {
        service: _line_to_move(session, service, now, closing)
        + list(
            session.scalars(
                select(Ticket.id).where(
                    Ticket.service_id == service.id,
                    Ticket.status == TicketStatus.SCHEDULED,
                    Ticket.slot_start < inside_until,
                )
            )
        )
        for service in services
    }
    _move_and_record(
        session,
        clock,
        outage,
        backend,
        branch,
        ids_by_service,
        not_before,
        cause=f"outage:{outage.id}",
        kind="line",
        public_url=public_url,
        report=report,
    )
    report.branches_moved += 1


def _evening_notice(
    session: Session,
    clock: Clock,
    outage: Outage,
    backend: BackendInfo,
    branch: BranchInfo,
    services: list[ServiceInfo],
    public_url: str,
    report: TimerReport,
) -> None:
    """No end known and it is evening: move the next opening day's appointments now, so that
    nobody leaves home for nothing tomorrow. Once per branch and day."""
    now = clock.now()
    if outage.expected_end is not None:
        return
    local = now.astimezone(branch.zone)
    if local.time() < branch.evening_notice:
        return
    next_day = _next_opening_day_start(branch, now)
    kind = f"evening:{next_day.astimezone(branch.zone).date().isoformat()}"
    if _done(session, outage, branch, kind):
        return
    day_after = _next_opening_day_start(branch, next_day)
    ids_by_service = {
        service: list(
            session.scalars(
                select(Ticket.id).where(
                    Ticket.service_id == service.id,
                    Ticket.status == TicketStatus.SCHEDULED,
                    Ticket.slot_start >= next_day,
                    Ticket.slot_start < day_after,
                )
            )
        )
        for service in services
    }
    # A new cause per day: a ticket moved again tomorrow evening is told again, but never twice
    # in one day.
    _move_and_record(
        session,
        clock,
        outage,
        backend,
        branch,
        ids_by_service,
        day_after,
        cause=f"outage:{outage.id}:{kind}",
        kind=kind,
        public_url=public_url,
        report=report,
    )


def _move_and_record(
    session: Session,
    clock: Clock,
    outage: Outage,
    backend: BackendInfo,
    branch: BranchInfo,
    ids_by_service: dict[ServiceInfo, list[int]],
    not_before: datetime,
    *,
    cause: str,
    kind: str,
    public_url: str,
    report: TimerReport,
) -> None:
    """Reschedule each service's tickets after ``not_before``, count it all on the outage and
    the report, and record that this branch's move of this ``kind`` is done."""
    now = clock.now()
    moved = 0
    for ids in ids_by_service.values():
        if not ids:
            continue
        outcome = rescheduler.reschedule(
            session,
            clock,
            ids,
            not_before=not_before,
            cause=cause,
            message_for=_outage_message(backend, public_url),
        )
        moved += outcome.moved
        report.moved += outcome.moved
        report.texted += outcome.texted
        report.unplaced += outcome.unplaced
        outage.tickets_moved += outcome.moved
        outage.tickets_texted += outcome.texted
        outage.tickets_unplaced += outcome.unplaced
    session.add(
        OutageMove(outage_id=outage.id, branch_id=branch.id, kind=kind, at=now, moved=moved)
    )
    session.commit()


__all__ = [
    "announce_maintenance",
    "current_outage",
    "declare",
    "record_check",
    "report",
    "resolve",
    "run_timers",
]
