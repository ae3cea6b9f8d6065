"""/status: which back-end systems are down, recent outages, announced maintenance, and a
look-up of one's own ticket by its number and mobile number. Public, no login, Arabic first.

It reads our own database only, never a back-end system, so it answers whatever state they are
in. Systems are central, offices are not: each time is written in the local time of the first
office that uses the system (UTC for a system no office uses), always with its offset from UTC
("(UTC+2)"), so that a reader in Riyadh is not misled by a Cairo time.

The look-up (POST /status/find) is rate limited per address and answers a wrong pair and an
unknown number alike, so that it cannot be used to learn which numbers exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext

from queue_app import directory, maintenance, outages, ticket_search
from queue_app.directory import BackendInfo, Directory
from queue_app.models import BackendState
from queue_app.pages import formatting
from queue_app.pages.labels import ticket_status_labels
from queue_app.service_state import ServiceState, status_of
from queue_app.web.extensions import current_clock, db
from queue_app.web.rate_limits import limiter

bp = Blueprint("status_page", __name__, template_folder="templates")

RECENT_DAYS = 14
LOOKUP_LIMIT = "20 per minute"
UTC_ZONE = ZoneInfo("UTC")


def detected_by_labels() -> dict[str, str]:
    return {
        "health_check": gettext("Automatic health check"),
        "staff_reports": gettext("Reports from counter staff"),
        "manager": gettext("Declared by a manager"),
    }


# --- times, with their offset from UTC ----------------------------------------------------


def _offset(moment: datetime, zone: ZoneInfo) -> str:
    delta = formatting.local(moment, zone).utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def moment_text(moment: datetime, zone: ZoneInfo) -> str:
    """``الثلاثاء ٢٤ نوفمبر الساعة ١٠:٠٠ ص (UTC+٢)``."""
    offset = formatting.isolate(formatting.digits(_offset(moment, zone)))
    return gettext(
        "%(time)s (%(offset)s)", time=formatting.day_and_time(moment, zone), offset=offset
    )


def duration_text(start: datetime, end: datetime) -> str:
    total = max(0, int((end - start).total_seconds() // 60))
    if total < 60:
        return formatting.minutes(total)
    hours, minutes = divmod(total, 60)
    return formatting.digits(gettext("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes))


def zone_of(info: Directory, backend_id: int) -> ZoneInfo:
    """The zone of the first office that uses the system; UTC when none does."""
    for branch in info.branches:
        if any(b.id == backend_id for s in branch.services for b in s.backends):
            return branch.zone
    return UTC_ZONE


# --- the page's rows ----------------------------------------------------------------------


@dataclass(frozen=True)
class Affected:
    branch: str
    service: str
    state: str  # "paused" or "degraded"


@dataclass(frozen=True)
class DownHere:
    """A system down at one office only (its own link, its manager or its staff said so)."""

    branch: str
    since: str


@dataclass(frozen=True)
class SystemRow:
    code: str
    name: str
    up: bool  # up everywhere (it may still be down at single offices: ``down_at``)
    since: str | None
    expected_end: str | None
    affected: list[Affected]
    down_at: list[DownHere]


@dataclass(frozen=True)
class OutageRow:
    system: str
    started: str
    ended: str | None
    duration: str
    detected_by: str
    tickets_moved: int
    tickets_texted: int
    tickets_unplaced: int  # still awaiting a free time, told so
    where: str  # the office it paused alone, or every office


@dataclass(frozen=True)
class MaintenanceRow:
    system: str
    starts: str
    ends: str
    note: str | None
    now: bool  # the window is on at this moment


def _affected(info: Directory, backend: BackendInfo, now: datetime, locale: str) -> list[Affected]:
    rows = []
    for branch in info.branches:
        for service in branch.services:
            if not any(b.id == backend.id for b in service.backends):
                continue
            state = status_of(service, now).state
            if state in (ServiceState.PAUSED, ServiceState.DEGRADED):
                rows.append(Affected(branch.name(locale), service.name(locale), state.value))
    return rows


def _systems(info: Directory, now: datetime, locale: str) -> list[SystemRow]:
    rows = []
    for backend in sorted(info.backends, key=lambda b: b.code):
        zone = zone_of(info, backend.id)
        down = backend.state == BackendState.DOWN
        running = outages.open_outages(db.session, backend.id)
        outage = next((o for o in running if o.branch_id is None), None) if down else None
        names = {b.id: b.name(locale) for b in info.branches}
        rows.append(
            SystemRow(
                code=backend.code,
                name=backend.name(locale),
                up=not down,
                since=moment_text(backend.state_since, zone) if backend.state_since else None,
                expected_end=(
                    moment_text(outage.expected_end, zone)
                    if outage is not None and outage.expected_end is not None
                    else None
                ),
                affected=_affected(info, backend, now, locale) if running or down else [],
                down_at=[
                    DownHere(names.get(o.branch_id, ""), moment_text(o.started_at, zone))
                    for o in running
                    if o.branch_id is not None
                ],
            )
        )
    return rows


def _recent_outages(info: Directory, now: datetime, locale: str) -> list[OutageRow]:
    since = now - timedelta(days=RECENT_DAYS)
    labels = detected_by_labels()
    names = {b.id: b.name(locale) for b in info.branches}
    rows = []
    for record in outages.records(db.session, since=since):
        outage, backend = record.outage, record.backend
        zone = zone_of(info, backend.id)
        rows.append(
            OutageRow(
                system=backend.name_ar if locale == "ar" else backend.name_en,
                started=moment_text(outage.started_at, zone),
                ended=moment_text(outage.ended_at, zone) if outage.ended_at else None,
                duration=duration_text(outage.started_at, outage.ended_at or now),
                detected_by=labels.get(outage.detected_by.value, outage.detected_by.value),
                tickets_moved=outage.tickets_moved,
                tickets_texted=outage.tickets_texted,
                tickets_unplaced=outage.tickets_unplaced,
                where=(
                    names.get(outage.branch_id, "")
                    if outage.branch_id is not None
                    else gettext("Every office")
                ),
            )
        )
    return rows


def _maintenance(info: Directory, now: datetime, locale: str) -> list[MaintenanceRow]:
    rows = []
    for window in maintenance.not_ended(db.session, now):
        zone = zone_of(info, window.backend_id)
        backend = window.backend
        rows.append(
            MaintenanceRow(
                system=backend.name_ar if locale == "ar" else backend.name_en,
                starts=moment_text(window.starts_at, zone),
                ends=moment_text(window.ends_at, zone),
                note=window.note,
                now=window.starts_at <= now,
            )
        )
    return rows


# --- the look-up --------------------------------------------------------------------------


@dataclass(frozen=True)
class LookUp:
    number: str
    phone: str
    error: str | None = None
    found_url: str | None = None
    found_number: str | None = None
    found_status: str | None = None
    found_place: str | None = None  # "branch · service"


def _look_up(number: str, phone: str, locale: str) -> tuple[LookUp, int]:
    try:
        ticket = ticket_search.find(db.session, number, phone)
    except ticket_search.BadTicketNumber:
        error = gettext("A ticket number is a letter and digits, as printed: A-012.")
        return LookUp(number, phone, error=error), 422
    except ticket_search.BadPhone:
        error = gettext(
            "This is not a mobile number. Enter the number you gave when you took the ticket, "
            "for example 01012345678."
        )
        return LookUp(number, phone, error=error), 422
    if ticket is None:
        error = gettext("No ticket found with this number and phone.")
        return LookUp(number, phone, error=error), 404
    place = f"{ticket.branch.name_ar if locale == 'ar' else ticket.branch.name_en} · " + (
        ticket.service.name_ar if locale == "ar" else ticket.service.name_en
    )
    return (
        LookUp(
            number,
            phone,
            found_url=url_for("ticket_page.show", token=ticket.token),
            found_number=ticket.number,
            found_status=ticket_status_labels()[ticket.status.value],
            found_place=place,
        ),
        200,
    )


# --- rendering ----------------------------------------------------------------------------


def _render(look_up: LookUp | None = None, status: int = 200) -> Response:
    now = current_clock().now()
    locale = formatting.page_locale()
    info = directory.current(db.session)
    other = "en" if locale == "ar" else "ar"
    html = render_template(
        "status.html",
        systems=_systems(info, now, locale),
        recent=_recent_outages(info, now, locale),
        maintenance=_maintenance(info, now, locale),
        recent_days=RECENT_DAYS,
        look_up=look_up,
        action=url_for("status_page.find", lang=locale),
        checked_at=moment_text(now, UTC_ZONE if not info.branches else info.branches[0].zone),
        lang_switch_href=url_for("status_page.show", lang=other),
    )
    response = Response(html, status=status, mimetype="text/html")
    # A found ticket's link holds its token; and the states change by the minute.
    response.cache_control.no_store = True
    return response


@bp.get("/status")
def show() -> Response:
    return _render()


@bp.post("/status/find")
@limiter.limit(LOOKUP_LIMIT)
def find() -> Response:
    number = (request.form.get("number") or "").strip()[:16]
    phone = (request.form.get("phone") or "").strip()[:32]
    look_up, status = _look_up(number, phone, formatting.page_locale())
    return _render(look_up, status)


__all__ = ["bp", "duration_text", "moment_text", "zone_of"]
