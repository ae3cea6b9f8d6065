"""Personal data is kept only as long as it serves the citizen: the phone numbers, message texts,
replies and notes typed at a counter of tickets whose day is more than ``retention_days`` behind
are erased (``erase_expired``, the worker's housekeeping, hourly); one citizen's are erased on
request (``erase_number``, ``queue-app privacy erase``).

Erasing blanks the personal columns and keeps the rows: statistics, outage records and a mass
move's message counts still add up, and a ticket's history keeps its events without their notes.
Two things are kept on purpose: the numbers that replied STOP (``sms_opt_outs``: erasing one would
let us text someone who asked us not to), and the audit trail, which holds phones only masked
(``audit.masked_phone``: enough to tell two apart, not to call). One-time codes, which hold the
number too, are deleted as soon as they have expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.orm import Session

from queue_app import line_revision
from queue_app.db import rowcount
from queue_app.models import InboundSms, Message, PhoneCode, Ticket, TicketEvent
from queue_app.models.messages import FINAL_STATUSES, MessageStatus

# What a blanked NOT NULL text column holds.
ERASED = ""


@dataclass(frozen=True)
class Erased:
    """How many rows lost their personal data."""

    tickets: int = 0
    notes: int = 0
    messages: int = 0
    replies: int = 0
    codes: int = 0  # one-time codes (phone_codes): of no use once expired

    @property
    def total(self) -> int:
        return self.tickets + self.notes + self.messages + self.replies + self.codes


def erase_expired(session: Session, now: datetime, retention_days: int) -> Erased:
    """Erase the personal data of every ticket whose day is more than ``retention_days`` ago,
    and of messages and replies older than that; commit. Returns what was erased."""
    cutoff = now - timedelta(days=retention_days)
    # The ticket's own day (the slot's day for an appointment): a booking made long ago for a
    # later day keeps its number until that day is past too.
    tickets = rowcount(
        session.execute(
            update(Ticket)
            .where(
                Ticket.local_day < cutoff.date(),
                # A ticket moved to a later time keeps its number until that time is past too.
                or_(Ticket.slot_end.is_(None), Ticket.slot_end < cutoff),
                Ticket.phone.is_not(None),
            )
            .values(phone=None)
            .execution_options(synchronize_session=False)
        )
    )
    notes = rowcount(
        session.execute(
            update(TicketEvent)
            .where(TicketEvent.at < cutoff, TicketEvent.note.is_not(None))
            .values(note=None)
            .execution_options(synchronize_session=False)
        )
    )
    # Only messages a worker is done with: one still queued is still to be sent.
    messages = rowcount(
        session.execute(
            update(Message)
            .where(
                Message.created_at < cutoff,
                Message.status.in_(FINAL_STATUSES),
                or_(Message.to != ERASED, Message.body != ERASED),
            )
            .values(to=ERASED, body=ERASED, error=None)
            .execution_options(synchronize_session=False)
        )
    )
    replies = rowcount(
        session.execute(
            update(InboundSms)
            .where(InboundSms.received_at < cutoff, InboundSms.phone != ERASED)
            .values(phone=ERASED, body=ERASED)
            .execution_options(synchronize_session=False)
        )
    )
    # A code is kept only while it can be used: its row holds the number, and nothing else needs
    # it once expired (the limits per number count the messages).
    codes = rowcount(
        session.execute(
            delete(PhoneCode)
            .where(PhoneCode.expires_at <= now)  # as phone_codes.use refuses it
            .execution_options(synchronize_session=False)
        )
    )
    session.commit()
    return Erased(tickets=tickets, notes=notes, messages=messages, replies=replies, codes=codes)


def count_of_number(session: Session, phone: str) -> Erased:
    """What ``erase_number`` would erase (its preview), counted in the database."""

    def count(*where: ColumnElement[bool]) -> int:
        return session.scalar(select(func.count()).where(*where)) or 0

    ticket_ids = select(Ticket.id).where(Ticket.phone == phone)
    return Erased(
        tickets=count(Ticket.phone == phone),
        notes=count(TicketEvent.ticket_id.in_(ticket_ids), TicketEvent.note.is_not(None)),
        messages=count(Message.to == phone),
        replies=count(InboundSms.phone == phone),
        codes=count(PhoneCode.phone == phone),
    )


def erase_number(session: Session, phone: str) -> Erased:
    """Erase everything kept of one number now, whatever the tickets' days, on the citizen's
    request; messages still waiting to go to it are not sent. Does not commit (the caller's
    audit record goes in the same transaction)."""
    theirs = session.execute(select(Ticket.id, Ticket.branch_id).where(Ticket.phone == phone)).all()
    ticket_ids = [t.id for t in theirs]
    # Their pages show the notes erased here (bulk UPDATEs: not seen by themselves).
    line_revision.touch(session, {t.branch_id for t in theirs})
    notes = 0
    if ticket_ids:
        notes = rowcount(
            session.execute(
                update(TicketEvent)
                .where(TicketEvent.ticket_id.in_(ticket_ids), TicketEvent.note.is_not(None))
                .values(note=None)
                .execution_options(synchronize_session=False)
            )
        )
    # A message not yet sent never will be: the number it was for is gone.
    session.execute(
        update(Message)
        .where(Message.to == phone, Message.status.in_((MessageStatus.QUEUED,)))
        .values(status=MessageStatus.SUPPRESSED)
        .execution_options(synchronize_session=False)
    )
    messages = rowcount(
        session.execute(
            update(Message)
            .where(Message.to == phone, Message.status != MessageStatus.SENDING)
            .values(to=ERASED, body=ERASED, error=None)
            .execution_options(synchronize_session=False)
        )
    )
    replies = rowcount(
        session.execute(
            update(InboundSms)
            .where(InboundSms.phone == phone)
            .values(phone=ERASED, body=ERASED)
            .execution_options(synchronize_session=False)
        )
    )
    tickets = 0
    for ticket in session.scalars(select(Ticket).where(Ticket.phone == phone)):
        ticket.phone = None  # through the ORM: the audit trail sees each ticket change
        tickets += 1
    codes = rowcount(
        session.execute(
            delete(PhoneCode)
            .where(PhoneCode.phone == phone)
            .execution_options(synchronize_session=False)
        )
    )
    session.flush()
    return Erased(tickets=tickets, notes=notes, messages=messages, replies=replies, codes=codes)
