"""/manage/<branch>/maintenance: the manager announces a maintenance window of one of the systems
the branch's services need, or gives an announced one other times. Both are shown first with how
many appointments move (maintenance.preview_announce, reschedule_window with ``dry_run``), then
done on confirmation. Withdrawing stays in manage_console.py. Times are the branch's local time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import DateTimeLocalField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from queue_app import directory, maintenance
from queue_app.access import Principal
from queue_app.api.auditing import audited, in_branch
from queue_app.directory import BackendInfo, BranchInfo
from queue_app.errors import Forbidden, InvalidInput, NotFound
from queue_app.pages import formatting
from queue_app.pages.manage_hours import not_changed
from queue_app.web.extensions import current_clock, db
from queue_app.web.sign_in import MANAGER_PAGES, signed_in_page

bp = Blueprint("manage_maintenance", __name__, template_folder="templates")
bp.register_error_handler(InvalidInput, not_changed)

LOCAL_TIME = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends


class WindowForm(FlaskForm):
    confirmed = HiddenField()
    start = DateTimeLocalField(format=LOCAL_TIME, validators=[DataRequired()])
    end = DateTimeLocalField(format=LOCAL_TIME, validators=[DataRequired()])
    note = StringField(validators=[Optional(), Length(max=500)])


class AnnounceForm(WindowForm):
    system = SelectField(choices=[], validators=[DataRequired()])


def systems_of(branch: BranchInfo) -> list[BackendInfo]:
    """The systems the branch's services need, by code."""
    found = {b.code: b for s in branch.services for b in s.backends}
    return [found[code] for code in sorted(found)]


def _branch(branch_code: str) -> tuple[Principal, BranchInfo]:
    principal: Principal = g.principal
    branch = directory.current(db.session).branch(branch_code)
    principal.require_branch(branch.id)
    return principal, branch


def _checked(form: FlaskForm) -> None:
    if form.validate():
        return
    if "csrf_token" in form.errors:
        raise Forbidden("the form's CSRF token is missing or expired; reload the page")
    raise InvalidInput("the maintenance form is not complete", fields=sorted(form.errors))


def _times(form: WindowForm, branch: BranchInfo) -> tuple[datetime, datetime]:
    start: datetime = form.start.data  # type: ignore[assignment]  # checked
    end: datetime = form.end.data  # type: ignore[assignment]
    return start.replace(tzinfo=branch.zone), end.replace(tzinfo=branch.zone)


def _moving(count: int) -> str:
    if not count:
        return gettext("No booked appointment is inside these times.")
    return gettext(
        "%(count)s booked appointments are inside these times: they will move after the "
        "maintenance and each citizen gets a message.",
        count=formatting.digits(count),
    )


def _fields(form: WindowForm) -> dict[str, str]:
    return {
        "start": form.start.data.strftime(LOCAL_TIME),  # type: ignore[union-attr]
        "end": form.end.data.strftime(LOCAL_TIME),  # type: ignore[union-attr]
        "note": form.note.data or "",
    }


def _back(branch_code: str) -> Response:
    return redirect(url_for("manage_console.show", branch_code=branch_code, _anchor="systems"), 303)


@bp.post("/manage/<branch_code>/maintenance")
@signed_in_page(MANAGER_PAGES)
@audited("maintenance.announce", in_branch("branch", "branch_code"))
def announce(branch_code: str) -> Any:
    principal, branch = _branch(branch_code)
    form = AnnounceForm()
    systems = {s.code: s for s in systems_of(branch)}
    form.system.choices = [(code, code) for code in systems]
    _checked(form)
    system = systems[form.system.data]
    starts_at, ends_at = _times(form, branch)
    clock = current_clock()
    note = (form.note.data or "").strip() or None
    locale = formatting.page_locale()
    if not form.confirmed.data:
        count = maintenance.preview_announce(
            db.session, clock, principal, system.code, starts_at=starts_at, ends_at=ends_at
        )
        return render_template(
            "manage_confirm.html",
            branch=branch,
            title=gettext(
                "Announce maintenance of %(system)s from %(start)s to %(end)s?",
                system=system.name(locale),
                start=formatting.day_and_time(starts_at, branch.zone),
                end=formatting.day_and_time(ends_at, branch.zone),
            ),
            consequences=[
                _moving(count),
                gettext("It shows on the status page and the kiosks; its times are not booked."),
            ],
            action=url_for("manage_maintenance.announce", branch_code=branch_code),
            fields={"system": system.code, **_fields(form)},
        )
    window = maintenance.announce(
        db.session, clock, principal, system.code, starts_at=starts_at, ends_at=ends_at, note=note
    )
    flash(
        gettext(
            "Maintenance announced; %(moved)s appointments moved. To undo, withdraw it below.",
            moved=formatting.digits(window.tickets_moved),
        )
    )
    return _back(branch_code)


@bp.post("/manage/<branch_code>/maintenance/<int:window_id>/edit")
@signed_in_page(MANAGER_PAGES)
@audited("maintenance.edit", in_branch("maintenance", "window_id"))
def edit(branch_code: str, window_id: int) -> Any:
    principal, branch = _branch(branch_code)
    form = WindowForm()
    _checked(form)
    systems = {s.id: s for s in systems_of(branch)}
    windows = maintenance.not_ended(db.session, current_clock().now(), systems)
    window = next((w for w in windows if w.id == window_id), None)
    if window is None:
        raise NotFound(f"no maintenance window {window_id} of {branch_code}'s systems")
    system = systems[window.backend_id]
    starts_at, ends_at = _times(form, branch)
    note = (form.note.data or "").strip() or None
    locale = formatting.page_locale()
    new, count = maintenance.reschedule_window(
        db.session,
        current_clock(),
        principal,
        system.code,
        window_id,
        starts_at=starts_at,
        ends_at=ends_at,
        note=note,
        dry_run=not form.confirmed.data,
    )
    if new is None:
        return render_template(
            "manage_confirm.html",
            branch=branch,
            title=gettext(
                "Move the maintenance of %(system)s to %(start)s – %(end)s?",
                system=system.name(locale),
                start=formatting.day_and_time(starts_at, branch.zone),
                end=formatting.day_and_time(ends_at, branch.zone),
            ),
            consequences=[
                _moving(count),
                gettext(
                    "Appointments the old times moved keep their new times: their citizens "
                    "were told."
                ),
            ],
            action=url_for("manage_maintenance.edit", branch_code=branch_code, window_id=window_id),
            fields=_fields(form),
        )
    flash(
        gettext(
            "The maintenance has its new times; %(moved)s appointments moved.",
            moved=formatting.digits(count),
        )
    )
    return _back(branch_code)
