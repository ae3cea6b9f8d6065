"""/join/<branch>: take today's walk-in ticket from a phone, for a branch whose config says
``join_from_phone`` (``joining``); /join/<branch>/poster: the A4 poster at the door with its QR.

Three plain pages, no script needed: choose the service, type the number and choose the
channel (POST /join/<branch> sends a one-time code); type the code (POST /join/<branch>/ticket
issues the ticket); then the ticket's own page (Post/Redirect/Get). A refusal is the same form
again, saying why in the page's language, with nothing changed: a service that stopped taking
walk-ins, a number that is not a mobile number, a wrong, expired or used code, too many codes or
tries, a number that already has a ticket in that line (then the link to it).

No CSRF token, as on the booking page: the forms act with no authority of the browser (no login,
no session), so another site's form could do nothing its author could not do directly; the
one-time code and the limits per address and per number are what stop bots.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext

from kiosk import qr
from queue_app import directory, joining, phone_codes, service_state
from queue_app.directory import BranchInfo
from queue_app.errors import (
    InvalidInput,
    InvalidPhone,
    NotFound,
    QueueError,
    RateLimited,
    ServiceClosed,
    ServicePaused,
)
from queue_app.locales import LOCALES
from queue_app.pages import formatting
from queue_app.pages.notices import service_notice
from queue_app.web.extensions import current_clock, current_settings, db
from queue_app.web.rate_limits import limiter
from sms.numbers import mobile_example

bp = Blueprint("join_page", __name__, template_folder="templates")

# Per client address, beside phone_codes' limit per number: a few codes, and a few more tries.
ASK_LIMIT = "5 per minute;20 per hour"
TICKET_LIMIT = "10 per minute;60 per hour"


@dataclass(frozen=True)
class Typed:
    """What the form sent, kept to fill the form again."""

    service: str
    phone: str
    channel: str | None
    locale: str
    code: str = ""

    @classmethod
    def of_form(cls) -> Typed:
        form = request.form
        locale = form.get("locale")
        return cls(
            service=(form.get("service") or "")[:64],
            phone=(form.get("phone") or "").strip()[:32],
            channel=(form.get("channel") or None),
            locale=locale if locale in LOCALES else formatting.page_locale(),
            code=(form.get("code") or "").strip()[:16],
        )


@dataclass(frozen=True)
class ServiceChoice:
    code: str
    label: str
    open: bool
    why_not: str | None  # the notice of a paused or closed service


def _choices(branch: BranchInfo) -> list[ServiceChoice]:
    now = current_clock().now()
    locale = formatting.page_locale()
    choices = []
    for service in branch.services:
        status = service_state.status_of(service, now)
        notice = None if status.takes_walk_ins else service_notice(status, branch.zone, now)
        why = " ".join([notice.title, *notice.lines, notice.advice]) if notice else None
        label = service.name(locale)
        choices.append(ServiceChoice(service.code, label, status.takes_walk_ins, why))
    return choices


def _render(branch: BranchInfo, step: str, status: int = 200, **context: Any) -> Response:
    locale = formatting.page_locale()
    example = mobile_example(branch.country)
    other = "en" if locale == "ar" else "ar"
    html = render_template(
        "join.html",
        branch=branch,
        step=step,
        start_url=url_for("join_page.show", branch_code=branch.code),
        # The steps after the first are answers to a POST: the other language starts afresh.
        lang_switch_href=url_for("join_page.show", branch_code=branch.code, lang=other),
        phone_example=formatting.digits(example, locale) if example else None,
        channels=branch.channels,
        **context,
    )
    response = Response(html, status=status, mimetype="text/html")
    # The code step holds the number typed; and a service's state changes by the minute.
    response.cache_control.no_store = True
    return response


def _choose(
    branch: BranchInfo, typed: Typed | None = None, *, status: int = 200, error: str | None = None
) -> Response:
    return _render(
        branch,
        "choose",
        status,
        choices=_choices(branch),
        typed=typed or Typed("", "", None, formatting.page_locale()),
        error=error,
        action=url_for("join_page.ask_code", branch_code=branch.code),
    )


def _code_step(
    branch: BranchInfo, typed: Typed, *, status: int = 200, error: str | None = None
) -> Response:
    minutes = int(phone_codes.VALID_FOR.total_seconds() // 60)
    return _render(
        branch,
        "code",
        status,
        typed=typed,
        service=branch.service(typed.service),
        phone_shown=formatting.isolate(typed.phone),
        minutes=formatting.digits(minutes),
        error=error,
        action=url_for("join_page.take_ticket", branch_code=branch.code),
        resend=url_for("join_page.ask_code", branch_code=branch.code),
    )


def _refused(branch: BranchInfo, typed: Typed, err: QueueError, *, at_code: bool) -> Response:
    """The form again, saying why in the reader's words; nothing was changed."""
    db.session.rollback()
    if isinstance(err, joining.AlreadyInLine):
        token = str(err.fields.get("token"))
        return _render(
            branch,
            "already",
            err.status,
            number=formatting.isolate(err.fields.get("ticket") or "—"),
            ticket_url=url_for("ticket_page.show", token=token, lang=typed.locale),
        )
    code_error = code_error_of(err)
    if code_error is not None and at_code:
        return _code_step(branch, typed, status=err.status, error=code_error)
    return _choose(branch, typed, status=err.status, error=code_error or _choose_error(branch, err))


