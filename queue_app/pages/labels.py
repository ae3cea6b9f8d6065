"""Words for states and events, through the translation layer, shared by pages and their scripts.

The scripts get their words from these functions too, as a JSON blob the template renders, so a
string is translated once, in the catalog, whichever side shows it. Templates with ``%(name)s``
are returned unfilled: the page fills them on the server, the script in the browser.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import force_locale, get_translations, gettext

from queue_app.pages.formatting import digit_style, intl_locale

# One number of each CLDR plural category (Arabic uses all six), as ``Intl.PluralRules`` names
# them: the script picks the form the catalog gives for that category.
PLURAL_SAMPLES = {"zero": 0, "one": 1, "two": 2, "few": 3, "many": 11, "other": 100}


def ticket_status_labels() -> dict[str, str]:
    return {
        "scheduled": gettext("Booked for a time"),
        "waiting": gettext("Waiting"),
        "called": gettext("Called"),
        "on_hold": gettext("On hold"),
        "done": gettext("Served"),
        "no_show": gettext("Missed"),
        "cancelled": gettext("Cancelled"),
    }


def service_state_labels() -> dict[str, str]:
    return {
        "open": gettext("Open"),
        "paused": gettext("Paused: a system it needs is down"),
        "degraded": gettext("Working by hand, more slowly"),
        "closed": gettext("Closed"),
    }


def event_labels() -> dict[str, str]:
    """A ticket's history, line by line. Unknown events show their code rather than nothing."""
    return {
        "issued": gettext("Ticket taken"),
        "called": gettext("Called to counter %(counter)s"),
        "recalled": gettext("Called again"),
        "held": gettext("Put on hold at counter %(counter)s"),
        "resumed": gettext("Called back to counter %(counter)s"),
        "back_to_line": gettext("Back in the line, in the same place"),
        "transferred": gettext("Transferred"),
        "waiting": gettext("Back in the line"),
        "done": gettext("Served"),
        "no_show": gettext("Marked as missed"),
        "cancelled": gettext("Cancelled"),
        "checked_in": gettext("Checked in"),
        "rescheduled": gettext("Moved to a new time"),
        "no_slot_yet": gettext("No free time yet: a new time will follow"),
        "offered": gettext("Offered a time today, the system being back"),
        "offer_accepted": gettext("Took a time today"),
        "confirmed": gettext("Time confirmed"),
        "booked": gettext("Appointment booked"),
        "moved": gettext("Moved to the next free time"),
        "missed": gettext("Marked as missed"),
        "turn_near": gettext("Told by text message that your turn is near"),
        "came_back": gettext("Came back in time: called soon, near the front"),
        "reminder_evening": gettext("Reminded by text message the evening before"),
        "reminder_morning": gettext("Reminded by text message on the morning of the appointment"),
    }


def service_notices() -> dict[str, str]:
    """Why a service is not running as usual: which system is down and since when, or when the
    office opens again (DESIGN.md: the ticket page and the board say so)."""
    return {
        "down_since": gettext("%(system)s has been down since %(time)s."),
        "down": gettext("%(system)s is down."),
        "paused": gettext(
            "Counters cannot serve this service until the system is back. If it stays down, you "
            "will get a new time on this page, and by SMS if you left a mobile number."
        ),
        "degraded": gettext("The service goes on by hand, more slowly: expect a longer wait."),
        "outside_hours": gettext("The office is closed now. Next opening: %(when)s."),
        "holiday": gettext("The office is closed today for a holiday. Next opening: %(when)s."),
        "closed": gettext("The office is closed now."),
        # TRANSLATORS: tickets are issued before the opening (a branch's early_tickets_minutes).
        "early_tickets": gettext(
            "The office opens at %(when)s. You can take your ticket now: your wait counts from "
            "the opening."
        ),
        "no_counter_open": gettext("No counter is serving this service right now."),
        "no_slot_yet": gettext(
            "No free time could be found for you yet. Your ticket stays valid: as soon as "
            "there is room, your new time will show on this page, and come by SMS if you left a "
            "mobile number."
        ),
    }


