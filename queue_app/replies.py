"""A citizen's SMS reply, applied to the active ticket it answers and answered by SMS.

The ticket it answers is the one the number's last message that left was about: a reminder of
an appointment booked last week is answered about that appointment, even if the number took
another ticket since. With no such message (none sent yet), the number's latest active ticket.

Replies come through the provider's webhook, which the provider retries when our answer is slow
or lost: the provider's message id is kept (``InboundSms``), so a reply is applied and answered
once however often it arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from queue_app import appointments, directory, outbox, recovery, texting, tickets
from queue_app.clock import Clock
from queue_app.errors import NoFreeSlot, StateConflict
from queue_app.locales import LOCALES
from queue_app.models import (
    InboundSms,
    Message,
    MessageStatus,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from queue_app.models.tickets import ACTIVE_STATUSES
from sms.replies import ReplyKind, parse_reply


@dataclass(frozen=True)
class ReplyOutcome:
    understood_as: ReplyKind
    outcome: str  # what was done, in a word: "confirmed", "cancelled", "opted_out", ...
    ticket_number: str | None
    answered: bool
    repeated: bool = False  # the provider sent this reply before; nothing was done again


# A message that reached the citizen (or went out to them): what they may be answering.
_LEFT = (MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.DELIVERED)


def _ticket_replied_to(session: Session, phone: str) -> Ticket | None:
    last_told = session.scalar(
        select(Ticket)
        .join(Message, Message.ticket_id == Ticket.id)
        .where(
            Message.to == phone,
            Message.status.in_(_LEFT),
            Ticket.phone == phone,
            Ticket.status.in_(ACTIVE_STATUSES),
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    )
    return last_told if last_told is not None else _latest_active_ticket(session, phone)


def _latest_active_ticket(session: Session, phone: str) -> Ticket | None:
    return session.scalar(
        select(Ticket)
        .where(Ticket.phone == phone, Ticket.status.in_(ACTIVE_STATUSES))
        .order_by(Ticket.issued_at.desc(), Ticket.id.desc())
        .limit(1)
    )


def _locale_of(ticket: Ticket | None, kind: ReplyKind, text: str) -> str:
    """The ticket's language; without a ticket, the language the reply was written in."""
    if ticket is not None and ticket.locale in LOCALES:
        return ticket.locale
    return "ar" if any("\u0600" <= ch <= "\u06ff" for ch in text) else "en"


def apply_reply(
    session: Session,
    clock: Clock,
    *,
    provider_sid: str,
    phone: str,
    body: str,
    channel: str = "sms",
) -> ReplyOutcome:
    """Apply one inbound message from ``phone`` (E.164) on ``channel`` (``sms`` or
    ``whatsapp``) and queue the answer on the same channel, in one transaction."""
    now = clock.now()
    earlier = session.scalar(select(InboundSms).where(InboundSms.provider_sid == provider_sid))
    if earlier is not None:
        session.commit()
        return ReplyOutcome(
            ReplyKind(earlier.understood_as), earlier.outcome or "", None, False, repeated=True
        )
    reply = parse_reply(body)
    ticket = _ticket_replied_to(session, phone)
    locale = _locale_of(ticket, reply.kind, body)
    outcome = _act(session, now, reply.kind, ticket, phone)
    session.add(
        InboundSms(
            provider_sid=provider_sid,
            phone=phone,
            channel=channel,
            body=body[:1600],
            received_at=now,
            ticket_id=ticket.id if ticket is not None else None,
            understood_as=reply.kind.value,
            outcome=outcome,
        )
    )
    answered = texting.reply_answered(
        session,
        now,
        outcome,
        provider_sid=provider_sid,
        to=phone,
        locale=locale,
        ticket=ticket,
        channel=channel,
    )
    try:
        session.commit()
    except IntegrityError:
        # The provider's retry of this very reply won the race: it did everything once.
        session.rollback()
        return apply_reply(
            session, clock, provider_sid=provider_sid, phone=phone, body=body, channel=channel
        )
    return ReplyOutcome(reply.kind, outcome, ticket.number if ticket else None, answered)


def _act(
    session: Session, now: datetime, kind: ReplyKind, ticket: Ticket | None, phone: str
) -> str:
    """Do what the reply asks; return what was done, in a word (texting words the answer)."""
    if kind == ReplyKind.OPT_OUT:
        outbox.opt_out(session, now, phone)
        return "opted_out"
    if kind == ReplyKind.OPT_IN:
        outbox.opt_in(session, phone)
        return "opted_in"
    if kind in (ReplyKind.HELP, ReplyKind.UNKNOWN) or ticket is None:
        return "help" if ticket is not None else "no_ticket"
    if kind == ReplyKind.CANCEL:
        try:
            tickets.give_up(session, ticket, now, note="by SMS")
        except StateConflict:
            return "too_late_to_cancel"
        return "cancelled"
    if kind == ReplyKind.CONFIRM:
        # The last message was an offer of today's time (recovery): 1 takes it.
        if tickets.open_offer_until(ticket, now) is not None:
            try:
                recovery.take_offer(session, now, ticket, note="by SMS")
            except NoFreeSlot:
                return "no_other_slot"  # today's room went meanwhile: the new time stays
            return "offer_accepted"
        ticket.events.append(TicketEvent(at=now, event="confirmed", note="by SMS"))
        return "confirmed"
    # ANOTHER_SLOT: the next free slot after the booked one; a walk-in in line keeps its place.
    if ticket.status == TicketStatus.SCHEDULED:
        service = directory.current(session).service_by_id(ticket.service_id)
        if appointments.move_to_next_slot(session, now, ticket, service):
            return "moved"
    return "no_other_slot"
