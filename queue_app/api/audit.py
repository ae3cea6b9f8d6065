"""Reading the audit trail: a branch's records for its manager or an admin, as JSON pages or
one CSV file."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from queue_app import audit
from queue_app.access import MANAGER_AND_UP
from queue_app.api import schemas
from queue_app.api.auth import BEARER, principal, requires_role
from queue_app.web.extensions import db

blp = Blueprint("audit", __name__, description="The audit trail: who did what, when, from where")

DEFAULT_PAGE = 100
TO_BEFORE_FROM = "invalid_input: to before from"


def _answer(query: dict[str, Any], branch_code: str, *, as_csv: bool) -> Any:
    limit = query["limit"] or (None if as_csv else DEFAULT_PAGE)
    rows, next_before = audit.for_branch(
        db.session,
        principal(),
        branch_code,
        audit.Query(
            since=query["from_"],
            until=query["to"],
            action=query["action"],
            before_id=query["before"],
            limit=limit,
        ),
    )
    if as_csv:
        return Response(
            audit.as_csv(rows),
            mimetype="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="audit-{branch_code}.csv"',
            },
        )
    return {"events": rows, "next_before": next_before}


@blp.get("/branches/<branch_code>/audit")
@blp.arguments(schemas.AuditQuery, location="query")
@blp.response(200, schemas.AuditPage)
@blp.alt_response(403, schema=schemas.Error, description="staff, or another branch's manager")
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(422, schema=schemas.Error, description=TO_BEFORE_FROM)
@blp.doc(
    security=BEARER,
    # Both answers of 200 (flask-smorest documents one content type per response).
    responses={
        "200": {
            "description": "JSON pages; with format=csv, the records as CSV (UTF-8)",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/AuditPage"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
@requires_role(*MANAGER_AND_UP)
def branch_audit(query: dict[str, Any], branch_code: str) -> Any:
    """The branch's audit trail, newest first (its manager, admin): every change made with a
    staff, manager or admin token, and every such call refused. ``?format=csv`` answers the
    same records as CSV (all of them unless ``limit`` is given)."""
    return _answer(query, branch_code, as_csv=query["format"] == "csv")


@blp.get("/branches/<branch_code>/audit.csv")
@blp.arguments(schemas.AuditQuery, location="query")
@blp.response(200, description="text/csv, UTF-8 with a byte-order mark")
@blp.alt_response(403, schema=schemas.Error, description="staff, or another branch's manager")
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(422, schema=schemas.Error, description=TO_BEFORE_FROM)
@blp.doc(security=BEARER)
@requires_role(*MANAGER_AND_UP)
def branch_audit_csv(query: dict[str, Any], branch_code: str) -> Any:
    """The branch's audit trail as a CSV file (its manager, admin); before and after are JSON
    in their cells."""
    return _answer(query, branch_code, as_csv=True)
