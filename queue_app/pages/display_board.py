"""/display/<branch>: the waiting-room board: who is being served at which counter."""

from __future__ import annotations

from flask import Blueprint, render_template

from queue_app import branches
from queue_app.db import db
from queue_app.extensions import current_clock

bp = Blueprint("display_board", __name__, template_folder="templates")


@bp.get("/display/<branch_code>")
def show(branch_code: str) -> str:
    view = branches.branch_view(db.session, branch_code, current_clock().now())
    return render_template("display.html", view=view, branch=view.branch)
