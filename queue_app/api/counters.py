from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from queue_app import counters, tickets
from queue_app.access import MANAGER_AND_UP, STAFF_AND_UP
from queue_app.api import schemas
from queue_app.api.auditing import audited, in_branch
from queue_app.api.auth import BEARER, principal, requires_role
from queue_app.api.presenters import counter_data, ticket_data
from queue_app.web.extensions import current_clock, current_settings, db

blp = Blueprint("counters", __name__, description="Counters: call the next citizen, open, close")


@blp.post("/branches/<branch_code>/counters/<counter_code>/call-next")
@blp.response(200, schemas.Ticket, description="the called ticket")
@blp.alt_response(204, description="nobody is waiting")
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(409, schema=schemas.Error, description="the counter is closed")
@blp.doc(security=BEARER)
@requires_role(*STAFF_AND_UP)
@audited("counter.call_next", in_branch("counter", "counter_code"))
def call_next(branch_code: str, counter_code: str) -> Any:
    """Finish the current ticket and call the next one in line (staff and up)."""
    clock = current_clock()
    ticket = counters.call_next(db.session, clock, principal(), branch_code, counter_code)
    if ticket is None:
        return "", 204
    return ticket_data(tickets.view_ticket(db.session, clock.now(), ticket), current_settings())


@blp.patch("/branches/<branch_code>/counters/<counter_code>")
@blp.arguments(schemas.CounterPatchBody)
@blp.response(200, schemas.CounterSummary)
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(422, schema=schemas.Error)
@blp.doc(security=BEARER)
@requires_role(*MANAGER_AND_UP)
@audited("counter.update", in_branch("counter", "counter_code"))
def patch_counter(body: dict[str, Any], branch_code: str, counter_code: str) -> dict[str, Any]:
    """Open or close a counter, or change the services it serves (manager and up)."""
    view = counters.update_counter(
        db.session,
        principal(),
        branch_code,
        counter_code,
        is_open=body.get("open"),
        service_codes=body.get("services"),
        clock=current_clock(),
    )
    return counter_data(view)
