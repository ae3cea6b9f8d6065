"""A manager's figures for a branch over a range of its local days: tickets per hour, waits,
service times, no-shows and what each outage did. docs/statistics.md defines each figure.

The instants that place a ticket in the range, and their meaning:

- it *arrived* (entered the waiting line) when a walk-in ticket was issued, or when a booked
  citizen checked in (the last check-in, for a ticket moved and checked in again); an
  appointment never checked in never arrived;
- it was *called* at ``Ticket.called_at`` (the last call; a recall keeps it);
- it *finished* at ``finished_at`` (done or no-show at a counter); an appointment missed (never
  checked in) has none and counts at its slot's start.

Hours of the day are the branch's local hours. Counts by service and status are added up in
the database; medians and percentiles need the values, which are read once, a column each.
"""

from __future__ import annotations

import math
import statistics as stats
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, func, or_, select
from sqlalchemy.orm import Session

from queue_app import directory, opening_hours
from queue_app.access import Principal
from queue_app.clock import Clock
from queue_app.directory import BranchInfo
from queue_app.errors import Forbidden, InvalidInput
from queue_app.models import (
    Backend,
    Message,
    Outage,
    Role,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketStatus,
)
from queue_app.pace import LONGEST_PLAUSIBLE_SERVICE_S

# A year and a day: a leap year's statistics fit, a range of years is asked for in pieces.
MAX_DAYS = 366
# Lower bounds of the waiting-time histogram's buckets, in minutes; the last is open-ended.
WAIT_BUCKETS_MINUTES = (0, 5, 10, 15, 20, 30, 45, 60, 90, 120)
# Rescheduler events for every move, and a move's cause for an outage's line ("outage:12") and
# its evening notices ("outage:12:evening:2026-11-25").
RESCHEDULED = "rescheduled"


# --- the figures ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """How many values, their median and 90th percentile, in minutes (None when no value)."""

    count: int
    median_minutes: float | None
    p90_minutes: float | None


@dataclass(frozen=True)
class HourCount:
    hour: int  # 0..23, the branch's local hour
    arrived: int
    served: int


@dataclass(frozen=True)
class WaitBucket:
    from_minutes: int
    to_minutes: int | None  # exclusive; None for the last, open-ended bucket
    count: int


@dataclass(frozen=True)
class ServiceFigures:
    code: str
    name_ar: str
    name_en: str
    service_time: Spread  # called -> done
    wait: Spread  # arrived -> called
    done: int
    no_shows: int

    @property
    def no_show_share(self) -> float | None:
        """No-shows among the tickets finished (done or no-show); None when none finished."""
        finished = self.done + self.no_shows
        return round(self.no_shows / finished, 4) if finished else None


@dataclass(frozen=True)
class OutageImpact:
    """One outage that overlaps the range: the whole system's record, and this branch's part."""

    id: int
    backend: str
    backend_name_ar: str
    backend_name_en: str
    started_at: datetime
    ended_at: datetime | None
    # The outage's own record, for every branch it touched (Outage.tickets_*).
    system_tickets_paused: int
    system_tickets_moved: int
    system_tickets_texted: int
    system_tickets_unplaced: int
    # At the branches asked about.
    tickets_moved: int  # moved by the outage's line moves and evening notices
    tickets_moved_from_line: int  # of those, in the waiting line when moved (on site, perhaps)
    tickets_unplaced: int  # still awaiting a new time
    messages: dict[str, int]  # its SMS by state: queued, sent, delivered, failed...
    # Lower bound of the hours citizens in the line did not spend waiting for a paused service:
    # for each ticket moved out of the waiting line, from its move to the end of the outage, or
    # to the branch's closing that day if sooner (or to now, while the outage lasts).
    citizen_hours_avoided: float


@dataclass(frozen=True)
class Statistics:
    branch: str | None  # None: every branch (an admin's view)
    timezone: str | None  # the branch's; None for every branch, each counted in its own
    first_day: date
    last_day: date
    arrived: int
    served: int
    hours: list[HourCount]
    wait: Spread
    wait_buckets: list[WaitBucket]
    services: list[ServiceFigures]
    outages: list[OutageImpact]


