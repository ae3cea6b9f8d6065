"""branch_hours: a manager changes one branch's weekly hours, holidays and special hours; the
dry run counts the bookings that would move, the change moves and texts them, bad input and
another branch's manager change nothing."""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from queue_app import appointments, branch_hours, texting, tickets
from queue_app.access import Principal
from queue_app.errors import Forbidden, InvalidInput, NotFound, StateConflict
from queue_app.models import (
    Branch,
    Holiday,
    Message,
    OpeningHours,
    Role,
    SpecialHours,
    Ticket,
    TicketStatus,
)
from queue_app.web.extensions import db

CAIRO = ZoneInfo("Africa/Cairo")
TODAY = date(2026, 11, 24)  # the clock's Tuesday, 10:00 in Cairo
WEDNESDAY = date(2026, 11, 25)


@pytest.fixture
def cairo(make_branch) -> Branch:
    make_branch("giza-civil")
    return make_branch()


def _manager(branch: Branch) -> Principal:
    return Principal(Role.MANAGER, branch.id, branch.code)


def _book(clock, day: date, hour: int = 10, phone: str = "01012345678") -> str:
    start = datetime.combine(day, time(hour), tzinfo=CAIRO)
    booked = appointments.book(
        db.session, clock, "cairo-civil", "id-card", start=start, phone=phone
    )
    return booked.ticket.token


def _slot_day(token: str) -> date:
    db.session.expire_all()
    ticket = db.session.scalars(select(Ticket).where(Ticket.token == token)).one()
    assert ticket.status == TicketStatus.SCHEDULED
    assert ticket.slot_start is not None
    return ticket.slot_start.astimezone(CAIRO).date()


def _stored(branch_id: int) -> tuple[object, ...]:
    db.session.expire_all()
    return (
        sorted(
            (h.weekday, h.opens, h.closes)
            for h in db.session.scalars(
                select(OpeningHours).where(OpeningHours.branch_id == branch_id)
            )
        ),
        sorted(h.day for h in db.session.scalars(select(Holiday))),
        sorted((s.first_day, s.last_day) for s in db.session.scalars(select(SpecialHours))),
    )


def test_a_holiday_s_dry_run_counts_then_the_change_moves_and_texts(cairo, clock) -> None:
    token = _book(clock, WEDNESDAY)
    before = _stored(cairo.id)
    preview = branch_hours.add_holiday(
        db.session, clock, _manager(cairo), "cairo-civil", WEDNESDAY, dry_run=True
    )
    assert (preview.dry_run, preview.moving, preview.moved) == (True, 1, 0)
    assert _stored(cairo.id) == before  # the dry run changed nothing
    assert _slot_day(token) == WEDNESDAY

    done = branch_hours.add_holiday(
        db.session, clock, _manager(cairo), "cairo-civil", WEDNESDAY, name_ar="عيد", name_en="Feast"
    )
    assert (done.dry_run, done.moving, done.moved, done.texted) == (False, 1, 1, 1)
    assert _slot_day(token) == WEDNESDAY + timedelta(days=1)
    holiday = db.session.scalars(select(Holiday)).one()
    assert (holiday.day, holiday.name_ar, holiday.name_en, holiday.id) == (
        WEDNESDAY,
        "عيد",
        "Feast",
        done.added_id,
    )
    events = db.session.scalars(select(Message.event).order_by(Message.id)).all()
    assert events[-1].startswith("rescheduled:hours:")

    # Undo: removing it opens the day again; the moved booking keeps its new time.
    undone = branch_hours.remove_holiday(
        db.session, clock, _manager(cairo), "cairo-civil", holiday.id
    )
    assert undone.moving == 0
    assert db.session.scalars(select(Holiday)).all() == []
    assert _slot_day(token) == WEDNESDAY + timedelta(days=1)


