"""Outages of back-end systems: learning that a system is down or up again, and their records.

Three ways to learn that a system is down: the health monitor's checks (``record_check``, with
hysteresis: ``failure_threshold`` failures in a row to go down, ``recovery_threshold`` successes
to come back), staff reports from counters (``report``: N distinct reporters within M minutes
at one branch), and a declaration (``declare``). Each down period is one ``Outage``.

An outage has a scope. The health monitor and an admin take a system down everywhere
(``Outage.branch_id`` None, and ``Backend.state`` down); a branch's manager, or enough of its
staff's reports, take it down for that branch only: the office's own link to the system is
down, the others reach it. A branch's services that need the system are paused while any
outage that covers the branch is open (service_state reads it from the directory, so kiosks,
counters, boards and ticket pages follow at once); ending one outage resumes only what no other
still covers. Who may end which: ``resolve`` and ``back``.

What the outage then calls for, the moves of the line and the evening notice, is
``outage_moves``, at the branches it covers. Recovery resumes the services and texts nobody: no
ticket changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session

from queue_app import directory, outage_moves, send_rates
from queue_app.access import Principal
from queue_app.clock import Clock
from queue_app.directory import BranchInfo
from queue_app.errors import Forbidden, InvalidInput, NotFound, StateConflict
from queue_app.models import (
    Backend,
    BackendHealth,
    BackendState,
    Branch,
    DetectedBy,
    Message,
    Outage,
    OutageReport,
    Role,
    Service,
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


def _open(backend_id: int) -> list[ColumnElement[bool]]:
    return [Outage.backend_id == backend_id, Outage.ended_at.is_(None)]


def current_outage(
    session: Session, backend_id: int, branch_id: int | None = None
) -> Outage | None:
    """The system's open outage of one scope: everywhere (``branch_id`` None), or at that
    branch alone."""
    scope = Outage.branch_id.is_(None) if branch_id is None else Outage.branch_id == branch_id
    return session.scalar(
        select(Outage).where(*_open(backend_id), scope).order_by(Outage.id.desc()).limit(1)
    )


def open_outages(session: Session, backend_id: int) -> list[Outage]:
    """Every open outage of the system: the one everywhere first, then one per branch."""
    return list(
        session.scalars(
            select(Outage)
            .where(*_open(backend_id))
            .order_by(Outage.branch_id.is_not(None), Outage.branch_id, Outage.id)
        )
    )


def covering(session: Session, backend_id: int, branch_id: int) -> list[Outage]:
    """The system's open outages that pause it at the branch: its own and the one everywhere."""
    return list(
        session.scalars(
            select(Outage)
            .where(
                *_open(backend_id), or_(Outage.branch_id.is_(None), Outage.branch_id == branch_id)
            )
            .order_by(Outage.id)
        )
    )


def services_needing(session: Session, backend_id: int, branch_id: int | None = None) -> list[int]:
    """The services that need the system: at every branch, or at ``branch_id`` only."""
    query = select(service_backends.c.service_id).where(service_backends.c.backend_id == backend_id)
    if branch_id is not None:
        query = query.join(Service, Service.id == service_backends.c.service_id).where(
            Service.branch_id == branch_id
        )
    return list(session.scalars(query))


def _hold(session: Session, backend_id: int) -> None:
    """Take the system's row until the caller's transaction ends. Two requests opening an
    outage at once (a double click), or counting reports at once (the counters that press
    together), then go one after the other: the second sees what the first committed (the
    unique indexes of open outages are the guard; SQLite lets one writer at a time anyway).
    FOR NO KEY UPDATE: a report's row holds a key-share lock on the system, which FOR UPDATE
    would wait for."""
    session.execute(
        select(Backend.id).where(Backend.id == backend_id).with_for_update(key_share=True)
    )


def go_down(
    session: Session,
    now: datetime,
    backend: Backend,
    detected_by: DetectedBy,
    *,
    branch_id: int | None = None,
    note: str | None = None,
    expected_end: datetime | None = None,
) -> Outage:
    """Open the system's outage everywhere (``branch_id`` None: the system is marked down) or at
    one branch, in the caller's transaction; if one of that scope is open already, it is
    returned (with a newer expected end and note, if given)."""
    _hold(session, backend.id)
    outage = current_outage(session, backend.id, branch_id)
    if outage is not None:
        if expected_end is not None:
            outage.expected_end = expected_end
        if note:
            outage.note = note
        return outage
    if branch_id is None:
        backend.state, backend.state_since = BackendState.DOWN, now
    services = services_needing(session, backend.id, branch_id)
    paused = 0
    if services:
        paused = session.execute(
            select(func.count()).where(
                Ticket.service_id.in_(services), Ticket.status == TicketStatus.WAITING
            )
        ).scalar_one()
    outage = Outage(
        backend_id=backend.id,
        branch_id=branch_id,
        started_at=now,
        detected_by=detected_by,
        note=note,
        expected_end=expected_end,
        tickets_paused=paused or 0,
    )
    session.add(outage)
    session.flush()
    return outage


