"""What an outage in progress calls for, branch by branch: the timers that move its line.

An outage covers every branch, or one (``Outage.branch_id``): its moves, its retries and its
recovery offers are made at the branches it covers only, and no offer is made at a branch that
another outage of the system still pauses.

``run_timers`` (the worker runs it every few seconds) reschedules, per branch:

- the waiting line and the appointments inside the outage, after the branch's
  ``reschedule_after_minutes`` of outage, or at once when the expected end lies past today's
  closing time; slots start after the expected end, or on the next opening day when no end is
  given. A service with manual fallback (``degraded``) keeps the part of its line that its
  reduced rate can serve before closing; only the rest is moved;
- when no end is known and the branch's ``evening_notice`` time has come, the next opening
  day's appointments, so that people are told before they leave home (a line moved after that
  time goes past the next opening day at once, so it is told once).

Each run is recorded (``OutageMove``) and its moves carry the outage as their cause, so a
restart never runs it twice and nobody is texted twice for it.

Nobody is left silent: a ticket the rescheduler finds no free time for is told so once (its
ticket stays valid and its new time will be texted), and every ``RETRY_MINUTES`` while the
outage lasts the timers look again for room for those tickets (``_place_awaiting``).
``Outage.tickets_unplaced`` counts the tickets still awaiting a time.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from queue_app import directory, opening_hours, recovery, rescheduler, texting, waiting_line
from queue_app.clock import Clock
from queue_app.db import Bilingual
from queue_app.directory import BackendInfo, BranchInfo, ServiceInfo
from queue_app.models import (
    BackendState,
    Message,
    Outage,
    OutageMove,
    Service,
    Ticket,
    TicketStatus,
)


@dataclass
class TimerReport:
    branches_moved: int = 0
    moved: int = 0
    texted: int = 0
    unplaced: int = 0
    told_no_slot: int = 0
    placed_later: int = 0  # tickets found no time before, placed in a later round
    offered: int = 0  # citizens moved to a later day offered today's time after recovery


# How often the timers look again for room for tickets an outage found no time for.
RETRY_MINUTES = 5
# How long after its end an outage's citizens may still be offered the day's free time: a
# system back in the night is offered when the doors open, a day-old outage makes none.
RECENTLY = timedelta(hours=12)
# Recovery offers go out in waves this far apart (``recovery.ANSWER_WITHIN``); the outage's
# record for a branch says when no later wave can offer anything.
OFFER_WAVES_EVERY = timedelta(minutes=RETRY_MINUTES)
OFFERS_DONE = "offers:done"


@dataclass(frozen=True)
class BranchRound:
    """One outage at one branch in one round of the timers: what its moves need."""

    outage: Outage
    backend: BackendInfo
    branch: BranchInfo
    services: Sequence[ServiceInfo]  # the branch's services that need the system
    now: datetime
    # The rescheduler reads it per chunk: each chunk is a transaction of its own.
    clock: Clock
    report: TimerReport

    def done(self, session: Session, kind: str) -> bool:
        return session.get(OutageMove, (self.outage.id, self.branch.id, kind)) is not None

    def system(self, locale: str) -> str:
        return self.backend.name(locale)


def run_timers(session: Session, clock: Clock) -> TimerReport:
    """Everything the outages in progress call for now (the worker runs this every few seconds).
    Safe to run again and from several workers at once: each branch's move is recorded, and the
    rescheduler's cause makes a repeat move nobody. Raises texting.NoPublicUrl when a move has
    someone to text and ``session`` knows no public URL."""
    now = clock.now()
    report = TimerReport()
    outages = list(session.scalars(select(Outage).where(Outage.ended_at.is_(None))))
    info = directory.current(session)
    _offer_recovered_time(session, clock, info, report)
    for outage in outages:
        for backend, branch, services in _branches_needing(info, outage):
            here = BranchRound(outage, backend, branch, services, now, clock, report)
            changed = _move_line(session, here)
            changed |= _evening_notice(session, here)
            # A move this round has just looked for room: look again next round.
            changed = changed or _place_awaiting(session, here)
            if changed:
                _count_awaiting(session, outage)
    return report


def _branches_needing(
    info: directory.Directory, outage: Outage
) -> Iterator[tuple[BackendInfo, BranchInfo, list[ServiceInfo]]]:
    """Each branch the outage covers (every branch, or its own) with services that need the
    outage's system, and those services."""
    backend = next((b for b in info.backends if b.id == outage.backend_id), None)
    if backend is None:
        return
    for branch in info.branches:
        if outage.branch_id is not None and branch.id != outage.branch_id:
            continue
        services = [s for s in branch.services if any(b.id == backend.id for b in s.backends)]
        if services:
            yield backend, branch, services


