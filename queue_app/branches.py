"""Reading branches and their services, with the state and wait a citizen needs to choose."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.interfaces import LoaderOption

from queue_app import service_state, waiting_line
from queue_app.errors import NotFound
from queue_app.models import Branch, Counter, Service, Ticket, TicketStatus


@dataclass(frozen=True)
class ServiceView:
    service: Service
    status: service_state.ServiceStatus
    waiting: int
    eta_minutes: int | None
    open_counters: int


@dataclass(frozen=True)
class CounterView:
    counter: Counter
    serving: Ticket | None


@dataclass(frozen=True)
class BranchView:
    branch: Branch
    services: list[ServiceView]
    counters: list[CounterView]


def _with_everything() -> tuple[LoaderOption, ...]:
    """Everything a service's state and wait depend on, loaded up front in a few queries."""
    return (
        selectinload(Branch.services).selectinload(Service.backends),
        selectinload(Branch.counters).selectinload(Counter.services),
        selectinload(Branch.opening_hours),
        selectinload(Branch.holidays),
    )


def get_branch(session: Session, code: str) -> Branch:
    """Raises NotFound."""
    branch = session.scalar(select(Branch).where(Branch.code == code).options(*_with_everything()))
    if branch is None:
        raise NotFound(f"no branch {code!r}", branch=code)
    return branch


def get_service(branch: Branch, code: str) -> Service:
    """Raises NotFound."""
    for service in branch.services:
        if service.code == code:
            return service
    raise NotFound(f"no service {code!r} at {branch.code}", service=code)


def get_counter(branch: Branch, code: str) -> Counter:
    """Raises NotFound."""
    for counter in branch.counters:
        if counter.code == code:
            return counter
    raise NotFound(f"no counter {code!r} at {branch.code}", counter=code)


def _views(session: Session, branches: list[Branch], now: datetime) -> list[BranchView]:
    service_ids = [s.id for b in branches for s in b.services]
    counts = waiting_line.waiting_counts(session, service_ids)
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
        services = []
        for service in branch.services:
            counters = service_state.open_counters_serving(branch, service)
            waiting = counts.get(service.id, 0)
            services.append(
                ServiceView(
                    service=service,
                    status=service_state.status_of(service, now),
                    waiting=waiting,
                    eta_minutes=waiting_line.estimated_wait_minutes(
                        waiting, service.expected_service_seconds, counters
                    ),
                    open_counters=counters,
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


def counter_view(session: Session, counter: Counter) -> CounterView:
    serving = session.scalar(
        select(Ticket).where(Ticket.counter_id == counter.id, Ticket.status == TicketStatus.CALLED)
    )
    return CounterView(counter, serving)


def list_branches(session: Session, now: datetime) -> list[BranchView]:
    branches = list(
        session.scalars(select(Branch).order_by(Branch.code).options(*_with_everything()))
    )
    return _views(session, branches, now)


def branch_view(session: Session, code: str, now: datetime) -> BranchView:
    """Raises NotFound."""
    return _views(session, [get_branch(session, code)], now)[0]
