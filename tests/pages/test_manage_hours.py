"""/manage/<branch>/hours and the console's maintenance forms, through the test client: a form
without its CSRF token changes nothing, another branch's manager gets 403, every change is
previewed with what it moves and done only on confirmation, bad input is explained."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from queue_app import appointments
from queue_app.models import Holiday, Maintenance, OpeningHours, Ticket
from queue_app.web.extensions import db
from tests.conftest import csrf_of

CAIRO = ZoneInfo("Africa/Cairo")
WEDNESDAY = date(2026, 11, 25)  # the clock's Tuesday is 24 November 2026
HOURS = "/manage/cairo-civil/hours"


@pytest.fixture
def branches(make_backend, make_branch, clock):
    make_branch(backends=[make_backend()])
    make_branch("giza-civil", backends=[make_backend("giza-land", name_en="Giza land registry")])
    start = datetime.combine(WEDNESDAY, time(10), tzinfo=CAIRO)
    booked = appointments.book(
        db.session, clock, "cairo-civil", "id-card", start=start, phone="01012345678"
    )
    return booked.ticket.token


def _slot_day(token: str) -> date:
    db.session.expire_all()
    ticket = db.session.scalars(select(Ticket).where(Ticket.token == token)).one()
    return ticket.slot_start.astimezone(CAIRO).date()


def _holidays() -> list[date]:
    db.session.expire_all()
    return list(db.session.scalars(select(Holiday.day)))


def test_a_holiday_is_previewed_then_added_then_undone(client, branches, signed_in) -> None:
    signed_in("manager")
    page = client.get(HOURS)
    assert page.status_code == 200
    assert '<html lang="ar" dir="rtl">' in page.text
    token = csrf_of(page.text)
    form = {"csrf_token": token, "day": WEDNESDAY.isoformat(), "name_ar": "عيد", "name_en": ""}

    preview = client.post("/manage/cairo-civil/holidays", data=form)
    assert preview.status_code == 200
    assert 'data-test="confirm"' in preview.text
    assert "١ من المواعيد المحجوزة" in preview.text  # 1 booked appointment moves, in Arabic
    assert _holidays() == []  # nothing yet

    done = client.post("/manage/cairo-civil/holidays", data={**form, "confirmed": "yes"})
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"{HOURS}#holidays")
    assert _holidays() == [WEDNESDAY]
    assert _slot_day(branches) == date(2026, 11, 26)
    listed = client.get(HOURS).text
    assert 'data-test="flash"' in listed
    assert "عيد" in listed

    holiday_id = db.session.scalar(select(Holiday.id))
    undo = f"/manage/cairo-civil/holidays/{holiday_id}/remove"
    assert client.post(undo, data={"csrf_token": token}).status_code == 200  # its preview
    assert _holidays() == [WEDNESDAY]
    assert client.post(undo, data={"csrf_token": token, "confirmed": "yes"}).status_code == 303
    assert _holidays() == []


def test_without_the_csrf_token_nothing_changes(client, branches, signed_in) -> None:
    signed_in("manager")
    day = {"day": WEDNESDAY.isoformat(), "confirmed": "yes"}
    refused = client.post("/manage/cairo-civil/holidays", data=day)
    assert refused.status_code == 403
    refused = client.post("/manage/cairo-civil/hours/2", data={"closed": "y", "confirmed": "yes"})
    assert refused.status_code == 403
    assert _holidays() == []
    assert _slot_day(branches) == WEDNESDAY


def test_another_branch_s_manager_gets_403(client, branches, signed_in) -> None:
    signed_in("manager", branches=("giza-civil",))
    assert client.get(HOURS).status_code == 403
    token = csrf_of(client.get("/manage/giza-civil/hours").text)
    form = {"csrf_token": token, "day": WEDNESDAY.isoformat(), "confirmed": "yes"}
    assert client.post("/manage/cairo-civil/holidays", data=form).status_code == 403
    assert _holidays() == []


@pytest.mark.parametrize(
    ("form", "words"),
    [
        ({"day": "2026-11-01"}, "الماضي"),  # in the past
        ({"day": "2028-01-01"}, "سنة"),  # more than a year ahead
        ({"day": "not a day"}, "النموذج"),
    ],
)
def test_a_bad_holiday_is_explained_and_changes_nothing(
    client, branches, signed_in, form, words
) -> None:
    signed_in("manager")
    token = csrf_of(client.get(HOURS).text)
    answer = client.post("/manage/cairo-civil/holidays", data={"csrf_token": token, **form})
    assert answer.status_code == 422
    assert 'data-test="not-changed"' in answer.text
    assert words in answer.text
    assert _holidays() == []


def test_weekday_hours_previewed_then_changed(client, branches, signed_in) -> None:
    signed_in("manager")
    token = csrf_of(client.get(HOURS).text)
    form = {"csrf_token": token, "opens": "08:00", "closes": "09:30"}
    preview = client.post("/manage/cairo-civil/hours/2", data=form)
    assert preview.status_code == 200
    assert "١ من المواعيد المحجوزة" in preview.text
    bad = client.post("/manage/cairo-civil/hours/2", data={**form, "closes": "07:00"})
    assert bad.status_code == 422
    assert (
        client.post("/manage/cairo-civil/hours/2", data={**form, "confirmed": "yes"}).status_code
        == 303
    )
    db.session.expire_all()
    wednesday = db.session.scalars(
        select(OpeningHours).where(OpeningHours.weekday == 2, OpeningHours.closes == time(9, 30))
    ).all()
    assert len(wednesday) == 1
    assert _slot_day(branches) == date(2026, 11, 26)


def test_special_hours_previewed_then_added(client, branches, signed_in) -> None:
    signed_in("manager")
    token = csrf_of(client.get(HOURS).text)
    form = {
        "csrf_token": token,
        "first_day": "2026-11-25",
        "last_day": "2026-11-30",
        "opens": "11:00",
        "closes": "14:00",
    }
    assert "١ من المواعيد" in client.post("/manage/cairo-civil/special-hours", data=form).text
    done = client.post("/manage/cairo-civil/special-hours", data={**form, "confirmed": "yes"})
    assert done.status_code == 303
    assert "٢٥" in client.get(HOURS).text  # listed from the 25th


# --- maintenance in the console ------------------------------------------------------------

ANNOUNCE = "/manage/cairo-civil/maintenance"
WINDOW = {"system": "civil-registry", "start": "2026-11-25T09:00", "end": "2026-11-25T12:00"}


def test_maintenance_is_previewed_announced_then_given_other_times(
    client, branches, signed_in
) -> None:
    signed_in("manager")
    console = client.get("/manage/cairo-civil")
    assert 'data-test="announce-form"' in console.text
    token = csrf_of(console.text)
    preview = client.post(ANNOUNCE, data={"csrf_token": token, **WINDOW, "note": "upgrade"})
    assert preview.status_code == 200
    assert "١ من المواعيد المحجوزة" in preview.text
    assert db.session.scalars(select(Maintenance)).all() == []

    done = client.post(ANNOUNCE, data={"csrf_token": token, **WINDOW, "confirmed": "yes"})
    assert done.status_code == 303
    db.session.expire_all()
    window = db.session.scalars(select(Maintenance)).one()
    assert window.tickets_moved == 1
    assert window.starts_at == datetime(2026, 11, 25, 9, tzinfo=CAIRO)  # branch time

    edit = f"/manage/cairo-civil/maintenance/{window.id}/edit"
    later = {"csrf_token": token, "start": "2026-11-29T09:00", "end": "2026-11-29T10:00"}
    assert client.post(edit, data=later).status_code == 200
    assert client.post(edit, data={**later, "confirmed": "yes"}).status_code == 303
    db.session.expire_all()
    windows = db.session.scalars(select(Maintenance).order_by(Maintenance.id)).all()
    assert [w.cancelled_at is not None for w in windows] == [True, False]


def test_maintenance_of_a_system_the_branch_does_not_need_is_refused(
    client, branches, signed_in
) -> None:
    signed_in("manager")
    token = csrf_of(client.get("/manage/cairo-civil").text)
    giza = {**WINDOW, "system": "giza-land", "confirmed": "yes", "csrf_token": token}
    assert client.post(ANNOUNCE, data=giza).status_code == 422  # not one of the choices
    no_token = {**WINDOW, "confirmed": "yes"}
    assert client.post(ANNOUNCE, data=no_token).status_code == 403
    assert db.session.scalars(select(Maintenance)).all() == []


def test_other_times_for_a_window_not_of_this_branch_is_not_found(
    client, branches, signed_in, make_token
) -> None:
    giza = client.post(
        "/api/v1/backends/giza-land/maintenance",
        json={"start": "2026-11-25T09:00:00+02:00", "end": "2026-11-25T10:00:00+02:00"},
        headers=make_token("admin"),
    )
    assert giza.status_code == 201
    signed_in("manager")
    token = csrf_of(client.get("/manage/cairo-civil").text)
    later = {"csrf_token": token, "start": "2026-11-29T09:00", "end": "2026-11-29T10:00"}
    edit = f"/manage/cairo-civil/maintenance/{giza.json['id']}/edit"
    assert client.post(edit, data={**later, "confirmed": "yes"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Maintenance, giza.json["id"]).cancelled_at is None
