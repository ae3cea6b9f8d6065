"""GET /branches/{code}/statistics: a manager's figures in JSON, or CSV for a spreadsheet."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from queue_app import statistics, statistics_export
from queue_app.access import MANAGER_AND_UP
from queue_app.api import schemas
from queue_app.api.auth import BEARER, principal, requires_role
from queue_app.web.extensions import current_clock, db

blp = Blueprint("statistics", __name__, description="A branch's statistics over a range of days")


@blp.get("/branches/<branch_code>/statistics")
@blp.arguments(schemas.StatisticsQuery, location="query")
@blp.response(200, schemas.Statistics)
@blp.alt_response(403, schema=schemas.Error)
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(422, schema=schemas.Error, description="bad dates, from after to, over 366 days")
@blp.doc(
    security=BEARER,
    # Both answers of 200 (flask-smorest documents one content type per response).
    responses={
        "200": {
            "description": "JSON; with format=csv, CSV sections (UTF-8 with a byte-order mark)",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Statistics"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
@requires_role(*MANAGER_AND_UP)
def branch_statistics(query: dict[str, Any], branch_code: str) -> Any:
    """Tickets per hour, waits, service times, no-shows and outages' impact over the branch's
    local days from..to (manager of the branch, admin). docs/statistics.md defines each figure."""
    figures = statistics.for_branch(
        db.session, current_clock(), principal(), branch_code, query["from_"], query["to"]
    )
    if query["format"] == "csv":
        name = f"statistics-{branch_code}-{figures.first_day}-{figures.last_day}.csv"
        return Response(
            statistics_export.as_csv(figures),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return statistics_export.as_json(figures)