def _still_paused(services: Sequence[ServiceInfo], backend_id: int) -> bool:
    """Another outage of the system still covers the branch of ``services`` (the directory's
    copy of the system, as the branch sees it, is down)."""
    return any(
        b.id == backend_id and b.state == BackendState.DOWN for s in services for b in s.backends
    )


def awaiting_slot(outage_id: int) -> ColumnElement[bool]:
    """The tickets the outage's moves (its line's, its evening notices') found no time for."""
    line = f"outage:{outage_id}"
    return or_(Ticket.awaiting_slot_for == line, Ticket.awaiting_slot_for.like(f"{line}:%"))


def tell_system_back(
    session: Session,
    now: datetime,
    outage: Outage,
    system: Bilingual,
    *,
    still_down: Sequence[Outage] = (),
) -> int:
    """In the caller's transaction, as the outage ends: clear the mark of the tickets it found
    no time for, and tell those still waiting or booked that their ticket holds; returns how
    many were texted. A ticket whose branch another outage of ``still_down`` still covers is
    handed to that outage instead, untold: its service is still paused, so that outage goes on
    looking for room for it and tells it when it ends."""
    awaiting = session.scalars(
        select(Ticket)
        .where(awaiting_slot(outage.id))
        # The rescheduler marked them in bulk: what the database holds, not a stale copy.
        .execution_options(populate_existing=True)
    ).all()
    texted = 0
    for ticket in awaiting:
        heir = next((o for o in still_down if o.branch_id in (None, ticket.branch_id)), None)
        if heir is not None:
            ticket.awaiting_slot_for = f"outage:{heir.id}"
            continue
        ticket.awaiting_slot_for = None
        if ticket.status in rescheduler.MOVABLE:
            texted += texting.system_back(session, now, ticket, f"outage:{outage.id}", system.name)
    return texted


def _offer_recovered_time(
    session: Session, clock: Clock, info: directory.Directory, report: TimerReport
) -> None:
    """Outages that ended in the last hours: offer the citizens they moved to a later day
    today's free counter time (``recovery``), a wave every ``OFFER_WAVES_EVERY`` per outage and
    branch, until a wave says no later one can offer anything."""
    now = clock.now()
    ended = session.scalars(
        select(Outage).where(Outage.ended_at.is_not(None), Outage.ended_at >= now - RECENTLY)
    ).all()
    for outage in ended:
        for backend, branch, services in _branches_needing(info, outage):
            if session.get(OutageMove, (outage.id, branch.id, OFFERS_DONE)) is not None:
                continue
            if _still_paused(services, backend.id):
                continue  # another outage still pauses them here: offered once it ends too
            waves = session.get(OutageMove, (outage.id, branch.id, "offers"))
            if waves is not None and now - waves.at < OFFER_WAVES_EVERY:
                continue
            offers = recovery.make_offers(session, clock, outage, services, backend)
            if not offers.decided:
                continue  # back before opening: offered once the doors open
            report.offered += offers.offered
            outage.tickets_texted += offers.texted
            if waves is None:
                waves = OutageMove(
                    outage_id=outage.id, branch_id=branch.id, kind="offers", at=now, moved=0
                )
                session.add(waves)
            waves.at = now
            waves.moved += offers.offered
            if offers.finished:
                session.add(
                    OutageMove(
                        outage_id=outage.id, branch_id=branch.id, kind=OFFERS_DONE, at=now, moved=0
                    )
                )
            session.commit()


