"""A citizen's ticket: take a walk-in ticket, check in for an appointment, look it up, cancel."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from queue_app import (
    coming_back,
    daily_cap,
    directory,
    idempotency,
    line_estimates,
    line_revision,
    locales,
    numbering,
    service_state,
    slots,
    texting,
    ticket_rows,
    wait_estimate,
    waiting_line,
)
from queue_app.access import Principal
from queue_app.clock import Clock
from queue_app.db import commit, read_outside_transaction, unavailable
from queue_app.directory import BranchInfo, CounterInfo, ServiceInfo
from queue_app.errors import (
    InvalidInput,
    InvalidPhone,
    NotFound,
    ServiceClosed,
    ServicePaused,
    StateConflict,
    TooEarly,
    TooLate,
)
from queue_app.models import Message, MessageStatus, Ticket, TicketEvent, TicketKind, TicketStatus
from queue_app.models.tickets import ACTIVE_STATUSES
from sms.numbers import InvalidNumber, to_e164

log = logging.getLogger(__name__)

# Check-in for an appointment: from half an hour before its slot starts, so that a citizen who
# came early is not sent away, to a quarter of an hour after, so that a latecomer does not push
# back everyone booked after them. Later than that, the slot is lost.
CHECK_IN_OPENS_BEFORE = timedelta(minutes=30)
CHECK_IN_CLOSES_AFTER = timedelta(minutes=15)


def new_token() -> str:
    """192 random bits: the QR code is the only key to a ticket's page; it must not be guessed."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class TicketView:
    """A ticket with what its owner wants to know: where they stand and how long it will take."""

    ticket: Ticket
    branch: BranchInfo
    service: ServiceInfo
    counter: CounterInfo | None
    position: int | None
    # Minutes until called (wait_estimate), and the range it mostly falls within; None while no
    # open counter will call the ticket (not waiting, its service paused, no counter serving it).
    eta_minutes: int | None
    service_status: service_state.ServiceStatus
    eta_range_minutes: tuple[int, int] | None = None
    # True when an earlier request with the same Idempotency-Key issued this ticket.
    # Until when it may take today's free time after an outage (recovery offers), if it may.
    offer_until: datetime | None = None
    replayed: bool = False
    # The branch's line revision and the directory's, as a lookup read them (``poll``).
    revisions: tuple[int | None, str | None] = (None, None)

    @property
    def awaiting_slot(self) -> bool:
        """A move found no free time for the ticket yet: its citizen was told, and will get a
        new time when there is room (``rescheduler``)."""
        ticket = self.ticket
        still_movable = ticket.status in (TicketStatus.WAITING, TicketStatus.SCHEDULED)
        return ticket.awaiting_slot_for is not None and still_movable


def required_phone(raw: str | None, branch: BranchInfo) -> str:
    """``raw`` as E.164, where a number must be given (a one-time code goes to it). Raises
    InvalidPhone."""
    e164 = parse_phone(raw, branch)
    if e164 is None:
        raise InvalidPhone("a mobile number is required", phone=["required"])
    return e164


def parse_phone(raw: str | None, branch: BranchInfo) -> str | None:
    """``raw`` as E.164 for the branch's country (None for no number). Raises InvalidPhone."""
    if not raw:
        return None
    try:
        return to_e164(raw, branch.country)
    except InvalidNumber:
        raise InvalidPhone(
            f"not a mobile number for {branch.country}: {raw}",
            phone=[f"a mobile number valid in {branch.country}"],
        ) from None


def check_takes_walk_ins(
    session: Session, service: ServiceInfo, status: service_state.ServiceStatus, now: datetime
) -> None:
    if status.state == service_state.ServiceState.PAUSED:
        # The kiosk offers to book it: the same earliest free time that GET /branches/{b} shows.
        opening = slots.next_free(session, service, now)
        raise ServicePaused(
            f"{service.code} is paused: a system it needs is down",
            backends=[b.code for b in status.down_backends],
            next_slot=opening.start.isoformat() if opening is not None else None,
        )
    if status.state == service_state.ServiceState.CLOSED and not status.early_tickets:
        raise ServiceClosed(
            f"{service.code} is closed now",
            reason=status.closed_reason.value if status.closed_reason else None,
            next_opening=status.next_opening.isoformat() if status.next_opening else None,
        )


