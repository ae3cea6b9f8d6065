"""/book/<branch>: book an appointment from a phone, with no account and no script needed.

Four steps, each a plain page whose links carry the choices so far in the query string:
service → day (the next two weeks, days with a free time only) → time (free ones, with the
places left) → mobile number. The number is sent by a form POST to /book/<branch>, which calls
``appointments.book`` (as the API does) and, once booked, redirects (Post/Redirect/Get) to
/book/<branch>/booked/<token>: the number, the time written out in the branch's own time zone,
and the link to the ticket's page. A refused booking is answered with the form again, saying
why in the page's language: the time was just taken (with the next free one offered), the
number already has a booking, the number is not a mobile number of the branch's country, too
many bookings from this connection. ``static/book.js`` sends the form in the background when it
can, so that a lost connection is said on the page and retried, not a browser error page.

No CSRF token: the form acts with no authority of the browser that sends it (no login, no
session; the only cookie is the language), so a form on another site could do nothing that its
author could not do directly, and booking is rate limited per address either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext

from queue_app import appointments, branches, phone_codes, slots, tickets
from queue_app.directory import BranchInfo, ServiceInfo
from queue_app.errors import (
    AlreadyBooked,
    InvalidInput,
    InvalidPhone,
    NotFound,
    RateLimited,
    SlotFull,
    SystemAway,
)
from queue_app.locales import LOCALES
from queue_app.models import TicketStatus
from queue_app.pages import formatting, join_page
from queue_app.pages.labels import booking_strings, script_strings, ticket_page_strings
from queue_app.web import i18n
from queue_app.web.extensions import current_clock, current_settings, db
from queue_app.web.rate_limits import limiter
from sms.numbers import mobile_example

bp = Blueprint("booking_page", __name__, template_folder="templates")

# How far ahead the page offers days: far enough to plan, near enough to keep a short list.
DAYS_AHEAD = 14
# As the API's POST /branches/{b}/appointments, counted apart from it.
BOOK_LIMIT = "10 per minute;60 per hour"
STEPS = ("service", "day", "time", "phone")
Times = tuple[datetime, datetime]  # a slot's start and end


class Problem(Exception):
    """A request the page cannot answer with a step: shown as a page that says why."""

    def __init__(self, status: int, title: str, text: str, back: tuple[str, str]) -> None:
        super().__init__(text)
        self.status, self.title, self.text, self.back = status, title, text, back


# --- times, as the branch reads them (with weekday and month: formatting.day_and_time) -----


def _unbroken(text: str) -> str:
    """A time in one piece on a narrow screen: "١١:٠٠" here and "ص" alone on the next line
    would read as another time."""
    return text.replace(" ", "\u00a0")


def slot_text(start: datetime, end: datetime, zone: Any) -> str:
    return ticket_page_strings()["slot"] % {
        "day": formatting.day(start, zone),
        "start": _unbroken(formatting.clock_time(start, zone)),
        "end": _unbroken(formatting.clock_time(end, zone)),
    }


def _start_param(start: datetime) -> str:
    # UTC with a Z: no "+" for a URL to turn into a space.
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def _parse_start(text: str | None) -> datetime | None:
    try:
        start = datetime.fromisoformat((text or "").strip())
    except ValueError:
        return None
    return start if start.tzinfo is not None else None


# --- the steps ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    label: str
    detail: str | None
    url: str | None  # None: shown, but nothing to choose
    tag: str | None = None  # "Today", "Tomorrow"


def _url(branch: BranchInfo, **args: str) -> str:
    return url_for("booking_page.show", branch_code=branch.code, **args)


def _service(branch: BranchInfo, code: str | None) -> ServiceInfo:
    try:
        return branch.service(code or "")
    except NotFound:
        raise Problem(
            404,
            gettext("No such service"),
            gettext("This office offers no such service. Choose one from the list."),
            (_url(branch), gettext("Choose a service")),
        ) from None


def _today(branch: BranchInfo, now: datetime) -> date:
    return now.astimezone(branch.zone).date()


def _free(service: ServiceInfo, now: datetime, first: date, days: int) -> list[slots.Slot]:
    return [s for s in slots.slots_of(db.session, service, now, first, days) if s.available > 0]


def _service_choices(branch: BranchInfo, now: datetime) -> list[Choice]:
    choices = []
    for service in branch.services:
        earliest = appointments.earliest_slot(db.session, service, now)
        choices.append(
            Choice(
                label=service.name(formatting.page_locale()),
                detail=(
                    gettext(
                        "Earliest free time: %(when)s",
                        when=formatting.day_and_time(earliest, branch.zone),
                    )
                    if earliest
                    else gettext("No free time at the moment")
                ),
                url=_url(branch, service=service.code) if earliest else None,
            )
        )
    return choices


def _day_tag(day: date, today: date) -> str | None:
    if day == today:
        return gettext("Today")
    if day == today + timedelta(days=1):
        return gettext("Tomorrow")
    return None


def _day_choices(service: ServiceInfo, now: datetime) -> list[Choice]:
    branch = service.branch
    today = _today(branch, now)
    free_by_day: dict[date, list[slots.Slot]] = {}
    for slot in _free(service, now, today, DAYS_AHEAD):
        free_by_day.setdefault(slot.start.astimezone(branch.zone).date(), []).append(slot)
    return [
        Choice(
            label=formatting.day(free[0].start, branch.zone),
            detail=formatting.digits(
                ngettext("%(num)s free time", "%(num)s free times", len(free))
            ),
            url=_url(branch, service=service.code, day=day.isoformat()),
            tag=_day_tag(day, today),
        )
        for day, free in sorted(free_by_day.items())
    ]


def _places_left(count: int) -> str:
    return formatting.digits(ngettext("%(num)s place left", "%(num)s places left", count))


def _time_choices(service: ServiceInfo, now: datetime, day: date) -> list[Choice]:
    zone = service.branch.zone
    return [
        Choice(
            label=formatting.clock_time(slot.start, zone),
            detail=_places_left(slot.available),
            url=_url(service.branch, service=service.code, start=_start_param(slot.start)),
        )
        for slot in _free(service, now, day, 1)
    ]


def _the_day(service: ServiceInfo, now: datetime, text: str) -> date:
    today = _today(service.branch, now)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or not today <= day < today + timedelta(days=DAYS_AHEAD):
        raise Problem(
            422,
            gettext("This day cannot be chosen"),
            gettext("Choose one of the days offered for this service."),
            (_url(service.branch, service=service.code), gettext("Choose a day")),
        )
    return day


def _the_slot(service: ServiceInfo, now: datetime, text: str | None) -> slots.Slot:
    start = _parse_start(text)
    last_day = _today(service.branch, now) + timedelta(days=slots.BOOKING_HORIZON_DAYS)
    bookable = start and now < start and start.astimezone(service.branch.zone).date() <= last_day
    slot = slots.find_slot(db.session, service, now, start) if bookable else None
    if slot is None:
        raise _not_a_free_time(service)
    return slot


def _next_free_after(service: ServiceInfo, now: datetime, after: datetime) -> datetime | None:
    day = after.astimezone(service.branch.zone).date()
    later = (s for s in _free(service, now, day, DAYS_AHEAD) if s.start > after)
    return next((s.start for s in later), None)


# --- rendering ------------------------------------------------------------------------------


def _lang_switch(args: dict[str, str]) -> str:
    other = "en" if formatting.page_locale() == "ar" else "ar"
    return request.path + "?" + urlencode({**args, "lang": other})


def _render(branch: BranchInfo, step: str, status: int = 200, **context: Any) -> Response:
    locale = formatting.page_locale()
    script = script_strings(booking_strings, locale, branch.timezone)
    html = render_template(
        "book.html",
        branch=branch,
        step=step,
        step_number=STEPS.index(step) + 1 if step in STEPS else None,
        step_count=len(STEPS),
        start_url=_url(branch),
        lang_switch_href=_lang_switch(context.pop("args", {})),
        script=script,
        **context,
    )
    response = Response(html, status=status, mimetype="text/html")
    # Free places change by the minute; and the confirmation's address holds a ticket's token.
    response.cache_control.no_store = True
    return response


def _problem(branch: BranchInfo, problem: Problem) -> Response:
    return _render(branch, "problem", problem.status, problem=problem)


def _phone_step(
    service: ServiceInfo,
    times: Times | None,
    *,
    status: int = 200,
    phone: str = "",
    error: str | None = None,
    day: date | None = None,
    channel: str | None = None,
) -> Response:
    """The form for the slot of ``times`` (start, end); without one (none to offer), the error
    and the way back."""
    branch = service.branch
    locale = formatting.page_locale()
    example = mobile_example(branch.country)
    start = _start_param(times[0]) if times else None
    if times is not None:
        day = times[0].astimezone(branch.zone).date()
    back = _url(branch, service=service.code, **({"day": day.isoformat()} if day else {}))
    return _render(
        branch,
        "phone",
        status,
        args={"service": service.code, **({"start": start} if start else {})},
        service=service,
        slot=slot_text(*times, branch.zone) if times else None,
        start=start,
        phone=phone,
        error=error,
        phone_example=formatting.digits(example, locale) if example else None,
        channels=branch.channels,
        channel=channel or branch.channels[0],
        action=url_for("booking_page.book", branch_code=branch.code, lang=locale),
        back=back,
    )


@bp.get("/book/<branch_code>")
def show(branch_code: str) -> Response:
    branch = branches.get_branch(db.session, branch_code)
    now = current_clock().now()
    args = request.args
    try:
        if not args.get("service"):
            return _render(branch, "service", choices=_service_choices(branch, now))
        service = _service(branch, args["service"])
        if args.get("start"):
            slot = _the_slot(service, now, args["start"])
            if slot.available > 0:
                return _phone_step(service, (slot.start, slot.end))
            return _full(service, now, slot, status=200)
        if args.get("day"):
            day = _the_day(service, now, args["day"])
            return _render(
                branch,
                "time",
                args={"service": service.code, "day": day.isoformat()},
                service=service,
                day=formatting.day(datetime.combine(day, time(12), branch.zone), branch.zone),
                choices=_time_choices(service, now, day),
                back=_url(branch, service=service.code),
            )
        return _render(
            branch,
            "day",
            args={"service": service.code},
            service=service,
            choices=_day_choices(service, now),
            back=_url(branch),
        )
    except Problem as problem:
        return _problem(branch, problem)


def _full(
    service: ServiceInfo, now: datetime, slot: slots.Slot, *, status: int, phone: str = ""
) -> Response:
    """The time was just taken: say so, and offer the next free one."""
    said = gettext(
        "Someone has just taken the last place at %(time)s.",
        time=formatting.day_and_time(slot.start, service.branch.zone),
    )
    next_start = _next_free_after(service, now, slot.start)
    return _offer_next(service, now, slot.start, next_start, said, status=status, phone=phone)


def _offer_next(
    service: ServiceInfo,
    now: datetime,
    asked: datetime,
    next_start: datetime | None,
    said: str,
    *,
    status: int,
    phone: str = "",
) -> Response:
    """Say (``said``) why the time ``asked`` cannot be booked, and offer the form again for
    ``next_start``, the number kept: one tap books it."""
    zone = service.branch.zone
    offered = slots.find_slot(db.session, service, now, next_start) if next_start else None
    if offered is None:
        error = said + " " + gettext("There is no later free time in the coming weeks.")
        day = asked.astimezone(zone).date()
        return _phone_step(service, None, status=status, phone=phone, error=error, day=day)
    offer = gettext(
        "The next free time is %(when)s.", when=formatting.day_and_time(offered.start, zone)
    )
    times = (offered.start, offered.end)
    return _phone_step(service, times, status=status, phone=phone, error=said + " " + offer)


@dataclass(frozen=True)
class Posted:
    """What the form sent. The time is checked by ``appointments.book``, which knows every
    reason it may not be booked (and the one to offer instead)."""

    service: ServiceInfo
    times: Times  # the slot's start, and its end as the page writes it
    phone: str
    locale: str
    channel: str | None  # None: the form offered no choice (the branch's only channel)


def _not_a_free_time(service: ServiceInfo) -> Problem:
    return Problem(
        422,
        gettext("This time cannot be booked"),
        gettext(
            "This is not one of the free times of this service, or it has passed. Choose "
            "another time."
        ),
        (_url(service.branch, service=service.code), gettext("Choose a day")),
    )


def _posted(branch: BranchInfo) -> Posted:
    form = request.form
    service = _service(branch, form.get("service"))
    start = _parse_start(form.get("start"))
    if start is None:
        raise _not_a_free_time(service)
    # Slots are cut in wall-clock time (slots.py): so is their end.
    local = start.astimezone(branch.zone).replace(tzinfo=None)
    end = (local + timedelta(minutes=service.slot_minutes)).replace(tzinfo=branch.zone)
    locale = form.get("locale")
    return Posted(
        service=service,
        times=(start.astimezone(UTC), end.astimezone(UTC)),
        phone=(form.get("phone") or "").strip()[:32],
        locale=locale if locale in LOCALES else formatting.page_locale(),
        channel=form.get("channel") or None,
    )


@bp.post("/book/<branch_code>")
@limiter.limit(BOOK_LIMIT)
def book(branch_code: str) -> Response:
    branch = branches.get_branch(db.session, branch_code)
    clock = current_clock()
    now = clock.now()
    try:
        posted = _posted(branch)
    except Problem as problem:
        return _problem(branch, problem)
    service, times, phone = posted.service, posted.times, posted.phone
    if posted.channel is not None and posted.channel not in branch.channels:
        error = gettext("Choose how we should send your messages: WhatsApp or text message.")
        return _phone_step(service, times, status=422, phone=phone, error=error)
    try:
        if branch.booking_code and "code" not in request.form:
            # The branch confirms the number first: a code now, the booking with it.
            appointments.ask_booking_code(
                db.session,
                clock,
                current_settings().secret_key,
                branch.code,
                service.code,
                phone=phone,
                channel=posted.channel,
                locale=posted.locale,
            )
            return _code_step(posted)
        # Where the branch asks for a code, the one sent at the step above confirms the number.
        view = appointments.book_confirming_number(
            db.session,
            clock,
            current_settings().secret_key,
            branch.code,
            service.code,
            start=times[0],
            phone=phone,
            locale=posted.locale,
            channel=posted.channel,
            code=(request.form.get("code") or "")[:16] if branch.booking_code else None,
            caller=None,
        )
    except phone_codes.REFUSALS as err:
        db.session.rollback()
        return _code_step(posted, status=err.status, error=join_page.code_error_of(err))
    except RateLimited:
        db.session.rollback()
        error = gettext(
            "This number has been sent too many messages. Wait a little, or try again tomorrow."
        )
        return _phone_step(
            service, times, status=429, phone=phone, error=error, channel=posted.channel
        )
    except phone_codes.NumberOptedOut:
        db.session.rollback()
        error = gettext(
            "This number asked us to send it no more messages. To get the code, send START to "
            "our number first, then try again."
        )
        return _phone_step(
            service, times, status=409, phone=phone, error=error, channel=posted.channel
        )
    except InvalidPhone:
        db.session.rollback()
        error = gettext(
            "This is not a mobile number in %(country)s. Check it and try again.",
            country=formatting.country_name(branch.country, formatting.page_locale()),
        )
        return _phone_step(
            service, times, status=422, phone=phone, error=error, channel=posted.channel
        )
    except (SlotFull, SystemAway) as err:
        db.session.rollback()
        when = formatting.day_and_time(times[0], branch.zone)
        if isinstance(err, SlotFull):
            said = gettext("Someone has just taken the last place at %(time)s.", time=when)
        else:  # an outage or announced maintenance covers that time now
            said = gettext(
                "A system this service needs will not be available at %(time)s.", time=when
            )
        next_start = _parse_start(str(err.fields.get("next_slot") or ""))
        return _offer_next(service, now, times[0], next_start, said, status=409, phone=phone)
    except AlreadyBooked as err:
        db.session.rollback()
        error = _already_booked(branch, err.fields)
        return _phone_step(service, times, status=409, phone=phone, error=error)
    except InvalidInput:  # not a slot, past, a closed day, too far ahead
        db.session.rollback()
        return _problem(branch, _not_a_free_time(service))
    target = url_for(
        "booking_page.booked",
        branch_code=branch.code,
        token=view.ticket.token,
        lang=posted.locale,
    )
    return redirect(target, 303)  # type: ignore[return-value]


def _code_step(posted: Posted, *, status: int = 200, error: str | None = None) -> Response:
    """Type the code sent to the number (a branch with ``booking_code``); the form carries the
    choices so far, and a second form asks for a new code."""
    service, branch = posted.service, posted.service.branch
    minutes = int(phone_codes.VALID_FOR.total_seconds() // 60)
    return _render(
        branch,
        "code",
        status,
        args={"service": service.code, "start": _start_param(posted.times[0])},
        service=service,
        slot=slot_text(*posted.times, branch.zone),
        start=_start_param(posted.times[0]),
        phone=posted.phone,
        phone_shown=formatting.isolate(posted.phone),
        channel=posted.channel,
        error=error,
        minutes=formatting.digits(minutes),
        action=url_for("booking_page.book", branch_code=branch.code, lang=posted.locale),
        back=_url(branch, service=service.code),
    )


def _already_booked(branch: BranchInfo, fields: dict[str, object]) -> str:
    start = _parse_start(str(fields.get("slot_start") or ""))
    number = formatting.isolate(fields.get("ticket") or "—")
    when = "—" if start is None else formatting.day_and_time(start, branch.zone)
    return gettext(
        "This mobile number already has an appointment for this service: %(number)s, "
        "%(when)s. The text message we sent has the link to its page, where you can move or "
        "cancel it.",
        number=number,
        when=when,
    )


@bp.errorhandler(429)
def too_many(err: Exception) -> Response | tuple[str, int]:
    """Too many bookings from this address: the form again, with the number typed, saying so."""
    from queue_app.pages.errors import error_page

    db.session.rollback()
    if request.endpoint != "booking_page.book" or not request.view_args:
        return error_page(429, "")
    try:
        branch = branches.get_branch(db.session, request.view_args["branch_code"])
        posted = _posted(branch)
    except (NotFound, Problem):
        return error_page(429, "")
    error = gettext("Too many bookings from this connection. Wait a minute and try again.")
    return _phone_step(posted.service, posted.times, status=429, phone=posted.phone, error=error)


@bp.get("/book/<branch_code>/booked/<token>")
def booked(branch_code: str, token: str) -> Response:
    branch = branches.get_branch(db.session, branch_code)
    try:
        view = tickets.lookup(db.session, current_clock().now(), token)
    except NotFound:
        view = None
    if view is None or view.branch.code != branch.code:
        return _problem(
            branch,
            Problem(
                404,
                gettext("Not found"),
                gettext("We could not find this booking. Check the link in your text message."),
                (_url(branch), gettext("Book an appointment")),
            ),
        )
    ticket = view.ticket
    i18n.prefer_locale(ticket.locale)
    if ticket.status != TicketStatus.SCHEDULED or ticket.slot_start is None:
        # Moved on since (checked in, cancelled): its own page says where it stands.
        return redirect(url_for("ticket_page.show", token=token), 303)  # type: ignore[return-value]
    zone = branch.zone
    check_in = tickets.check_in_window(ticket.slot_start)
    return _render(
        branch,
        "booked",
        view=view,
        ticket=ticket,
        slot=slot_text(ticket.slot_start, ticket.slot_end or ticket.slot_start, zone),
        check_in=gettext(
            "Check in at the office's kiosk from %(time)s, with the QR code of your ticket page.",
            time=formatting.clock_time(check_in.opens, zone),
        ),
        ticket_url=url_for("ticket_page.show", token=token),
    )
