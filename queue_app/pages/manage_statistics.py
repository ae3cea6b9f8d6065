"""/manage/<branch>/statistics: the manager's figures as charts, a table under each for screen
readers and for reading exact values, Arabic first and right to left; ``?format=csv`` downloads
them as the API's CSV. The figures are queue_app/statistics.py's; statistics.js draws the charts
with the vendored Chart.js (static/vendor/README.md) from the JSON the page embeds.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, g, render_template, request
from flask_babel import gettext

from queue_app import directory, statistics, statistics_export
from queue_app.access import Principal
from queue_app.errors import InvalidInput
from queue_app.pages import formatting
from queue_app.web.extensions import current_clock, db
from queue_app.web.sign_in import MANAGER_PAGES, signed_in_page

bp = Blueprint("manage_statistics", __name__, template_folder="templates")

# Without a range: the last week, today included.
DEFAULT_DAYS = 7


def _day(name: str, default: date) -> date:
    text = request.args.get(name)
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} is not a date (YYYY-MM-DD)", **{name: ["not a date"]}) from None


@bp.get("/manage/<branch_code>/statistics")
@signed_in_page(MANAGER_PAGES)
def show(branch_code: str) -> str | Response:
    """Raises InvalidInput (bad dates, range), NotFound, Forbidden: the error page."""
    branch = directory.current(db.session).branch(branch_code)
    today = current_clock().now().astimezone(branch.zone).date()
    last_day = _day("to", today)
    first_day = _day("from", last_day - timedelta(days=DEFAULT_DAYS - 1))
    if request.args.get("format") == "csv":
        figures = statistics.for_branch(
            db.session, current_clock(), g.principal, branch_code, first_day, last_day
        )
        name = f"statistics-{branch_code}-{first_day}-{last_day}.csv"
        return Response(
            statistics_export.as_csv(figures),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return render(g.principal, branch_code, first_day, last_day)


def render(principal: Principal, branch_code: str, first_day: date, last_day: date) -> str:
    """The page for ``principal`` (its access is checked by the figures). Raises InvalidInput,
    NotFound, Forbidden."""
    figures = statistics.for_branch(
        db.session, current_clock(), principal, branch_code, first_day, last_day
    )
    branch = directory.current(db.session).branch(branch_code)
    locale = formatting.page_locale()
    data = statistics_export.as_json(figures)
    return render_template(
        "manage_statistics.html",
        branch=branch,
        branch_name=branch.name(locale),
        figures=figures,
        day_and_time=formatting.day_and_time,
        first_day=first_day,
        last_day=last_day,
        services=[(s, s.name_en if locale == "en" else s.name_ar) for s in figures.services],
        script={
            "locale": locale,
            "digits": formatting.digit_style(locale),
            "rtl": locale == "ar",
            "figures": data,
            "words": _words(locale),
        },
    )


def _words(locale: str) -> dict[str, Any]:
    return {
        "arrived": gettext("Arrived"),
        "served": gettext("Served"),
        "hour": gettext("Hour of the day"),
        "tickets": gettext("Tickets"),
        "wait_minutes": gettext("Waiting time (minutes)"),
        "p90_bucket": gettext("Holds the 90th percentile"),
        "other_buckets": gettext("Tickets called"),
        "median": gettext("Median"),
        "p90": gettext("90th percentile"),
        "minutes": gettext("Minutes"),
        "no_show_share": gettext("No-shows, per cent of the tickets finished"),
        # The per cent sign as each script writes it: ٪ in Arabic (U+066A), % in English.
        "percent": "\u066a" if locale == "ar" else "%",
        "and_more": gettext("%(low)s and more"),
    }
