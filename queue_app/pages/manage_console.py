"""/manage/<branch>: the branch manager's console, Arabic first with English beside.

The branch live (lines, counters, systems and outages, tickets that could not be placed,
messages that failed), and the manager's actions. Every action that moves tickets or sends
messages is shown first with what it will do (a dry run of the same domain function), then done
on confirmation; a result that can be undone says how. Forms carry CSRF tokens (Flask-WTF).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from queue_app import (
    audit,
    branch_overview,
    capacity,
    counters,
    maintenance,
    outages,
    send_rates,
)
from queue_app.access import Principal
from queue_app.api.auditing import audited, in_branch
from queue_app.errors import Forbidden, InvalidInput, NotFound, QueueError
from queue_app.models import Maintenance
from queue_app.pages import formatting, manage_maintenance
from queue_app.pages.labels import service_state_labels
from queue_app.web.extensions import current_clock, current_settings, db
from queue_app.web.sign_in import MANAGER_PAGES, signed_in_page

bp = Blueprint("manage_console", __name__, template_folder="templates")

RECENT_ACTIONS = 20  # the audit trail's latest; the rest is in its CSV


class ConfirmForm(FlaskForm):
    """A preview's "yes, do it": the same fields again, and ``confirmed``."""

    confirmed = HiddenField()


class CounterForm(ConfirmForm):
    open = HiddenField(validators=[DataRequired()])


class DeclareForm(ConfirmForm):
    expected_minutes = IntegerField(validators=[Optional(), NumberRange(min=1, max=60 * 24 * 60)])
    note = StringField(validators=[Optional(), Length(max=500)])


class CapacityForm(ConfirmForm):
    service = SelectField(choices=[], validators=[DataRequired()])
    first_day = DateField(validators=[DataRequired()])
    last_day = DateField(validators=[DataRequired()])
    per_slot = IntegerField(validators=[InputRequired(), NumberRange(min=0, max=1000)])


def _branch(branch_code: str) -> tuple[Principal, Any]:
    principal: Principal = g.principal
    branch = branch_overview.branches.get_branch(db.session, branch_code)
    principal.require_branch(branch.id)
    return principal, branch


def _service_choices(branch: Any) -> list[tuple[str, str]]:
    return [(s.code, s.name(formatting.page_locale())) for s in branch.services]


def _back(branch_code: str, anchor: str | None = None) -> Response:
    return redirect(url_for("manage_console.show", branch_code=branch_code, _anchor=anchor), 303)


def _refused(form: FlaskForm) -> None:
    """A form whose CSRF token is missing or wrong changes nothing."""
    if "csrf_token" in form.errors:
        raise Forbidden("the form's CSRF token is missing or expired; reload the page")


@bp.get("/manage/<branch_code>")
@signed_in_page(MANAGER_PAGES)
def show(branch_code: str) -> str:
    _, branch = _branch(branch_code)
    now = current_clock().now()
    rate = send_rates.sms_rate_of(current_settings(), branch.country)
    seen = branch_overview.overview(db.session, branch_code, now, sms_rate=rate)
    capacity_form = CapacityForm()
    capacity_form.service.choices = _service_choices(branch)
    today = formatting.local(now, branch.zone).date()
    capacity_form.first_day.data = capacity_form.first_day.data or today
    capacity_form.last_day.data = capacity_form.last_day.data or today
    return render_template(
        "manage.html",
        branch=branch,
        seen=seen,
        now=now,
        capacity_form=capacity_form,
        state_labels=service_state_labels(),
        systems=manage_maintenance.systems_of(branch),
        recent_actions=audit.events(
            db.session, audit.Query(limit=RECENT_ACTIONS), branch.zone, branch_id=branch.id
        ),
    )


@bp.post("/manage/<branch_code>/counters/<counter_code>")
@signed_in_page(MANAGER_PAGES)
@audited("counter.update", in_branch("counter", "counter_code"))
def counter(branch_code: str, counter_code: str) -> Any:
    principal, branch = _branch(branch_code)
    form = CounterForm()
    if not form.validate():
        _refused(form)
        raise InvalidInput("say whether to open or close the counter", open=["yes or no"])
    if form.open.data not in ("yes", "no"):
        raise InvalidInput("say whether to open or close the counter", open=["yes or no"])
    is_open = form.open.data == "yes"
    clock = current_clock()
    if not is_open and not form.confirmed.data:
        would_move = counters.preview_counter_change(
            db.session, clock, principal, branch_code, counter_code, is_open=False
        )
        return render_template(
            "manage_confirm.html",
            branch=branch,
            title=gettext("Close counter %(counter)s?", counter=formatting.isolate(counter_code)),
            consequences=[
                gettext(
                    "%(count)s of today's appointments no longer fit and will move to later "
                    "times; each citizen gets a message.",
                    count=formatting.digits(would_move),
                )
                if would_move
                else gettext("No appointment has to move."),
                gettext("Waiting walk-ins stay in the line; the other counters call them."),
            ],
            form=form,
            action=url_for(
                "manage_console.counter", branch_code=branch_code, counter_code=counter_code
            ),
            fields={"open": "no"},
        )
    counters.update_counter(
        db.session, principal, branch_code, counter_code, is_open=is_open, clock=clock
    )
    if is_open:
        flash(gettext("Counter %(counter)s is open.", counter=formatting.isolate(counter_code)))
    else:
        flash(
            gettext(
                "Counter %(counter)s is closed. To undo, open it again.",
                counter=formatting.isolate(counter_code),
            )
        )
    return _back(branch_code, "counters")