def minute_forms() -> dict[str, str]:
    """The phrase for a number of minutes, unfilled, in each plural category."""
    # Unfilled: Flask-Babel's ngettext always fills %(num)s, so ask the catalog directly.
    translations = get_translations()
    return {
        category: translations.ungettext("%(num)s minute", "%(num)s minutes", sample)
        for category, sample in PLURAL_SAMPLES.items()
    }


def minute_range_forms() -> dict[str, str]:
    """The phrase for a range of minutes (``formatting.minutes_range``), unfilled, in each plural
    category of its high end."""
    translations = get_translations()
    return {
        category: translations.ungettext(
            "about %(low)s–%(num)s minute", "about %(low)s–%(num)s minutes", sample
        )
        for category, sample in PLURAL_SAMPLES.items()
    }


def time_words() -> dict[str, str]:
    return {
        "day_at_time": gettext("%(day)s at %(time)s"),
        "updated": gettext("Last updated %(time)s"),
        "stale": gettext("Could not refresh: showing what was known at %(time)s."),
    }


def _script_basics(locale: str, timezone: str) -> dict[str, Any]:
    return {
        "locale": locale,
        "digits": digit_style(locale),
        "intl": intl_locale(locale),
        "timezone": timezone,
        "words": time_words(),
    }


def ticket_page_strings() -> dict[str, Any]:
    return {
        "status": ticket_status_labels(),
        "state": service_state_labels(),
        "events": event_labels(),
        "notices": service_notices(),
        "minutes": minute_forms(),
        "minute_range": minute_range_forms(),
        "next": gettext("You are next"),
        "any_moment": gettext("Any moment now"),
        "go_to_counter": gettext("Please go to counter %(counter)s"),
        # A counter put the ticket aside, or a transfer sent it to one counter's own line.
        "held_at": gettext(
            "Your ticket is on hold at counter %(counter)s. Go back to that counter when you "
            "are ready."
        ),
        "waits_for_counter": gettext("Counter %(counter)s will call you."),
        "slot": gettext("%(day)s, %(start)s – %(end)s"),
        "cancelled": gettext("Your ticket is cancelled."),
        # The question before cancelling, by what the citizen would lose.
        "cancel_question": {
            "waiting": gettext(
                "Cancel ticket %(number)s? You will lose your place in the line, and this cannot "
                "be undone."
            ),
            "scheduled": gettext(
                "Cancel appointment %(number)s? Your time will be given to someone else, and "
                "this cannot be undone."
            ),
        },
        # A booked time: the citizen's choices, as by SMS (confirm, another time).
        "confirm_thanks": gettext("Thank you. We expect you at this time."),
        "moved_to": gettext("Your new time: %(slot)s"),
        "no_free_slot": gettext(
            "No later time is free in the coming weeks. Your booking stays as it is."
        ),
        "not_booked": gettext("This ticket no longer holds a booked time."),
        # Recovery offers: the system is back and today has free time (recovery.py).
        "offer_text": gettext(
            "Today has free time again. Until %(time)s you may take a time today instead of "
            "your new time, leaving you at least half an hour to come. If you do not, your new "
            "time stays."
        ),
        "offer_taken": gettext(
            "Your time today is shown above. Check in at the kiosk when you come."
        ),
        "offer_gone": gettext("This offer is no longer open. Your new time stays."),
        "choice_failed": gettext(
            "Could not send your choice. Check your connection and try again."
        ),
        "cannot_cancel": gettext("This ticket can no longer be cancelled."),
        "cancel_failed": gettext(
            "Could not cancel the ticket. Check your connection and try again."
        ),
    }


def booking_strings() -> dict[str, Any]:
    """What the booking page's script may say while it sends the form."""
    return {
        "booking": gettext("Booking your appointment…"),
        "retrying": gettext("Connection problem, trying again…"),
        "network": gettext(
            "Could not reach the server, so the booking may not have been made. Check your "
            "connection and try again: a number is never booked twice for the same service."
        ),
    }


