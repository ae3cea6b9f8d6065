"""/: the start page, what a newcomer finds at the server's address. The offices, each named in
Arabic and English, with the links a citizen needs: booking, the waiting-room board, the kiosk;
and the status of the government systems. Public, no login, Arabic first.

It reads the directory only (kept in memory while nothing changes), so it is cheap to open and
answers whatever state the back-end systems are in.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, render_template, url_for
from flask_babel import force_locale, gettext

from queue_app import directory
from queue_app.pages import formatting
from queue_app.web.extensions import db

bp = Blueprint("start_page", __name__, template_folder="templates")


@dataclass(frozen=True)
class BranchLinks:
    code: str
    name_ar: str
    name_en: str
    book: str
    display: str
    kiosk: str
    status: str


@bp.get("/")
def show() -> str:
    locale = formatting.page_locale()
    other = "en" if locale == "ar" else "ar"
    with force_locale(other):
        # The product's name in the other language too, beside the page's own.
        other_name = gettext("Virtual queue")
    offices = sorted(
        directory.current(db.session).branches,
        key=lambda b: (b.name_ar if locale == "ar" else b.name_en, b.code),
    )
    return render_template(
        "start.html",
        other_name=other_name,
        branches=[
            BranchLinks(
                code=b.code,
                name_ar=b.name_ar,
                name_en=b.name_en,
                book=url_for("booking_page.show", branch_code=b.code),
                display=url_for("display_board.show", branch_code=b.code),
                kiosk=url_for("kiosk.touch_screen_page", branch_code=b.code),
                # /status covers every system; each office's row there names its services.
                status=url_for("status_page.show", _anchor="systems"),
            )
            for b in offices
        ],
        status_url=url_for("status_page.show"),
        lang_switch_href=url_for("start_page.show", lang=other),
    )