def come_up(
    session: Session,
    now: datetime,
    backend: Backend,
    *,
    ended_by: str,
    branch_id: int | None = None,
) -> Outage | None:
    """Close the system's outage of one scope (everywhere: the system is marked up), in the
    caller's transaction. Waiting tickets are served in order again where no other outage still
    covers their branch, and no ticket moves; those the outage found no free time for are told
    that their ticket holds, or, where another outage still pauses their service, left to
    that one (it keeps looking for room and tells them when it ends)."""
    outage = current_outage(session, backend.id, branch_id)
    if branch_id is None and backend.state == BackendState.DOWN:
        backend.state, backend.state_since = BackendState.UP, now
    if outage is not None:
        outage.ended_at, outage.ended_by = now, ended_by
        still = [o for o in open_outages(session, backend.id) if o.id != outage.id]
        outage.tickets_texted += outage_moves.tell_system_back(
            session, now, outage, backend, still_down=still
        )
        outage.tickets_unplaced = 0
    return outage


def _scope(session: Session, by: Principal | None, branch_code: str | None) -> BranchInfo | None:
    """The branch a declaration or resolution is for; None: every branch. A manager acts for
    their own branch only (named or implied); an admin, or the system itself (``by`` None: the
    command line), for the branch named, or everywhere. Raises Forbidden, NotFound."""
    if by is None or by.role == Role.ADMIN:
        return directory.current(session).branch(branch_code) if branch_code else None
    code = branch_code or by.branch_code
    if code is None:
        raise Forbidden("a manager declares and resolves outages for their own branch only")
    branch = directory.current(session).branch(code)
    if not by.acts_for(branch.id):
        # A person may manage several branches: any of theirs, named; the first, implied.
        raise Forbidden(
            "a manager declares and resolves outages for their own branch only",
            branch=by.branch_code,
        )
    return branch


def declare(
    session: Session,
    clock: Clock,
    backend_code: str,
    *,
    note: str | None = None,
    expected_minutes: int | None = None,
    branch_code: str | None = None,
    by: Principal | None = None,
) -> Outage:
    """Declare the system down: at the declaring manager's branch, or, for an admin, at the
    branch named or everywhere. Raises NotFound, InvalidInput, Forbidden (another branch)."""
    if expected_minutes is not None and not 1 <= expected_minutes <= 60 * 24 * 60:
        raise InvalidInput(
            "expected_minutes is between 1 and 86400 (60 days)", expected_minutes=["out of range"]
        )
    now = clock.now()
    backend = backend_by_code(session, backend_code)
    branch = _scope(session, by, branch_code)
    expected_end = (
        now + timedelta(minutes=expected_minutes) if expected_minutes is not None else None
    )
    outage = go_down(
        session,
        now,
        backend,
        DetectedBy.MANAGER,
        branch_id=branch.id if branch else None,
        note=note,
        expected_end=expected_end,
    )
    session.commit()
    return outage


def _ended_by(by: Principal | None) -> str:
    return by.role.value if by is not None else "manager"


def resolve(
    session: Session,
    clock: Clock,
    backend_code: str,
    *,
    branch_code: str | None = None,
    by: Principal | None = None,
) -> Outage:
    """Declare the system up again: a manager, at their branch (whoever raised that branch's
    outage); an admin, at the branch named, or without one everywhere (the outage everywhere
    ends; those of single branches stay, each ended by name). Returns the outage ended. Raises
    NotFound, Forbidden (another branch's, or the one everywhere, for a manager),
    StateConflict (nothing of that scope is down)."""
    backend = backend_by_code(session, backend_code)
    branch = _scope(session, by, branch_code)
    outage = current_outage(session, backend.id, branch.id if branch else None)
    if outage is None:
        if branch is None:
            down_at = [
                b.code
                for o in open_outages(session, backend.id)
                for b in directory.current(session).branches
                if b.id == o.branch_id
            ]
            raise StateConflict(
                f"{backend_code} is not down everywhere"
                + (f"; it is down at {', '.join(down_at)}: name the branch" if down_at else ""),
                backend=backend_code,
                down_at=down_at,
            )
        if by is not None and by.role != Role.ADMIN and current_outage(session, backend.id):
            raise Forbidden(
                f"{backend_code} is down everywhere: an admin or the health monitor ends that",
                backend=backend_code,
                branch=branch.code,
            )
        raise StateConflict(
            f"{backend_code} is not down at {branch.code}", backend=backend_code, branch=branch.code
        )
    come_up(
        session,
        clock.now(),
        backend,
        ended_by=_ended_by(by),
        branch_id=branch.id if branch else None,
    )
    session.commit()
    return outage


