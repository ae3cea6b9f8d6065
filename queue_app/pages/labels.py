"""Words for states, through the translation layer, shared by pages and their scripts."""

from __future__ import annotations

from flask_babel import gettext


def ticket_status_labels() -> dict[str, str]:
    return {
        "scheduled": gettext("Booked for a time"),
        "waiting": gettext("Waiting"),
        "called": gettext("Called — please go to the counter"),
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
