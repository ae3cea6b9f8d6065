"""Appointments: book a slot, confirm it, take the next free one, mark the missed ones.

An appointment is a ticket of kind ``appointment`` that holds one place in one slot while it is
``scheduled``; it enters the waiting line at check-in (tickets.check_in). Its number is taken for
the slot's local day when it is booked, from the same gap-free sequence as walk-ins. When a
slot's capacity shrinks, its bookings move (``capacity``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from queue_app import (
    daily_cap,
    directory,
    opening_hours,
    phone_codes,
    service_state,
    slots,
    texting,
    tickets,
)
from queue_app.access import Principal
from queue_app.clock import Clock
from queue_app.db import commit
from queue_app.directory import ServiceInfo
from queue_app.errors import (
    AlreadyBooked,
    InvalidInput,
    InvalidPhone,
    NoFreeSlot,
    SlotFull,
    StateConflict,
    SystemAway,
)
from queue_app.models import Ticket, TicketEvent, TicketKind, TicketStatus
from queue_app.models.tickets import ACTIVE_STATUSES
from queue_app.tickets import TicketView, find_ticket, view_ticket
from sms.numbers import InvalidNumber, to_e164


def _aware(start: datetime) -> datetime:
    if start.tzinfo is None:
        raise InvalidInput(
            "give the start with its UTC offset, as in 2026-12-06T09:30:00+02:00",
            start=["needs a UTC offset"],
        )
    return start


def book(
    session: Session,
    clock: Clock,
    branch_code: str,
    service_code: str,
    *,
    start: datetime,
    phone: str | None,
    locale: str = "ar",
    idempotency_key: str | None = None,
    booked_by: Principal | None = None,
    channel: str | None = None,
) -> TicketView:
    """Book the slot of ``service_code`` that starts at ``start`` for the citizen at ``phone``,
    and queue the confirmation SMS in the same transaction.

    A citizen without a phone books at the office: with no ``phone``, ``booked_by`` must be
    one of the branch's own devices or people (a kiosk or staff token); nobody is texted, and
    the printed slip is their record. A booking from anywhere else needs the number, since the
    confirmation and any later move reach the citizen only by text.

    With an ``idempotency_key`` (a kiosk's retry after a lost answer), a repeat answers with the
    appointment the first request booked, ``replayed`` set, instead of ``already_booked``.

    Raises NotFound (branch, service), InvalidPhone, InvalidInput (no phone from outside the
    branch, not a slot start, in the past, a closed day), Forbidden (no phone, with a token of
    another branch), IdempotencyKeyReused, SystemAway, AlreadyBooked, SlotFull.
    """
    now = clock.now()
    start = _aware(start)
    branch = directory.current(session).branch(branch_code)
    service = branch.service(service_code)
    e164: str | None = None
    if phone is not None:
        try:
            e164 = to_e164(phone, branch.country)
        except InvalidNumber as exc:
            raise InvalidPhone(str(exc), phone=[str(exc)]) from None
    elif booked_by is None:
        raise InvalidInput(
            "a mobile number is required: the booking and its link are sent to it by text "
            "message (at the office, a kiosk books without one)",
            phone=["required"],
        )
    else:
        booked_by.require_branch(branch.id)
    locale = tickets.citizen_locale(locale)
    chosen = tickets.citizen_channel(branch, channel)

    def admit(status: service_state.ServiceStatus) -> Ticket:
        # A booking is for a later time: what counts is whether the systems are away then
        # (_the_slot's SystemAway), not the service's state now.
        slot = _the_slot(session, service, now, start)
        if e164 is not None:  # without a number, nothing tells two citizens apart
            _check_not_booked(session, service, e164)
        if not slots.take_place(session, service.id, slot.start, slot.capacity):
            session.rollback()
            raise SlotFull(
                "this time is fully booked; choose another",
                start=slot.start.isoformat(),
                next_slot=_next_free_start(session, service, now, slot.start),
            )
        return Ticket(
            local_day=slot.start.astimezone(branch.zone).date(),
            kind=TicketKind.APPOINTMENT,
            status=TicketStatus.SCHEDULED,
            slot_start=slot.start,
            slot_end=slot.end,
        )

    return tickets.issue(
        session,
        now,
        service,
        phone=e164,
        locale=locale,
        request=("appointment", service.code, start.isoformat(), e164, locale, chosen),
        idempotency_key=idempotency_key,
        admit=admit,
        channel=chosen,
    )


# The one-time code of a booking from the public page, where the branch asks for it.
CODE_PURPOSE = "booking"


def ask_booking_code(
    session: Session,
    clock: Clock,
    secret: str,
    branch_code: str,
    service_code: str,
    *,
    phone: str,
    channel: str | None,
    locale: str,
) -> None:
    """Send the one-time code that confirms the number of a booking (for a branch with
    ``booking_code``), and commit. Raises NotFound (branch, service), InvalidPhone, InvalidInput
    (a channel the branch lacks), AlreadyBooked (no code for a booking that cannot be made),
    RateLimited (codes per number, the daily cap)."""
    branch = directory.current(session).branch(branch_code)
    service = branch.service(service_code)
    e164 = tickets.required_phone(phone, branch)
    chosen = tickets.citizen_channel(branch, channel)
    _check_not_booked(session, service, e164)
    phone_codes.send(
        session,
        clock.now(),
        secret,
        branch,
        CODE_PURPOSE,
        phone=e164,
        channel=chosen,
        locale=tickets.citizen_locale(locale),
    )


class CodeRequired(InvalidInput):
    """A booking from outside the branch where it asks for a one-time code (``booking_code``),
    sent without one."""

    code = "code_required"


def book_confirming_number(
    session: Session,
    clock: Clock,
    secret: str,
    branch_code: str,
    service_code: str,
    *,
    start: datetime,
    phone: str | None,
    locale: str,
    channel: str | None,
    code: str | None,
    caller: Principal | None,
    idempotency_key: str | None = None,
) -> TicketView:
    """``book`` as the API takes it from anyone: where the branch asks for a one-time code
    (``booking_code``), a booking with a number needs the code ``ask_booking_code`` sent to it,
    unless ``caller`` is one of the branch's own devices or people (the kiosk books for the hall).
    Raises what ``book`` raises, CodeRequired, and CodeWrong, CodeExpired, CodeUsed,
    CodeTriesExhausted (a wrong code's try is committed, nothing else; a refused booking leaves
    the code unused: its use and the booking commit together)."""
    branch = directory.current(session).branch(branch_code)
    trusted = caller is not None and caller.acts_for(branch.id)
    # A code sent confirms a number, so it needs one (the booking page's code step).
    if (phone or code is not None) and branch.booking_code and not trusted:
        e164 = tickets.required_phone(phone, branch)
        if code is None:
            raise CodeRequired(
                "this branch confirms the number with a one-time code: ask for one "
                f"(POST /api/v1/branches/{branch.code}/booking-codes) and send it as code",
                code=["required"],
            )
        phone_codes.use(session, clock.now(), secret, branch, CODE_PURPOSE, phone=e164, typed=code)
    return book(
        session,
        clock,
        branch_code,
        service_code,
        start=start,
        phone=phone,
        locale=locale,
        channel=channel,
        idempotency_key=idempotency_key,
        booked_by=caller if phone is None else None,
    )


def _check_not_booked(session: Session, service: ServiceInfo, phone: str) -> None:
    existing = session.scalar(
        select(Ticket).where(
            Ticket.phone == phone,
            Ticket.service_id == service.id,
            Ticket.kind == TicketKind.APPOINTMENT,
            Ticket.status.in_(ACTIVE_STATUSES),
        )
    )
    if existing is not None:
        raise AlreadyBooked(
            f"this number already has appointment {existing.number} for this service; cancel "
            "it or move it from its ticket page",
            ticket=existing.number,
            slot_start=existing.slot_start.isoformat() if existing.slot_start else None,
        )


def _the_slot(session: Session, service: ServiceInfo, now: datetime, start: datetime) -> slots.Slot:
    """The bookable slot that starts at ``start``. Raises InvalidInput saying why not."""
    branch = service.branch
    if start <= now:
        raise InvalidInput("this time has passed; choose a later one", start=["in the past"])
    local_day = start.astimezone(branch.zone).date()
    if opening_hours.window_on(branch.hours, local_day, branch.zone) is None:
        raise InvalidInput(
            f"{branch.code} is closed on {local_day.isoformat()}",
            start=["the branch is closed that day"],
        )
    if local_day > now.astimezone(branch.zone).date() + timedelta(days=slots.BOOKING_HORIZON_DAYS):
        raise InvalidInput(
            f"appointments can be booked up to {slots.BOOKING_HORIZON_DAYS} days ahead",
            start=["too far ahead"],
        )
    if any(
        blocked_start <= start < blocked_end
        for blocked_start, blocked_end in slots.blocked_times(session, service, now)
    ):
        raise SystemAway(
            "a system this service needs is down or under announced maintenance then; choose "
            "a later time",
            start=start.isoformat(),
            next_slot=_next_free_start(session, service, now, start),
        )
    slot = slots.find_slot(session, service, now, start)
    if slot is None:
        times = [s.isoformat() for s, _ in slots.slot_times(service, local_day)[:3]]
        raise InvalidInput(
            "no slot starts at this time; slots start at " + ", ".join(times) + " ...",
            start=["not the start of a slot"],
        )
    return slot


def _next_free_start(
    session: Session, service: ServiceInfo, now: datetime, after: datetime
) -> str | None:
    opening = slots.next_free(session, service, now, after)
    return opening.start.isoformat() if opening is not None else None


# A booked citizen who has not checked in this long after the slot began has missed it.
MISSED_AFTER = timedelta(minutes=15)


def mark_missed(session: Session, now: datetime) -> int:
    """Appointments never checked in by ``MISSED_AFTER`` past their slot's start become
    no-shows (for the worker, every minute); return how many."""
    missed = list(
        session.scalars(
            select(Ticket).where(
                Ticket.status == TicketStatus.SCHEDULED,
                Ticket.slot_start < now - MISSED_AFTER,
            )
        )
    )
    for ticket in missed:
        ticket.move_to(TicketStatus.NO_SHOW, now, event="missed")
    commit(session)
    return len(missed)


def earliest_slot(session: Session, service: ServiceInfo, now: datetime) -> datetime | None:
    """The first slot with room from now (what the kiosk offers for a paused or full service)."""
    opening = slots.next_free(session, service, now)
    return opening.start if opening is not None else None


# --- the citizen's choices -----------------------------------------------------------------


def confirm(session: Session, clock: Clock, token: str) -> TicketView:
    """The citizen will come at the ticket's time. Raises NotFound, StateConflict."""
    now = clock.now()
    ticket = find_ticket(session, token)
    if ticket.status != TicketStatus.SCHEDULED:
        raise StateConflict(
            f"ticket {ticket.number} is {ticket.status.value}; only a booked time can be confirmed",
            status=ticket.status.value,
        )
    ticket.events.append(TicketEvent(at=now, event="confirmed"))
    commit(session)
    return view_ticket(session, now, ticket)


def next_slot(session: Session, clock: Clock, token: str) -> TicketView:
    """Move a booked ticket to the next free slot after its current one, freeing that one at
    once, and text the new time. Raises NotFound, StateConflict, NoFreeSlot, RateLimited (its
    number had its day's messages: nothing moves)."""
    now = clock.now()
    ticket = find_ticket(session, token)
    service = directory.current(session).service_by_id(ticket.service_id)
    if ticket.phone is not None:
        daily_cap.ensure_room(session, now, ticket.phone, service.branch.timezone)
    if not move_to_next_slot(session, now, ticket, service):
        session.rollback()
        raise NoFreeSlot("no later time is free in the coming weeks; your booking stays as it is")
    texting.another_slot(session, now, ticket, service)
    commit(session)
    return view_ticket(session, now, ticket)


def move_to_next_slot(
    session: Session, now: datetime, ticket: Ticket, service: ServiceInfo
) -> bool:
    """In the caller's transaction: move a scheduled ticket to the first free slot after its
    own, freeing its place; False when none is free. Raises StateConflict for a ticket that
    holds no slot."""
    if ticket.status != TicketStatus.SCHEDULED or ticket.slot_start is None:
        raise StateConflict(
            f"ticket {ticket.number} is {ticket.status.value}; only a booked time can be moved",
            status=ticket.status.value,
        )
    old_start = ticket.slot_start
    for opening in slots.openings(session, service, now, old_start, 1):
        if opening.start <= old_start:
            continue
        if slots.take_place(session, service.id, opening.start, opening.capacity):
            slots.give_back(session, service.id, old_start)
            ticket.slot_start, ticket.slot_end = opening.start, opening.end
            ticket.events.append(TicketEvent(at=now, event="moved", note=old_start.isoformat()))
            session.flush()
            return True
    return False
