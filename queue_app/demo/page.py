"""/demo, only in ``queue-app demo``: the demo's simulated back-end systems with a switch each,
and the pages to watch an outage on. A switch turns the system's simulated health URL off or on
(demo_systems, as ``queue-app demo-system CODE --down`` does); the health monitor notices within
about 15 seconds, and /status, the kiosk and the board follow. Plain forms, no script."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, redirect, render_template, request, url_for

from queue_app import directory
from queue_app.demo import systems as demo_systems
from queue_app.demo.mode import DEMO_BRANCH
from queue_app.models import BackendState
from queue_app.outages import backend_by_code
from queue_app.pages import formatting
from queue_app.web.extensions import current_settings, db

bp = Blueprint("demo_page", __name__, template_folder="templates")


@dataclass(frozen=True)
class DemoSystem:
    code: str
    name: str
    switched_on: bool  # the simulated health URL answers 200
    recorded_up: bool  # what the health monitor has recorded so far


@bp.get("/demo")
def show() -> Response:
    locale = formatting.page_locale()
    instance = current_settings().instance_path
    systems = [
        DemoSystem(
            code=backend.code,
            name=backend.name(locale),
            switched_on=demo_systems.is_up(instance, backend.code),
            recorded_up=backend.state == BackendState.UP,
        )
        for backend in sorted(directory.current(db.session).backends, key=lambda b: b.code)
    ]
    pages = {
        "status": url_for("status_page.show"),
        "kiosk": url_for("kiosk.touch_screen_page", branch_code=DEMO_BRANCH),
        "display": url_for("display_board.show", branch_code=DEMO_BRANCH),
        "book": url_for("booking_page.show", branch_code=DEMO_BRANCH),
    }
    html = render_template("demo.html", systems=systems, pages=pages, locale_arg=locale)
    response = Response(html, mimetype="text/html")
    response.cache_control.no_store = True
    return response


@bp.post("/demo/switch/<code>")
def switch(code: str) -> Response:
    """The form's switch: ``up=1`` or ``up=0``; back to /demo (Post/Redirect/Get)."""
    backend_by_code(db.session, code)  # 404 for an unknown system
    up = request.form.get("up") == "1"
    demo_systems.switch(current_settings().instance_path, code, up=up)
    return redirect(url_for("demo_page.show", lang=formatting.page_locale()), code=303)
