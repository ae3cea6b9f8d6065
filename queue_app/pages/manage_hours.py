"""/manage/<branch>/hours: the manager's opening hours, holidays and special hours, one change at
a time (the config file stays for setting up many branches at once).

Each change is shown first with what it does (branch_hours with ``dry_run``: how many booked
appointments move, how many walk-ins wait today), then done on confirmation, and the flash says
how to undo it. Forms carry CSRF tokens (Flask-WTF); a form that fails its checks shows the
page again with what to correct, and changes nothing."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from babel.dates import get_day_names
from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField, DateField, HiddenField, StringField, TimeField
from wtforms.validators import DataRequired, Length, Optional

from queue_app import branch_hours, directory
from queue_app.access import Principal
from queue_app.api.auditing import audited, in_branch
from queue_app.branch_hours import HoursChange
from queue_app.directory import BranchInfo
from queue_app.errors import Forbidden, InvalidInput
from queue_app.pages import formatting
from queue_app.web.extensions import current_clock, db
from queue_app.web.sign_in import MANAGER_PAGES, signed_in_page

bp = Blueprint("manage_hours", __name__, template_folder="templates")


class ConfirmForm(FlaskForm):
    confirmed = HiddenField()


class WeekdayForm(ConfirmForm):
    closed = BooleanField()
    opens = TimeField(validators=[Optional()])
    closes = TimeField(validators=[Optional()])


class HolidayForm(ConfirmForm):
    day = DateField(validators=[DataRequired()])
    name_ar = StringField(validators=[Optional(), Length(max=branch_hours.NAME_LENGTH)])
    name_en = StringField(validators=[Optional(), Length(max=branch_hours.NAME_LENGTH)])


class SpecialHoursForm(ConfirmForm):
    first_day = DateField(validators=[DataRequired()])
    last_day = DateField(validators=[DataRequired()])
    opens = TimeField(validators=[DataRequired()])
    closes = TimeField(validators=[DataRequired()])


def _branch(branch_code: str) -> tuple[Principal, BranchInfo]:
    principal: Principal = g.principal
    branch = directory.current(db.session).branch(branch_code)
    principal.require_branch(branch.id)
    return principal, branch


def _checked(form: FlaskForm, what: str) -> None:
    """A form whose CSRF token is missing or wrong is refused (403); one with a bad field
    answers what to correct (422)."""
    if form.validate():
        return
    if "csrf_token" in form.errors:
        raise Forbidden("the form's CSRF token is missing or expired; reload the page")
    raise InvalidInput(f"the {what} form is not complete", fields=sorted(form.errors))


def _back(branch_code: str, anchor: str) -> Response:
    return redirect(url_for("manage_hours.show", branch_code=branch_code, _anchor=anchor), 303)


def _day(day: date, branch: BranchInfo) -> str:
    return formatting.day(datetime.combine(day, time(12), tzinfo=branch.zone), branch.zone)


def _time(moment: time) -> str:
    return formatting.digits(moment.strftime("%H:%M"))


def weekday_names() -> list[str]:
    names = get_day_names("wide", locale=formatting.page_locale())
    return [names[n] for n in range(7)]


def _consequences(change: HoursChange) -> list[str]:
    lines = [
        gettext(
            "%(count)s booked appointments no longer fit: they will move to the next free "
            "times and each citizen gets a message.",
            count=formatting.digits(change.moving),
        )
        if change.moving
        else gettext("No booked appointment has to move.")
    ]
    if change.walk_ins_waiting:
        lines.append(
            gettext(
                "%(count)s walk-in tickets are waiting today. The change does not cancel "
                "them: serve them, or tell the citizens.",
                count=formatting.digits(change.walk_ins_waiting),
            )
        )
    return lines


def _done(change: HoursChange) -> str:
    return gettext(
        "%(moved)s appointments moved, %(texted)s messages queued, %(unplaced)s found no free "
        "time.",
        moved=formatting.digits(change.moved),
        texted=formatting.digits(change.texted),
        unplaced=formatting.digits(change.unplaced),
    )


def _confirm(
    branch: BranchInfo, title: str, change: HoursChange, action: str, fields: dict[str, str]
) -> str:
    return render_template(
        "manage_confirm.html",
        branch=branch,
        title=title,
        consequences=_consequences(change),
        action=action,
        fields=fields,
        back=url_for("manage_hours.show", branch_code=branch.code),
    )


@bp.get("/manage/<branch_code>/hours")
@signed_in_page(MANAGER_PAGES)
def show(branch_code: str) -> str:
    _, branch = _branch(branch_code)
    now = current_clock().now()
    today = formatting.local(now, branch.zone).date()
    holidays, special_hours = branch_hours.coming(db.session, branch.id, today)
    return render_template(
        "manage_hours.html",
        branch=branch,
        weekdays=weekday_names(),
        week=branch.hours.days,
        holidays=holidays,
        special_hours=special_hours,
        day_of=lambda d: _day(d, branch),
        time_of=_time,
        holiday_form=HolidayForm(),
        special_form=SpecialHoursForm(),
        today=today,
    )


@bp.post("/manage/<branch_code>/hours/<int:weekday>")
@signed_in_page(MANAGER_PAGES)
@audited("hours.set", in_branch("weekday", "weekday"))
def weekday(branch_code: str, weekday: int) -> Any:
    principal, branch = _branch(branch_code)
    form = WeekdayForm()
    _checked(form, "opening hours")
    closed = bool(form.closed.data)
    opens = None if closed else form.opens.data
    closes = None if closed else form.closes.data
    if not closed and (opens is None or closes is None):
        raise InvalidInput("give the opening and closing times, or mark the day closed")
    change = branch_hours.set_weekday_hours(
        db.session,
        current_clock(),
        principal,
        branch_code,
        weekday,
        opens=opens,
        closes=closes,
        dry_run=not form.confirmed.data,
    )
    name = weekday_names()[weekday]
    before = branch.hours.days.get(weekday)
    if change.dry_run:
        title = (
            gettext("Close the branch every %(weekday)s?", weekday=name)
            if closed
            else gettext(
                "Open every %(weekday)s from %(opens)s to %(closes)s?",
                weekday=name,
                opens=_time(opens),  # type: ignore[arg-type]  # checked above
                closes=_time(closes),  # type: ignore[arg-type]
            )
        )
        fields = (
            {"closed": "y"}
            if closed
            else {
                "opens": opens.strftime("%H:%M"),  # type: ignore[union-attr]
                "closes": closes.strftime("%H:%M"),  # type: ignore[union-attr]
            }
        )
        action = url_for("manage_hours.weekday", branch_code=branch_code, weekday=weekday)
        return _confirm(branch, title, change, action, fields)
    undo = (
        gettext(
            "To undo, set %(weekday)s back to %(opens)s–%(closes)s.",
            weekday=name,
            opens=_time(before[0]),
            closes=_time(before[1]),
        )
        if before
        else gettext("To undo, mark %(weekday)s closed again.", weekday=name)
    )
    flash(gettext("Opening hours changed.") + " " + _done(change) + " " + undo)
    return _back(branch_code, "week")


@bp.post("/manage/<branch_code>/holidays")
@signed_in_page(MANAGER_PAGES)
@audited("holiday.add", in_branch("branch", "branch_code"))
def add_holiday(branch_code: str) -> Any:
    principal, branch = _branch(branch_code)
    form = HolidayForm()
    _checked(form, "holiday")
    day: date = form.day.data  # type: ignore[assignment]  # checked above
    change = branch_hours.add_holiday(
        db.session,
        current_clock(),
        principal,
        branch_code,
        day,
        name_ar=form.name_ar.data,
        name_en=form.name_en.data,
        dry_run=not form.confirmed.data,
    )
    if change.dry_run:
        return _confirm(
            branch,
            gettext("Close the branch on %(day)s?", day=_day(day, branch)),
            change,
            url_for("manage_hours.add_holiday", branch_code=branch_code),
            {
                "day": day.isoformat(),
                "name_ar": form.name_ar.data or "",
                "name_en": form.name_en.data or "",
            },
        )
    flash(
        gettext("Holiday added on %(day)s.", day=_day(day, branch))
        + " "
        + _done(change)
        + " "
        + gettext(
            "To undo, remove it from the holidays below; moved appointments keep their new times."
        )
    )
    return _back(branch_code, "holidays")


@bp.post("/manage/<branch_code>/holidays/<int:holiday_id>/remove")
@signed_in_page(MANAGER_PAGES)
@audited("holiday.remove", in_branch("holiday", "holiday_id"))
def remove_holiday(branch_code: str, holiday_id: int) -> Any:
    principal, branch = _branch(branch_code)
    form = ConfirmForm()
    _checked(form, "holiday")
    change = branch_hours.remove_holiday(
        db.session,
        current_clock(),
        principal,
        branch_code,
        holiday_id,
        dry_run=not form.confirmed.data,
    )
    if change.dry_run:
        return _confirm(
            branch,
            gettext("Open the branch again on this holiday?"),
            change,
            url_for("manage_hours.remove_holiday", branch_code=branch_code, holiday_id=holiday_id),
            {},
        )
    flash(gettext("Holiday removed: the branch opens that day. To undo, add it again."))
    return _back(branch_code, "holidays")


@bp.post("/manage/<branch_code>/special-hours")
@signed_in_page(MANAGER_PAGES)
@audited("special_hours.add", in_branch("branch", "branch_code"))
def add_special_hours(branch_code: str) -> Any:
    principal, branch = _branch(branch_code)
    form = SpecialHoursForm()
    _checked(form, "special hours")
    first_day: date = form.first_day.data  # type: ignore[assignment]  # checked above
    last_day: date = form.last_day.data  # type: ignore[assignment]
    opens: time = form.opens.data  # type: ignore[assignment]
    closes: time = form.closes.data  # type: ignore[assignment]
    change = branch_hours.add_special_hours(
        db.session,
        current_clock(),
        principal,
        branch_code,
        first_day=first_day,
        last_day=last_day,
        opens=opens,
        closes=closes,
        dry_run=not form.confirmed.data,
    )
    if change.dry_run:
        return _confirm(
            branch,
            gettext(
                "From %(first)s to %(last)s, open from %(opens)s to %(closes)s on working days?",
                first=_day(first_day, branch),
                last=_day(last_day, branch),
                opens=_time(opens),
                closes=_time(closes),
            ),
            change,
            url_for("manage_hours.add_special_hours", branch_code=branch_code),
            {
                "first_day": first_day.isoformat(),
                "last_day": last_day.isoformat(),
                "opens": opens.strftime("%H:%M"),
                "closes": closes.strftime("%H:%M"),
            },
        )
    flash(
        gettext("Special hours added.")
        + " "
        + _done(change)
        + " "
        + gettext("To undo, remove them below; moved appointments keep their new times.")
    )
    return _back(branch_code, "special-hours")


@bp.post("/manage/<branch_code>/special-hours/<int:special_id>/remove")
@signed_in_page(MANAGER_PAGES)
@audited("special_hours.remove", in_branch("special_hours", "special_id"))
def remove_special_hours(branch_code: str, special_id: int) -> Any:
    principal, branch = _branch(branch_code)
    form = ConfirmForm()
    _checked(form, "special hours")
    change = branch_hours.remove_special_hours(
        db.session,
        current_clock(),
        principal,
        branch_code,
        special_id,
        dry_run=not form.confirmed.data,
    )
    if change.dry_run:
        return _confirm(
            branch,
            gettext("Back to the usual hours on these days?"),
            change,
            url_for(
                "manage_hours.remove_special_hours", branch_code=branch_code, special_id=special_id
            ),
            {},
        )
    flash(gettext("Special hours removed.") + " " + _done(change))
    return _back(branch_code, "special-hours")


def _problems(err: InvalidInput) -> list[str]:
    """The domain's field problems (English words for API clients), in the manager's words."""
    words = {
        "in the past": gettext("The day is in the past."),
        "more than a year ahead": gettext("The day or time is more than a year ahead."),
        "not after opens": gettext("The closing time must be after the opening time."),
        "not after start": gettext("The end must be after the start."),
        "already a holiday": gettext("That day is already a holiday."),
        "overlaps other special hours": gettext("These days overlap other special hours."),
        "before the first day": gettext("The last day is before the first day."),
        "too long": gettext("The name is too long."),
        "both or neither": gettext("Give both times, or mark the day closed."),
        "longer than 7 days": gettext("A maintenance window lasts 7 days at most."),
        "more than a day ago": gettext("The start is more than a day ago."),
    }
    found = [
        words[problem]
        for problems in err.fields.values()
        if isinstance(problems, list)
        for problem in problems
        if problem in words
    ]
    return found or [gettext("Check the form: a field is missing or not valid.")]


def not_changed(err: InvalidInput) -> tuple[str, int]:
    """A console form with a bad value: say what to correct; nothing was changed."""
    db.session.rollback()
    return render_template("manage_not_changed.html", problems=_problems(err)), err.status


bp.register_error_handler(InvalidInput, not_changed)
