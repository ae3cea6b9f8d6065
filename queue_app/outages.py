"""Outages of back-end systems: learning that a system is down or up again, and their records.

Three ways to learn that a system is down: the health monitor's checks (``record_check``, with
hysteresis: ``failure_threshold`` failures in a row to go down, ``recovery_threshold`` successes
to come back), staff reports from counters (``report``: N within M minutes at one branch), and a
manager's declaration (``declare``). Each down period is one ``Outage``.

While a system is down every service that needs it is paused in every branch (service_state
reads the system's state from the directory, so kiosks, counters, boards and ticket pages
follow at once). What the outage then calls for, the moves of the line and the evening notice,
is ``outage_moves``. Recovery resumes the services and texts nobody: no ticket changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from queue_app import directory, outage_moves
from queue_app.access import Principal
from queue_app.clock import Clock
from queue_app.errors import InvalidInput, NotFound, StateConflict
from queue_app.models import (
    Backend,
    BackendHealth,
    BackendState,
    Branch,
    DetectedBy,
    Message,
    Outage,
    OutageReport,
    Ticket,
    TicketStatus,
    service_backends,
)


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


def services_needing(session: Session, backend_id: int) -> list[int]:
    return list(
        session.scalars(
            select(service_backends.c.service_id).where(service_backends.c.backend_id == backend_id)
        )
    )


def go_down(
    session: Session,
    now: datetime,
    backend: Backend,
    detected_by: DetectedBy,
    *,
    note: str | None = None,
    expected_end: datetime | None = None,
) -> Outage:
    """Mark ``backend`` down and open its outage, in the caller's transaction; if it is down
    already, the current outage (with a newer expected end, if given) is returned."""
    outage = current_outage(session, backend.id)
    if outage is not None:
        if expected_end is not None:
            outage.expected_end = expected_end
        if note:
            outage.note = note
        return outage
    backend.state, backend.state_since = BackendState.DOWN, now
    services = services_needing(session, backend.id)
    paused = 0
    if services:
        paused = session.execute(
            select(func.count()).where(
                Ticket.service_id.in_(services), Ticket.status == TicketStatus.WAITING
            )
        ).scalar_one()
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


def come_up(session: Session, now: datetime, backend: Backend, *, ended_by: str) -> Outage | None:
    """Mark ``backend`` up and close its outage, in the caller's transaction. Waiting tickets
    are served in order again and no ticket moves; only those the outage found no free time for
    (who were told a new time would follow) are told that their ticket holds."""
    outage = current_outage(session, backend.id)
    if backend.state == BackendState.DOWN:
        backend.state, backend.state_since = BackendState.UP, now
    if outage is not None:
        outage.ended_at, outage.ended_by = now, ended_by
        outage.tickets_texted += outage_moves.tell_system_back(session, now, outage, backend)
        outage.tickets_unplaced = 0
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
    now = clock.now()
    backend = backend_by_code(session, backend_code)
    expected_end = (
        now + timedelta(minutes=expected_minutes) if expected_minutes is not None else None
    )
    outage = go_down(
        session, now, backend, DetectedBy.MANAGER, note=note, expected_end=expected_end
    )
    session.commit()
    return outage


def resolve(session: Session, clock: Clock, backend_code: str) -> Outage:
    """A manager declares the system up again. Raises NotFound, StateConflict (it is up)."""
    backend = backend_by_code(session, backend_code)
    if backend.state == BackendState.UP:
        raise StateConflict(f"{backend_code} is not down", backend=backend_code)
    outage = come_up(session, clock.now(), backend, ended_by="manager")
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
    session.add(
        OutageReport(
            backend_id=backend.id,
            branch_id=branch.id,
            at=now,
            note=note,
            reporter_token_id=principal.token_id,
        )
    )
    session.flush()
    row = session.get_one(Branch, branch.id)
    since = now - timedelta(minutes=row.reports_within_minutes)
    # Distinct reporters: a report of unknown origin counts alone.
    reporter = func.coalesce(OutageReport.reporter_token_id, -OutageReport.id)
    recent = session.execute(
        select(func.count(func.distinct(reporter))).where(
            OutageReport.backend_id == backend.id,
            OutageReport.branch_id == branch.id,
            OutageReport.at > since,
        )
    ).scalar_one()
    outage = current_outage(session, backend.id)
    if outage is None and recent >= row.reports_needed:
        outage = go_down(
            session,
            now,
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
            # A manager's declaration, or counters' reports, end when a manager says so, not
            # when a check passes: the central system may answer the monitor while a branch's
            # own link to it is down (the first report names the office's internet link).
            if outage is None or outage.detected_by == DetectedBy.HEALTH_CHECK:
                changed = come_up(session, now, backend, ended_by="health_check")
    else:
        health.failures_in_a_row += 1
        health.successes_in_a_row = 0
        health.last_error = (error or "check failed")[:500]
        if (
            backend.state == BackendState.UP
            and health.failures_in_a_row >= backend.failure_threshold
        ):
            changed = go_down(
                session, now, backend, DetectedBy.HEALTH_CHECK, note=health.last_error
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
    """An outage's messages (every move it caused, the evening notices too, and the word to
    those it found no time for yet) by state."""
    counts = session.execute(
        select(Message.status, func.count())
        .where(
            (Message.event == f"rescheduled:outage:{outage_id}")
            | Message.event.like(f"rescheduled:outage:{outage_id}:%")
            | (Message.event == f"no_slot:outage:{outage_id}")
            | Message.event.like(f"no_slot:outage:{outage_id}:%")
        )
        .group_by(Message.status)
    ).all()
    return {status.value: n for status, n in counts}


__all__ = [
    "OutageRecord",
    "backend_by_code",
    "come_up",
    "current_outage",
    "declare",
    "go_down",
    "messages_of",
    "record_check",
    "records",
    "report",
    "resolve",
    "services_needing",
]
