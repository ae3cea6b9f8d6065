"""Every message to a citizen in one place: which text for which event, with the link to the
ticket's own page, written to the outbox in the caller's transaction.

The link's base is the deployment's public URL. It is put once on every session the app, the CLI
and the worker make (``Session.info``), so the use cases do not carry it in their signatures.
The wording itself, and its segment budget, is ``sms.templates``; the outbox row is
``outbox.row``. Each message goes on the ticket's channel (SMS or WhatsApp); an answer to a
reply on the channel the reply came by.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from sqlalchemy.orm import Session

from queue_app import directory, outbox
from sms import templates
from sms.senders import Senders

if TYPE_CHECKING:
    from queue_app.directory import BranchInfo, ServiceInfo
    from queue_app.models import Ticket
    from queue_app.rescheduler import MessageFor, NoSlotFor, TicketRow
    from queue_app.settings import Settings

# The key of the public URL in ``Session.info``.
PUBLIC_URL = "queue_public_url"

# The key of the countries where SMS is one-way in ``Session.info`` (``set_reply_rules``).
ONE_WAY_SMS = "queue_one_way_sms"
# The key of the SMS senders per country in ``Session.info`` (``set_reply_rules``).
SMS_SENDERS = "queue_sms_senders"
# Twilio offers no two-way SMS in Egypt or Saudi Arabia (Saudi senders are registered names):
# replies never arrive there, so texts point to the ticket's page instead of "reply 1".
DEFAULT_ONE_WAY_SMS = frozenset({"EG", "SA"})

# Why the rescheduler moved a ticket.
Reason = Literal["outage", "maintenance", "capacity"]


class NoPublicUrl(RuntimeError):
    """A session made without the public URL: a message would carry a broken link."""


def set_public_url(info: dict[object, object], public_url: str) -> None:
    """Give the sessions of ``info`` (a session's or a sessionmaker's) the ticket links' base."""
    info[PUBLIC_URL] = public_url.rstrip("/")


def set_reply_rules(
    info: dict[object, object],
    one_way_countries: frozenset[str],
    senders: Senders | None = None,
) -> None:
    """Say where SMS replies cannot arrive: the countries listed, and those whose sender (in
    ``senders``, the default for the others) is an alphanumeric name. WhatsApp always carries
    them."""
    info[ONE_WAY_SMS] = frozenset(c.upper() for c in one_way_countries)
    info[SMS_SENDERS] = senders or Senders()


def reply_rules_of(info: dict[object, object], settings: Settings) -> None:
    """``set_reply_rules`` as the settings say (QUEUE_SMS_ONE_WAY_COUNTRIES, the senders)."""
    set_reply_rules(info, settings.sms_one_way_countries, settings.sms_reply_senders)


def replies_arrive(session: Session, channel: str, country: str, phone: str | None = None) -> bool:
    """Whether a citizen can answer a message by replying to it: on WhatsApp always, by SMS
    unless the branch's country is one-way (settings ``QUEUE_SMS_ONE_WAY_COUNTRIES``) or the
    message comes from an alphanumeric name (``QUEUE_SMS_SENDERS``, TWILIO_FROM): the sender
    of ``phone``'s country when known, since that is who it is sent from, else of ``country``."""
    if channel == "whatsapp":
        return True
    one_way = session.info.get(ONE_WAY_SMS, DEFAULT_ONE_WAY_SMS)
    if country.upper() in one_way:
        return False
    senders = session.info.get(SMS_SENDERS)
    if not isinstance(senders, Senders):
        return True
    sender = senders.for_number(phone) if phone else senders.for_country(country)
    return sender is None or sender.takes_replies


def ticket_page(public_url: str, token: str) -> str:
    """The address of a ticket's own page, behind its QR code and in its texts."""
    return f"{public_url.rstrip('/')}/t/{token}"


def ticket_links(session: Session) -> Callable[[str], str]:
    """Turn a ticket's token into the address of its page (``ticket_page``)."""
    base = session.info.get(PUBLIC_URL)
    if not base:
        raise NoPublicUrl(
            "this session knows no public URL: make it with texting.set_public_url "
            "(the app, the CLI and the worker do)"
        )
    return lambda token: ticket_page(str(base), token)


def ticket_link(session: Session, token: str) -> str:
    return ticket_links(session)(token)


