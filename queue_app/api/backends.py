from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from sqlalchemy import select

from queue_app import directory, maintenance, outages, send_rates
from queue_app.access import MANAGER_AND_UP, STAFF_AND_UP
from queue_app.api import schemas
from queue_app.api.auditing import audited, backend, maintenance_window
from queue_app.api.auth import BEARER, principal, requires_role
from queue_app.errors import InvalidInput
from queue_app.models import Backend, Branch, Maintenance, Outage
from queue_app.web.extensions import current_clock, current_settings, db

NOT_THEIR_SYSTEM = "a manager's branch has no service that needs this system"

blp = Blueprint("backends", __name__, description="Back-end systems, their outages and maintenance")


def _outage(outage: Outage | None, messages: dict[str, int] | None = None) -> dict[str, Any] | None:
    if outage is None:
        return None
    if messages is None:
        messages = outages.messages_of(db.session, outage.id)
    return {
        "messages": messages,
        "id": outage.id,
        "branch": _branch_code(outage.branch_id),
        "ended_by": outage.ended_by,
        "started_at": outage.started_at,
        "ended_at": outage.ended_at,
        "detected_by": outage.detected_by.value,
        "note": outage.note,
        "expected_end": outage.expected_end,
        "tickets_paused": outage.tickets_paused,
        "tickets_moved": outage.tickets_moved,
        "tickets_texted": outage.tickets_texted,
        "tickets_unplaced": outage.tickets_unplaced,
        "last_message_at": outages.last_message_at(
            db.session,
            current_clock().now(),
            outage.id,
            send_rates.sms_rate_of(current_settings()),
        ),
    }


def _branch_code(branch_id: int | None) -> str | None:
    if branch_id is None:
        return None
    return next(b.code for b in directory.current(db.session).branches if b.id == branch_id)


def _backend(backend: Backend) -> dict[str, Any]:
    running = outages.open_outages(db.session, backend.id)
    # The one everywhere comes first; else the newest of one branch, so that a client that only
    # reads current_outage still learns that something is down.
    current = next((o for o in running if o.branch_id is None), None) or max(
        running, key=lambda o: o.id, default=None
    )
    return {
        "code": backend.code,
        "name": {"ar": backend.name_ar, "en": backend.name_en},
        "state": backend.state.value,
        "since": backend.state_since,
        "current_outage": _outage(current),
        "down_at": [_branch_code(o.branch_id) for o in running if o.branch_id is not None],
        "outages": [_outage(o) for o in running],
    }


def _by_code(code: str) -> Backend:
    db.session.expire_all()  # the domain function committed through other objects
    return outages.backend_by_code(db.session, code)


@blp.get("/backends")
@blp.response(200, schemas.BackendStatus(many=True))
def list_backends() -> list[dict[str, Any]]:
    """Every back-end system: up or down, since when, and its outage in progress."""
    return [_backend(b) for b in db.session.scalars(select(Backend).order_by(Backend.code))]


@blp.get("/backends/<code>/outages")
@blp.response(200, schemas.OutageRecord(many=True))
@blp.alt_response(404, schema=schemas.Error)
def list_outages(code: str) -> list[dict[str, Any]]:
    """The system's outages, newest first, each with its record: how it was detected, the
    tickets it paused, moved and texted, and what became of the messages."""
    return [
        {**(_outage(r.outage, r.messages) or {}), "backend": r.backend.code}
        for r in outages.records(db.session, backend_code=code)
    ]


