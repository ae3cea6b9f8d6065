"""Reading branches and their services, with the state and wait a citizen needs to choose, and
the earliest free appointment of each (what the kiosk offers when it cannot give a ticket)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from queue_app import appointments, directory, service_state, wait_estimate, waiting_line
from queue_app.directory import BranchInfo, CounterInfo, ServiceInfo
from queue_app.models import Ticket, TicketStatus


@dataclass(frozen=True)
class ServiceView:
    service: ServiceInfo
    status: service_state.ServiceStatus
    waiting: int
    eta_minutes: int | None
    open_counters: int
    # The start of the first slot with a free place, from now; None when none is free within the
    # booking horizon, or when it was not asked for.
    next_slot: datetime | None = None


@dataclass(frozen=True)
class CounterView:
    counter: CounterInfo
    serving: Ticket | None


@dataclass(frozen=True)
class BranchView:
    branch: BranchInfo
    services: list[ServiceView]
    counters: list[CounterView]


def get_branch(session: Session, code: str) -> BranchInfo:
    """Raises NotFound."""
    return directory.current(session).branch(code)


def _views(
    session: Session, branches: list[BranchInfo], now: datetime, *, next_slots: bool = True
) -> list[BranchView]:
    counter_ids = [c.id for b in branches for c in b.counters]
    serving: dict[int, Ticket] = {}
    if counter_ids:
        called = session.scalars(
            select(Ticket).where(
                Ticket.counter_id.in_(counter_ids), Ticket.status == TicketStatus.CALLED
            )
        )
        serving = {t.counter_id: t for t in called if t.counter_id is not None}
    views = []
    for branch in branches:
        # One round trip per branch: its counters are shared between its services' lines.
        line = waiting_line.branch_line(session, branch, now)
        services = []
        for service in branch.services:
            services.append(
                ServiceView(
                    service=service,
                    status=service_state.status_of(service, now),
                    waiting=line.waiting.get(service.id, 0),
                    # The wait of a walk-in ticket taken now (wait_estimate).
                    eta_minutes=wait_estimate.newcomer_minutes(line.line, service.id),
                    open_counters=branch.open_counters_serving(service),
                    # A few small queries per service; pages that show no booking skip them.
                    next_slot=(
                        appointments.earliest_slot(session, service, now) if next_slots else None
                    ),
                )
            )
        views.append(
            BranchView(
                branch=branch,
                services=services,
                counters=[CounterView(c, serving.get(c.id)) for c in branch.counters],
            )
        )
    return views


def counter_view(session: Session, branch_code: str, counter_code: str) -> CounterView:
    """Raises NotFound."""
    counter = get_branch(session, branch_code).counter(counter_code)
    serving = session.scalar(
        select(Ticket).where(Ticket.counter_id == counter.id, Ticket.status == TicketStatus.CALLED)
    )
    return CounterView(counter, serving)


def list_branches(session: Session, now: datetime) -> list[BranchView]:
    return _views(session, directory.current(session).branches, now)


def branch_view(
    session: Session, code: str, now: datetime, *, next_slots: bool = True
) -> BranchView:
    """Raises NotFound. ``next_slots=False`` leaves each service's ``next_slot`` None, for the
    pages that never show it (the board, the counter screen)."""
    return _views(session, [get_branch(session, code)], now, next_slots=next_slots)[0]
