"""A citizen's SMS reply, applied to their most recent active ticket and answered by SMS.

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

from queue_app import appointments, directory, outbox, tickets
from queue_app.clock import Clock
from queue_app.errors import StateConflict
from queue_app.models import InboundSms, Ticket, TicketEvent, TicketStatus
from queue_app.models.tickets import ACTIVE_STATUSES
from sms import templates
from sms.replies import ReplyKind, parse_reply

LOCALES = ("ar", "en")


@dataclass(frozen=True)
class ReplyOutcome:
    understood_as: ReplyKind
    outcome: str  # what was done, in a word: "confirmed", "cancelled", "opted_out", ...
    ticket_number: str | None
    answered: bool
    repeated: bool = False  # the provider sent this reply before; nothing was done again


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
    public_url: str,
) -> ReplyOutcome:
    """Apply one inbound SMS from ``phone`` (E.164) and queue the answer, in one transaction."""
    now = clock.now()
    earlier = session.scalar(select(InboundSms).where(InboundSms.provider_sid == provider_sid))
    if earlier is not None:
        session.commit()
        return ReplyOutcome(
            ReplyKind(earlier.understood_as), earlier.outcome or "", None, False, repeated=True
        )
    reply = parse_reply(body)
    ticket = _latest_active_ticket(session, phone)
    locale = _locale_of(ticket, reply.kind, body)
    outcome, answer = _act(session, now, reply.kind, ticket, phone, locale, public_url)
    session.add(
        InboundSms(
            provider_sid=provider_sid,
            phone=phone,
            body=body[:1600],
            received_at=now,
            ticket_id=ticket.id if ticket is not None else None,
            understood_as=reply.kind.value,
            outcome=outcome,
        )
    )
    answered = False
    if answer is not None:
        event = (
            f"{outbox.OPT_OUT_EVENT}:{provider_sid}"
            if reply.kind == ReplyKind.OPT_OUT
            else f"reply:{provider_sid}"
        )
        answered = outbox.enqueue(
            session, now, ticket=ticket, event=event, to=phone, locale=locale, body=answer
        )
    try:
        session.commit()
    except IntegrityError:
        # The provider's retry of this very reply won the race: it did everything once.
        session.rollback()
        return apply_reply(
            session, clock, provider_sid=provider_sid, phone=phone, body=body, public_url=public_url
        )
    return ReplyOutcome(reply.kind, outcome, ticket.number if ticket else None, answered)


def _act(
    session: Session,
    now: datetime,
    kind: ReplyKind,
    ticket: Ticket | None,
    phone: str,
    locale: str,
    public_url: str,
) -> tuple[str, str | None]:
    """Do what the reply asks; return what was done and the answer to send (None: no answer)."""
    if kind == ReplyKind.OPT_OUT:
        outbox.opt_out(session, now, phone)
        return "opted_out", templates.opted_out(locale)
    if kind == ReplyKind.OPT_IN:
        outbox.opt_in(session, phone)
        return "opted_in", templates.opted_in(locale)
    if kind in (ReplyKind.HELP, ReplyKind.UNKNOWN) or ticket is None:
        return ("help" if ticket is not None else "no_ticket"), templates.reply_help(locale)
    service = directory.current(session).service_by_id(ticket.service_id)
    branch = service.branch
    link = f"{public_url}/t/{ticket.token}"
    if kind == ReplyKind.CANCEL:
        try:
            tickets.give_up(session, ticket, now, note="by SMS")
        except StateConflict:
            return "too_late_to_cancel", templates.reply_help(locale)
        return "cancelled", templates.cancelled(
            locale, service=service.name(locale), branch=branch.name(locale)
        )
    if kind == ReplyKind.CONFIRM:
        ticket.events.append(TicketEvent(at=now, event="confirmed", note="by SMS"))
        if ticket.slot_start is not None:
            return "confirmed", templates.appointment_confirmed(
                locale,
                service=service.name(locale),
                branch=branch.name(locale),
                start=ticket.slot_start,
                timezone=branch.timezone,
                link=link,
            )
        return "confirmed", None  # a walk-in in line: nothing to confirm beyond noting it
    # ANOTHER_SLOT: the next free slot after the booked one; a walk-in in line keeps its place.
    if ticket.status == TicketStatus.SCHEDULED and appointments.move_to_next_slot(
        session, now, ticket, service
    ):
        assert ticket.slot_start is not None
        return "moved", templates.another_slot(
            locale, start=ticket.slot_start, timezone=branch.timezone, link=link
        )
    return "no_other_slot", templates.no_other_slot(locale, link=link)
