"""/kiosk/<branch>/tickets/<token>/print: a ticket as an 80 mm page (GET), or sent to the kiosk's
thermal printer (POST).

For the page, knowing the token is enough, as for /t/<token>: it is the citizen's own ticket. The
branch in the address must be the ticket's, so that one kiosk's address never shows another
office's ticket. The POST takes paper from a printer, so it needs a bearer token of the branch
(kiosk, staff and up), and the token says which printer: a kiosk token enrolled for a kiosk of the
config file prints on that kiosk's printer; any other, or a kiosk without a printer of its own, on
``QUEUE_KIOSK_PRINTER_URL``; with neither, the answer is ``no_printer`` (409). The kiosk's screen
asks ``GET /kiosk/<branch>/printer`` (same token) first, and prints through its browser when there
is no network printer.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, make_response, render_template, request
from flask_babel import force_locale, get_translations

from kiosk import printed_ticket, printing
from kiosk.slip import LANGUAGES, Catalog, TicketSlip, slip_for
from queue_app import access, directory, tickets
from queue_app.api.errors import queue_error_response
from queue_app.api.presenters import ticket_urls
from queue_app.directory import BranchInfo
from queue_app.errors import NotFound, QueueError
from queue_app.models import Role
from queue_app.pages import error_page
from queue_app.web.extensions import current_clock, current_settings, db

bp = Blueprint("kiosk_print", __name__, template_folder="templates")

MAY_PRINT = frozenset({Role.KIOSK, *access.STAFF_AND_UP})


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
    """Print the ticket on the calling kiosk's network printer. 401 without a token, 403 for a
    token of another branch, 404 for a ticket of another branch, 409 ``no_printer`` when there is
    no network printer for this kiosk, 503 ``printer_problem`` when the printer did not take it
    (the ticket itself is untouched either way)."""
    branch = _branch_of_caller(branch_code)
    slip = ticket_slip(branch_code, token)
    kiosk, printer_url = printing.printer_of(
        branch, g.principal.kiosk_id, current_settings().kiosk_printer_url
    )
    address = printing.send(slip, printer_url)
    return {
        "printed": True,
        "number": slip.number,
        "kiosk": kiosk.code if kiosk else None,
        "printer": str(address),
    }


@bp.get("/kiosk/<branch_code>/printer")
def printer(branch_code: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Whether the calling kiosk prints on a network printer (POST .../print) or through its
    browser: ``{"kiosk": "hall-a" or null, "network_printer": true or false}``."""
    branch = _branch_of_caller(branch_code)
    kiosk, printer_url = printing.printer_setting(
        branch, g.principal.kiosk_id, current_settings().kiosk_printer_url
    )
    answer = {"kiosk": kiosk.code if kiosk else None, "network_printer": printer_url is not None}
    # Config reloads change it: always ask.
    return answer, 200, {"Cache-Control": "no-store"}


def _branch_of_caller(branch_code: str) -> BranchInfo:
    """The branch, after checking the bearer token may print for it (kept in ``g.principal``).
    Raises Unauthorized, Forbidden, NotFound."""
    principal = access.authenticate(
        db.session, current_clock(), request.headers.get("Authorization")
    )
    principal.require(MAY_PRINT)
    branch = directory.current(db.session).branch(branch_code)
    principal.require_branch(branch.id)
    g.principal = principal
    return branch


# Answers for the kiosk page's script, not for people: their errors come in the API's JSON shape.
JSON_ENDPOINTS = frozenset({"kiosk_print.print_ticket", "kiosk_print.printer"})


@bp.errorhandler(QueueError)
def on_queue_error(err: QueueError) -> Any:
    """The script's calls get the API's JSON shape; the page's errors are pages, as everywhere
    else."""
    db.session.rollback()
    if request.endpoint in JSON_ENDPOINTS:
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
    view = tickets.lookup(db.session, current_clock().now(), token)
    if view.branch.code != branch_code:
        raise NotFound(f"no such ticket at {branch_code}")
    status_url = ticket_urls(current_settings(), token)["status_url"]
    return slip_for(view, status_url, view.ticket.locale, catalogs=catalogs())
