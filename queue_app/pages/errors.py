"""Error pages, in the reader's language. The domain's messages are English sentences for logs and
API clients; a citizen who scanned a QR code gets words about the page that failed instead."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext

# DESIGN.md's page addresses: which kind of thing a 404 under each of them could not find.
TICKET_PAGES = ("/t/",)
BRANCH_PAGES = ("/kiosk/", "/display/", "/counter/", "/manage/", "/book/", "/join/")


def _not_found_text(path: str) -> str:
    if path.startswith(TICKET_PAGES):
        return gettext(
            "We could not find this ticket. Check the link, or scan the QR code on your ticket "
            "again."
        )
    if path.startswith(BRANCH_PAGES):
        return gettext("There is no such branch or counter. Check the address.")
    return gettext("This page does not exist. Check the address.")


def explanation(status: int, path: str) -> str:
    if status == 404:
        return _not_found_text(path)
    texts = {
        400: gettext("The request could not be understood."),
        401: gettext("You are not allowed to open this page."),
        403: gettext("You are not allowed to open this page."),
        405: gettext("This page cannot be used that way."),
        409: gettext(
            "This cannot be done now: the ticket or the service has changed. Reload the page "
            "and try again."
        ),
        413: gettext("What was sent is too large."),
        422: gettext("The request could not be understood."),
        429: gettext("Too many requests. Wait a minute and try again."),
        503: gettext(
            "The service is busy or being restarted. Nothing was changed: try again in a few "
            "seconds."
        ),
    }
    return texts.get(
        status, gettext("Something went wrong on our side. Please try again in a few minutes.")
    )


def error_page(status: int, message: str) -> tuple[str, int]:
    """Render error.html. ``message`` (the domain's English text) is kept out of the page."""
    title = gettext("Not found") if status == 404 else gettext("Something went wrong")
    return render_template(
        "error.html", status=status, title=title, explanation=explanation(status, request.path)
    ), status
