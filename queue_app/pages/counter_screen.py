"""/counter/<branch>/<counter>: buttons for counter staff. The page calls the JSON API with the
staff token the device keeps; it holds no state of its own."""

from __future__ import annotations

from flask import Blueprint, render_template

from queue_app import branches
from queue_app.db import db
from queue_app.extensions import current_clock

bp = Blueprint("counter_screen", __name__, template_folder="templates")


@bp.get("/counter/<branch_code>/<counter_code>")
def show(branch_code: str, counter_code: str) -> str:
    view = branches.branch_view(db.session, branch_code, current_clock().now())
    counter = branches.get_counter(view.branch, counter_code)
    return render_template("counter.html", view=view, branch=view.branch, counter=counter)
