"""What the kiosk's touch screen shows (/kiosk/<branch>): the services with their state and wait,
and the words its script needs, in the page's language.

The screen is Arabic first; a citizen may switch to English, and the screen goes back to Arabic
when left alone. The enrolment screen, read by a technician rather than a citizen, speaks both
languages at once, as the display board does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext

from queue_app.branches import BranchView, ServiceView
from queue_app.directory import BranchInfo
from queue_app.locales import DEFAULT_LOCALE, LOCALES
from queue_app.models import Maintenance
from queue_app.pages import formatting
from queue_app.pages.labels import (
    minute_forms,
    script_strings,
    service_notices,
    service_state_labels,
    ticket_status_labels,
)
from queue_app.pages.notices import Notice, service_notice
from queue_app.service_state import ServiceState
from sms.numbers import mobile_example

# The service list refreshes itself; a citizen choosing a service should see what counters see.
POLL_SECONDS = 15
# Idle screens go back to the start: a ticket left on the screen is read within seconds, a flow
# left half-way is someone who walked off. The template hands these to the script as data
# attributes, so a branch can tune them without touching the script.
IDLE_TICKET_SECONDS = 45
IDLE_FLOW_SECONDS = 60
# Longest E.164 number: the keypad stops there.
MAX_PHONE_DIGITS = 15
TOKEN_SLOT = "__ticket__"


def kiosk_notices() -> dict[str, str]:
    """The notices of the ticket page, but for someone who has no ticket yet."""
    return {
        **service_notices(),
        "paused": gettext(
            "No tickets can be taken for this service until the system is back. Please ask at "
            "the information desk."
        ),
        # When a later time is free to book: the tile offers it (DESIGN.md: "the kiosk offers
        # the earliest slot instead").
        "paused_book": gettext(
            "No tickets can be taken for this service until the system is back. You can book "
            "the earliest free time instead."
        ),
    }


def citizen_strings() -> dict[str, Any]:
    """Every word the script may put on the screen for a citizen."""
    return {
        "state": service_state_labels(),
        "status": ticket_status_labels(),
        "notices": kiosk_notices(),
        "minutes": minute_forms(),
        "waiting": gettext("Waiting: %(count)s"),
        "nobody_waiting": gettext("Nobody is waiting"),
        "about": gettext("Wait: about %(minutes)s"),
        "any_moment": gettext("Any moment now"),
        "next": gettext("You are next"),
        "phone_short": gettext("This number is too short. Check it, or continue without a number."),
        "phone_invalid": gettext(
            "This is not a mobile number in %(country)s. Check it, or continue without a number."
        ),
        "working": gettext("Getting your ticket…"),
        "retrying": gettext("Connection problem, trying again…"),
        "gave_up": gettext(
            "We could not get your ticket. Please try again, or ask a member of staff."
        ),
        "paused_now": gettext(
            "No ticket: this service is paused because a system it needs is down."
        ),
        "closed_now": gettext("No ticket: this service is closed now."),
        "gone": gettext("This service is no longer offered here."),
        "too_many": gettext("Too many requests. Wait a moment and try again."),
        "failed": gettext("Something went wrong (%(status)s). Try again."),
        "your_ticket": gettext("Your ticket"),
        "checked_in": gettext("You are checked in"),
        "issued": gettext("Issued at %(time)s"),
        "slot": gettext("Your time: %(start)s – %(end)s"),
        "printing": gettext("Printing… Take your ticket from the printer."),
        "print_failed": gettext(
            "Could not print. Take a photo of the QR code, or ask a member of staff."
        ),
        "checking_in": gettext("Checking in…"),
        "too_early": gettext("It is too early to check in. Check-in opens at %(time)s."),
        "too_late": gettext(
            "Check-in for this appointment closed at %(time)s. Please take a new ticket, or book "
            "a new appointment."
        ),
        "already_in_line": gettext("This ticket is already in the line."),
        "not_scheduled": gettext(
            "This ticket is not an appointment waiting for check-in (it is “%(status)s”)."
        ),
        "unknown_booking": gettext(
            "We could not find this booking. Scan it again, or ask a member of staff."
        ),
        "other_office": gettext("This booking is for another office."),
        "not_a_code": gettext("That is not a booking code. Scan the QR code of your booking."),
        "check_in_failed": gettext(
            "We could not check you in. Please try again, or ask a member of staff."
        ),
        # Booking the earliest free time of a service that gives no ticket now.
        "earliest": gettext("Earliest free time: %(when)s"),
        "book_it": gettext("Book it"),
        "book_needs_phone": gettext("Type your mobile number, or touch “Book without a number”."),
        # DESIGN.md, outages step 2: those without a number see a new time on the board and on
        # the ticket's page, never by text; they must know it before they walk away.
        "no_phone_notice": gettext(
            "Nobody will text you: you left no mobile number. Keep the printed ticket. If your "
            "time changes, the new time is shown on the board in the hall and on your ticket's "
            "page (scan the QR code)."
        ),
        "book_phone_invalid": gettext(
            "This is not a mobile number in %(country)s. Check it and try again."
        ),
        "booking": gettext("Booking your appointment…"),
        "your_appointment": gettext("Your appointment"),
        "slot_taken": gettext(
            "Someone has just taken that time. The next free time is %(when)s: touch “Book this "
            "time” to take it."
        ),
        "system_away": gettext(
            "A system this service needs will not be available at that time. The next free time "
            "is %(when)s: touch “Book this time” to take it."
        ),
        "no_free_time": gettext(
            "There is no free time left to book for this service. Please ask at the information "
            "desk."
        ),
        "already_booked": gettext(
            "This mobile number already has an appointment for this service: %(number)s, "
            "%(when)s. The text message we sent has the link to it."
        ),
        "time_gone": gettext("This time can no longer be booked. Start again to see the next one."),
        "book_gave_up": gettext(
            "We could not book your appointment. Please try again, or ask a member of staff."
        ),
    }


def enrolment_strings() -> dict[str, str]:
    """For the technician who enrols the screen; shown in both languages."""
    return {
        "title": gettext("This screen is not a kiosk yet"),
        "citizens": gettext("Please ask at the information desk for a ticket."),
        "how": gettext(
            "For staff: on the server, run the command below. It prints an eight-digit code: "
            "type it here. A code works once, within a day."
        ),
        "code_label": gettext("Enrolment code"),
        "submit": gettext("Enrol this screen"),
        "enrolled": gettext("Enrolled. This screen now hands out tickets for %(branch)s."),
        "wrong": gettext("This code is not valid for this branch. Check it, or make a new one."),
        "used": gettext("This code has already been used. Make a new one."),
        "expired": gettext("This code has expired. Make a new one."),
        "shape": gettext("The code has eight digits."),
        "locked": gettext("Too many wrong codes. Try again in %(minutes)s."),
        "other_branch": gettext(
            "This screen was enrolled for another branch (%(branch)s). Enrol it again for this "
            "branch."
        ),
        "refused": gettext(
            "This screen's kiosk key was not accepted: it may have been revoked. Enrol it again."
        ),
        "network": gettext("Could not reach the server. Check the connection and try again."),
        "failed": gettext("Something went wrong (%(status)s). Try again."),
        "minutes": minute_forms(),
    }


@dataclass(frozen=True)
class ServiceTile:
    code: str
    letter: str
    name: str
    state: str
    state_label: str
    takes_tickets: bool
    notice: Notice | None
    waiting: str  # "Waiting: ٣", or that nobody is
    about: str | None  # the estimated wait, when there is an honest one
    # A service that gives no ticket now offers its earliest free time to book, when it has one.
    next_slot: datetime | None
    earliest: str | None  # "Earliest free time: Sunday 29 November at 9:00 AM"

    @property
    def bookable(self) -> bool:
        return not self.takes_tickets and self.next_slot is not None

    @property
    def mode(self) -> str:
        """What a touch does: take a ticket, book the earliest time, or nothing."""
        return "ticket" if self.takes_tickets else "book" if self.bookable else "none"


def _tile(line: ServiceView, now: datetime, locale: str) -> ServiceTile:
    service, status = line.service, line.status
    words = citizen_strings()
    zone = service.branch.zone
    notice = service_notice(status, zone, now)
    next_slot = None if status.takes_walk_ins else line.next_slot
    if notice is not None and status.state == ServiceState.PAUSED:
        advice = kiosk_notices()["paused_book" if next_slot else "paused"]
        notice = Notice(notice.title, notice.lines, advice)
    about = None
    if status.takes_walk_ins and line.eta_minutes is not None and line.waiting:
        about = words["about"] % {"minutes": formatting.minutes(line.eta_minutes)}
    return ServiceTile(
        code=service.code,
        letter=service.letter,
        name=service.name(locale),
        state=status.state.value,
        state_label=words["state"][status.state.value],
        takes_tickets=status.takes_walk_ins,
        notice=notice,
        waiting=(
            words["waiting"] % {"count": formatting.digits(line.waiting, locale)}
            if line.waiting
            else words["nobody_waiting"]
        ),
        about=about,
        next_slot=next_slot,
        earliest=(
            words["earliest"] % {"when": formatting.day_and_time(next_slot, zone)}
            if next_slot
            else None
        ),
    )


def enrol_command(branch: BranchInfo) -> str:
    """The command that makes an enrolment code for this branch; naming its kiosks, when the
    config file gives it some (each may have its own printer)."""
    command = f"queue-app kiosk enrol --branch {branch.code}"
    if branch.kiosks:
        command += " --kiosk " + "|".join(k.code for k in branch.kiosks)
    return command


def maintenance_lines(branch: BranchInfo, windows: list[Maintenance], locale: str) -> list[str]:
    """One line per announced maintenance window of a system this branch's services need:
    which system, from when to when, in the branch's own time."""
    needed = {b.id for s in branch.services for b in s.backends}
    zone = branch.zone
    return [
        gettext(
            "Planned maintenance of %(system)s: from %(start)s to %(end)s.",
            system=window.backend.name_ar if locale == "ar" else window.backend.name_en,
            start=formatting.day_and_time(window.starts_at, zone),
            end=formatting.day_and_time(window.ends_at, zone),
        )
        for window in windows
        if window.backend_id in needed
    ]


