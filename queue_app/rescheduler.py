"""The rescheduler: move a set of tickets into free slots after a given time, and tell each one.

One module serves every cause: a back-end system down, announced maintenance, a capacity cut.

The rules:
- priority tickets choose first, then everyone in the order their tickets were issued;
- within a class, an earlier ticket never gets a later slot than a later ticket (each service's
  slots are filled from the earliest, and the fill only moves forward);
- capacity (which already keeps the walk-in share) is respected, closed days have no slots,
  and slots that announced maintenance or an outage of a needed system blocks are skipped
  (``slots.openings``);
- each move and its outbox message are written in one transaction per chunk, so a crash leaves
  every ticket either moved with its one message or untouched, and a rerun finishes the job;
- idempotent: a ticket already moved for the same ``cause`` is not moved again, and its message
  is unique per (ticket, cause);
- nobody is left silent: a ticket with no free time in the horizon is marked as awaiting one
  (``Ticket.awaiting_slot_for``) and, when the caller gives the wording, told so once; a later
  call with the same cause places it and texts its new time.

It works in bulk: one query for the tickets, one for what the slots already hold, then
executemany writes; the placing itself is a plain function (``plan``) without a database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlalchemy import Row, Table, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from queue_app import directory, outbox, slots
from queue_app.clock import Clock
from queue_app.directory import ServiceInfo
from queue_app.models import SlotBooking, Ticket, TicketEvent, TicketStatus
from queue_app.slots import Opening

# Tickets written per transaction: big enough for set-based writes, small enough that a crash
# or a lock held by a mass move costs seconds, not minutes.
CHUNK = 5000
# Statuses a ticket may be moved from.
MOVABLE = (TicketStatus.WAITING, TicketStatus.SCHEDULED)


@dataclass(frozen=True)
class Waiting:
    """A ticket as the planner sees it."""

    id: int
    service_id: int
    priority: bool
    issued_at: datetime
    old_start: datetime | None = None


@dataclass(frozen=True)
class Move:
    ticket_id: int
    service_id: int
    old_start: datetime | None
    start: datetime
    end: datetime


def calling_order(ticket: Waiting) -> tuple[bool, datetime, int]:
    return (not ticket.priority, ticket.issued_at, ticket.id)


def plan(
    tickets: Iterable[Waiting], openings: Mapping[int, Sequence[Opening]]
) -> tuple[list[Move], list[Waiting]]:
    """Place ``tickets`` into ``openings`` (per service, sorted by start): return the moves and
    the tickets left without a slot. ``openings`` is used up in place.

    A walk-in (a ticket that never held a slot) may also take a slot's ``walk_in_room`` (today's
    walk-in share, when the caller offers it), and takes it first, leaving the appointment
    places to those who had booked. So the order holds among walk-ins and among bookings; a
    walk-in may get an earlier time than a booking issued before it, from room only walk-ins
    may use."""
    by_service: dict[int, list[Waiting]] = defaultdict(list)
    for ticket in tickets:
        by_service[ticket.service_id].append(ticket)
    moves: list[Move] = []
    unplaced: list[Waiting] = []
    for service_id, line in by_service.items():
        line.sort(key=calling_order)
        free = openings.get(service_id, ())
        at = {True: 0, False: 0}  # where each kind's fill stands: walk-ins, bookings
        for ticket in line:
            walk_in = ticket.old_start is None
            i = at[walk_in]
            while i < len(free) and free[i].room <= 0 and not (walk_in and free[i].walk_in_room):
                i += 1
            at[walk_in] = i
            if i == len(free):
                unplaced.append(ticket)
                continue
            slot = free[i]
            if walk_in and slot.walk_in_room > 0:
                slot.walk_in_room -= 1
            else:
                slot.room -= 1
            moves.append(Move(ticket.id, service_id, ticket.old_start, slot.start, slot.end))
    return moves, unplaced


@dataclass
class Outcome:
    moved: int = 0
    unplaced: int = 0
    texted: int = 0
    told_no_slot: int = 0  # unplaced tickets texted that no time is free yet (once per cause)
    already_moved: int = 0
    chunks: int = 0
    moves: list[Move] = field(default_factory=list)


@dataclass(frozen=True)
class TicketRow:
    """What the writer needs of a moved ticket to word its message."""

    id: int
    token: str
    phone: str | None
    locale: str
    service_id: int
    channel: str = "sms"


# (ticket, its service, its new slot start) -> the SMS body, in the ticket's language.
MessageFor = Callable[[TicketRow, ServiceInfo, datetime], str]
# (ticket, its service) -> the SMS body saying no time is free yet, in the ticket's language.
NoSlotFor = Callable[[TicketRow, ServiceInfo], str]


@dataclass(frozen=True)
class _Run:
    """What every chunk of one ``reschedule`` call shares."""

    clock: Clock
    not_before: datetime
    cause: str
    message_for: MessageFor
    no_slot_for: NoSlotFor | None
    walk_ins_until: datetime | None
    hold_messages: Mapping[int, datetime]
    dry_run: bool


def reschedule(
    session: Session,
    clock: Clock,
    ticket_ids: Sequence[int],
    *,
    not_before: datetime,
    cause: str,
    message_for: MessageFor,
    no_slot_for: NoSlotFor | None = None,
    walk_ins_until: datetime | None = None,
    hold_messages: Mapping[int, datetime] | None = None,
    dry_run: bool = False,
) -> Outcome:
    """Move the given tickets into free slots from ``not_before`` and queue one SMS each (for
    those with a phone), chunk by chunk, each chunk one transaction. ``cause`` is a stable key
    ("outage:12", "capacity:3"): it makes the run idempotent. Tickets left without a slot are
    marked as awaiting one for ``cause``, and texted ``no_slot_for``'s wording once when it is
    given (a capacity cut leaves them their booked time, so it gives none).
    ``walk_ins_until``: walk-ins moved within their own day may also take the part of that
    day's walk-in share that its walk-ins, expected at the rate taken until then, would leave
    unused (an outage's line: they are that day's walk-ins; ``slots.openings``).
    ``hold_messages``: tickets whose message must not leave before a given time (already
    texted today about a move).
    With ``dry_run`` nothing is written: the outcome says how many would move."""
    run = _Run(
        clock,
        not_before,
        cause,
        message_for,
        no_slot_for,
        walk_ins_until,
        hold_messages or {},
        dry_run,
    )
    outcome = Outcome()
    remaining = _in_calling_order(session, ticket_ids)
    while remaining:
        chunk, remaining = remaining[:CHUNK], remaining[CHUNK:]
        _reschedule_chunk(session, run, chunk, outcome)
        outcome.chunks += 1
    return outcome


def _in_calling_order(session: Session, ticket_ids: Sequence[int]) -> list[int]:
    """The ids, service by service, each service's in calling order: chunks then go through
    each line from its front (so priority and issue order hold across chunks, not only within
    one), and a chunk touches few services (so their free slots are read few times)."""
    keyed: list[Row[int, int, bool, datetime]] = []
    ids = list(ticket_ids)
    for start in range(0, len(ids), CHUNK):  # IN lists of a bounded length
        keyed += session.execute(
            select(Ticket.id, Ticket.service_id, Ticket.priority, Ticket.issued_at).where(
                Ticket.id.in_(ids[start : start + CHUNK])
            )
        ).all()
    keyed.sort(key=lambda r: (r.service_id, not r.priority, r.issued_at, r.id))
    return [r.id for r in keyed]


def _reschedule_chunk(
    session: Session, run: _Run, ticket_ids: Sequence[int], outcome: Outcome
) -> None:
    now, not_before, dry_run = run.clock.now(), run.not_before, run.dry_run
    if not dry_run:
        # Before anything is read: the counts and states read below must hold until commit.
        slots.lock_for_bulk_booking(session)
    query = select(
        Ticket.id,
        Ticket.token,
        Ticket.service_id,
        Ticket.priority,
        Ticket.issued_at,
        Ticket.slot_start,
        Ticket.phone,
        Ticket.locale,
        Ticket.awaiting_slot_for,
        Ticket.channel,
    ).where(Ticket.id.in_(ticket_ids), Ticket.status.in_(MOVABLE))
    if not dry_run:
        query = query.with_for_update()  # a counter calling one of them waits, or goes first
    rows = session.execute(query).all()
    done_before = set(
        session.scalars(
            select(TicketEvent.ticket_id).where(
                TicketEvent.ticket_id.in_(ticket_ids),
                TicketEvent.event == "rescheduled",
                TicketEvent.note == run.cause,
            )
        )
    )
    outcome.already_moved += len(done_before)
    rows = [r for r in rows if r.id not in done_before]
    if not rows:
        session.commit()
        return
    info = directory.current(session)
    service_ids = sorted({r.service_id for r in rows})
    if not dry_run:
        slots.lock_slots(session, service_ids, not_before)
    needed: dict[int, int] = defaultdict(int)
    for r in rows:
        needed[r.service_id] += 1
    services = {sid: info.service_by_id(sid) for sid in service_ids}
    openings = {
        sid: slots.openings(
            session,
            services[sid],
            now,
            not_before,
            needed[sid],
            walk_ins_until=run.walk_ins_until,
        )
        for sid in service_ids
    }
    waiting = [Waiting(r.id, r.service_id, r.priority, r.issued_at, r.slot_start) for r in rows]
    moves, unplaced = plan(waiting, openings)
    outcome.unplaced += len(unplaced)
    if dry_run:
        outcome.moved += len(moves)
        outcome.moves += moves
        session.rollback()
        return
    by_id = {
        r.id: TicketRow(r.id, r.token, r.phone, r.locale, r.service_id, r.channel) for r in rows
    }
    _write(session, run, now, moves, by_id, services, outcome)
    already_told = {r.id for r in rows if r.awaiting_slot_for == run.cause}
    newly_unplaced = [by_id[t.id] for t in unplaced if t.id not in already_told]
    _mark_unplaced(session, run, now, newly_unplaced, services, outcome)
    session.commit()
    outcome.moved += len(moves)
    outcome.moves += moves


def _write(
    session: Session,
    run: _Run,
    now: datetime,
    moves: Sequence[Move],
    rows: Mapping[int, TicketRow],
    services: Mapping[int, ServiceInfo],
    outcome: Outcome,
) -> None:
    if not moves:
        return
    cause = run.cause
    tickets = cast(Table, Ticket.__table__)
    connection = session.connection()
    connection.execute(
        update(tickets)
        .where(
            tickets.c.id == bindparam("ticket_id"),
            # Written out: an IN list cannot be sent with executemany.
            or_(*(tickets.c.status == status for status in MOVABLE)),
        )
        .values(
            status=TicketStatus.SCHEDULED,
            slot_start=bindparam("start"),
            slot_end=bindparam("end"),
            queued_at=None,
            awaiting_slot_for=None,
            version=tickets.c.version + 1,
        ),
        [{"ticket_id": m.ticket_id, "start": m.start, "end": m.end} for m in moves],
    )
    connection.execute(
        cast(Table, TicketEvent.__table__).insert(),
        [
            {"ticket_id": m.ticket_id, "at": now, "event": "rescheduled", "note": cause}
            for m in moves
        ],
    )
    freed: dict[tuple[int, datetime], int] = defaultdict(int)
    taken: dict[tuple[int, datetime], int] = defaultdict(int)
    for m in moves:
        if m.old_start is not None:
            freed[(m.service_id, m.old_start)] += 1
        taken[(m.service_id, m.start)] += 1
    if freed:
        bookings = cast(Table, SlotBooking.__table__)
        connection.execute(
            update(bookings)
            .where(
                and_(
                    bookings.c.service_id == bindparam("sid"),
                    bookings.c.starts_at == bindparam("at"),
                )
            )
            .values(booked=bookings.c.booked - bindparam("n")),
            [{"sid": sid, "at": at, "n": n} for (sid, at), n in freed.items()],
        )
    slots.add_places(session, taken)
    messages = []
    for m in moves:
        row = rows[m.ticket_id]
        if row.phone is None:
            continue
        service = services[m.service_id]
        messages.append(
            outbox.row(
                now,
                ticket_id=m.ticket_id,
                event=f"rescheduled:{cause}",
                to=row.phone,
                channel=row.channel,
                locale=row.locale,
                body=run.message_for(row, service, m.start),
                urgency=m.start,
                not_before=run.hold_messages.get(m.ticket_id),
            )
        )
    outbox.enqueue_rows(session, messages)
    outcome.texted += len(messages)


def _mark_unplaced(
    session: Session,
    run: _Run,
    now: datetime,
    unplaced: Sequence[TicketRow],
    services: Mapping[int, ServiceInfo],
    outcome: Outcome,
) -> None:
    """Mark tickets no slot was found for as awaiting one, with an event, and tell each (once
    per cause: the message's event is unique per ticket)."""
    if not unplaced:
        return
    tickets = cast(Table, Ticket.__table__)
    connection = session.connection()
    connection.execute(
        update(tickets)
        .where(tickets.c.id == bindparam("ticket_id"))
        .values(awaiting_slot_for=run.cause, version=tickets.c.version + 1),
        [{"ticket_id": t.id} for t in unplaced],
    )
    connection.execute(
        cast(Table, TicketEvent.__table__).insert(),
        [
            {"ticket_id": t.id, "at": now, "event": "no_slot_yet", "note": run.cause}
            for t in unplaced
        ],
    )
    if run.no_slot_for is None:
        return
    messages = [
        outbox.row(
            now,
            ticket_id=t.id,
            event=f"no_slot:{run.cause}",
            to=t.phone,
            channel=t.channel,
            locale=t.locale,
            body=run.no_slot_for(t, services[t.service_id]),
        )
        for t in unplaced
        if t.phone is not None
    ]
    outbox.enqueue_rows(session, messages)
    outcome.told_no_slot += len(messages)