def moved(
    session: Session, reason: Reason, *, system: Callable[[str], str] | None = None
) -> MessageFor:
    """The message to a ticket the rescheduler moved, saying why and when: ``system`` names the
    back-end system (outage, maintenance) in a locale; a capacity cut names the branch."""
    link = ticket_links(session)
    if reason != "capacity" and system is None:
        raise ValueError(f"a move because of {reason} names its system")

    def word(ticket: TicketRow, service: ServiceInfo, start: datetime) -> str:
        locale, zone, to_page = ticket.locale, service.branch.timezone, link(ticket.token)
        replies = replies_arrive(session, ticket.channel, service.branch.country, ticket.phone)
        if reason == "capacity":
            place = service.branch.name(locale)
            return templates.rescheduled_for_capacity(
                locale, branch=place, start=start, timezone=zone, link=to_page, replies=replies
            )
        name = system(locale) if system is not None else ""
        wording = (
            templates.rescheduled_for_maintenance
            if reason == "maintenance"
            else templates.rescheduled_for_outage
        )
        return wording(
            locale, system=name, start=start, timezone=zone, link=to_page, replies=replies
        )

    return word


def no_slot_yet(
    session: Session, reason: Literal["outage", "maintenance"], *, system: Callable[[str], str]
) -> NoSlotFor:
    """The message to a ticket the rescheduler found no free time for: it stays valid, and its
    new time will be texted as soon as there is room."""
    link = ticket_links(session)

    def word(ticket: TicketRow, service: ServiceInfo) -> str:
        return templates.no_slot_yet(
            ticket.locale,
            system=system(ticket.locale),
            maintenance=reason == "maintenance",
            link=link(ticket.token),
        )

    return word


def _text_ticket(
    session: Session, now: datetime, ticket: Ticket, event: str, word: Callable[[str, str], str]
) -> bool:
    """Queue ``word(locale, link)`` to the ticket's phone under ``event`` (once per ticket and
    event); False without a phone or when that event was texted before."""
    if ticket.phone is None:
        return False
    body = word(ticket.locale, ticket_link(session, ticket.token))
    return outbox.enqueue(
        session,
        now,
        ticket=ticket,
        event=event,
        to=ticket.phone,
        channel=ticket.channel,
        locale=ticket.locale,
        body=body,
    )


def system_back(
    session: Session, now: datetime, ticket: Ticket, cause: str, system: Callable[[str], str]
) -> bool:
    """Tell a ticket the outage ``cause`` found no free time for that the system is back and
    its ticket holds; once per ticket and outage. False without a phone or when told before."""
    return _text_ticket(
        session,
        now,
        ticket,
        f"system_back:{cause}",
        lambda locale, link: templates.system_back(locale, system=system(locale), link=link),
    )


def offer_today(
    session: Session,
    now: datetime,
    ticket: Ticket,
    branch: BranchInfo,
    cause: str,
    system: Callable[[str], str],
    until: datetime,
) -> bool:
    """Offer a citizen moved by an outage today's free time (``recovery``); once per ticket
    and outage. False when the ticket has no phone or was offered before."""
    return _text_ticket(
        session,
        now,
        ticket,
        f"offer:{cause}",
        lambda locale, link: templates.offer_today(
            locale,
            system=system(locale),
            until=until,
            timezone=branch.timezone,
            link=link,
            replies=replies_arrive(session, ticket.channel, branch.country, ticket.phone),
        ),
    )


def turn_near(
    session: Session, now: datetime, ticket: Ticket, branch: BranchInfo, minutes: int
) -> bool:
    """Tell a walk-in who left the hall (waiting anywhere) that their turn is about ``minutes``
    away; once per ticket (``turn_near``). False without a phone or when told before."""
    return _text_ticket(
        session,
        now,
        ticket,
        "turn_near",
        lambda locale, link: templates.turn_near(
            locale, number=ticket.number, branch=branch.name(locale), minutes=minutes, link=link
        ),
    )


def called(
    session: Session, now: datetime, ticket: Ticket, branch: BranchInfo, counter: str
) -> bool:
    """Tell a walk-in who may be waiting anywhere that they are called, and to which counter;
    once per ticket (``called``): a second call of a ticket that came back finds its citizen in
    the hall. False without a phone or when told before."""
    return _text_ticket(
        session,
        now,
        ticket,
        "called",
        lambda locale, link: templates.called(
            locale, number=ticket.number, counter=counter, branch=branch.name(locale), link=link
        ),
    )


def ticket_issued(session: Session, now: datetime, ticket: Ticket, service: ServiceInfo) -> None:
    """Text a walk-in with a phone its number and the link to follow the line."""
    _text_ticket(
        session,
        now,
        ticket,
        "issued",
        lambda locale, link: templates.ticket_issued(
            locale,
            number=ticket.number,
            service=service.name(locale),
            branch=service.branch.name(locale),
            link=link,
        ),
    )