def citizen_channel(branch: BranchInfo, asked: str | None) -> str:
    """How the citizen is told: the channel asked for, among the branch's ``channels``, else
    the branch's first. Raises InvalidInput for a channel the branch does not offer."""
    if asked is None:
        return branch.channels[0]
    if asked not in branch.channels:
        offered = ", ".join(branch.channels)
        raise InvalidInput(
            f"this branch does not send messages by {asked}; it offers {offered}",
            channel=[f"not offered here; choose among {offered}"],
        )
    return asked


def citizen_locale(asked: str) -> str:
    """The language of a ticket's messages and pages: the one asked for, Arabic if unknown."""
    return locales.supported(asked)


# The first event in a ticket's history, which is also its first message's event.
FIRST_EVENT = {TicketKind.WALK_IN: ticket_rows.ISSUED, TicketKind.APPOINTMENT: "booked"}


def issue(
    session: Session,
    now: datetime,
    service: ServiceInfo,
    *,
    phone: str | None,
    locale: str,
    request: Sequence[object],
    idempotency_key: str | None,
    admit: Callable[[service_state.ServiceStatus], Ticket],
    channel: str = "sms",
) -> TicketView:
    """Issue a ticket of ``service`` (a walk-in's or a booking's: the steps they share) and text
    it to ``phone`` (E.164, or None) in ``locale``, in the same transaction (the outbox), then
    commit.

    ``admit`` does the caller's checks against the service's status now and returns the
    ticket's own part (kind, state, local day, slot or place in line); it runs only for a
    request that is not a repeat. With an
    ``idempotency_key``, a request repeated within a day (``request`` fingerprints what it asked
    for) gets the ticket the first one issued, with ``replayed`` set, even when both arrive at
    once: the key's unique constraint lets one of them insert it, and the other one rolls back
    and returns the winner's ticket. The repeat is answered whatever the service's state is now,
    since the ticket exists.

    The view's ticket is the one written, as it stood then: a kiosk's walk-in is written past
    the session (``ticket_rows``), so it is not in the session and never loads anything again
    (no relationships, its event without an id). Read the ticket again to follow it.

    Raises IdempotencyKeyReused (the key came before with another request), RateLimited (the
    phone had its day's messages, ``daily_cap``), and what ``admit`` raises.
    """
    branch = service.branch
    asked = idempotency.fingerprint(*request)
    if idempotency_key is not None:
        earlier = idempotency.replay(session, now, branch.id, idempotency_key, asked)
        if earlier is not None:
            return replace(view_ticket(session, now, earlier), replayed=True)
    if phone is not None:
        daily_cap.ensure_room(session, now, phone, branch.timezone)
    status = service_state.status_of(service, now)
    ticket = admit(status)
    ticket.token = new_token()
    ticket.branch_id, ticket.service_id, ticket.letter = branch.id, service.id, service.letter
    ticket.phone, ticket.locale, ticket.issued_at = phone, locale, now
    ticket.channel = channel
    if ticket_rows.fits(session, ticket):
        # A walk-in's rows in as few statements as they take: the kiosks of a crowded office
        # wait for each other's number only for those (``ticket_rows``).
        key = (
            None
            if idempotency_key is None
            else ticket_rows.IdempotencyKeyRow(idempotency_key, asked)
        )
        try:
            ticket_rows.write_walk_in(session, now, ticket, key)
        except IntegrityError as err:
            if idempotency_key is None:
                raise
            winner = idempotency.lost_race(session, now, branch.id, idempotency_key, asked, err)
            return replace(view_ticket(session, now, winner), replayed=True)
    else:
        taken = numbering.take_number(session, branch.id, service.letter, ticket.local_day, now)
        ticket.sequence = taken.sequence
        if ticket.queued_at is not None:
            # Behind the number before it, though this request may have started first.
            ticket.queued_at = max(ticket.queued_at, taken.queued_at)
        ticket.events.append(TicketEvent(at=now, event=FIRST_EVENT[ticket.kind]))
        session.add(ticket)
        session.flush()
        if idempotency_key is not None:
            earlier = idempotency.remember_key(
                session, now, branch.id, idempotency_key, asked, ticket
            )
            if earlier is not None:
                return replace(view_ticket(session, now, earlier), replayed=True)
    if ticket.kind == TicketKind.APPOINTMENT:
        texting.appointment_booked(session, now, ticket, service)
    else:
        texting.ticket_issued(session, now, ticket, service)
    commit(session)
    # The place and the estimate are worked out after the commit, outside the lock the number
    # took (SQLite's writer lock, PostgreSQL's row lock): the branch's kiosks wait for each
    # other only for the writes, not for reading and simulating the whole line. The place is
    # still the one the ticket took: tickets taken later queue behind it, and a call meanwhile
    # is simply seen.
    # A plain walk-in joins what this process keeps of the line (``line_estimates``): its
    # place and wait come without reading the whole line again.
    try:
        waiting = ticket.status == TicketStatus.WAITING
        revisions = line_revision.revisions(session, branch.id) if waiting else None
        read_outside_transaction(session)
        view = _view(session, now, ticket, branch, service, status, revisions)
        session.commit()  # ends the autocommit "transaction" (no round trip)
    except DBAPIError as err:
        if not unavailable(err):
            raise
        # The ticket is committed: the citizen gets it, without the place and wait that its
        # page shows once the database answers again, rather than a refusal ("nothing was
        # changed", 503) that leaves a ticket nobody holds in the line. Taken out of the session
        # first: the rollback would expire it, and showing it would read the database again.
        log.warning("ticket %s issued; its place not read: %s", ticket.number, err.orig)
        if ticket in session:  # an ORM-written one (ticket_rows writes past the session)
            session.expunge(ticket)
        session.rollback()
        view = _view(session, now, ticket, branch, service, status, place=False)
    return view