def _count_awaiting(session: Session, outage: Outage) -> None:
    """``Outage.tickets_unplaced``: its tickets still awaiting a time, at every branch."""
    outage.tickets_unplaced = (
        session.scalar(
            select(func.count()).where(
                awaiting_slot(outage.id), Ticket.status.in_(rescheduler.MOVABLE)
            )
        )
        or 0
    )
    session.commit()


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


def _is_evening(branch: BranchInfo, now: datetime) -> bool:
    """The branch's evening notice time has come today."""
    return now.astimezone(branch.zone).time() >= branch.evening_notice


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


def _appointments(
    session: Session, service: ServiceInfo, since: datetime | None, until: datetime
) -> list[int]:
    """The service's appointments starting before ``until`` (and from ``since``, if given)."""
    query = select(Ticket.id).where(
        Ticket.service_id == service.id,
        Ticket.status == TicketStatus.SCHEDULED,
        Ticket.slot_start < until,
    )
    if since is not None:
        query = query.where(Ticket.slot_start >= since)
    return list(session.scalars(query))


def _line_until(here: BranchRound) -> datetime:
    """Where the line's new times begin: after the outage; and the appointments whose slot
    falls inside it: up to its expected end, or (no end known) the end of today. With no end
    known and the evening notice's time already come, past the next opening day too, as the
    evening notice moves that day: else the line would be texted "tomorrow" and then, in the
    same round, "the day after"."""
    outage, branch, now = here.outage, here.branch, here.now
    until = outage.expected_end or _next_opening_day_start(branch, now)
    if outage.expected_end is None and _is_evening(branch, now):
        until = _next_opening_day_start(branch, until)
    return max(until, now)


def _move_line(session: Session, here: BranchRound) -> bool:
    outage, branch, now = here.outage, here.branch, here.now
    if here.done(session, "line"):
        return False
    closing = _closing_today(branch, now)
    long_enough = now - outage.started_at >= timedelta(minutes=branch.reschedule_after_minutes)
    ends_after_closing = (
        outage.expected_end is not None and closing is not None and outage.expected_end >= closing
    )
    if not (long_enough or ends_after_closing):
        return False
    until = _line_until(here)
    ids_by_service = {
        service: _line_to_move(session, service, now, closing)
        + _appointments(session, service, None, until)
        for service in here.services
    }
    _move_and_record(session, here, ids_by_service, until, kind="line")
    here.report.branches_moved += 1
    return True


def _evening_notice(session: Session, here: BranchRound) -> bool:
    """No end known and it is evening: move the next opening day's appointments now, so that
    nobody leaves home for nothing tomorrow. Once per branch and day."""
    outage, branch, now = here.outage, here.branch, here.now
    if outage.expected_end is not None:
        return False
    if not _is_evening(branch, now):
        return False
    next_day = _next_opening_day_start(branch, now)
    kind = f"evening:{next_day.astimezone(branch.zone).date().isoformat()}"
    if here.done(session, kind):
        return False
    day_after = _next_opening_day_start(branch, next_day)
    ids_by_service = {
        service: _appointments(session, service, next_day, day_after) for service in here.services
    }
    # A new cause per day: a ticket moved again tomorrow evening is told again, but never twice
    # in one day. One the line's move sent to that day this morning was told today already:
    # its new time goes out early tomorrow, still before anyone leaves home.
    hold = _told_today(session, here, [i for ids in ids_by_service.values() for i in ids])
    _move_and_record(session, here, ids_by_service, day_after, kind=kind, hold=hold)
    return True


# The morning hour before which a held message does not leave: after the night, before the
# office opens.
HELD_UNTIL = time(6, 0)