def test_a_holiday_today_counts_the_walk_ins_waiting(cairo, clock) -> None:
    staff = Principal(Role.STAFF, cairo.id, cairo.code)
    for _ in range(2):
        tickets.take_walk_in(db.session, clock, staff, "cairo-civil", "id-card")
    preview = branch_hours.add_holiday(
        db.session, clock, _manager(cairo), "cairo-civil", TODAY, dry_run=True
    )
    assert preview.walk_ins_waiting == 2
    tomorrow = branch_hours.add_holiday(
        db.session, clock, _manager(cairo), "cairo-civil", WEDNESDAY, dry_run=True
    )
    assert tomorrow.walk_ins_waiting == 0


def test_shorter_weekday_hours_move_the_bookings_after_the_new_closing(cairo, clock) -> None:
    early = _book(clock, WEDNESDAY, 9, "01011111111")
    late = _book(clock, WEDNESDAY, 13, "01022222222")
    preview = branch_hours.set_weekday_hours(
        db.session,
        clock,
        _manager(cairo),
        "cairo-civil",
        WEDNESDAY.weekday(),
        opens=time(8),
        closes=time(12),
        dry_run=True,
    )
    assert preview.moving == 1
    done = branch_hours.set_weekday_hours(
        db.session,
        clock,
        _manager(cairo),
        "cairo-civil",
        WEDNESDAY.weekday(),
        opens=time(8),
        closes=time(12),
    )
    assert done.moved == 1
    assert _slot_day(early) == WEDNESDAY
    assert _slot_day(late) == WEDNESDAY + timedelta(days=1)
    hours = db.session.scalars(
        select(OpeningHours).where(
            OpeningHours.branch_id == cairo.id, OpeningHours.weekday == WEDNESDAY.weekday()
        )
    ).one()
    assert (hours.opens, hours.closes) == (time(8), time(12))


def test_closing_a_weekday_and_opening_one(cairo, clock) -> None:
    _book(clock, WEDNESDAY)
    closed = branch_hours.set_weekday_hours(
        db.session, clock, _manager(cairo), "cairo-civil", 2, opens=None, closes=None
    )
    assert closed.moved == 1
    branch_hours.set_weekday_hours(
        db.session, clock, _manager(cairo), "cairo-civil", 4, opens=time(9), closes=time(13)
    )
    weekdays = {w for w, *_ in _stored(cairo.id)[0]}  # type: ignore[misc]
    assert weekdays == {6, 0, 1, 3, 4}


def test_special_hours_move_what_no_longer_fits_and_can_be_removed(cairo, clock) -> None:
    late = _book(clock, WEDNESDAY, 13)
    preview = branch_hours.add_special_hours(
        db.session,
        clock,
        _manager(cairo),
        "cairo-civil",
        first_day=WEDNESDAY,
        last_day=WEDNESDAY + timedelta(days=6),
        opens=time(9),
        closes=time(12),
        dry_run=True,
    )
    assert preview.moving == 1
    done = branch_hours.add_special_hours(
        db.session,
        clock,
        _manager(cairo),
        "cairo-civil",
        first_day=WEDNESDAY,
        last_day=WEDNESDAY + timedelta(days=6),
        opens=time(9),
        closes=time(12),
    )
    assert done.moved == 1
    assert _slot_day(late) == WEDNESDAY + timedelta(days=1)  # 09:00 the next day, within hours
    assert done.added_id is not None
    branch_hours.remove_special_hours(
        db.session, clock, _manager(cairo), "cairo-civil", done.added_id
    )
    assert _stored(cairo.id)[2] == []