@bp.post("/manage/<branch_code>/capacity")
@signed_in_page(MANAGER_PAGES)
@audited("capacity.set", in_branch("branch", "branch_code"))
def set_capacity(branch_code: str) -> Any:
    principal, branch = _branch(branch_code)
    form = CapacityForm()
    form.service.choices = _service_choices(branch)
    if not form.validate():
        _refused(form)
        raise InvalidInput("the capacity form is not complete", fields=sorted(form.errors))
    first_day: date = form.first_day.data  # type: ignore[assignment]  # validated above
    last_day: date = form.last_day.data  # type: ignore[assignment]
    per_slot = int(form.per_slot.data or 0)
    clock = current_clock()
    change = capacity.set_capacity(
        db.session,
        clock,
        principal,
        branch_code,
        form.service.data,
        first_day=first_day,
        last_day=last_day,
        per_slot=per_slot,
        dry_run=not form.confirmed.data,
    )
    service = branch.service(form.service.data)
    locale = formatting.page_locale()
    if change.dry_run:
        return render_template(
            "manage_confirm.html",
            branch=branch,
            title=gettext(
                "%(service)s: %(count)s per slot from %(first)s to %(last)s?",
                service=service.name(locale),
                count=formatting.digits(per_slot),
                first=formatting.digits(first_day.isoformat()),
                last=formatting.digits(last_day.isoformat()),
            ),
            consequences=[
                gettext(
                    "%(count)s booked appointments are over the new capacity: they will move "
                    "to the next free times and each citizen gets a message.",
                    count=formatting.digits(change.over_capacity),
                )
                if change.over_capacity
                else gettext("No booked appointment has to move.")
            ],
            form=form,
            action=url_for("manage_console.set_capacity", branch_code=branch_code),
            fields={
                "service": form.service.data,
                "first_day": first_day.isoformat(),
                "last_day": last_day.isoformat(),
                "per_slot": str(per_slot),
            },
        )
    flash(
        gettext(
            "Capacity set. %(moved)s appointments moved, %(texted)s messages queued, "
            "%(unplaced)s found no free time.",
            moved=formatting.digits(change.moved),
            texted=formatting.digits(change.texted),
            unplaced=formatting.digits(change.unplaced),
        ),
        # The flash offers to take it back (manage.html).
        f"{UNDO_CAPACITY}{change.override_id}",
    )
    return _back(branch_code, "capacity")


UNDO_CAPACITY = "undo-capacity:"


@bp.post("/manage/<branch_code>/capacity/<int:override_id>/undo")
@signed_in_page(MANAGER_PAGES)
@audited("capacity.undo", in_branch("capacity", "override_id"))
def undo_capacity(branch_code: str, override_id: int) -> Any:
    principal, branch = _branch(branch_code)
    form = ConfirmForm()
    if not form.validate():
        _refused(form)
    clock = current_clock()
    change = capacity.undo_capacity(
        db.session,
        clock,
        principal,
        branch_code,
        override_id,
        dry_run=not form.confirmed.data,
    )
    if change.dry_run:
        return render_template(
            "manage_confirm.html",
            branch=branch,
            title=gettext("Take back this capacity setting?"),
            consequences=[
                gettext(
                    "From %(first)s to %(last)s the capacity returns to what it was before.",
                    first=formatting.digits(change.first_day.isoformat()),
                    last=formatting.digits(change.last_day.isoformat()),
                ),
                gettext("Appointments it moved keep their new times: their citizens were told."),
                gettext(
                    "%(count)s booked appointments are over the new capacity: they will move "
                    "to the next free times and each citizen gets a message.",
                    count=formatting.digits(change.over_capacity),
                )
                if change.over_capacity
                else gettext("No booked appointment has to move."),
            ],
            form=form,
            action=url_for(
                "manage_console.undo_capacity", branch_code=branch_code, override_id=override_id
            ),
            fields={},
        )
    flash(gettext("The capacity setting is taken back."))
    return _back(branch_code, "capacity")


