"""Only in ``queue-app demo``: the simulated systems' health URLs and their switch."""

from __future__ import annotations

from flask import Blueprint, Response, request

from queue_app.demo import systems as demo_systems
from queue_app.errors import InvalidInput
from queue_app.outages import backend_by_code
from queue_app.web.extensions import current_settings, db

bp = Blueprint("demo_systems", __name__, url_prefix="/demo/systems")


@bp.get("/<code>/health")
def health(code: str) -> Response:
    up = demo_systems.is_up(current_settings().instance_path, code)
    return Response("ok" if up else "down", status=200 if up else 503, mimetype="text/plain")


@bp.post("/<code>")
def switch(code: str) -> dict[str, object]:
    """Turn a simulated system off or on: ``{"up": false}``."""
    backend_by_code(db.session, code)  # 404 for an unknown system
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("up"), bool):
        raise InvalidInput('send {"up": true} or {"up": false}', up=["required, true or false"])
    demo_systems.switch(current_settings().instance_path, code, up=body["up"])
    return {"system": code, "up": body["up"]}
