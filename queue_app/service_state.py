"""Whether a service takes tickets right now: open, paused, degraded or closed, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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

    @property
    def down_since(self) -> datetime | None:
        times = [b.state_since for b in self.down_backends if b.state_since is not None]
        return min(times) if times else None

    @property
    def takes_walk_ins(self) -> bool:
        return self.state in (ServiceState.OPEN, ServiceState.DEGRADED)


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
        return ServiceStatus(
            ServiceState.CLOSED,
            closed_reason=reason,
            next_opening=opening_hours.next_opening(hours, now, zone),
        )
    if branch.open_counters_serving(service) == 0:
        return ServiceStatus(ServiceState.CLOSED, closed_reason=ClosedReason.NO_COUNTER)
    return ServiceStatus(ServiceState.OPEN)