@bp.post("/manage/<branch_code>/maintenance/<int:window_id>/withdraw")
@signed_in_page(MANAGER_PAGES)
@audited("maintenance.withdraw", in_branch("maintenance", "window_id"))
def withdraw_maintenance(branch_code: str, window_id: int) -> Any:
    principal, branch = _branch(branch_code)
    form = ConfirmForm()
    if not form.validate():
        _refused(form)
    clock = current_clock()
    stored = db.session.get(Maintenance, window_id)
    system = window = None
    if stored is not None:
        try:
            system = branch_overview.system(
                db.session, branch_code, stored.backend.code, clock.now()
            )
        except NotFound:
            pass  # a window of a system this branch does not need
        else:
            window = next((w for w in system.windows if w.id == window_id), None)
    if system is None or window is None:
        raise InvalidInput(
            "no maintenance window of this branch's systems with that id", id=[str(window_id)]
        )
    locale = formatting.page_locale()
    if not form.confirmed.data:
        return render_template(
            "manage_confirm.html",
            branch=branch,
            title=gettext(
                "Withdraw the maintenance of %(system)s?", system=system.backend.name(locale)
            ),
            consequences=[
                gettext(
                    "From %(start)s to %(end)s. It disappears from the status page and the "
                    "kiosks, and its times can be booked again.",
                    start=formatting.day_and_time(window.starts_at, branch.zone),
                    end=formatting.day_and_time(window.ends_at, branch.zone),
                ),
                gettext(
                    "Appointments it already moved keep their new times: their citizens were "
                    "told, and moving them back would message them again."
                ),
            ],
            form=form,
            action=url_for(
                "manage_console.withdraw_maintenance", branch_code=branch_code, window_id=window_id
            ),
            fields={},
        )
    try:
        maintenance.withdraw(db.session, clock, principal, system.backend.code, window_id)
    except QueueError:
        db.session.rollback()
        raise
    flash(gettext("The maintenance is withdrawn."))
    return _back(branch_code, "systems")


@bp.post("/manage/<branch_code>/systems/<backend_code>/declare")
@signed_in_page(MANAGER_PAGES)
@audited("outage.declare", in_branch("backend", "backend_code"))
def declare_outage(branch_code: str, backend_code: str) -> Any:
    """The system is down here (the office's own link, say): this branch's services that need
    it pause; others keep working."""
    principal, branch = _branch(branch_code)
    form = DeclareForm()
    if not form.validate():
        _refused(form)
        raise InvalidInput("the expected duration is 1 minute to 60 days", fields=form.errors)
    clock = current_clock()
    preview = branch_overview.declare_preview(db.session, branch_code, backend_code, clock.now())
    locale = formatting.page_locale()
    if not form.confirmed.data:
        system = next(b for s in preview.services for b in s.backends if b.code == backend_code)
        return render_template(
            "manage_confirm.html",
            branch=branch,
            title=gettext("Declare %(system)s down at this office?", system=system.name(locale)),
            consequences=[
                gettext(
                    "These services pause here: %(services)s. Kiosks stop giving their tickets; "
                    "other offices keep working.",
                    services=gettext(", ").join(s.name(locale) for s in preview.services),
                ),
                gettext(
                    "%(count)s citizens are waiting for them (%(phones)s with a mobile number). "
                    "If the system is not back within %(minutes)s, they are given new times and "
                    "texted.",
                    count=formatting.digits(preview.waiting),
                    phones=formatting.digits(preview.with_phone),
                    minutes=formatting.minutes(preview.reschedule_after_minutes),
                ),
                gettext(
                    "%(count)s appointments later today move too if it lasts.",
                    count=formatting.digits(preview.booked_today),
                ),
            ],
            form=form,
            action=url_for(
                "manage_console.declare_outage",
                branch_code=branch_code,
                backend_code=backend_code,
            ),
            fields={
                "expected_minutes": str(form.expected_minutes.data or ""),
                "note": form.note.data or "",
            },
        )
    outages.declare(
        db.session,
        clock,
        backend_code,
        note=form.note.data or None,
        expected_minutes=form.expected_minutes.data,
        branch_code=branch_code,
        by=principal,
    )
    flash(gettext("Declared down at this office. When it works again, say so here."))
    return _back(branch_code, "systems")


@bp.post("/manage/<branch_code>/systems/<backend_code>/resolve")
@signed_in_page(MANAGER_PAGES)
@audited("outage.resolve", in_branch("backend", "backend_code"))
def resolve_outage(branch_code: str, backend_code: str) -> Any:
    principal, branch = _branch(branch_code)
    form = ConfirmForm()
    if not form.validate():
        _refused(form)
    clock = current_clock()
    if not form.confirmed.data:
        try:
            system = branch_overview.system(db.session, branch_code, backend_code, clock.now())
        except NotFound:
            system = None
        if system is None or system.here is None:
            raise InvalidInput(
                f"{backend_code} is not down at {branch_code} alone", backend=[backend_code]
            )
        locale = formatting.page_locale()
        return render_template(
            "manage_confirm.html",
            branch=branch,
            title=gettext(
                "Is %(system)s working again at this office?", system=system.backend.name(locale)
            ),
            consequences=[
                gettext("Its services resume here, unless it is also down everywhere.")
                if system.everywhere is None
                else gettext(
                    "It is also down everywhere: its services stay paused until that ends too."
                ),
                gettext(
                    "Citizens already given new times keep them; those with a mobile number are "
                    "offered a time today when there is room."
                ),
            ],
            form=form,
            action=url_for(
                "manage_console.resolve_outage",
                branch_code=branch_code,
                backend_code=backend_code,
            ),
            fields={},
        )
    outages.resolve(db.session, clock, backend_code, branch_code=branch_code, by=principal)
    flash(gettext("Marked as working again at this office."))
    return _back(branch_code, "systems")