def _told_today(session: Session, here: BranchRound, ids: list[int]) -> dict[int, datetime]:
    """Of ``ids``, those texted a new time today (local day), each with when its next message
    may leave: tomorrow at ``HELD_UNTIL``, local time."""
    zone = here.branch.zone
    today = here.now.astimezone(zone).date()
    midnight = datetime.combine(today, time.min, tzinfo=zone)
    tomorrow_morning = datetime.combine(today + timedelta(days=1), HELD_UNTIL, tzinfo=zone)
    told: set[int] = set()
    for start in range(0, len(ids), rescheduler.CHUNK):
        told.update(
            session.scalars(
                select(Message.ticket_id).where(
                    Message.ticket_id.in_(ids[start : start + rescheduler.CHUNK]),
                    Message.event.like("rescheduled:%"),
                    Message.created_at >= midnight,
                )
            )
        )
    return dict.fromkeys(told, tomorrow_morning)


def _place_awaiting(session: Session, here: BranchRound) -> bool:
    """Look again for room for the tickets this outage found no time for, at most every
    ``RETRY_MINUTES`` per branch (each look is recorded, so several workers look once). Those
    placed get their new time by text; the rest were told already and keep waiting."""
    rows = session.execute(
        select(Ticket.id, Ticket.awaiting_slot_for).where(
            Ticket.service_id.in_([s.id for s in here.services]),
            Ticket.status.in_(rescheduler.MOVABLE),
            awaiting_slot(here.outage.id),
        )
    ).all()
    if not rows:
        return False
    minute = here.now.replace(second=0, microsecond=0)
    kind = f"room:{(minute - timedelta(minutes=minute.minute % RETRY_MINUTES)).isoformat()}"
    if here.done(session, kind):
        return False
    ids_by_cause: dict[str, list[int]] = defaultdict(list)
    for ticket_id, cause in rows:
        if cause is not None:  # always: the query asked for marked tickets
            ids_by_cause[cause].append(ticket_id)
    not_before = _line_until(here)
    placed = 0
    for cause, ids in ids_by_cause.items():
        outcome = _reschedule(session, here, ids, not_before, cause)
        placed += outcome.moved
        here.report.placed_later += outcome.moved
    session.add(
        OutageMove(
            outage_id=here.outage.id, branch_id=here.branch.id, kind=kind, at=here.now, moved=placed
        )
    )
    session.commit()
    return True


def _reschedule(
    session: Session,
    here: BranchRound,
    ids: list[int],
    not_before: datetime,
    cause: str,
    hold: dict[int, datetime] | None = None,
) -> rescheduler.Outcome:
    """Move ``ids`` for ``cause`` and add the outcome to the outage and the report."""
    outcome = rescheduler.reschedule(
        session,
        here.clock,
        ids,
        not_before=not_before,
        cause=cause,
        message_for=texting.moved(session, "outage", system=here.system),
        no_slot_for=texting.no_slot_yet(session, "outage", system=here.system),
        # The line's walk-ins are today's: the part of today's walk-in share that walk-ins,
        # at the rate taken until the outage, would leave unused is theirs.
        walk_ins_until=here.outage.started_at,
        hold_messages=hold,
    )
    report, outage = here.report, here.outage
    report.moved += outcome.moved
    report.texted += outcome.texted
    report.unplaced += outcome.unplaced
    report.told_no_slot += outcome.told_no_slot
    outage.tickets_moved += outcome.moved
    outage.tickets_texted += outcome.texted + outcome.told_no_slot
    return outcome


def _move_and_record(
    session: Session,
    here: BranchRound,
    ids_by_service: dict[ServiceInfo, list[int]],
    not_before: datetime,
    *,
    kind: str,
    hold: dict[int, datetime] | None = None,
) -> None:
    """Reschedule each service's tickets after ``not_before``, count it all on the outage and
    the report, and record that this branch's move of this ``kind`` is done. The line's cause
    is the outage; an evening notice's is the outage and its day."""
    outage = here.outage
    cause = f"outage:{outage.id}" if kind == "line" else f"outage:{outage.id}:{kind}"
    moved = 0
    for ids in ids_by_service.values():
        if ids:
            moved += _reschedule(session, here, ids, not_before, cause, hold).moved
    session.add(
        OutageMove(
            outage_id=outage.id, branch_id=here.branch.id, kind=kind, at=here.now, moved=moved
        )
    )
    session.commit()


__all__ = ["BranchRound", "TimerReport", "awaiting_slot", "run_timers", "tell_system_back"]