def page(
    view: BranchView,
    now: datetime,
    urls: dict[str, Any],
    maintenance: list[Maintenance] | None = None,
) -> dict[str, Any]:
    """The template's context. ``urls`` are the addresses the script calls, from the view;
    ``maintenance`` the announced windows not yet over (queue_app.maintenance.not_ended)."""
    branch = view.branch
    locale = formatting.page_locale()
    example = mobile_example(branch.country)
    script = script_strings(citizen_strings, locale, branch.timezone)
    script.update(
        default_locale=DEFAULT_LOCALE,
        branch=branch.code,
        branch_names={other: branch.name(other) for other in LOCALES},
        urls=urls,
        token_slot=TOKEN_SLOT,
        now=now.isoformat(),
        poll_seconds=POLL_SECONDS,
        country_name=formatting.country_name(branch.country, locale),
        phone={
            # A light check before the server's: a national number is at least this long.
            "min_digits": sum(c.isdigit() for c in example) if example else 6,
            "max_digits": MAX_PHONE_DIGITS,
        },
        services={s.service.code: s.service.name(locale) for s in view.services},
        channels=list(branch.channels),  # how the citizen may be told, the first the default
        enrolment={
            other: script_strings(enrolment_strings, other, branch.timezone) for other in LOCALES
        },
    )
    return {
        "branch": branch,
        "tiles": [_tile(line, now, locale) for line in view.services],
        "maintenance": maintenance_lines(branch, maintenance or [], locale),
        "phone_example": formatting.digits(example, locale) if example else None,
        "enrolment": {other: script["enrolment"][other]["strings"] for other in LOCALES},
        "enrol_command": enrol_command(branch),
        "idle_ticket_seconds": IDLE_TICKET_SECONDS,
        "idle_flow_seconds": IDLE_FLOW_SECONDS,
        "max_phone_digits": MAX_PHONE_DIGITS,
        "channels": branch.channels,
        "script": script,
    }
