"""A branch at a glance, for its manager's console: the lines and counters (branches.py), the
systems its services need with their outages and maintenance, the tickets an outage could not
place, and the messages that did not reach their citizens today."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from queue_app import audit, branches, maintenance, outages
from queue_app.directory import BackendInfo, BranchInfo, ServiceInfo
from queue_app.errors import NotFound
from queue_app.models import (
    AuditEvent,
    Maintenance,
    Message,
    MessageStatus,
    Outage,
    Ticket,
    TicketStatus,
)
from queue_app.rescheduler import MOVABLE

# Messages that did not reach their citizen: what a manager may want to follow up by hand.
NOT_DELIVERED = (MessageStatus.FAILED, MessageStatus.UNDELIVERED)
LIST_AT_MOST = 20


@dataclass(frozen=True)
class SystemOverview:
    backend: BackendInfo
    here: Outage | None  # the branch's own outage (a manager's, or its staff reports')
    everywhere: Outage | None  # the one that pauses every branch (health monitor, admin)
    windows: list[Maintenance]
    # When the last message of the outage's moves leaves at the current rate (None: none waits).
    last_message_at: datetime | None = None

    @property
    def outage(self) -> Outage | None:
        """What pauses the system here, the outage everywhere first."""
        return self.everywhere or self.here


@dataclass(frozen=True)
class DeclarePreview:
    """What declaring a system down at one branch would do, before it is done."""

    services: list[ServiceInfo]  # the branch's services that pause
    waiting: int  # their walk-in tickets waiting now
    with_phone: int  # of which can be texted when the line moves
    booked_today: int  # their appointments later today, moved if it lasts
    reschedule_after_minutes: int


@dataclass(frozen=True)
class UnplacedTicket:
    number: str
    service_code: str
    phone: str | None
    since: datetime | None


@dataclass(frozen=True)
class FailedMessage:
    number: str | None
    to: str
    event: str
    status: MessageStatus
    error_code: str | None
    at: datetime


@dataclass(frozen=True)
class BranchOverview:
    view: branches.BranchView
    systems: list[SystemOverview]
    unplaced: list[UnplacedTicket]
    unplaced_count: int
    failed_messages: list[FailedMessage]
    failed_count: int
    # Counter code -> who called there last today (the audit trail's call-next records).
    served_by: dict[str, str] = field(default_factory=dict)


def mask_phone(phone: str | None) -> str | None:
    """Enough of a number to match it with a citizen at the desk, not to copy it whole."""
    if not phone:
        return None
    return phone[:4] + "•" * max(0, len(phone) - 7) + phone[-3:]


def declare_preview(
    session: Session, branch_code: str, backend_code: str, now: datetime
) -> DeclarePreview:
    """Raises NotFound (no such system among this branch's services' systems)."""
    branch = branches.get_branch(session, branch_code)
    paused = [s for s in branch.services if any(b.code == backend_code for b in s.backends)]
    if not paused:
        raise NotFound(f"no service of {branch_code} needs {backend_code!r}", backend=backend_code)
    ids = [s.id for s in paused]
    waiting_where = (Ticket.service_id.in_(ids), Ticket.status == TicketStatus.WAITING)
    waiting = session.scalar(select(func.count(Ticket.id)).where(*waiting_where)) or 0
    with_phone = (
        session.scalar(
            select(func.count(Ticket.id)).where(*waiting_where, Ticket.phone.is_not(None))
        )
        or 0
    )
    day_end = datetime.combine(
        now.astimezone(branch.zone).date() + timedelta(days=1), datetime.min.time(), branch.zone
    )
    booked_today = (
        session.scalar(
            select(func.count(Ticket.id)).where(
                Ticket.service_id.in_(ids),
                Ticket.status == TicketStatus.SCHEDULED,
                Ticket.slot_start >= now,
                Ticket.slot_start < day_end,
            )
        )
        or 0
    )
    return DeclarePreview(
        services=paused,
        waiting=waiting,
        with_phone=with_phone,
        booked_today=booked_today,
        reschedule_after_minutes=branch.reschedule_after_minutes,
    )


def _served_by(session: Session, branch_id: int, zone: ZoneInfo, now: datetime) -> dict[str, str]:
    """Who works at each counter: the person (or token) whose call-next there was the last
    today. A counter nobody called at today has nobody."""
    day_start = datetime.combine(now.astimezone(zone).date(), datetime.min.time(), zone)
    rows = session.execute(
        select(AuditEvent.target_key, AuditEvent.actor_name, AuditEvent.actor)
        .where(
            AuditEvent.branch_id == branch_id,
            AuditEvent.action == "counter.call_next",
            AuditEvent.outcome == audit.DONE,
            AuditEvent.at >= day_start,
        )
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    found: dict[str, str] = {}
    for counter_code, name, actor in rows:
        if counter_code is not None:
            found[counter_code] = name or actor  # the latest wins
    return found


def _systems_needed(branch: BranchInfo) -> list[BackendInfo]:
    """The systems the branch's services need, by code."""
    found: dict[int, BackendInfo] = {}
    for service in branch.services:
        for backend in service.backends:
            found.setdefault(backend.id, backend)
    return sorted(found.values(), key=lambda b: b.code)


