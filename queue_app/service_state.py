"""Whether a service takes tickets right now: open, paused, degraded or closed, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from queue_app import opening_hours
from queue_app.directory import BackendInfo, ServiceInfo
from queue_app.models import BackendState


class ServiceState(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    DEGRADED = "degraded"
    CLOSED = "closed"


class ClosedReason(StrEnum):
    OUTSIDE_HOURS = "outside_hours"
    HOLIDAY = "holiday"
    NO_COUNTER = "no_counter_open"


@dataclass(frozen=True)
class ServiceStatus:
    state: ServiceState
    down_backends: tuple[BackendInfo, ...] = ()
    closed_reason: ClosedReason | None = None
    next_opening: datetime | None = None
    # Closed until ``next_opening``, but inside the branch's early window
    # (``early_tickets_minutes``): walk-in tickets are issued already, for the coming opening.
    early_tickets: bool = False

    @property
    def down_since(self) -> datetime | None:
        times = [b.state_since for b in self.down_backends if b.state_since is not None]
        return min(times) if times else None

    @property
    def takes_walk_ins(self) -> bool:
        return self.state in (ServiceState.OPEN, ServiceState.DEGRADED) or self.early_tickets


def in_early_window(early_tickets_minutes: int, opening: datetime | None, now: datetime) -> bool:
    """Whether ``now`` lies in the minutes before ``opening`` when walk-in tickets are issued
    already (a branch's ``early_tickets_minutes``; 0 is never). With at most three hours, only
    the coming opening can be that close: a holiday has none today, so it stays closed."""
    if early_tickets_minutes <= 0 or opening is None:
        return False
    return opening - timedelta(minutes=early_tickets_minutes) <= now < opening


def status_of(service: ServiceInfo, now: datetime) -> ServiceStatus:
    """The service's state at ``now``. An outage outranks closing hours: a citizen who comes
    tomorrow needs to know the system is down more than that the office is shut tonight."""
    branch = service.branch
    down = tuple(b for b in service.backends if b.state == BackendState.DOWN)
    if down:
        if service.manual_fallback_percent > 0:
            return ServiceStatus(ServiceState.DEGRADED, down_backends=down)
        return ServiceStatus(ServiceState.PAUSED, down_backends=down)
    hours = branch.hours
    zone = branch.zone
    if not opening_hours.is_open(hours, now, zone):
        local_day = now.astimezone(zone).date()
        reason = ClosedReason.HOLIDAY if local_day in hours.holidays else ClosedReason.OUTSIDE_HOURS
        opening = opening_hours.next_opening(hours, now, zone)
        return ServiceStatus(
            ServiceState.CLOSED,
            closed_reason=reason,
            next_opening=opening,
            early_tickets=reason == ClosedReason.OUTSIDE_HOURS
            and in_early_window(branch.early_tickets_minutes, opening, now),
        )
    if branch.open_counters_serving(service) == 0:
        return ServiceStatus(ServiceState.CLOSED, closed_reason=ClosedReason.NO_COUNTER)
    return ServiceStatus(ServiceState.OPEN)