def counter_screen_strings() -> dict[str, Any]:
    return {
        "state": service_state_labels(),
        "status": ticket_status_labels(),
        "waiting": gettext("Waiting: %(count)s"),
        "unauthorized": gettext("You are signed out. Reload the page to sign in again."),
        "reported": gettext(
            "Your report is counted: %(reports)s of the %(needed)s counters needed have said so."
        ),
        "paused_here": gettext("The system is now paused at this office."),
        "back_here": gettext("Noted: the system works again at this office."),
        "not_down_here": gettext("The system is not down at this office."),
        "down_everywhere": gettext(
            "A manager declared this outage, or it is down everywhere: a manager or an "
            "administrator says when it is back."
        ),
        "forbidden": gettext(
            "Your account may not act at this counter. Ask your manager to add you to this branch."
        ),
        "counter_closed": gettext("This counter is closed. A manager can open it."),
        "not_now": gettext("Not possible: ticket %(number)s is now “%(status)s”."),
        "busy": gettext("Another counter was calling at the same moment. Try again."),
        "nobody_waiting": gettext("Nobody is waiting for this counter's services."),
        "called": gettext("Called %(number)s."),
        "done": gettext("%(number)s is done."),
        "no_show": gettext("%(number)s is marked as missed."),
        "recalled": gettext("%(number)s is called again."),
        "held": gettext("%(number)s is on hold."),
        "resumed": gettext("%(number)s is called back."),
        "back_to_line": gettext("%(number)s is back in the line."),
        "came_back": gettext("%(number)s came back: called after the next one."),
        "came_back_late": gettext(
            "Too late to come back: the grace period is over. The citizen takes a new ticket."
        ),
        "came_back_refused": gettext(
            "This ticket cannot come back (not told by message, back once already, or no grace "
            "period here). The citizen takes a new ticket."
        ),
        "transferred": gettext("%(number)s is transferred."),
        "counter_busy": gettext("This counter is serving %(number)s: finish it first."),
        "same_counter": gettext(
            "Another device at this counter called at the same moment. Look at the number shown."
        ),
        "gone": gettext("That ticket no longer exists."),
        "too_many": gettext("Too many requests. Wait a moment and try again."),
        "network": gettext("Could not reach the server. Check the connection and try again."),
        "failed": gettext("Something went wrong (%(status)s). Try again."),
    }


def board_strings() -> dict[str, Any]:
    return {
        "state": service_state_labels(),
        "notices": service_notices(),
        "now_serving": gettext("Now serving"),
        "services": gettext("Services"),
        "waiting": gettext("Waiting: %(count)s"),
        "counter": gettext("Counter %(counter)s"),
        "counter_closed": gettext("Counter closed"),
        # DESIGN.md, outages step 2: citizens who left no number learn their new time here.
        "moved_title": gettext("New times for tickets moved today"),
        "moved_hint": gettext(
            "For tickets without a mobile number: nobody could text them. Find your ticket "
            "number to see its new time."
        ),
        "moved_number": gettext("Ticket"),
        "moved_service": gettext("Service"),
        "moved_time": gettext("New time"),
        # The last numbers called, announced as they come (a chime, and speech with ?speak=1).
        "last_called": gettext("Last called"),
        "call_number": gettext("Ticket"),
        "call_counter": gettext("Counter"),
        "call_time": gettext("Called at"),
        "waiting_again": gettext("Waiting again"),
        # Beside a called number: its citizen was texted and may still be on the way.
        "told": gettext("Told by message"),
        # Said aloud and written for screen readers; the number as the voice should read it.
        "announce": gettext("Ticket %(number)s, counter %(counter)s"),
        "enable_sound": gettext("Enable sound"),
        "sound_on": gettext("Sound on (tap to mute)"),
    }


def script_strings(
    strings: Callable[[], dict[str, Any]], locale: str, timezone: str
) -> dict[str, Any]:
    """What one page's script needs to speak ``locale``: its words and how to write numbers."""
    with force_locale(locale):
        return {**_script_basics(locale, timezone), "strings": strings()}