def _systems(
    session: Session,
    branch: BranchInfo,
    backends: list[BackendInfo],
    now: datetime,
    sms_rate: float | None,
) -> list[SystemOverview]:
    windows = maintenance.not_ended(session, now, [b.id for b in backends])
    systems = []
    for backend in backends:
        everywhere = outages.current_outage(session, backend.id)
        here = outages.current_outage(session, backend.id, branch.id)
        down = everywhere or here
        systems.append(
            SystemOverview(
                backend=backend,
                here=here,
                everywhere=everywhere,
                windows=[w for w in windows if w.backend_id == backend.id],
                last_message_at=(
                    outages.last_message_at(session, now, down.id, sms_rate)
                    if down is not None and sms_rate is not None
                    else None
                ),
            )
        )
    return systems


def system(session: Session, branch_code: str, backend_code: str, now: datetime) -> SystemOverview:
    """One system the branch's services need, as the console shows it, without the rest of the
    branch's overview (an action's preview needs only this). Raises NotFound."""
    branch = branches.get_branch(session, branch_code)
    found = [b for b in _systems_needed(branch) if b.code == backend_code]
    if not found:
        raise NotFound(f"no service of {branch_code} needs {backend_code!r}", backend=backend_code)
    return _systems(session, branch, found, now, None)[0]


def overview(
    session: Session, branch_code: str, now: datetime, *, sms_rate: float | None = None
) -> BranchOverview:
    """Raises NotFound. With ``sms_rate``, each system down here says when the last message of
    its outage's moves will leave."""
    view = branches.branch_view(session, branch_code, now, next_slots=False)
    branch = view.branch
    systems = _systems(session, branch, _systems_needed(branch), now, sms_rate)
    unplaced_where = (
        Ticket.branch_id == branch.id,
        Ticket.awaiting_slot_for.is_not(None),
        Ticket.status.in_(MOVABLE),
    )
    service_codes = {s.id: s.code for s in branch.services}
    unplaced = [
        UnplacedTicket(
            number=t.number,
            service_code=service_codes.get(t.service_id, "?"),
            phone=mask_phone(t.phone),
            since=t.issued_at,
        )
        for t in session.scalars(
            select(Ticket).where(*unplaced_where).order_by(Ticket.id).limit(LIST_AT_MOST)
        )
    ]
    unplaced_count = session.scalar(select(func.count(Ticket.id)).where(*unplaced_where)) or 0
    day_start = now - timedelta(hours=24)
    failed_where = (
        Ticket.branch_id == branch.id,
        Message.status.in_(NOT_DELIVERED),
        Message.created_at >= day_start,
    )
    failed_rows = session.execute(
        select(Message, Ticket)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(*failed_where)
        .order_by(Message.created_at.desc())
        .limit(LIST_AT_MOST)
    )
    failed = [
        FailedMessage(
            number=ticket.number,
            to=mask_phone(message.to) or "",
            event=message.event,
            status=message.status,
            error_code=message.error_code,
            at=message.created_at,
        )
        for message, ticket in failed_rows
    ]
    failed_count = (
        session.scalar(
            select(func.count(Message.id))
            .join(Ticket, Ticket.id == Message.ticket_id)
            .where(*failed_where)
        )
        or 0
    )
    return BranchOverview(
        served_by=_served_by(session, branch.id, branch.zone, now),
        view=view,
        systems=systems,
        unplaced=unplaced,
        unplaced_count=unplaced_count,
        failed_messages=failed,
        failed_count=failed_count,
    )


__all__ = ["BranchOverview", "DeclarePreview", "declare_preview", "mask_phone", "overview"]