# --- percentiles ----------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile: the smallest value that at least ``share`` of the values do
    not exceed (a value that occurred, not an interpolation). ``values`` sorted."""
    if not values:
        return None
    rank = max(1, math.ceil(share * len(values)))
    return values[rank - 1]


def spread(seconds: Iterable[float]) -> Spread:
    values = sorted(seconds)
    if not values:
        return Spread(0, None, None)
    p90 = percentile(values, 0.9)
    assert p90 is not None
    return Spread(len(values), _minutes(stats.median(values)), _minutes(p90))


def _minutes(seconds: float) -> float:
    return round(seconds / 60, 1)


def wait_buckets(seconds: Iterable[float]) -> list[WaitBucket]:
    counts = [0] * len(WAIT_BUCKETS_MINUTES)
    for value in seconds:
        minutes = value / 60
        index = sum(1 for low in WAIT_BUCKETS_MINUTES if minutes >= low) - 1
        counts[max(index, 0)] += 1
    uppers: list[int | None] = [*WAIT_BUCKETS_MINUTES[1:], None]
    return [
        WaitBucket(low, high, n)
        for low, high, n in zip(WAIT_BUCKETS_MINUTES, uppers, counts, strict=True)
    ]


# --- the range ------------------------------------------------------------------------------


def check_range(first_day: date, last_day: date) -> None:
    """Raises InvalidInput when the range is reversed or longer than ``MAX_DAYS``."""
    if first_day > last_day:
        raise InvalidInput(
            f"the range starts ({first_day}) after it ends ({last_day})",
            **{"from": ["after to"]},
        )
    days = (last_day - first_day).days + 1
    if days > MAX_DAYS:
        raise InvalidInput(
            f"the range is {days} days; at most {MAX_DAYS} are counted at once",
            to=[f"at most {MAX_DAYS} days after from"],
        )


def _instants(branch: BranchInfo, first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """The branch's local days first..last as UTC instants [start, end)."""
    zone = branch.zone
    start = datetime.combine(first_day, time(0), tzinfo=zone)
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _within(
    column: SQLColumnExpression[Any], start: datetime, end: datetime
) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


# --- the whole ------------------------------------------------------------------------------


@dataclass
class _Tally:
    """Values gathered branch by branch, added up at the end."""

    arrived_by_hour: list[int] = field(default_factory=lambda: [0] * 24)
    served_by_hour: list[int] = field(default_factory=lambda: [0] * 24)
    waits: list[float] = field(default_factory=list)
    waits_by_service: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    service_times: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    finished: dict[tuple[int, TicketStatus], int] = field(default_factory=dict)


def for_branch(
    session: Session,
    clock: Clock,
    principal: Principal,
    branch_code: str | None,
    first_day: date,
    last_day: date,
) -> Statistics:
    """The figures of ``branch_code`` over its local days ``first_day``..``last_day``, or of
    every branch (``None``, an admin only), each in its own local days.

    Raises InvalidInput (range reversed or too long), NotFound (no such branch), Forbidden.
    """
    check_range(first_day, last_day)
    info = directory.current(session)
    if branch_code is None:
        if principal.role != Role.ADMIN:
            raise Forbidden("every branch's statistics are for an admin")
        branches = list(info.branches)
    else:
        branch = info.branch(branch_code)
        principal.require_branch(branch.id)
        branches = [branch]
    tally = _Tally()
    for branch in branches:
        _count_branch(session, branch, first_day, last_day, tally)
    services = [
        _service_figures(service, tally) for branch in branches for service in branch.services
    ]
    served = sum(tally.served_by_hour)
    return Statistics(
        branch=branch_code,
        timezone=branches[0].timezone if branch_code is not None else None,
        first_day=first_day,
        last_day=last_day,
        arrived=sum(tally.arrived_by_hour),
        served=served,
        hours=[
            HourCount(hour, tally.arrived_by_hour[hour], tally.served_by_hour[hour])
            for hour in range(24)
        ],
        wait=spread(tally.waits),
        wait_buckets=wait_buckets(tally.waits),
        services=services,
        outages=_outages(session, clock.now(), branches, first_day, last_day),
    )