def take_walk_in(
    session: Session,
    clock: Clock,
    principal: Principal,
    branch_code: str,
    service_code: str,
    *,
    phone: str | None = None,
    locale: str = "ar",
    priority: bool = False,
    idempotency_key: str | None = None,
    channel: str | None = None,
) -> TicketView:
    """Issue a walk-in ticket and put it in the waiting line; with a ``phone``, text the citizen
    the ticket and its link, so a phone can follow the line. With an ``idempotency_key``, a
    repeated request gets the first one's ticket (``issue``).

    Raises NotFound (branch, service), Forbidden (another branch's token), InvalidPhone,
    IdempotencyKeyReused (the key came before with another request), ServicePaused (a back-end
    system it needs is down), ServiceClosed (outside hours, but not in the branch's
    ``early_tickets_minutes`` before an opening: such a ticket belongs to the opening's day).
    """
    now = clock.now()
    branch = directory.current(session).branch(branch_code)
    principal.require_branch(branch.id)
    service = branch.service(service_code)
    e164 = parse_phone(phone, branch)
    locale = citizen_locale(locale)
    chosen = citizen_channel(branch, channel)
    return walk_in(
        session,
        now,
        service,
        phone=e164,
        locale=locale,
        priority=priority,
        idempotency_key=idempotency_key,
        channel=chosen,
    )


def walk_in(
    session: Session,
    now: datetime,
    service: ServiceInfo,
    *,
    phone: str | None,
    locale: str,
    priority: bool,
    idempotency_key: str | None,
    channel: str,
) -> TicketView:
    """``take_walk_in`` once the caller has checked who asks and what they typed (``phone``
    E.164, ``locale`` and ``channel`` supported): the kiosk's, the API's and the join page's
    (``joining``) ticket. Raises as ``issue`` and ``take_walk_in`` do."""
    branch = service.branch
    e164, chosen = phone, channel

    def admit(status: service_state.ServiceStatus) -> Ticket:
        check_takes_walk_ins(session, service, status, now)
        # A ticket taken before the opening belongs to that opening's day (and its numbers).
        day_of = status.next_opening if status.early_tickets and status.next_opening else now
        return Ticket(
            local_day=day_of.astimezone(branch.zone).date(),
            kind=TicketKind.WALK_IN,
            status=TicketStatus.WAITING,
            priority=priority,
            queued_at=now,
        )

    return issue(
        session,
        now,
        service,
        phone=e164,
        locale=locale,
        request=(service.code, e164, locale, priority, chosen),
        idempotency_key=idempotency_key,
        admit=admit,
        channel=chosen,
    )


def find_ticket(session: Session, token: str) -> Ticket:
    """Raises NotFound; a forged token and a deleted ticket look the same."""
    ticket = session.scalar(
        select(Ticket).where(Ticket.token == token).options(selectinload(Ticket.events))
    )
    if ticket is None:
        raise NotFound("no such ticket")
    return ticket