def code_error_of(err: QueueError) -> str | None:
    """Why a typed code was refused, in the reader's words (None: not a code's refusal)."""
    if isinstance(err, phone_codes.CodeWrong):
        left = err.fields.get("tries_left")
        if isinstance(left, int):
            return formatting.digits(
                gettext("This is not the code we sent. Tries left: %(left)s.", left=left)
            )
        return gettext("No code was sent to this number for this. Ask for a new code.")
    if isinstance(err, phone_codes.CodeExpired):
        return gettext("This code has expired. Ask for a new code.")
    if isinstance(err, phone_codes.CodeUsed):
        return gettext("This code was already used. Ask for a new code.")
    if isinstance(err, phone_codes.CodeTriesExhausted):
        return gettext("Too many wrong codes. Ask for a new code.")
    return None


def _choose_error(branch: BranchInfo, err: QueueError) -> str:
    if isinstance(err, InvalidPhone):
        return gettext(
            "This is not a mobile number in %(country)s. Check it and try again.",
            country=formatting.country_name(branch.country, formatting.page_locale()),
        )
    if isinstance(err, NotFound):
        return gettext("This office offers no such service. Choose one from the list.")
    if isinstance(err, ServicePaused | ServiceClosed):
        return gettext(
            "This service is not taking tickets right now. The list says why; choose another "
            "service or try later."
        )
    if isinstance(err, RateLimited):
        return gettext(
            "This number has been sent too many messages. Wait a little, or try again tomorrow."
        )
    if isinstance(err, phone_codes.NumberOptedOut):
        return gettext(
            "This number asked us to send it no more messages. To get the code, send START to "
            "our number first, then try again."
        )
    if isinstance(err, InvalidInput):
        return gettext("Choose how we should send your messages: WhatsApp or text message.")
    return gettext("This cannot be done now. Please try again.")


@bp.errorhandler(joining.JoinNotOffered)
def not_offered(err: joining.JoinNotOffered) -> Response:
    code = (request.view_args or {}).get("branch_code", "")
    return _render(directory.current(db.session).branch(code), "not_offered", 404)


@bp.get("/join/<branch_code>")
def show(branch_code: str) -> Response:
    branch = joining.joinable_branch(db.session, branch_code)
    return _choose(branch)


@bp.post("/join/<branch_code>")
@limiter.limit(ASK_LIMIT)
def ask_code(branch_code: str) -> Response:
    branch = joining.joinable_branch(db.session, branch_code)
    typed = Typed.of_form()
    try:
        joining.ask_code(
            db.session,
            current_clock(),
            current_settings().secret_key,
            branch.code,
            typed.service,
            phone=typed.phone,
            channel=typed.channel,
            locale=typed.locale,
        )
    except QueueError as err:
        return _refused(branch, typed, err, at_code=False)
    return _code_step(branch, typed)


@bp.post("/join/<branch_code>/ticket")
@limiter.limit(TICKET_LIMIT)
def take_ticket(branch_code: str) -> Response:
    branch = joining.joinable_branch(db.session, branch_code)
    typed = Typed.of_form()
    try:
        view = joining.take_ticket(
            db.session,
            current_clock(),
            current_settings().secret_key,
            branch.code,
            typed.service,
            phone=typed.phone,
            channel=typed.channel,
            locale=typed.locale,
            code=typed.code,
        )
    except QueueError as err:
        return _refused(branch, typed, err, at_code=True)
    target = url_for("ticket_page.show", token=view.ticket.token, lang=typed.locale)
    return redirect(target, 303)  # type: ignore[return-value]


@bp.errorhandler(429)
def too_many(err: Exception) -> Response | tuple[str, int]:
    """Too many requests from this address: the page, saying so, the typed values kept."""
    from queue_app.pages.errors import error_page

    db.session.rollback()
    if not request.view_args or "branch_code" not in request.view_args:
        return error_page(429, "")
    try:
        branch = joining.joinable_branch(db.session, request.view_args["branch_code"])
    except NotFound:
        return error_page(429, "")
    error = gettext("Too many requests from this connection. Wait a minute and try again.")
    return _choose(branch, Typed.of_form(), status=429, error=error)


# --- the poster at the door -----------------------------------------------------------------


def join_url(branch: BranchInfo) -> str:
    """The join page's absolute address, as the poster's QR code holds it."""
    base = current_settings().public_url.rstrip("/")
    return base + url_for("join_page.show", branch_code=branch.code)


@bp.get("/join/<branch_code>/poster")
def poster(branch_code: str) -> str:
    branch = joining.joinable_branch(db.session, branch_code)
    texts = {}
    for locale in ("ar", "en"):  # both at once: one sheet at the door serves every reader
        with force_locale(locale):
            texts[locale] = {
                "title": gettext("Take your ticket from your phone"),
                "steps": gettext(
                    "Scan the code with your phone's camera to take today's ticket without "
                    "queueing at the kiosk. We send a code to your number to confirm it, then "
                    "your ticket and its link to follow your turn."
                ),
            }
    return render_template(
        "join_poster.html",
        branch=branch,
        texts=texts,
        join_url=join_url(branch),
        qr_url=url_for("join_page.poster_qr", branch_code=branch.code),
    )


@bp.get("/join/<branch_code>/qr.svg")
def poster_qr(branch_code: str) -> Response:
    branch = joining.joinable_branch(db.session, branch_code)
    response = Response(qr.svg(join_url(branch)), mimetype="image/svg+xml")
    response.cache_control.max_age = 3600
    return response