def _service_figures(service: directory.ServiceInfo, tally: _Tally) -> ServiceFigures:
    return ServiceFigures(
        code=service.code,
        name_ar=service.name_ar,
        name_en=service.name_en,
        service_time=spread(tally.service_times.get(service.id, [])),
        wait=spread(tally.waits_by_service.get(service.id, [])),
        done=tally.finished.get((service.id, TicketStatus.DONE), 0),
        no_shows=tally.finished.get((service.id, TicketStatus.NO_SHOW), 0),
    )


def _count_branch(
    session: Session, branch: BranchInfo, first_day: date, last_day: date, tally: _Tally
) -> None:
    start, end = _instants(branch, first_day, last_day)
    zone = branch.zone
    # A missed appointment has no finish: it counts when its slot began.
    finished_at = func.coalesce(Ticket.finished_at, Ticket.slot_start)
    for service_id, status, count in session.execute(
        select(Ticket.service_id, Ticket.status, func.count())
        .where(
            Ticket.branch_id == branch.id,
            Ticket.status.in_((TicketStatus.DONE, TicketStatus.NO_SHOW)),
            _within(finished_at, start, end),
        )
        .group_by(Ticket.service_id, Ticket.status)
    ):
        tally.finished[(service_id, status)] = count
    checked_in = (
        select(func.max(TicketEvent.at))
        .where(TicketEvent.ticket_id == Ticket.id, TicketEvent.event == "checked_in")
        .correlate(Ticket)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            Ticket.service_id,
            Ticket.kind,
            Ticket.status,
            Ticket.issued_at,
            checked_in.label("checked_in_at"),
            Ticket.called_at,
            Ticket.finished_at,
        ).where(
            Ticket.branch_id == branch.id,
            or_(
                _within(Ticket.issued_at, start, end),
                _within(Ticket.called_at, start, end),
                _within(Ticket.slot_start, start, end),
            ),
        )
    )
    for service_id, kind, status, issued_at, checked_in_at, called_at, done_at in rows:
        arrived_at = checked_in_at or (issued_at if kind == TicketKind.WALK_IN else None)
        if arrived_at is not None and start <= arrived_at < end:
            tally.arrived_by_hour[arrived_at.astimezone(zone).hour] += 1
        if called_at is None or not start <= called_at < end:
            continue
        if arrived_at is not None and arrived_at <= called_at:
            wait = (called_at - arrived_at).total_seconds()
            tally.waits.append(wait)
            tally.waits_by_service[service_id].append(wait)
        if status == TicketStatus.DONE:
            tally.served_by_hour[called_at.astimezone(zone).hour] += 1
            if done_at is not None:
                seconds = (done_at - called_at).total_seconds()
                # A ticket left open over lunch says nothing of a transaction (pace.py).
                if 0 < seconds <= LONGEST_PLAUSIBLE_SERVICE_S:
                    tally.service_times[service_id].append(seconds)


# --- outages --------------------------------------------------------------------------------


def _outage_cause(outage_id: int) -> ColumnElement[bool]:
    """The rescheduler's causes of an outage's moves (line and evening notices)."""
    line = f"outage:{outage_id}"
    return or_(TicketEvent.note == line, TicketEvent.note.like(f"{line}:%"))


def _outages(
    session: Session,
    now: datetime,
    branches: Sequence[BranchInfo],
    first_day: date,
    last_day: date,
) -> list[OutageImpact]:
    """Outages of the systems the branches' services need, overlapping the range, oldest
    first."""
    backend_ids = {b.id for branch in branches for s in branch.services for b in s.backends}
    if not backend_ids:
        return []
    starts, ends = zip(*(_instants(b, first_day, last_day) for b in branches), strict=True)
    start, end = min(starts), max(ends)
    found = session.execute(
        select(Outage, Backend)
        .join(Backend, Backend.id == Outage.backend_id)
        .where(
            Outage.backend_id.in_(backend_ids),
            Outage.started_at < end,
            or_(Outage.ended_at.is_(None), Outage.ended_at >= start),
        )
        .order_by(Outage.started_at, Outage.id)
    ).all()
    by_id = {b.id: b for b in branches}
    return [_impact(session, now, by_id, outage, backend) for outage, backend in found]


