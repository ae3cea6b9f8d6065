"""A hand-built day of a branch for the statistics tests: tickets with known times, an outage
and its messages, written with the models (times in the branch's local time).

The day, ``day`` in the branch's zone (wait = arrived -> called, service = called -> done):

    A-1 walk-in   issued 09:00  called 09:10  done 09:16      wait 10  service 6
    A-2 walk-in   issued 09:05  called 09:25  done 09:33      wait 20  service 8
    A-3 walk-in   issued 09:40  called 10:10  done 10:14      wait 30  service 4
    A-4 walk-in   issued 10:20  called 10:22  no-show 10:27   wait 2
    A-5 booked    checked in 10:50  called 11:05  done 11:15  wait 15  service 10
    A-6 booked    slot 12:00, never checked in: missed (a no-show at its slot)
    A-7 walk-in   issued 00:30, cancelled
    B-1 walk-in   issued 09:30  called 10:30  done 10:45      wait 60  service 15
    B-2 walk-in   issued 11:00, waiting; moved by the outage at 12:20 (a text delivered)
    B-3 booked    slot 14:00, not checked in; moved by the outage at 12:20 (a text failed)
    next day A    issued 09:00  called 09:20  done 09:25      (outside a one-day range)

The outage of ``backend``: 12:00 to 13:30; its record says 4 paused, 3 moved, 3 texted.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

from sqlalchemy import select

from queue_app.models import (
    Backend,
    Branch,
    DetectedBy,
    Message,
    MessageStatus,
    Outage,
    Service,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketStatus,
)
from queue_app.web.extensions import db

_numbers = count(1)


def service(branch: str, code: str) -> Service:
    return db.session.scalars(
        select(Service).join(Branch).where(Branch.code == branch, Service.code == code)
    ).one()


def make_ticket(
    of: Service,
    *,
    issued: datetime,
    status: TicketStatus,
    kind: TicketKind = TicketKind.WALK_IN,
    called: datetime | None = None,
    finished: datetime | None = None,
    slot: datetime | None = None,
    events: tuple[tuple[datetime, str, str | None], ...] = (),
    phone: str | None = None,
) -> Ticket:
    zone = of.branch.zone
    ticket = Ticket(
        token=f"statistics-{next(_numbers)}",
        branch_id=of.branch_id,
        service_id=of.id,
        letter=of.letter,
        local_day=(slot if slot and kind == TicketKind.APPOINTMENT else issued)
        .astimezone(zone)
        .date(),
        sequence=next(_numbers),
        kind=kind,
        status=status,
        phone=phone,
        issued_at=issued,
        called_at=called,
        finished_at=finished,
        slot_start=slot,
        slot_end=slot + timedelta(minutes=30) if slot else None,
    )
    ticket.events.append(
        TicketEvent(at=issued, event="issued" if kind == TicketKind.WALK_IN else "booked")
    )
    for at, event, note in events:
        ticket.events.append(TicketEvent(at=at, event=event, note=note))
    db.session.add(ticket)
    db.session.flush()
    return ticket


def _message(ticket: Ticket, event: str, status: MessageStatus, at: datetime) -> None:
    db.session.add(
        Message(
            ticket_id=ticket.id,
            event=event,
            to=ticket.phone or "+201001234567",
            locale="ar",
            body="…",
            status=status,
            urgency=at,
            created_at=at,
            next_attempt_at=at,
        )
    )


def build_day(branch: str, day: date, a_code: str, b_code: str, backend: str) -> Outage:
    """The day above at ``branch``: A is service ``a_code``, B is ``b_code`` (which needs
    ``backend``). Returns the outage."""
    a, b = service(branch, a_code), service(branch, b_code)
    zone = ZoneInfo(a.branch.timezone)
    next_day = day + timedelta(days=1)

    def at(hour: int, minute: int = 0, on: date = day) -> datetime:
        return datetime(on.year, on.month, on.day, hour, minute, tzinfo=zone)

    done, no_show = TicketStatus.DONE, TicketStatus.NO_SHOW

    def walk_in(
        of: Service,
        issued: datetime,
        called: datetime,
        finished: datetime,
        status: TicketStatus = done,
    ) -> None:
        make_ticket(of, issued=issued, called=called, finished=finished, status=status)

    walk_in(a, at(9), at(9, 10), at(9, 16))
    walk_in(a, at(9, 5), at(9, 25), at(9, 33))
    walk_in(a, at(9, 40), at(10, 10), at(10, 14))
    walk_in(a, at(10, 20), at(10, 22), at(10, 27), no_show)
    make_ticket(
        a,
        kind=TicketKind.APPOINTMENT,
        issued=at(9) - timedelta(days=3),
        slot=at(11),
        events=((at(10, 50), "checked_in", None),),
        called=at(11, 5),
        finished=at(11, 15),
        status=done,
    )
    make_ticket(
        a,
        kind=TicketKind.APPOINTMENT,
        issued=at(9) - timedelta(days=3),
        slot=at(12),
        status=no_show,
    )
    make_ticket(a, issued=at(0, 30), status=TicketStatus.CANCELLED)
    walk_in(b, at(9, 30), at(10, 30), at(10, 45))
    walk_in(a, at(9, on=next_day), at(9, 20, on=next_day), at(9, 25, on=next_day))

    system = db.session.scalars(select(Backend).where(Backend.code == backend)).one()
    outage = Outage(
        backend_id=system.id,
        started_at=at(12),
        ended_at=at(13, 30),
        detected_by=DetectedBy.MANAGER,
        tickets_paused=4,
        tickets_moved=3,
        tickets_texted=3,
        tickets_unplaced=0,
    )
    db.session.add(outage)
    db.session.flush()
    cause = f"outage:{outage.id}"
    moved_at = at(12, 20)
    in_line = make_ticket(
        b,
        issued=at(11),
        status=TicketStatus.SCHEDULED,
        slot=at(9, on=next_day),
        events=((moved_at, "rescheduled", cause),),
        phone="+201001234567",
    )
    booked = make_ticket(
        b,
        kind=TicketKind.APPOINTMENT,
        issued=at(8) - timedelta(days=1),
        slot=at(10, on=next_day),
        status=TicketStatus.SCHEDULED,
        events=((moved_at, "rescheduled", cause),),
        phone="+201001234568",
    )
    _message(in_line, f"rescheduled:{cause}", MessageStatus.DELIVERED, moved_at)
    _message(booked, f"rescheduled:{cause}", MessageStatus.FAILED, moved_at)
    db.session.commit()
    return outage
