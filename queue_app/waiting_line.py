"""The waiting line: calling order, a ticket's position and its estimated wait."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from queue_app import opening_hours, pace, service_state, wait_estimate
from queue_app.directory import BranchInfo
from queue_app.models import Service, Ticket, TicketStatus

# Priority tickets (elderly, disability, pregnancy) first, then by place in the line: the issue
# time of a walk-in, the slot start of a checked-in appointment (tickets.check_in).
CALLING_ORDER = (Ticket.priority.desc(), Ticket.queued_at, Ticket.id)


def seconds_per_citizen(avg_service_minutes: float, measured_seconds: float | None) -> float:
    """What one citizen takes at a counter: the measured pace when there is one (``pace``),
    the configured time until then. The bounds are applied here too, so a pace stored before
    they existed, or by hand, cannot run away either."""
    configured = avg_service_minutes * 60
    if measured_seconds is None:
        return configured
    return pace.bounded(measured_seconds, configured)


# --- the whole branch's line, for the simulation (wait_estimate) ----------------------------

# Every ticket that takes or will take the branch's open counters' time today, with its service's
# measured pace: the waiting line of every service, the tickets at the open counters, and the
# appointments still to check in today. One statement, built once.
_BRANCH_LINE = (
    select(
        Ticket.id,
        Ticket.service_id,
        Ticket.status,
        Ticket.priority,
        Ticket.queued_at,
        Ticket.slot_start,
        Ticket.called_at,
        Ticket.counter_id,
        Service.measured_service_seconds,
    )
    .join(Service, Service.id == Ticket.service_id)
    .where(
        or_(
            and_(
                Ticket.service_id.in_(bindparam("service_ids", expanding=True)),
                or_(
                    Ticket.status == TicketStatus.WAITING,
                    and_(
                        Ticket.status == TicketStatus.SCHEDULED,
                        Ticket.slot_start > bindparam("now"),
                        Ticket.slot_start < bindparam("day_ends"),
                    ),
                ),
            ),
            and_(
                Ticket.status == TicketStatus.CALLED,
                Ticket.counter_id.in_(bindparam("counter_ids", expanding=True)),
            ),
        )
    )
)


@dataclass(frozen=True)
class BranchLine:
    """A branch's line at one moment: what the simulation needs, and each service's count."""

    line: wait_estimate.Line
    waiting: dict[int, int]  # per service id

    def ahead_of(self, ticket: Ticket) -> int:
        """How many of the ticket's own service are called before it (its place, less one)."""
        key = (not ticket.priority, ticket.queued_at, ticket.id)
        return sum(
            1
            for t in self.line.tickets
            if t.service_id == ticket.service_id
            and not t.due
            and (not t.priority, t.queued_at, t.id) < key
        )


def _local_midnight_after(branch: BranchInfo, now: datetime) -> datetime:
    local_day = now.astimezone(branch.zone).date()
    return datetime.combine(local_day + timedelta(days=1), time(), branch.zone)


def branch_line(session: Session, branch: BranchInfo, now: datetime) -> BranchLine:
    """The branch's line at ``now``, read in one round trip."""
    open_counters = [c for c in branch.counters if c.is_open]
    rows = session.execute(
        _BRANCH_LINE,
        {
            "service_ids": [s.id for s in branch.services],
            "counter_ids": [c.id for c in open_counters],
            "now": now,
            "day_ends": _local_midnight_after(branch, now),
        },
    ).all()
    measured = {row.service_id: row.measured_service_seconds for row in rows}
    services = {}
    for service in branch.services:
        state = service_state.status_of(service, now).state
        services[service.id] = wait_estimate.Service(
            service.id,
            seconds_per_citizen(service.avg_service_minutes, measured.get(service.id)),
            paused=state == service_state.ServiceState.PAUSED,
            # A degraded service is done by hand, at its manual share of the usual pace.
            pace_share=(
                service.manual_fallback_percent / 100
                if state == service_state.ServiceState.DEGRADED
                else 1.0
            ),
        )
    serving = {row.counter_id: row for row in rows if row.status == TicketStatus.CALLED}
    counters = []
    for counter in open_counters:
        at_counter = serving.get(counter.id)
        counters.append(
            wait_estimate.Counter(
                counter.id,
                frozenset(s.id for s in counter.services),
                serving_service_id=at_counter.service_id if at_counter is not None else None,
                serving_for_seconds=(
                    (now - at_counter.called_at).total_seconds()
                    if at_counter is not None and at_counter.called_at is not None
                    else 0.0
                ),
            )
        )
    tickets = []
    waiting: dict[int, int] = {}
    for row in rows:
        if row.status == TicketStatus.WAITING and row.queued_at is not None:
            tickets.append(
                wait_estimate.Ticket(row.id, row.service_id, row.priority, row.queued_at)
            )
            waiting[row.service_id] = waiting.get(row.service_id, 0) + 1
        elif row.status == TicketStatus.SCHEDULED and row.slot_start is not None:
            tickets.append(
                wait_estimate.Ticket(row.id, row.service_id, row.priority, row.slot_start, due=True)
            )
    line = wait_estimate.Line(now, services, counters, tickets, starts=calls_start(branch, now))
    return BranchLine(line, waiting)


def calls_start(branch: BranchInfo, now: datetime) -> datetime | None:
    """When the counters start calling, if later than ``now``: the next opening, while the
    branch is closed before it (a ticket taken at 07:00 for an 08:00 opening waits that hour,
    then the line). After closing, the line is still called to the end of the day
    (``counters.call_next``), unless the next opening's early tickets are issued already: a
    ticket taken at 23:30 for a midnight opening waits for it. So a ticket left waiting
    overnight or over a weekend counts its wait from the next opening once its day is over,
    not as if the counters were calling on a closed day (found: on a Friday, Thursday's
    leftover tickets showed 0, 6 and 12 minutes)."""
    hours, zone = branch.hours, branch.zone
    if opening_hours.is_open(hours, now, zone):
        return None
    coming = opening_hours.next_opening(hours, now, zone)
    today = opening_hours.window_on(hours, now.astimezone(zone).date(), zone)
    if (
        today is not None
        and now >= today[1]
        and not service_state.in_early_window(branch.early_tickets_minutes, coming, now)
    ):
        return None
    return coming
