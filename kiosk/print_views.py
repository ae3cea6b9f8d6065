"""/kiosk/<branch>/tickets/<token>/print: a ticket as an 80 mm page (GET), or sent to the kiosk's
thermal printer (POST).

Knowing the token is enough, as for /t/<token>: it is the citizen's own ticket. The branch in
the address must be the ticket's, so that one kiosk's address never shows another office's ticket.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, make_response, render_template, request
from flask_babel import force_locale, get_translations

from kiosk import printed_ticket, printing
from kiosk.slip import LANGUAGES, Catalog, TicketSlip, slip_for
from queue_app import tickets
from queue_app.api.errors import queue_error_response
from queue_app.api.presenters import ticket_urls
from queue_app.db import db
from queue_app.errors import NotFound, QueueError
from queue_app.extensions import current_clock, current_settings
from queue_app.pages import error_page

bp = Blueprint("kiosk_print", __name__, template_folder="templates")


@bp.get("/kiosk/<branch_code>/tickets/<token>/print")
def printable_ticket(branch_code: str, token: str) -> Response:
    slip = ticket_slip(branch_code, token)
    autoprint = request.args.get("autoprint") == "1"
    response = make_response(
        render_template("printed_ticket.html", **printed_ticket.page(slip, autoprint=autoprint))
    )
    # Places in line change by the minute: a reprint must never come from a cache.
    response.cache_control.no_store = True
    return response


@bp.post("/kiosk/<branch_code>/tickets/<token>/print")
def print_ticket(branch_code: str, token: str) -> dict[str, Any]:
    slip = ticket_slip(branch_code, token)
    printing.send(slip, current_settings().kiosk_printer_url)
    return {"printed": True, "number": slip.number}


@bp.errorhandler(QueueError)
def on_queue_error(err: QueueError) -> Any:
    """The POST answers the kiosk page's script, in the API's JSON shape; the page's errors are
    pages, as everywhere else."""
    db.session.rollback()
    if request.method == "POST":
        return queue_error_response(err)
    return error_page(err.status, err.message)


def catalogs() -> dict[str, Catalog]:
    """Flask-Babel's catalog of each language the slip speaks."""
    found: dict[str, Catalog] = {}
    for language in LANGUAGES:
        with force_locale(language):
            found[language] = get_translations()
    return found


def ticket_slip(branch_code: str, token: str) -> TicketSlip:
    """The slip of a ticket of this branch, for the screen or for paper. Raises NotFound: a
    forged token and another branch's ticket look the same."""
    view = tickets.lookup(db.session, current_clock(), token)
    if view.branch.code != branch_code:
        raise NotFound(f"no such ticket at {branch_code}")
    status_url = ticket_urls(current_settings(), token)["status_url"]
    return slip_for(view, status_url, view.ticket.locale, catalogs=catalogs())