BAD = [
    ("add_holiday", {"day": TODAY - timedelta(days=1)}, "day"),
    ("add_holiday", {"day": TODAY + timedelta(days=366)}, "day"),
    ("add_holiday", {"day": WEDNESDAY, "name_en": "x" * 201}, "name_en"),
    ("set_weekday_hours", {"weekday": 2, "opens": time(12), "closes": time(9)}, "closes"),
    ("set_weekday_hours", {"weekday": 2, "opens": time(12), "closes": None}, "opens"),
    ("set_weekday_hours", {"weekday": 7, "opens": time(8), "closes": time(9)}, "weekday"),
    (
        "add_special_hours",
        {"first_day": WEDNESDAY, "last_day": TODAY, "opens": time(9), "closes": time(12)},
        "last_day",
    ),
    (
        "add_special_hours",
        {"first_day": WEDNESDAY, "last_day": WEDNESDAY, "opens": time(12), "closes": time(9)},
        "closes",
    ),
    (
        "add_special_hours",
        {
            "first_day": TODAY - timedelta(days=1),
            "last_day": WEDNESDAY,
            "opens": time(9),
            "closes": time(12),
        },
        "first_day",
    ),
]


@pytest.mark.parametrize(("function", "arguments", "field"), BAD)
def test_bad_input_is_refused_and_changes_nothing(cairo, clock, function, arguments, field) -> None:
    token = _book(clock, WEDNESDAY)
    before = _stored(cairo.id)
    with pytest.raises(InvalidInput) as refused:
        getattr(branch_hours, function)(
            db.session, clock, _manager(cairo), "cairo-civil", **arguments
        )
    assert field in refused.value.fields
    assert _stored(cairo.id) == before
    assert _slot_day(token) == WEDNESDAY


def test_a_second_holiday_on_the_same_day_and_overlapping_special_hours(cairo, clock) -> None:
    manager = _manager(cairo)
    branch_hours.add_holiday(db.session, clock, manager, "cairo-civil", WEDNESDAY)
    with pytest.raises(InvalidInput):
        branch_hours.add_holiday(db.session, clock, manager, "cairo-civil", WEDNESDAY)
    week = {"opens": time(9), "closes": time(12)}
    branch_hours.add_special_hours(
        db.session, clock, manager, "cairo-civil", first_day=TODAY, last_day=WEDNESDAY, **week
    )
    before = _stored(cairo.id)
    with pytest.raises(InvalidInput):
        branch_hours.add_special_hours(
            db.session,
            clock,
            manager,
            "cairo-civil",
            first_day=WEDNESDAY,
            last_day=WEDNESDAY + timedelta(days=3),
            **week,
        )
    assert _stored(cairo.id) == before


def test_another_branch_s_manager_and_staff_are_refused(cairo, clock) -> None:
    giza = db.session.scalars(select(Branch).where(Branch.code == "giza-civil")).one()
    before = _stored(cairo.id)
    for who in (_manager(giza), Principal(Role.STAFF, cairo.id, cairo.code)):
        with pytest.raises(Forbidden):
            branch_hours.add_holiday(db.session, clock, who, "cairo-civil", WEDNESDAY)
    with pytest.raises(NotFound):
        branch_hours.remove_holiday(db.session, clock, _manager(cairo), "cairo-civil", 999)
    admin = Principal(Role.ADMIN, None, None)
    branch_hours.add_holiday(db.session, clock, admin, "cairo-civil", WEDNESDAY)
    assert _stored(cairo.id)[1] == [*before[1], WEDNESDAY]  # type: ignore[misc]


def test_two_managers_adding_the_same_holiday_at_once_store_it_once(cairo, clock) -> None:
    engine = db.engine
    manager = _manager(cairo)
    start = threading.Barrier(4)
    answers: list[str] = []

    def add() -> None:
        with Session(engine) as session:
            texting.set_public_url(session.info, "http://queue.test")
            start.wait(timeout=30)
            try:
                branch_hours.add_holiday(session, clock, manager, "cairo-civil", WEDNESDAY)
                answers.append("added")
            except (InvalidInput, StateConflict):
                answers.append("refused")

    threads = [threading.Thread(target=add) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answers) == ["added", "refused", "refused", "refused"]
    assert _stored(cairo.id)[1] == [WEDNESDAY]