def _view(
    session: Session,
    now: datetime,
    ticket: Ticket,
    branch: BranchInfo,
    service: ServiceInfo,
    status: service_state.ServiceStatus,
    revisions: tuple[int | None, str | None] | None = None,
    *,
    place: bool = True,
) -> TicketView:
    """``revisions``: the branch's line revision and the directory's, read in this request
    outside any transaction; the place and the wait are then taken from what this process
    keeps of the line at the same revisions and minute (``line_estimates``). Without them, the
    line is read and worked out here. ``place`` False: neither (nothing is read)."""
    position = wait = None
    if ticket.status == TicketStatus.WAITING and place:
        if revisions is None:
            # The whole branch's line, one round trip: the counters that call this ticket also
            # serve other services' lines (wait_estimate).
            line = waiting_line.branch_line(session, branch, now)
            position = line.ahead_of(ticket) + 1
            wait = wait_estimate.waits(line.line).get(ticket.id)
        else:
            position, wait = line_estimates.place_and_wait(session, branch, now, ticket, revisions)
    counter = None
    # The counter calling or holding it, or the one whose own line it waits in (a transfer).
    counter_id = ticket.counter_id or ticket.for_counter_id
    if counter_id is not None:
        counter = next((c for c in branch.counters if c.id == counter_id), None)
    return TicketView(
        ticket=ticket,
        branch=branch,
        service=service,
        counter=counter,
        position=position,
        eta_minutes=wait.minutes if wait is not None else None,
        eta_range_minutes=(wait.low, wait.high) if wait is not None else None,
        service_status=status,
        offer_until=open_offer_until(ticket, now),
    )


def open_offer_until(ticket: Ticket, now: datetime) -> datetime | None:
    """Until when the ticket may take today's free time offered after an outage (``recovery``),
    or None: no offer, a lapsed one, or a ticket that no longer holds a booked time."""
    if ticket.status != TicketStatus.SCHEDULED or ticket.offer_until is None:
        return None
    return ticket.offer_until if now < ticket.offer_until else None


def view_ticket(session: Session, now: datetime, ticket: Ticket) -> TicketView:
    """The ticket as its citizen sees it at ``now``, in the caller's transaction."""
    service = directory.current(session).service_by_id(ticket.service_id)
    return _view(
        session, now, ticket, service.branch, service, service_state.status_of(service, now)
    )


# A ticket with its history and the directory's revision: the lookup's first round trip.
_LOOKUP = (
    select(Ticket, directory.REVISION, line_revision.REVISION)
    .where(Ticket.token == bindparam("token"))
    .options(joinedload(Ticket.events))
    # What the database holds now, even if this session loaded the ticket before a bulk move.
    .execution_options(populate_existing=True)
)


def lookup(session: Session, now: datetime, token: str) -> TicketView:
    """A ticket as its citizen sees it, for the ticket page that every phone in the hall polls.

    Two round trips and no transaction: the ticket with its history and the directory's
    revision, then the branch's line (waiting_line.branch_line). Each statement sees the latest
    commit; if a counter calls someone in between, the next poll shows it. Raises NotFound.
    """
    read_outside_transaction(session)
    row = session.execute(_LOOKUP, {"token": token}).unique().one_or_none()
    if row is None:
        raise NotFound("no such ticket")
    ticket: Ticket = row[0]
    revision: str | None = row[1]
    service = directory.of_revision(session, revision).service_by_id(ticket.service_id)
    status = service_state.status_of(service, now)
    view = _view(session, now, ticket, service.branch, service, status, (row[2], revision))
    # Ends the session's autocommit "transaction" (no round trip), so that whatever the same
    # session does next gets a transaction of its own.
    session.commit()
    # Read before the line: a change committed in between makes the next poll look again.
    line_revision.remember(session, ticket.branch_id, row[2], revision)
    return replace(view, revisions=(row[2], revision))


def poll(
    session: Session, now: datetime, token: str, offered: Iterable[str], secret: bytes
) -> tuple[TicketView | None, str]:
    """The ticket page's poll: the ticket's view and its tag (an ETag value), or None and the tag
    when one of the ``offered`` tags (If-None-Match) still describes it (``line_revision``).
    Raises NotFound."""
    same = line_revision.unchanged(session, secret, token, offered, now)
    if same is not None:
        return None, same
    view = lookup(session, now, token)
    line, dir_revision = view.revisions
    return view, line_revision.ticket_tag(
        secret, token, view.ticket.branch_id, line, dir_revision, now
    )


