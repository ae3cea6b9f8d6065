"""Joining the line from a phone: today's walk-in ticket without the kiosk, for a branch whose
config says ``join_from_phone``.

Two steps. ``ask_code`` checks what the citizen chose (the service takes walk-ins now, the
number is a mobile number of the branch's country, the channel one the branch offers, no ticket
of that number already in that service's line) and sends a one-time code (``phone_codes``).
``take_ticket`` checks the same again, accepts the code and issues the ticket as the kiosk would,
with the number and the channel, code and ticket in one commit. One active ticket per number and
service: a second attempt is refused with the first ticket, whose page the citizen is sent to.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from queue_app import directory, phone_codes, service_state, tickets
from queue_app.clock import Clock
from queue_app.directory import BranchInfo, ServiceInfo
from queue_app.errors import NotFound, StateConflict
from queue_app.models import Ticket, TicketStatus

PURPOSE = "join"
# A ticket in these states holds its number's place in the service's line.
IN_LINE = (TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.ON_HOLD)


class JoinNotOffered(NotFound):
    """The branch does not let citizens join from their phone (``join_from_phone``)."""

    code = "join_not_offered"


class AlreadyInLine(StateConflict):
    """This number already has a ticket in this service's line; ``token`` is its page's key."""

    code = "already_in_line"


@dataclass(frozen=True)
class JoinRequest:
    service: ServiceInfo
    phone: str  # E.164
    channel: str
    locale: str


def joinable_branch(session: Session, branch_code: str) -> BranchInfo:
    """Raises NotFound (no such branch), JoinNotOffered."""
    branch = directory.current(session).branch(branch_code)
    if not branch.join_from_phone:
        raise JoinNotOffered(f"branch {branch_code} does not take tickets from phones")
    return branch


def ticket_in_line(session: Session, service: ServiceInfo, phone: str) -> Ticket | None:
    """The number's ticket in the service's line (waiting, called, on hold), if any."""
    return session.scalar(
        select(Ticket)
        .where(
            Ticket.service_id == service.id,
            Ticket.phone == phone,
            Ticket.status.in_(IN_LINE),
        )
        .order_by(Ticket.id)
        .limit(1)
    )


def _check(
    session: Session,
    clock: Clock,
    branch: BranchInfo,
    service_code: str,
    *,
    phone: str,
    channel: str | None,
    locale: str,
) -> JoinRequest:
    now = clock.now()
    service = branch.service(service_code)
    e164 = tickets.required_phone(phone, branch)
    chosen = tickets.citizen_channel(branch, channel)
    tickets.check_takes_walk_ins(session, service, service_state.status_of(service, now), now)
    held = ticket_in_line(session, service, e164)
    if held is not None:
        raise AlreadyInLine(
            f"this number already has ticket {held.number} in this line",
            token=held.token,
            ticket=held.number,
        )
    return JoinRequest(service, e164, chosen, tickets.citizen_locale(locale))


def ask_code(
    session: Session,
    clock: Clock,
    secret: str,
    branch_code: str,
    service_code: str,
    *,
    phone: str,
    channel: str | None,
    locale: str,
) -> JoinRequest:
    """Send the code that confirms ``phone`` for joining ``service_code``'s line, and commit.

    Raises NotFound (branch, service), JoinNotOffered, InvalidPhone, InvalidInput (a channel the
    branch lacks), ServicePaused, ServiceClosed, AlreadyInLine, RateLimited (codes per number,
    the daily cap)."""
    branch = joinable_branch(session, branch_code)
    asked = _check(
        session, clock, branch, service_code, phone=phone, channel=channel, locale=locale
    )
    phone_codes.send(
        session,
        clock.now(),
        secret,
        branch,
        PURPOSE,
        phone=asked.phone,
        channel=asked.channel,
        locale=asked.locale,
    )
    return asked


def take_ticket(
    session: Session,
    clock: Clock,
    secret: str,
    branch_code: str,
    service_code: str,
    *,
    phone: str,
    channel: str | None,
    locale: str,
    code: str,
) -> tickets.TicketView:
    """Accept the code and issue today's walk-in ticket to ``phone``, texted on ``channel``;
    the code's use and the ticket commit together.

    Raises what ``ask_code`` raises, and CodeWrong, CodeExpired, CodeUsed, CodeTriesExhausted
    (``phone_codes``); a wrong code's try is committed, nothing else."""
    branch = joinable_branch(session, branch_code)
    asked = _check(
        session, clock, branch, service_code, phone=phone, channel=channel, locale=locale
    )
    now = clock.now()
    phone_codes.use(session, now, secret, branch, PURPOSE, phone=asked.phone, typed=code)
    return tickets.walk_in(
        session,
        now,
        asked.service,
        phone=asked.phone,
        locale=asked.locale,
        priority=False,
        idempotency_key=None,
        channel=asked.channel,
    )
