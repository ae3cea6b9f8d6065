"""/t/<token>: the ticket's own page, behind its QR code. It reads only our own database, so it
works whatever state the back-end systems are in."""

from __future__ import annotations

from flask import Blueprint, render_template

from queue_app import tickets
from queue_app.api.presenters import ticket_data
from queue_app.db import db
from queue_app.extensions import current_clock, current_settings
from queue_app.pages.labels import service_state_labels, ticket_status_labels

bp = Blueprint("ticket_page", __name__, template_folder="templates")


@bp.get("/t/<token>")
def show(token: str) -> str:
    view = tickets.lookup(db.session, current_clock(), token)
    return render_template(
        "ticket.html",
        view=view,
        ticket=view.ticket,
        data=ticket_data(view, current_settings()),
        status_labels=ticket_status_labels(),
        state_labels=service_state_labels(),
    )
