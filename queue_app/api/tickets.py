from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_smorest import Blueprint

from queue_app import appointments, counters, recovery, tickets
from queue_app.access import STAFF_AND_UP
from queue_app.api import schemas
from queue_app.api.auditing import audited, ticket_by_token
from queue_app.api.auth import BEARER, principal, requires_role
from queue_app.api.presenters import ticket_data
from queue_app.models import Role
from queue_app.web.extensions import current_clock, current_settings, db

blp = Blueprint("tickets", __name__, description="A ticket, by the token in its QR code")


def _render(ticket_view: tickets.TicketView) -> dict[str, Any]:
    return ticket_data(ticket_view, current_settings())


@blp.get("/tickets/<token>")
@blp.response(200, schemas.Ticket)
@blp.alt_response(304, description="Not Modified: the ticket is as the ETag sent says")
@blp.alt_response(404, schema=schemas.Error)
def get_ticket(token: str) -> Any:
    """A ticket's state, place in line and estimated wait (anyone holding the token).

    The answer carries a weak ETag: a poll that sends it back in If-None-Match is answered
    304 Not Modified, without a body, while nothing that the answer shows has changed."""
    view, tag = tickets.poll(
        db.session,
        current_clock().now(),
        token,
        request.if_none_match.as_set(include_weak=True),
        current_settings().secret_key.encode(),
    )
    etag = {"ETag": f'W/"{tag}"'}
    if view is None:
        return Response(status=304, headers=etag)
    return _render(view), etag


@blp.post("/tickets/<token>/cancel")
@blp.response(200, schemas.Ticket)
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(409, schema=schemas.Error)
def cancel_ticket(token: str) -> dict[str, Any]:
    """The citizen gives up their place (anyone holding the token)."""
    return _render(tickets.cancel(db.session, current_clock(), token))


@blp.post("/tickets/<token>/confirm")
@blp.response(200, schemas.Ticket)
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(409, schema=schemas.Error, description="not a booked time")
def confirm_ticket(token: str) -> dict[str, Any]:
    """The citizen will come at the booked (or new) time (anyone holding the token)."""
    return _render(appointments.confirm(db.session, current_clock(), token))


@blp.post("/tickets/<token>/next-slot")
@blp.response(200, schemas.Ticket)
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(409, schema=schemas.Error, description="not a booked time, or no_free_slot")
@blp.alt_response(
    429,
    schema=schemas.Error,
    description="rate_limited: the ticket's phone had its messages for today "
    "(QUEUE_SMS_DAILY_CAP); the booking does not move",
)
def next_slot(token: str) -> dict[str, Any]:
    """Move the booking to the next free slot after its current one; the old place is freed at
    once and the new time texted (anyone holding the token). Once the phone has had its day's
    messages (8 by default), it answers 429 and the booking stays where it is."""
    return _render(appointments.next_slot(db.session, current_clock(), token))


@blp.post("/tickets/<token>/accept-offer")
@blp.response(200, schemas.Ticket, description="the ticket, now waiting in today's line")
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(
    409, schema=schemas.Error, description="state_conflict: no open offer (none, lapsed, taken)"
)
def accept_offer(token: str) -> dict[str, Any]:
    """Take today's free time offered after an outage ended, instead of the new time it gave:
    the ticket joins today's line now and its booked time is freed (anyone holding the
    token)."""
    return _render(recovery.accept(db.session, current_clock(), token))


@blp.post("/tickets/<token>/check-in")
@blp.response(200, schemas.Ticket, description="the ticket, now waiting")
@blp.alt_response(403, schema=schemas.Error, description="a ticket of another branch")
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(
    409,
    schema=schemas.Error,
    description="too_early (fields.opens_at), too_late (fields.closed_at: take a walk-in ticket "
    "or book again; fields.grace_ended_at for a walk-in back too late) or state_conflict (not "
    "a scheduled appointment, nor a walk-in that may come back)",
)
@blp.doc(security=BEARER)
@requires_role(Role.KIOSK, *STAFF_AND_UP)
@audited("ticket.check_in", ticket_by_token)
def check_in(token: str) -> dict[str, Any]:
    """Check in for an appointment (kiosk, staff, manager, admin).

    The citizen has arrived: the scheduled ticket enters the waiting line, in the place of its
    slot's start. Check-in is open from 30 minutes before the slot starts to 15 minutes after.
    A walk-in ticket marked no-show whose citizen was told by text comes back the same way,
    within the branch's ``late_grace_minutes``, and is called near the front.
    """
    return _render(tickets.check_in(db.session, current_clock(), principal(), token))


def _counter_action(action: Any, token: str) -> dict[str, Any]:
    clock = current_clock()
    ticket = action(db.session, clock, principal(), token)
    return _render(tickets.view_ticket(db.session, clock.now(), ticket))


@blp.post("/tickets/<token>/done")
@blp.response(200, schemas.Ticket)
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(409, schema=schemas.Error)
@blp.doc(security=BEARER)
@requires_role(*STAFF_AND_UP)
@audited("ticket.done", ticket_by_token)
def ticket_done(token: str) -> dict[str, Any]:
    """The counter finished this citizen's transaction (staff and up)."""
    return _counter_action(counters.mark_done, token)