def back(
    session: Session,
    clock: Clock,
    by: Principal,
    backend_code: str,
    *,
    branch_code: str,
) -> Outage:
    """Staff say the system answers again at their branch: the outage their reports raised
    there ends (a manager of the branch, or an admin, may say so too, and may end the branch
    manager's declaration as well). Raises NotFound, Forbidden (another branch; a staff token
    and a manager's declaration; the outage everywhere), StateConflict (not down here)."""
    now = clock.now()
    backend = backend_by_code(session, backend_code)
    branch = directory.current(session).branch(branch_code)
    by.require_branch(branch.id)
    outage = current_outage(session, backend.id, branch.id)
    if outage is None:
        if current_outage(session, backend.id) is not None:
            raise Forbidden(
                f"{backend_code} is down everywhere: an admin or the health monitor ends that",
                backend=backend_code,
                branch=branch.code,
            )
        raise StateConflict(
            f"{backend_code} is not down at {branch.code}", backend=backend_code, branch=branch.code
        )
    if outage.detected_by != DetectedBy.STAFF_REPORTS and by.role == Role.STAFF:
        raise Forbidden(
            "a manager declared this outage: a manager of the branch ends it",
            backend=backend_code,
            branch=branch.code,
        )
    come_up(session, now, backend, ended_by=by.role.value, branch_id=branch.id)
    session.commit()
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
    """A counter reports the system down. Enough distinct reporters at one branch within its
    window (the branch's ``reports_needed`` within ``reports_within_minutes``, and since its
    last outage of the system ended) take it down at that branch only. Returns the number of
    recent reporters and the branch's outage, if there is one now. Raises NotFound,
    Forbidden."""
    now = clock.now()
    backend = backend_by_code(session, backend_code)
    branch = directory.current(session).branch(branch_code)
    principal.require_branch(branch.id)
    # Counted one after the other: counters pressing together would each count only their own.
    _hold(session, backend.id)
    session.add(
        OutageReport(
            backend_id=backend.id,
            branch_id=branch.id,
            at=now,
            note=note,
            reporter_token_id=principal.token_id,
            reporter_person_id=principal.person_id,
        )
    )
    session.flush()
    row = session.get_one(Branch, branch.id)
    since = now - timedelta(minutes=row.reports_within_minutes)
    # Reports made before staff said it was back (or a manager) belong to that outage.
    last_ended = session.scalar(
        select(func.max(Outage.ended_at)).where(
            Outage.backend_id == backend.id, Outage.branch_id == branch.id
        )
    )
    after_it = OutageReport.at > last_ended if last_ended is not None else true()
    # Distinct reporters, people and tokens apart (even and odd numbers); a report of unknown
    # origin counts alone.
    reporter = func.coalesce(
        OutageReport.reporter_person_id * 2,
        OutageReport.reporter_token_id * 2 + 1,
        -OutageReport.id,
    )
    recent = session.execute(
        select(func.count(func.distinct(reporter))).where(
            OutageReport.backend_id == backend.id,
            OutageReport.branch_id == branch.id,
            OutageReport.at > since,
            after_it,
        )
    ).scalar_one()
    outage = current_outage(session, backend.id, branch.id)
    if outage is None and recent >= row.reports_needed:
        outage = go_down(
            session,
            now,
            backend,
            DetectedBy.STAFF_REPORTS,
            branch_id=branch.id,
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
            # The monitor ends only the outage everywhere that it raised. An admin's
            # declaration (or counters' reports stored before outages had a branch) ends when
            # people say so: the central system may answer the monitor while a branch's own
            # link to it is down (the first report names the office's internet link). Branches'
            # own outages are not looked at here at all.
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
        select(Message.status, func.count()).where(_messages_of(outage_id)).group_by(Message.status)
    ).all()
    return {status.value: n for status, n in counts}


def _messages_of(outage_id: int) -> ColumnElement[bool]:
    return (
        (Message.event == f"rescheduled:outage:{outage_id}")
        | Message.event.like(f"rescheduled:outage:{outage_id}:%")
        | (Message.event == f"no_slot:outage:{outage_id}")
        | Message.event.like(f"no_slot:outage:{outage_id}:%")
    )


def last_message_at(
    session: Session, now: datetime, outage_id: int, rate: float
) -> datetime | None:
    """When the last message of the outage's moves will leave at ``rate`` messages a second,
    behind everything claimed before it (``send_rates.last_message``); None when none waits."""
    last = send_rates.last_message(session, now, _messages_of(outage_id), rate)
    return last.leaves_at if last is not None else None


__all__ = [
    "OutageRecord",
    "back",
    "backend_by_code",
    "come_up",
    "covering",
    "current_outage",
    "declare",
    "go_down",
    "last_message_at",
    "messages_of",
    "open_outages",
    "record_check",
    "records",
    "report",
    "resolve",
    "services_needing",
]