@blp.post("/backends/<code>/outages")
@blp.arguments(schemas.DeclareOutageBody)
@blp.response(201, schemas.BackendStatus)
@blp.alt_response(403, schema=schemas.Error, description="another branch")
@blp.alt_response(404, schema=schemas.Error)
@blp.doc(security=BEARER)
@requires_role(*MANAGER_AND_UP)
@audited("outage.declare", backend)
def declare_outage(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Declare the system down, optionally with the minutes it is expected to last. A manager
    declares it for their own branch (the office's link is down): the services that need it
    pause there only. An admin declares it for the ``branch`` named, or, without one,
    everywhere: every service that needs it pauses in every branch at once."""
    outages.declare(
        db.session,
        current_clock(),
        code,
        note=body["note"],
        expected_minutes=body["expected_minutes"],
        branch_code=body["branch"],
        by=principal(),
    )
    return _backend(_by_code(code))


@blp.post("/backends/<code>/outages/resolve")
@blp.arguments(schemas.OutageScopeBody, required=False)
@blp.response(200, schemas.BackendStatus)
@blp.alt_response(403, schema=schemas.Error, description="another branch's, or everywhere")
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(409, schema=schemas.Error, description="the system is not down")
@blp.doc(security=BEARER)
@requires_role(*MANAGER_AND_UP)
@audited("outage.resolve", backend)
def resolve_outage(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Declare the system up again: its services resume where no other outage holds them;
    nobody is texted. A manager ends their own branch's outage (declared or reported), never
    another branch's nor the one everywhere. An admin ends the ``branch`` named's outage, or,
    without one, the outage everywhere."""
    outages.resolve(
        db.session,
        current_clock(),
        code,
        branch_code=(body or {}).get("branch"),
        by=principal(),
    )
    return _backend(_by_code(code))


@blp.post("/backends/<code>/back")
@blp.arguments(schemas.BackBody, required=False)
@blp.response(200, schemas.BackendStatus)
@blp.alt_response(403, schema=schemas.Error)
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(409, schema=schemas.Error, description="the system is not down at the branch")
@blp.alt_response(
    422, schema=schemas.Error, description="invalid_input: an admin token names no branch"
)
@blp.doc(security=BEARER)
@requires_role(*STAFF_AND_UP)
@audited("outage.back", backend)
def system_back(body: dict[str, Any], code: str) -> dict[str, Any]:
    """A counter says the system answers again here (staff and up): the outage its branch's
    reports raised ends, and the branch's services resume unless the system is also down
    everywhere. Staff cannot end a manager's declaration nor the outage everywhere."""
    who = principal()
    outages.back(db.session, current_clock(), who, code, branch_code=_reporting_branch(body))
    return _backend(_by_code(code))


def _reporting_branch(body: dict[str, Any] | None) -> str:
    """The branch named in the body, or the token's own. Raises InvalidInput (an admin
    naming none)."""
    branch_code = (body or {}).get("branch") or principal().branch_code
    if branch_code is None:
        raise InvalidInput("say which branch reports", branch=["required for an admin token"])
    return branch_code


@blp.post("/backends/<code>/reports")
@blp.arguments(schemas.ReportBody)
@blp.response(200, schemas.ReportResult)
@blp.alt_response(403, schema=schemas.Error)
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(
    422, schema=schemas.Error, description="invalid_input: an admin token names no branch"
)
@blp.doc(security=BEARER)
@requires_role(*STAFF_AND_UP)
@audited("outage.report", backend)
def report_down(body: dict[str, Any], code: str) -> dict[str, Any]:
    """A counter reports the system down (staff and up). Enough distinct reporters at one
    branch within its window take it down at that branch only."""
    who = principal()
    branch_code = _reporting_branch(body)
    reports, _ = outages.report(
        db.session, current_clock(), who, code, branch_code=branch_code, note=body["note"]
    )
    branch = db.session.get_one(Branch, directory.current(db.session).branch(branch_code).id)
    return {
        "reports": reports,
        "needed": branch.reports_needed,
        "backend": _backend(_by_code(code)),
    }


@blp.post("/backends/<code>/maintenance")
@blp.arguments(schemas.MaintenanceBody)
@blp.response(201, schemas.MaintenanceWindow)
@blp.alt_response(
    403, schema=schemas.Error, description="a system none of the branch's services needs"
)
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(409, schema=schemas.Error, description="the same window is already announced")
@blp.alt_response(422, schema=schemas.Error, description="invalid_input: end not after start")
@blp.doc(security=BEARER)
@requires_role(*MANAGER_AND_UP)
@audited("maintenance.announce", backend)
def announce_maintenance(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Announce a maintenance window (manager, admin): shown on the status page and the kiosk,
    its slots are not booked, and appointments inside it are moved after it and texted."""
    window: Maintenance = maintenance.announce(
        db.session,
        current_clock(),
        principal(),
        code,
        starts_at=body["start"],
        ends_at=body["end"],
        note=body["note"],
    )
    return _window(window, code)


@blp.delete(f"/backends/<code>/maintenance/<int(max={schemas.MAX_ID}):window_id>")
@blp.response(200, schemas.MaintenanceWindow)
@blp.alt_response(
    403, schema=schemas.Error, description="a system none of the branch's services needs"
)
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(409, schema=schemas.Error, description="the window is over or withdrawn")
@blp.doc(security=BEARER)
@requires_role(*MANAGER_AND_UP)
@audited("maintenance.withdraw", maintenance_window)
def withdraw_maintenance(code: str, window_id: int) -> dict[str, Any]:
    """Withdraw a maintenance window (manager, admin). One not yet started is withdrawn
    (``withdrawn_at`` set, kept for the record); one already running ends now (``end`` becomes
    now). Either way its slots can be booked again at once. Appointments it moved keep their
    new times: their citizens were already told."""
    return _window(
        maintenance.withdraw(db.session, current_clock(), principal(), code, window_id), code
    )


def _window(window: Maintenance, code: str) -> dict[str, Any]:
    return {
        "id": window.id,
        "backend": code,
        "start": window.starts_at,
        "end": window.ends_at,
        "note": window.note,
        "announced_at": window.announced_at,
        "tickets_moved": window.tickets_moved,
        "withdrawn_at": window.cancelled_at,
    }
