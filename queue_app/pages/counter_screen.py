"""/counter/<branch>/<counter>: buttons for counter staff, who sign in once (web/sign_in.py).
The page calls the JSON API with the session cookie (HttpOnly: no script sees it) and the page's
CSRF token; the ticket's token comes only from the API's answers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template, url_for
from flask_wtf.csrf import generate_csrf

from queue_app import branches
from queue_app.directory import CounterInfo
from queue_app.pages import formatting
from queue_app.pages.labels import counter_screen_strings, script_strings
from queue_app.web.extensions import current_clock, db
from queue_app.web.sign_in import STAFF_PAGES, signed_in_page

bp = Blueprint("counter_screen", __name__, template_folder="templates")

# Keeps the waiting counts fresh, and notices when another device at this counter moved on.
POLL_SECONDS = 10
TOKEN_SLOT = "__ticket__"
SYSTEM_SLOT = "__system__"
ACTIONS = {
    "done": "tickets.ticket_done",
    "no_show": "tickets.ticket_no_show",
    "recall": "tickets.ticket_recall",
    "hold": "tickets.ticket_hold",
    "resume": "tickets.ticket_resume",
    "back_to_line": "tickets.ticket_back_to_line",
    "transfer": "tickets.ticket_transfer",
    "came_back": "tickets.ticket_came_back",
}
# One key per button, shown on the page and set as aria-keyshortcuts; counter.js listens for them.
SHORTCUTS = {
    "call_next": "N",
    "done": "D",
    "no_show": "M",
    "recall": "R",
    "hold": "H",
    "transfer": "T",
    "resume": "U",
    "back_to_line": "B",
    "came_back": "C",
}


@bp.get("/counter/<branch_code>/<counter_code>")
@signed_in_page(STAFF_PAGES)
def show(branch_code: str, counter_code: str) -> str:
    view = branches.branch_view(db.session, branch_code, current_clock().now(), next_slots=False)
    g.principal.require_branch(view.branch.id)
    counter = view.branch.counter(counter_code)
    return render_template("counter.html", **_screen(view, counter))


def _screen(view: branches.BranchView, counter: CounterInfo) -> dict[str, Any]:
    branch = view.branch
    serving = next(line.serving for line in view.counters if line.counter.id == counter.id)
    served = {s.id for s in counter.services}
    script = script_strings(counter_screen_strings, formatting.page_locale(), branch.timezone)
    script.update(
        branch=branch.code,
        counter=counter.code,
        branch_api=url_for("branches.get_branch", branch_code=branch.code),
        call_next=url_for("counters.call_next", branch_code=branch.code, counter_code=counter.code),
        # With a stand-in for the ticket's token, which the script learns from call-next.
        actions={
            action: url_for(endpoint, token=TOKEN_SLOT) for action, endpoint in ACTIONS.items()
        },
        token_slot=TOKEN_SLOT,
        serving=serving.number if serving else None,
        now=current_clock().now().isoformat(),
        poll_seconds=POLL_SECONDS,
        csrf_token=generate_csrf(),
        shortcuts=SHORTCUTS,
        report_url=url_for("backends.report_down", code=SYSTEM_SLOT),
        back_url=url_for("backends.system_back", code=SYSTEM_SLOT),
        system_slot=SYSTEM_SLOT,
    )
    return {
        "branch": branch,
        "counter": counter,
        "serving": serving,
        "services": [s for s in view.services if s.service.id in served],
        "shortcuts": SHORTCUTS,
        # Where a ticket can be transferred: the branch's services, then its other counters.
        "transfer_services": [s.service for s in view.services],
        # The systems this counter's services need: "down here" and "working again" buttons.
        "systems": _systems(counter),
        "transfer_counters": [c for c in branch.counters if c.id != counter.id],
        "script": script,
    }


def _systems(counter: CounterInfo) -> list[Any]:
    found: dict[str, Any] = {}
    for service in counter.services:
        for backend in service.backends:
            found.setdefault(backend.code, backend)
    return sorted(found.values(), key=lambda b: b.code)
