"""/t/<token>: the ticket's own page, behind its QR code. It reads only our own database, so it
works whatever state the back-end systems are in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from queue_app import tickets
from queue_app.models import Ticket, TicketEvent, TicketStatus
from queue_app.pages import formatting
from queue_app.pages.labels import (
    event_labels,
    script_strings,
    ticket_page_strings,
    ticket_status_labels,
)
from queue_app.pages.notices import service_notice
from queue_app.web import i18n
from queue_app.web.extensions import current_clock, db

bp = Blueprint("ticket_page", __name__, template_folder="templates")

# Often enough that a citizen walking to the counter sees the call; the page is one cheap read.
POLL_SECONDS = 10
# The estimated wait shows as a range ("about 9–17 minutes") from this spread between its low and
# high ends (wait_estimate): below it, one number says as much and reads more easily.
RANGE_SHOWN_FROM_MINUTES = 10
# Who still waits to be served, and so needs to hear that the service is paused or closed. A
# called citizen is already at the counter: the advice to wait for a new time would mislead.
STILL_WAITING = (TicketStatus.SCHEDULED, TicketStatus.WAITING)
# What a booked time's history may say last about that time: whether the citizen confirmed it,
# or it was set (booked, moved, rescheduled, a recovery offer taken) after their last word.
# Mirrored in ticket.js.
TIME_SET = ("booked", "moved", "rescheduled", "offer_accepted")
# Events whose note is the counter, named by their label; and events whose note is a code meant
# for staff (a service code, a counter), which the page leaves out: the ticket's service and
# counter are shown above the history. Both mirrored in ticket.js.
COUNTER_NOTED = ("called", "held", "resumed")
NOTE_FOR_STAFF = ("recalled", "transferred", "back_to_line", "came_back")


def counter_note(view: tickets.TicketView) -> str:
    """Where a held ticket's citizen goes back to, or which counter will call a ticket that a
    transfer sent to one counter (mirrored in ticket.js)."""
    if view.counter is None:
        return ""
    counter = formatting.isolate(view.counter.code)
    if view.ticket.status == TicketStatus.ON_HOLD:
        return ticket_page_strings()["held_at"] % {"counter": counter}
    if view.ticket.status == TicketStatus.WAITING:
        return ticket_page_strings()["waits_for_counter"] % {"counter": counter}
    return ""


@bp.get("/t/<token>")
def show(token: str) -> str:
    now = current_clock().now()
    view = tickets.lookup(db.session, now, token)
    # A citizen who took the ticket in English opens its QR in English on a phone never used here.
    i18n.prefer_locale(view.ticket.locale)
    return render_template("ticket.html", **_page(view, now))


@bp.post("/t/<token>/channel")
def choose_channel(token: str) -> Response:
    """The citizen chooses WhatsApp or SMS for the ticket's messages (a plain form: it works
    without the script); back to the page, which shows the choice."""
    ticket = tickets.choose_channel(
        db.session, current_clock().now(), token, (request.form.get("channel") or "")[:16]
    )
    target = url_for("ticket_page.show", token=ticket.token, lang=ticket.locale)
    return redirect(target, 303)  # type: ignore[return-value]


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    text: str
    note: str | None


def _history(events: list[TicketEvent]) -> list[HistoryLine]:
    labels = event_labels()
    lines = []
    for event in reversed(events):  # newest first: what changed last is what the reader wants
        label = labels.get(event.event, event.event)
        if event.event in COUNTER_NOTED:  # its note is the counter, which the label names
            counter = formatting.isolate(event.note or "—")
            lines.append(HistoryLine(event.at, label % {"counter": counter}, None))
        elif event.event in NOTE_FOR_STAFF:
            lines.append(HistoryLine(event.at, label, None))
        else:
            lines.append(HistoryLine(event.at, label, event.note))
    return lines


def _slot_text(ticket: Ticket, zone: ZoneInfo) -> str | None:
    if ticket.slot_start is None or ticket.slot_end is None:
        return None
    return ticket_page_strings()["slot"] % {
        "day": formatting.day(ticket.slot_start, zone),
        "start": formatting.clock_time(ticket.slot_start, zone),
        "end": formatting.clock_time(ticket.slot_end, zone),
    }


def time_confirmed(events: list[TicketEvent]) -> bool:
    """Whether the citizen confirmed the ticket's current time (its last word since it was
    set)."""
    for event in reversed(events):
        if event.event == "confirmed":
            return True
        if event.event in TIME_SET:
            return False
    return False


def _shown_range(view: tickets.TicketView) -> tuple[int, int] | None:
    """The wait's range, when it is wide enough to be worth showing (mirrored in ticket.js)."""
    spread = view.eta_range_minutes
    if spread is None or spread[1] - spread[0] < RANGE_SHOWN_FROM_MINUTES:
        return None
    return spread


def _script(view: tickets.TicketView, now: datetime) -> dict[str, Any]:
    ticket, status = view.ticket, view.service_status
    script = script_strings(ticket_page_strings, formatting.page_locale(), view.branch.timezone)
    script.update(
        api=url_for("tickets.get_ticket", token=ticket.token),
        cancel=url_for("tickets.cancel_ticket", token=ticket.token),
        confirm=url_for("tickets.confirm_ticket", token=ticket.token),
        next_slot=url_for("tickets.next_slot", token=ticket.token),
        accept_offer=url_for("tickets.accept_offer", token=ticket.token),
        time_set=list(TIME_SET),
        counter_noted=list(COUNTER_NOTED),
        note_for_staff=list(NOTE_FOR_STAFF),
        now=now.isoformat(),
        poll_seconds=POLL_SECONDS,
        range_from=RANGE_SHOWN_FROM_MINUTES,
        status=ticket.status.value,
        # The ticket's JSON does not say why a service is closed; the script keeps what we knew.
        closed={
            "reason": status.closed_reason.value if status.closed_reason else None,
            "next_opening": status.next_opening.isoformat() if status.next_opening else None,
            # Tickets are issued before that opening: the wait counts from it, and is shown.
            "early_tickets": status.early_tickets,
        },
    )
    return script


def _page(view: tickets.TicketView, now: datetime) -> dict[str, Any]:
    ticket = view.ticket
    zone = view.branch.zone
    return {
        "view": view,
        "ticket": ticket,
        "zone": zone,
        "now": now,
        "status_label": ticket_status_labels()[ticket.status.value],
        "slot": _slot_text(ticket, zone),
        "eta_range": _shown_range(view),
        "notice": (
            service_notice(view.service_status, zone, now, awaiting_slot=view.awaiting_slot)
            if ticket.status in STILL_WAITING
            else None
        ),
        "history": _history(ticket.events),
        "counter_note": counter_note(view),
        "offer_text": (
            ticket_page_strings()["offer_text"]
            % {"time": formatting.clock_time(view.offer_until, zone)}
            if view.offer_until
            else ""
        ),
        "time_confirmed": time_confirmed(ticket.events),
        # WhatsApp or SMS, where the branch offers both and there is a number to send to.
        "channels": (
            view.branch.channels
            if ticket.phone and len(view.branch.channels) > 1 and ticket.status in STILL_WAITING
            else ()
        ),
        "cancel_question": ticket_page_strings()["cancel_question"][
            "scheduled" if ticket.status == TicketStatus.SCHEDULED else "waiting"
        ]
        % {"number": formatting.isolate(ticket.number)},
        "script": _script(view, now),
    }
