"""Reminders of a booked appointment: the evening before and the morning of, at the branch's own
times (``reminders`` in the config file: ``reminder_evening``, ``reminder_morning``).

The worker runs ``send_reminders`` every few seconds. From the evening time until local
midnight it reminds the next day's appointments; from the morning time until each appointment
begins, the day's. A worker that was down at the minute catches up later in that window, never
after it: an evening reminder after midnight or a morning one after the start would mislead.

Who is reminded: a booked (``scheduled``) appointment with a phone, so not one checked in,
cancelled or missed. Not reminded:

- a citizen told of a move that local day (the rescheduler's new time, their own "another
  time", a time today taken): the new time came today already, a reminder would repeat it;
- a booking made after the reminder's time that day: its confirmation has just gone out.

Each reminder goes once per appointment day: the ``reminder_evening`` / ``reminder_morning``
event in the ticket's history (its note the day), and the outbox's unique (ticket, event)
should two workers race. A moved appointment is reminded again for its new day. A number at its
day's cap gets the reminder stored ``suppressed``, never sent (``daily_cap``), and nothing fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import String, insert, literal, select
from sqlalchemy.orm import Session

from queue_app import directory, line_revision, outbox, texting
from queue_app.clock import Clock
from queue_app.db import UTCDateTime, commit
from queue_app.directory import BranchInfo
from queue_app.models import Message, Ticket, TicketEvent, TicketKind, TicketStatus
from queue_app.rescheduler import TicketRow

EVENING, MORNING = "evening", "morning"
# A ticket's history events that mean its citizen was given a new time (the ticket page's
# TIME_SET, without "booked": a booking is told apart by its time, ``_Due.since``).
MOVE_EVENTS = ("rescheduled", "moved", "offer_accepted")
# Tickets reminded per transaction: a branch's evening of thousands commits as it goes.
CHUNK = 500


def event_of(which: str) -> str:
    """The ticket's history event of a reminder: ``reminder_evening``, ``reminder_morning``."""
    return f"reminder_{which}"


@dataclass(frozen=True)
class _Due:
    """One reminder a branch sends now: which, for the appointments of which local day."""

    which: str
    day: date  # the appointments' local day
    since: datetime  # when the reminder's time came today (UTC)
    today_began: datetime  # the last local midnight (UTC): "that day" of a move


def send_reminders(session: Session, clock: Clock) -> int:
    """Remind every appointment due a reminder now, at every branch; commit as it goes.
    Returns how many reminders were written (those over a number's cap included)."""
    now = clock.now()
    written = 0
    for branch in directory.current(session).branches:
        for due in _due(branch, now):
            written += _remind(session, now, branch, due)
    commit(session)
    return written


def _due(branch: BranchInfo, now: datetime) -> Iterator[_Due]:
    zone = branch.zone
    local = now.astimezone(zone)
    today = local.date()
    began = datetime.combine(today, time.min, tzinfo=zone).astimezone(UTC)
    for which, at, day in (
        (EVENING, branch.reminder_evening, today + timedelta(days=1)),
        (MORNING, branch.reminder_morning, today),
    ):
        if at is not None and local.time() >= at:
            since = datetime.combine(today, at, tzinfo=zone).astimezone(UTC)
            yield _Due(which, day, since, began)


def _remind(session: Session, now: datetime, branch: BranchInfo, due: _Due) -> int:
    zone = branch.zone
    day_start = datetime.combine(due.day, time.min, tzinfo=zone).astimezone(UTC)
    day_end = datetime.combine(due.day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    event = event_of(due.which)
    reminded = select(TicketEvent.id).where(
        TicketEvent.ticket_id == Ticket.id,
        TicketEvent.event == event,
        TicketEvent.note == due.day.isoformat(),
    )
    moved_today = select(TicketEvent.id).where(
        TicketEvent.ticket_id == Ticket.id,
        TicketEvent.event.in_(MOVE_EVENTS),
        TicketEvent.at >= due.today_began,
    )
    ids = list(
        session.scalars(
            select(Ticket.id)
            .where(
                Ticket.branch_id == branch.id,
                Ticket.kind == TicketKind.APPOINTMENT,
                Ticket.status == TicketStatus.SCHEDULED,
                Ticket.phone.is_not(None),
                Ticket.slot_start >= day_start,
                Ticket.slot_start < day_end,
                # The morning one never after the appointment began.
                Ticket.slot_start > now,
                Ticket.issued_at < due.since,
                ~reminded.exists(),
                ~moved_today.exists(),
            )
            .order_by(Ticket.slot_start, Ticket.id)
        )
    )
    services = {service.id: service for service in branch.services}
    word = texting.reminder(session, due.which)
    message_event = f"reminder:{due.which}:{due.day.isoformat()}"
    written = 0
    for start in range(0, len(ids), CHUNK):
        # Locked until the commit (PostgreSQL): a citizen cancelling meanwhile waits, and
        # one who cancelled since the query above drops out here.
        rows = session.execute(
            select(
                Ticket.id,
                Ticket.token,
                Ticket.phone,
                Ticket.locale,
                Ticket.channel,
                Ticket.service_id,
                Ticket.slot_start,
            )
            .where(
                Ticket.id.in_(ids[start : start + CHUNK]),
                Ticket.status == TicketStatus.SCHEDULED,
            )
            .order_by(Ticket.id)
            .with_for_update()
        ).all()
        messages = [
            outbox.row(
                now,
                ticket_id=r.id,
                event=message_event,
                to=r.phone,
                channel=r.channel,
                locale=r.locale,
                body=word(
                    TicketRow(r.id, r.token, r.phone, r.locale, r.service_id, r.channel),
                    services[r.service_id],
                    r.slot_start,
                ),
                urgency=r.slot_start,
            )
            for r in rows
            if r.phone is not None and r.service_id in services and r.slot_start is not None
        ]
        # Over a number's cap: written suppressed (``daily_cap``); written before (a racing
        # worker): left as it is.
        outbox.enqueue_rows(session, messages)
        written += _record(session, now, [m["ticket_id"] for m in messages], message_event, due)
        line_revision.touch(session, [branch.id])  # the history shows the reminder
        commit(session)
    return written


def _record(
    session: Session, now: datetime, ticket_ids: list[int], message_event: str, due: _Due
) -> int:
    """Add the reminder to the history of each ticket whose message it is, once: a racing
    worker's insert of the same messages waited for this transaction, and then finds the
    events. Returns how many were added."""
    if not ticket_ids:
        return 0
    event, note = event_of(due.which), due.day.isoformat()
    already = select(TicketEvent.id).where(
        TicketEvent.ticket_id == Message.ticket_id,
        TicketEvent.event == event,
        TicketEvent.note == note,
    )
    added = session.execute(
        insert(TicketEvent)
        .from_select(
            ["ticket_id", "at", "event", "note"],
            select(
                Message.ticket_id,
                literal(now, UTCDateTime()),
                literal(event, String()),
                literal(note, String()),
            ).where(
                Message.ticket_id.in_(ticket_ids),
                Message.event == message_event,
                ~already.exists(),
            ),
        )
        .returning(TicketEvent.id)
    ).all()
    return len(added)