@blp.post("/tickets/<token>/no-show")
@blp.response(200, schemas.Ticket)
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(409, schema=schemas.Error)
@blp.doc(security=BEARER)
@requires_role(*STAFF_AND_UP)
@audited("ticket.no_show", ticket_by_token)
def ticket_no_show(token: str) -> dict[str, Any]:
    """The citizen did not come when called (staff and up)."""
    return _counter_action(counters.mark_no_show, token)


@blp.post("/tickets/<token>/came-back")
@blp.response(200, schemas.Ticket, description="the ticket, waiting near the front")
@blp.alt_response(403, schema=schemas.Error, description="a ticket of another branch")
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(
    409,
    schema=schemas.Error,
    description="too_late (fields.grace_ended_at: take a new ticket) or state_conflict (not a "
    "missed walk-in, not told by text, back once already, no grace at this branch)",
)
@blp.doc(security=BEARER)
@requires_role(*STAFF_AND_UP)
@audited("ticket.came_back", ticket_by_token)
def ticket_came_back(token: str) -> dict[str, Any]:
    """The citizen of a ticket marked no-show came back within the branch's grace period
    (staff and up): it waits again, called after one regular ticket, one such ticket at a
    time between regulars."""
    return _counter_action(counters.came_back, token)


@blp.post("/tickets/<token>/recall")
@blp.response(200, schemas.Ticket)
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(409, schema=schemas.Error)
@blp.doc(security=BEARER)
@requires_role(*STAFF_AND_UP)
@audited("ticket.recall", ticket_by_token)
def ticket_recall(token: str) -> dict[str, Any]:
    """Call the called ticket once more (staff and up)."""
    return _counter_action(counters.recall, token)


@blp.post("/tickets/<token>/hold")
@blp.response(200, schemas.Ticket, description="the ticket, now on_hold")
@blp.alt_response(403, schema=schemas.Error, description="a ticket of another branch")
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(409, schema=schemas.Error, description="state_conflict: not called")
@blp.doc(security=BEARER)
@requires_role(*STAFF_AND_UP)
@audited("ticket.hold", ticket_by_token)
def ticket_hold(token: str) -> dict[str, Any]:
    """Put the called citizen aside, e.g. to fetch a document (staff and up).

    The ticket leaves the counter and nobody's line; its counter resumes it or sends it back to
    the line.
    """
    return _counter_action(counters.hold, token)


@blp.post("/tickets/<token>/resume")
@blp.response(200, schemas.Ticket, description="the ticket, called again at its counter")
@blp.alt_response(403, schema=schemas.Error, description="a ticket of another branch")
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(
    409,
    schema=schemas.Error,
    description="state_conflict (not on hold, its counter closed) or counter_busy (the counter "
    "is serving someone else, fields.serving)",
)
@blp.doc(security=BEARER)
@requires_role(*STAFF_AND_UP)
@audited("ticket.resume", ticket_by_token)
def ticket_resume(token: str) -> dict[str, Any]:
    """The held citizen is back: the counter that held the ticket calls it again (staff and
    up)."""
    return _counter_action(counters.resume, token)


@blp.post("/tickets/<token>/back-to-line")
@blp.response(200, schemas.Ticket, description="the ticket, waiting in its old place")
@blp.alt_response(403, schema=schemas.Error, description="a ticket of another branch")
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(409, schema=schemas.Error, description="state_conflict: not on hold")
@blp.doc(security=BEARER)
@requires_role(*STAFF_AND_UP)
@audited("ticket.back_to_line", ticket_by_token)
def ticket_back_to_line(token: str) -> dict[str, Any]:
    """A held ticket waits in its service's line again, in the place it had (staff and up)."""
    return _counter_action(counters.back_to_line, token)


@blp.post("/tickets/<token>/transfer")
@blp.arguments(schemas.TransferBody)
@blp.response(200, schemas.Ticket, description="the ticket, waiting in its new line")
@blp.alt_response(403, schema=schemas.Error, description="a ticket of another branch")
@blp.alt_response(404, schema=schemas.Error, description="unknown ticket, service or counter")
@blp.alt_response(409, schema=schemas.Error, description="state_conflict: not called or held")
@blp.alt_response(
    422,
    schema=schemas.Error,
    description="no service and no counter, the ticket's own place, or a counter that does not "
    "serve the service",
)
@blp.doc(security=BEARER)
@requires_role(*STAFF_AND_UP)
@audited("ticket.transfer", ticket_by_token)
def ticket_transfer(body: dict[str, Any], token: str) -> dict[str, Any]:
    """Send a called or held ticket to another service of the branch, or to one counter (staff
    and up).

    The ticket keeps its place in line (when its citizen first joined), so it comes before
    everyone who joined after it: at or near the front of the target service's line, priority
    tickets still first. Sent to a counter, it waits in that counter's own line, which that
    counter calls before its common line and no other counter calls.
    """
    clock = current_clock()
    ticket = counters.transfer(
        db.session,
        clock,
        principal(),
        token,
        service_code=body.get("service"),
        counter_code=body.get("counter"),
    )
    return _render(tickets.view_ticket(db.session, clock.now(), ticket))
