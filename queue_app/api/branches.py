from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from queue_app import branches, tickets
from queue_app.api import schemas
from queue_app.api.auditing import audited, service_in_body
from queue_app.api.auth import BEARER, principal, requires_role
from queue_app.api.presenters import branch_data, created_ticket
from queue_app.models import Role
from queue_app.web.extensions import current_clock, current_settings, db

blp = Blueprint("branches", __name__, description="Branches, their services and walk-in tickets")

REPLAY_HEADERS = {
    "Idempotent-Replayed": {
        "description": "true when an earlier request with the same Idempotency-Key issued "
        "this ticket",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


@blp.get("/branches")
@blp.response(200, schemas.Branch(many=True))
def list_branches() -> list[dict[str, Any]]:
    """Every branch with its services, their state, the line and the wait."""
    return [branch_data(v) for v in branches.list_branches(db.session, current_clock().now())]


@blp.get("/branches/<branch_code>")
@blp.response(200, schemas.BranchDetail)
@blp.alt_response(404, schema=schemas.Error)
def get_branch(branch_code: str) -> dict[str, Any]:
    """One branch, with its counters and what each is serving."""
    view = branches.branch_view(db.session, branch_code, current_clock().now())
    return branch_data(view, with_counters=True)


@blp.post("/branches/<branch_code>/tickets")
@blp.arguments(schemas.TakeTicketBody)
@blp.arguments(schemas.TakeTicketHeaders, location="headers")
@blp.response(201, schemas.Ticket, headers=REPLAY_HEADERS)
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(409, schema=schemas.Error, description="service_paused or service_closed")
@blp.alt_response(
    422, schema=schemas.Error, description="invalid_phone, invalid_input or idempotency_key_reused"
)
@blp.alt_response(
    429,
    schema=schemas.Error,
    description="rate_limited: the phone had its messages for today (QUEUE_SMS_DAILY_CAP); "
    "no ticket is made",
)
@blp.doc(security=BEARER)
@requires_role(Role.KIOSK, Role.STAFF, Role.MANAGER, Role.ADMIN)
@audited("ticket.issue", service_in_body)
def take_ticket(body: dict[str, Any], headers: dict[str, Any], branch_code: str) -> Any:
    """Take a walk-in ticket (kiosk, staff, manager, admin).

    With an Idempotency-Key header, a repeated request makes no second ticket: it answers 201
    with the first request's ticket, as it is now, and Idempotent-Replayed: true.
    """
    view = tickets.take_walk_in(
        db.session,
        current_clock(),
        principal(),
        branch_code,
        body["service"],
        phone=body["phone"],
        locale=body["locale"],
        channel=body["channel"],
        priority=body["priority"],
        idempotency_key=headers.get("idempotency_key"),
    )
    return created_ticket(view, current_settings())
