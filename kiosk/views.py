"""Kiosk routes: the touch screen, its enrolment, and the ticket's QR images."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, Response, render_template, request, url_for
from marshmallow import Schema, fields, validate
from webargs.flaskparser import parser

from kiosk import qr, touch_screen
from queue_app import branches, kiosks, maintenance, texting, tickets
from queue_app.web.extensions import current_clock, db

bp = Blueprint(
    "kiosk",
    __name__,
    template_folder="templates",
    static_folder="static",
    # Not under /kiosk/: a branch may be called anything, "static" included.
    static_url_path="/kiosk-static",
)

# Routes here that take and give JSON: their errors come as JSON too (see create_app).
JSON_ENDPOINTS = frozenset({"kiosk.enrol"})
# A ticket's URL never changes, so its QR never does: let browsers and printers keep it.
QR_MAX_AGE = 24 * 3600


class EnrolBody(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=32))


def _script_urls(branch_code: str) -> dict[str, Any]:
    """Where the touch screen's script sends its requests; ``__ticket__`` stands for a token."""
    slot = touch_screen.TOKEN_SLOT
    page = url_for("kiosk.touch_screen_page", branch_code=branch_code)
    return {
        "branch_api": url_for("branches.get_branch", branch_code=branch_code),
        "tickets": url_for("branches.take_ticket", branch_code=branch_code),
        # The earliest free time of a service that gives no ticket now (no kiosk token needed).
        "appointments": url_for("appointments.book", branch_code=branch_code),
        "check_in": url_for("tickets.check_in", token=slot),
        "enrol": url_for("kiosk.enrol", branch_code=branch_code),
        "qr": url_for("kiosk.qr_png", token=slot),
        # The printable 80 mm ticket (GET), or the ticket sent to this kiosk's network printer
        # (POST, with the kiosk token): kiosk/print_views.py.
        "print": f"{page}/tickets/{slot}/print",
        # Whether this kiosk has a network printer (asked with the kiosk token before printing).
        "printer": url_for("kiosk_print.printer", branch_code=branch_code),
        # Back to the start in the kiosk's own language, whatever a citizen switched to.
        "home": url_for(
            "kiosk.touch_screen_page", branch_code=branch_code, lang=touch_screen.DEFAULT_LOCALE
        ),
    }


@bp.get("/kiosk/<branch_code>")
def touch_screen_page(branch_code: str) -> Response:
    now = current_clock().now()
    view = branches.branch_view(db.session, branch_code, now)
    windows = maintenance.not_ended(db.session, now)
    context = touch_screen.page(view, now, _script_urls(branch_code), windows)
    html = render_template("kiosk.html", **context)
    response = Response(html, mimetype="text/html")
    # The states and waits in it are of this minute; the script keeps them fresh from there.
    response.cache_control.no_store = True
    return response


@bp.post("/kiosk/<branch_code>/enrol")
def enrol(branch_code: str) -> tuple[dict[str, str | None], int, dict[str, str]]:
    """Exchange a one-time enrolment code for the screen's kiosk token (JSON in, JSON out)."""
    body = parser.parse(EnrolBody, request, location="json")
    enrolled = kiosks.enrol(db.session, current_clock(), branch_code, body["code"])
    answer = {
        "token": enrolled.token,
        "role": "kiosk",
        "branch": enrolled.branch.code,
        "label": enrolled.label,
        # The kiosk of the config file it stands for (its printer), or None.
        "kiosk": enrolled.kiosk.code if enrolled.kiosk else None,
    }
    return answer, 201, {"Cache-Control": "no-store"}


def _qr_response(token: str, body_of: object, mimetype: str) -> Response:
    tickets.find_ticket(db.session, token)  # 404 for a forged token, before drawing anything
    url = texting.ticket_link(db.session, token)
    etag = hashlib.sha256(f"{mimetype}:{url}".encode()).hexdigest()[:32]
    if etag in request.if_none_match:
        response = Response(status=304)
    else:
        response = Response(body_of(url), mimetype=mimetype)  # type: ignore[operator]
    response.set_etag(etag)
    response.cache_control.private = True  # the URL holds the ticket token
    response.cache_control.max_age = QR_MAX_AGE
    return response


@bp.get("/t/<token>/qr.png")
def qr_png(token: str) -> Response:
    return _qr_response(token, qr.png, "image/png")


@bp.get("/t/<token>/qr.svg")
def qr_svg(token: str) -> Response:
    return _qr_response(token, qr.svg, "image/svg+xml")
