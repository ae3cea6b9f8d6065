"""Kiosk routes. The touch screen arrives with the kiosk work; the ticket's QR images are here."""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, request

from kiosk import qr
from queue_app import tickets
from queue_app.db import db
from queue_app.extensions import current_settings

bp = Blueprint("kiosk", __name__, template_folder="templates")

# A ticket's URL never changes, so its QR never does: let browsers and printers keep it.
QR_MAX_AGE = 24 * 3600


def _qr_response(token: str, body_of: object, mimetype: str) -> Response:
    tickets.find_ticket(db.session, token)  # 404 for a forged token, before drawing anything
    url = f"{current_settings().public_url}/t/{token}"
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