def _impact(
    session: Session,
    now: datetime,
    branches: dict[int, BranchInfo],
    outage: Outage,
    backend: Backend,
) -> OutageImpact:
    here = Ticket.branch_id.in_(list(branches))
    moves = session.execute(
        select(Ticket.id, Ticket.branch_id, Ticket.kind, TicketEvent.at, TicketEvent.note)
        .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
        .where(here, TicketEvent.event == RESCHEDULED, _outage_cause(outage.id))
    ).all()
    moved_ids = {m.id for m in moves}
    # Who was in the line when its move came: an appointment checked in before it, or a walk-in
    # not moved earlier by something else (a moved walk-in waits for its new time at home).
    line_moves = [m for m in moves if m.note == f"outage:{outage.id}"]
    history: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    if line_moves:
        for ticket_id, at, event in session.execute(
            select(TicketEvent.ticket_id, TicketEvent.at, TicketEvent.event).where(
                TicketEvent.ticket_id.in_([m.id for m in line_moves]),
                TicketEvent.event.in_(("checked_in", RESCHEDULED)),
            )
        ):
            history[ticket_id].append((at, event))
    hours = 0.0
    from_line = 0
    for move in line_moves:
        if not _in_line_at(move.kind, move.at, history[move.id]):
            continue
        from_line += 1
        hours += _hours_avoided(branches[move.branch_id], outage, move.at, now)
    unplaced = session.scalar(
        select(func.count()).where(
            here,
            or_(
                Ticket.awaiting_slot_for == f"outage:{outage.id}",
                Ticket.awaiting_slot_for.like(f"outage:{outage.id}:%"),
            ),
            Ticket.status.in_((TicketStatus.WAITING, TicketStatus.SCHEDULED)),
        )
    )
    return OutageImpact(
        id=outage.id,
        backend=backend.code,
        backend_name_ar=backend.name_ar,
        backend_name_en=backend.name_en,
        started_at=outage.started_at,
        ended_at=outage.ended_at,
        system_tickets_paused=outage.tickets_paused,
        system_tickets_moved=outage.tickets_moved,
        system_tickets_texted=outage.tickets_texted,
        system_tickets_unplaced=outage.tickets_unplaced,
        tickets_moved=len(moved_ids),
        tickets_moved_from_line=from_line,
        tickets_unplaced=unplaced or 0,
        messages=_messages(session, here, outage.id),
        citizen_hours_avoided=round(hours, 1),
    )


def _in_line_at(kind: TicketKind, moved_at: datetime, history: list[tuple[datetime, str]]) -> bool:
    """Whether a ticket moved at ``moved_at`` was in the waiting line just before: the last of
    its check-ins and earlier moves before then was a check-in, or, with neither, it is a
    walk-in (in the line from its issue)."""
    before = sorted((at, event) for at, event in history if at < moved_at)
    if before:
        return before[-1][1] == "checked_in"
    return kind == TicketKind.WALK_IN


def _hours_avoided(branch: BranchInfo, outage: Outage, moved_at: datetime, now: datetime) -> float:
    """From the move to the first of: the outage's end (now, while it lasts) and the branch's
    closing on the day of the move (its local midnight on a day with no hours)."""
    local_day = moved_at.astimezone(branch.zone).date()
    window = opening_hours.window_on(branch.hours, local_day, branch.zone)
    closing = (
        window[1]
        if window is not None
        else datetime.combine(local_day + timedelta(days=1), time(0), tzinfo=branch.zone)
    )
    until = min(outage.ended_at or now, closing.astimezone(UTC))
    return max(0.0, (until - moved_at).total_seconds() / 3600)


def _messages(session: Session, here: ColumnElement[bool], outage_id: int) -> dict[str, int]:
    """The outage's messages to the branches' tickets by state (outages.messages_of, here)."""
    cause = f"outage:{outage_id}"
    rows = session.execute(
        select(Message.status, func.count())
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(
            here,
            or_(
                Message.event == f"rescheduled:{cause}",
                Message.event.like(f"rescheduled:{cause}:%"),
                Message.event == f"no_slot:{cause}",
                Message.event.like(f"no_slot:{cause}:%"),
            ),
        )
        .group_by(Message.status)
    ).all()
    return {status.value: n for status, n in rows}


__all__ = [
    "MAX_DAYS",
    "WAIT_BUCKETS_MINUTES",
    "HourCount",
    "OutageImpact",
    "ServiceFigures",
    "Spread",
    "Statistics",
    "WaitBucket",
    "check_range",
    "for_branch",
    "percentile",
    "spread",
    "wait_buckets",
]
