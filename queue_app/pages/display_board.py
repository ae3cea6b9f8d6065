"""/display/<branch>: the waiting-room board: who is being served at which counter, how each
service is doing, and the new times of tickets moved today whose citizens left no number. A
board is read by everyone in the room, so it speaks Arabic and English at once, Arabic first,
whatever language the browser that shows it has chosen."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request, url_for
from flask_babel import force_locale

from queue_app import branches, moved_tickets, recent_calls
from queue_app.locales import LOCALES
from queue_app.models import TicketStatus
from queue_app.pages import formatting
from queue_app.pages.labels import board_strings, script_strings, ticket_status_labels, time_words
from queue_app.pages.notices import service_notice
from queue_app.web.extensions import current_clock, db

bp = Blueprint("display_board", __name__, template_folder="templates")

# A called citizen should see their number within seconds of the counter pressing the button.
POLL_SECONDS = 5
# Tickets are moved a few times a day, by the outage timers: the list need not be as quick.
MOVED_POLL_SECONDS = 30
# Routes here whose errors come as JSON, for the board's script (see create_app).
JSON_ENDPOINTS = frozenset({"display_board.moved", "display_board.calls"})
# ?speak=1 reads each call out, in Arabic then English (the browser's speech synthesis).
SPEAK_VALUES = frozenset({"1", "on", "true", "yes"})
# Ticket letters as an Arabic voice should say them: the Latin letter's name in Arabic.
SPOKEN_LETTERS_AR = {
    "A": "إيه", "B": "بي", "C": "سي", "D": "دي", "E": "إي", "F": "إف", "G": "جي", "H": "إتش",
    "I": "آي", "J": "جيه", "K": "كيه", "L": "إل", "M": "إم", "N": "إن", "O": "أو", "P": "بي",
    "Q": "كيو", "R": "آر", "S": "إس", "T": "تي", "U": "يو", "V": "في", "W": "دبليو", "X": "إكس",
    "Y": "واي", "Z": "زد",
}  # fmt: skip

T = TypeVar("T")


@bp.get("/display/<branch_code>")
def show(branch_code: str) -> str:
    now = current_clock().now()
    view = branches.branch_view(db.session, branch_code, now, next_slots=False)
    moved = moved_tickets.moved_today(db.session, branch_code, now)
    calls = recent_calls.last_calls(db.session, branch_code, now)
    speak = request.args.get("speak", "").lower() in SPEAK_VALUES
    return render_template("display.html", **_board(view, now, moved, calls, speak=speak))


@bp.get("/display/<branch_code>/calls")
def calls(branch_code: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    """The board's list of the last numbers called today, newest first, for its script:
    ``{"calls": [{"id", "number", "counter", "at", "time": {ar, en}, "note": {ar, en},
    "told": {ar, en}}]}`` (``told``: empty, or the words saying the citizen was texted).
    A board announces the calls whose ``id`` is above the last it saw."""
    now = current_clock().now()
    rows = recent_calls.last_calls(db.session, branch_code, now)
    zone = branches.get_branch(db.session, branch_code).zone
    answer = {"calls": [dataclasses.asdict(_call_row(row, zone)) for row in rows]}
    return answer, 200, {"Cache-Control": "no-store"}


@bp.get("/display/<branch_code>/moved")
def moved(branch_code: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    """The board's list of tickets moved today (no phone), in both languages, for its script:
    ``{"moved": [{"number", "service": {ar, en}, "when": {ar, en}}, ...]}``."""
    now = current_clock().now()
    rows = moved_tickets.moved_today(db.session, branch_code, now)
    answer = {"moved": [dataclasses.asdict(_moved_row(row)) for row in rows]}
    return answer, 200, {"Cache-Control": "no-store"}


def in_both(make: Callable[[], T]) -> dict[str, T]:
    """``make()`` once in each language of the board."""
    made = {}
    for locale in LOCALES:
        with force_locale(locale):
            made[locale] = make()
    return made


@dataclass(frozen=True)
class ServiceRow:
    code: str
    name: dict[str, str]
    state: str
    state_label: dict[str, str]
    waiting: dict[str, str]
    notice: dict[str, list[str]]  # which system is down since when, or when it opens again


def _service_row(
    service: branches.ServiceView, words: dict[str, dict[str, Any]], now: datetime
) -> ServiceRow:
    zone = service.service.branch.zone

    def notice_lines() -> list[str]:
        notice = service_notice(service.status, zone, now)
        if notice is None:
            return []
        # The board is not the ticket page: its advice to ticket holders would mislead here.
        return notice.lines or [notice.advice]

    return ServiceRow(
        code=service.service.code,
        name={locale: service.service.name(locale) for locale in LOCALES},
        state=service.status.state.value,
        state_label={
            locale: words[locale]["state"][service.status.state.value] for locale in LOCALES
        },
        waiting={
            locale: words[locale]["waiting"] % {"count": formatting.digits(service.waiting, locale)}
            for locale in LOCALES
        },
        notice=in_both(notice_lines),
    )


@dataclass(frozen=True)
class MovedRow:
    """One moved ticket as the board shows it: its number, service and new time, nothing else."""

    number: str
    service: dict[str, str]
    when: dict[str, str]


def _moved_row(moved: moved_tickets.MovedTicket) -> MovedRow:
    zone = moved.service.branch.zone
    return MovedRow(
        number=moved.number,
        service={locale: moved.service.name(locale) for locale in LOCALES},
        when=in_both(lambda: formatting.day_and_time(moved.slot_start, zone)),
    )


@dataclass(frozen=True)
class CallRow:
    """One call as the board lists it: number, counter, time, and what became of it since when
    that is not "being served" (on hold, waiting again after a transfer)."""

    id: int
    number: str
    counter: str
    at: str
    time: dict[str, str]
    note: dict[str, str]
    # "Told by message": its citizen was texted and may be on the way (empty when not).
    told: dict[str, str]


def _call_row(call: recent_calls.Call, zone: ZoneInfo) -> CallRow:
    def note() -> str:
        if call.status == TicketStatus.ON_HOLD:
            return ticket_status_labels()["on_hold"]
        if call.status == TicketStatus.WAITING:
            return board_strings()["waiting_again"]
        return ""

    return CallRow(
        id=call.id,
        number=call.number,
        counter=call.counter,
        at=call.at.isoformat(),
        time=in_both(lambda: formatting.clock_time(call.at, zone)),
        note=in_both(note),
        told=in_both(lambda: board_strings()["told"] if call.told else ""),
    )


def _board(
    view: branches.BranchView,
    now: datetime,
    moved: list[moved_tickets.MovedTicket],
    calls: list[recent_calls.Call],
    *,
    speak: bool,
) -> dict[str, Any]:
    branch = view.branch
    zone = branch.zone
    script = {
        "locales": list(LOCALES),
        "api": url_for("branches.get_branch", branch_code=branch.code),
        "moved_api": url_for("display_board.moved", branch_code=branch.code),
        "calls_api": url_for("display_board.calls", branch_code=branch.code),
        # The calls already listed when the page was made are not announced again.
        "last_call_id": max((call.id for call in calls), default=0),
        "speak": speak,
        "spoken_letters": SPOKEN_LETTERS_AR,
        "now": now.isoformat(),
        "poll_seconds": POLL_SECONDS,
        "moved_poll_seconds": MOVED_POLL_SECONDS,
        **{locale: script_strings(board_strings, locale, branch.timezone) for locale in LOCALES},
    }
    words = {locale: script[locale]["strings"] for locale in LOCALES}
    return {
        "branch": branch,
        "counters": view.counters,
        "services": [_service_row(s, words, now) for s in view.services],
        "moved": [_moved_row(row) for row in moved],
        "calls": [_call_row(call, zone) for call in calls],
        "words": words,
        "updated": in_both(
            lambda: time_words()["updated"] % {"time": formatting.clock_time(now, zone)}
        ),
        "script": script,
    }