def appointment_booked(
    session: Session, now: datetime, ticket: Ticket, service: ServiceInfo
) -> None:
    """Text a booking's citizen the time they booked and the link to their ticket."""
    if ticket.phone is None or ticket.slot_start is None:
        return
    outbox.enqueue(
        session,
        now,
        ticket=ticket,
        event="booked",
        to=ticket.phone,
        channel=ticket.channel,
        locale=ticket.locale,
        body=_appointment(session, ticket.locale, ticket, service),
        urgency=ticket.slot_start,
    )


def reminder(session: Session, which: str) -> MessageFor:
    """The reminder of a booked appointment, the evening before or that morning (``which``),
    given its ticket, service and slot start: the time and place, with the choices
    to confirm, change or cancel, by reply where replies arrive, on the ticket's page where SMS
    is one-way (``replies_arrive``)."""
    link = ticket_links(session)

    def word(ticket: TicketRow, service: ServiceInfo, start: datetime) -> str:
        branch, locale = service.branch, ticket.locale
        return templates.reminder(
            locale,
            tomorrow=which == "evening",
            service=service.name(locale),
            branch=branch.name(locale),
            start=start,
            timezone=branch.timezone,
            link=link(ticket.token),
            replies=replies_arrive(session, ticket.channel, branch.country, ticket.phone),
        )

    return word


def another_slot(session: Session, now: datetime, ticket: Ticket, service: ServiceInfo) -> None:
    """Text the new time of a booking its citizen moved to the next free slot (one message per
    move: the event counts them)."""
    if ticket.phone is None or ticket.slot_start is None:
        return
    moves = sum(1 for e in ticket.events if e.event == "moved")
    outbox.enqueue(
        session,
        now,
        ticket=ticket,
        event=f"moved:{moves}",
        to=ticket.phone,
        channel=ticket.channel,
        locale=ticket.locale,
        body=_another_slot(session, ticket.locale, ticket, service),
        urgency=ticket.slot_start,
    )


def reply_answered(
    session: Session,
    now: datetime,
    outcome: str,
    *,
    provider_sid: str,
    to: str,
    locale: str,
    ticket: Ticket | None,
    channel: str = "sms",
) -> bool:
    """Answer a citizen's reply by what was done (``replies``' outcome, in a word), on the
    channel it came by (a WhatsApp reply opens the window for free text); return whether an
    answer was queued (a walk-in's confirmation gets none)."""
    body = _answer(session, outcome, locale, ticket)
    if body is None:
        return False
    # The answer to STOP is the one message that still goes to a number that opted out.
    kind = outbox.OPT_OUT_EVENT if outcome == "opted_out" else "reply"
    event = f"{kind}:{provider_sid}"
    return outbox.enqueue(
        session,
        now,
        ticket=ticket,
        event=event,
        to=to,
        channel=channel,
        locale=locale,
        body=body,
    )


def _answer(
    session: Session,
    outcome: str,
    locale: str,
    ticket: Ticket | None,
) -> str | None:
    if outcome == "opted_out":
        return templates.opted_out(locale)
    if outcome == "opted_in":
        return templates.opted_in(locale)
    if ticket is None or outcome not in _ABOUT_THE_TICKET:
        return templates.reply_help(locale)  # help, no ticket, too late to cancel
    service = directory.current(session).service_by_id(ticket.service_id)
    if outcome == "cancelled":
        return templates.cancelled(
            locale, service=service.name(locale), branch=service.branch.name(locale)
        )
    if outcome == "offer_accepted":
        assert ticket.slot_start is not None
        return templates.offer_accepted(
            locale,
            start=ticket.slot_start,
            timezone=service.branch.timezone,
            link=ticket_link(session, ticket.token),
        )
    if outcome == "confirmed":
        # A walk-in in line has nothing to confirm beyond the note on its ticket.
        return _appointment(session, locale, ticket, service) if ticket.slot_start else None
    if outcome == "moved":
        return _another_slot(session, locale, ticket, service)
    return templates.no_other_slot(locale, link=ticket_link(session, ticket.token))


_ABOUT_THE_TICKET = ("cancelled", "confirmed", "moved", "no_other_slot", "offer_accepted")


def _appointment(session: Session, locale: str, ticket: Ticket, service: ServiceInfo) -> str:
    assert ticket.slot_start is not None
    return templates.appointment_confirmed(
        locale,
        service=service.name(locale),
        branch=service.branch.name(locale),
        start=ticket.slot_start,
        timezone=service.branch.timezone,
        link=ticket_link(session, ticket.token),
    )


def _another_slot(session: Session, locale: str, ticket: Ticket, service: ServiceInfo) -> str:
    assert ticket.slot_start is not None
    return templates.another_slot(
        locale,
        start=ticket.slot_start,
        timezone=service.branch.timezone,
        link=ticket_link(session, ticket.token),
    )
