from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from sqlalchemy import select

from queue_app import directory, maintenance, outages
from queue_app.access import MANAGER_AND_UP, STAFF_AND_UP
from queue_app.api import schemas
from queue_app.api.auditing import audited, backend, maintenance_window, reporting_branch
from queue_app.api.auth import BEARER, principal, requires_role
from queue_app.errors import InvalidInput
from queue_app.models import Backend, Branch, Maintenance, Outage
from queue_app.web.extensions import current_clock, db

blp = Blueprint("backends", __name__, description="Back-end systems, their outages and maintenance")


def _outage(outage: Outage | None, messages: dict[str, int] | None = None) -> dict[str, Any] | None:
    if outage is None:
        return None
    if messages is None:
        messages = outages.messages_of(db.session, outage.id)
    return {
        "messages": messages,
        "id": outage.id,
        "started_at": outage.started_at,
        "ended_at": outage.ended_at,
        "detected_by": outage.detected_by.value,
        "note": outage.note,
        "expected_end": outage.expected_end,
        "tickets_paused": outage.tickets_paused,
        "tickets_moved": outage.tickets_moved,
        "tickets_texted": outage.tickets_texted,
        "tickets_unplaced": outage.tickets_unplaced,
    }


def _backend(backend: Backend) -> dict[str, Any]:
    return {
        "code": backend.code,
        "name": {"ar": backend.name_ar, "en": backend.name_en},
        "state": backend.state.value,
        "since": backend.state_since,
        "current_outage": _outage(outages.current_outage(db.session, backend.id)),
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
@blp.alt_response(404, schema=schemas.Error)
@blp.doc(security=BEARER)
@requires_role(*MANAGER_AND_UP)
@audited("outage.declare", backend)
def declare_outage(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Declare the system down (manager, admin), optionally with the minutes it is expected to
    last. Every service that needs it pauses in every branch at once."""
    outages.declare(
        db.session,
        current_clock(),
        code,
        note=body["note"],
        expected_minutes=body["expected_minutes"],
    )
    return _backend(_by_code(code))


@blp.post("/backends/<code>/outages/resolve")
@blp.response(200, schemas.BackendStatus)
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(409, schema=schemas.Error, description="the system is not down")
@blp.doc(security=BEARER)
@requires_role(*MANAGER_AND_UP)
@audited("outage.resolve", backend)
def resolve_outage(code: str) -> dict[str, Any]:
    """Declare the system up again (manager, admin): its services resume; nobody is texted."""
    outages.resolve(db.session, current_clock(), code)
    return _backend(_by_code(code))


@blp.post("/backends/<code>/reports")
@blp.arguments(schemas.ReportBody)
@blp.response(200, schemas.ReportResult)
@blp.alt_response(403, schema=schemas.Error)
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(422, schema=schemas.Error)
@blp.doc(security=BEARER)
@requires_role(*STAFF_AND_UP)
@audited("outage.report", reporting_branch)
def report_down(body: dict[str, Any], code: str) -> dict[str, Any]:
    """A counter reports the system down (staff and up). Enough reports at one branch within
    its window declare it down."""
    who = principal()
    branch_code = body["branch"] or who.branch_code
    if branch_code is None:
        raise InvalidInput("say which branch reports", branch=["required for an admin token"])
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
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(409, schema=schemas.Error, description="the same window is already announced")
@blp.alt_response(422, schema=schemas.Error)
@blp.doc(security=BEARER)
@requires_role(*MANAGER_AND_UP)
@audited("maintenance.announce", backend)
def announce_maintenance(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Announce a maintenance window (manager, admin): shown on the status page and the kiosk,
    its slots are not booked, and appointments inside it are moved after it and texted."""
    window: Maintenance = maintenance.announce(
        db.session,
        current_clock(),
        code,
        starts_at=body["start"],
        ends_at=body["end"],
        note=body["note"],
    )
    return _window(window, code)


@blp.delete("/backends/<code>/maintenance/<int:window_id>")
@blp.response(200, schemas.MaintenanceWindow)
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
    return _window(maintenance.withdraw(db.session, current_clock(), code, window_id), code)


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