def cancel(session: Session, clock: Clock, token: str) -> TicketView:
    """The citizen gives up their place. Raises NotFound, StateConflict."""
    now = clock.now()
    ticket = find_ticket(session, token)
    give_up(session, ticket, now)
    commit(session)
    return view_ticket(session, now, ticket)


def give_up(session: Session, ticket: Ticket, now: datetime, *, note: str | None = None) -> None:
    """Cancel ``ticket`` in the caller's transaction; a booked slot's place is free at once.
    Raises StateConflict."""
    held = ticket.slot_start if ticket.status == TicketStatus.SCHEDULED else None
    ticket.move_to(TicketStatus.CANCELLED, now, note=note)
    if held is not None:
        slots.give_back(session, ticket.service_id, held)


@dataclass(frozen=True)
class CheckInWindow:
    opens: datetime
    closes: datetime


def check_in_window(slot_start: datetime) -> CheckInWindow:
    return CheckInWindow(slot_start - CHECK_IN_OPENS_BEFORE, slot_start + CHECK_IN_CLOSES_AFTER)


def check_in(session: Session, clock: Clock, principal: Principal, token: str) -> TicketView:
    """An appointment's citizen has arrived: the scheduled ticket enters the waiting line. Or a
    walk-in told by text who missed the call came back: within the branch's grace period it
    waits again near the front (``coming_back.back_in_line``).

    Its place in the line is its slot's start, not the moment of check-in: a citizen who came
    early waits behind those who took walk-in tickets before the slot began, and one who came a
    few minutes late keeps the place the booking promised. Check-in is allowed whatever state the
    service is in: the citizen is here, and a paused service's line is rescheduled as a whole.

    Raises NotFound, Forbidden (a ticket of another branch), StateConflict (not a scheduled
    appointment), TooEarly (with ``opens_at``), TooLate (with ``closed_at``: take a walk-in ticket
    or book again).
    """
    now = clock.now()
    ticket = find_ticket(session, token)
    principal.require_branch(ticket.branch_id)
    if ticket.kind == TicketKind.WALK_IN and ticket.status == TicketStatus.NO_SHOW:
        # Waiting anywhere: a walk-in who missed the call scans the ticket on coming back.
        coming_back.back_in_line(session, now, ticket)
        return view_ticket(session, now, ticket)
    if ticket.status != TicketStatus.SCHEDULED or ticket.slot_start is None:
        raise StateConflict(
            f"ticket {ticket.number} is {ticket.status.value}; only a booked appointment "
            "can be checked in",
            status=ticket.status.value,
        )
    window = check_in_window(ticket.slot_start)
    if now < window.opens:
        raise TooEarly(
            f"check-in for this appointment opens at {window.opens.isoformat()}",
            opens_at=window.opens.isoformat(),
            slot_start=ticket.slot_start.isoformat(),
        )
    if now > window.closes:
        raise TooLate(
            f"check-in for this appointment closed at {window.closes.isoformat()}; take a "
            "walk-in ticket or book a new appointment",
            closed_at=window.closes.isoformat(),
            slot_start=ticket.slot_start.isoformat(),
            options=["walk_in", "book"],
        )
    ticket.move_to(TicketStatus.WAITING, now, event="checked_in")
    ticket.queued_at = ticket.slot_start
    commit(session)
    return view_ticket(session, now, ticket)


def choose_channel(session: Session, now: datetime, token: str, asked: str) -> Ticket:
    """The citizen of ``token`` chooses how to be told from now on (``sms`` or ``whatsapp``,
    among the branch's channels); messages still waiting in the outbox go the new way too, and
    commit. Raises NotFound, InvalidInput (no phone, or a channel the branch lacks),
    StateConflict (a finished ticket)."""
    ticket = find_ticket(session, token)
    service = directory.current(session).service_by_id(ticket.service_id)
    chosen = citizen_channel(service.branch, asked)
    if ticket.phone is None:
        raise InvalidInput(
            "this ticket has no mobile number to send messages to", channel=["no phone"]
        )
    if ticket.status not in ACTIVE_STATUSES:
        raise StateConflict("this ticket is finished: nothing more is sent to it")
    ticket.channel = chosen
    # Not a message that fell back to SMS: WhatsApp already failed for it.
    session.execute(
        update(Message)
        .where(
            Message.ticket_id == ticket.id,
            Message.status == MessageStatus.QUEUED,
            Message.fell_back_at.is_(None),
        )
        .values(channel=chosen)
        .execution_options(synchronize_session=False)
    )
    commit(session)
    return ticket
