"""/manage/<branch>: the branch manager's console. What it shows, and its actions: each shown
first with what it will do, done on confirmation, refused without the form's CSRF token or for
another branch's people, and undone where that makes sense."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from queue_app import maintenance
from queue_app.access import Principal
from queue_app.models import (
    Branch,
    CapacityOverride,
    Counter,
    Maintenance,
    Message,
    MessageStatus,
    Role,
)
from queue_app.web.extensions import db
from tests.conftest import csrf_of

CONSOLE = "/manage/cairo-civil"

ADMIN = Principal(role=Role.ADMIN, branch_id=None, branch_code=None)


def _csrf(client) -> str:
    return csrf_of(client.get(CONSOLE).text)


def _counter_open(code: str = "1") -> bool:
    db.session.expire_all()
    return (
        db.session.scalars(
            select(Counter)
            .join(Branch, Branch.id == Counter.branch_id)
            .where(Counter.code == code, Branch.code == "cairo-civil")
        )
        .one()
        .is_open
    )


def test_the_console_shows_lines_counters_systems_and_trouble(
    client, make_branch, make_backend, take_ticket, signed_in, clock
):
    backend = make_backend()
    make_branch(counters=2, backends=[backend])
    take_ticket(phone="01012345678")
    take_ticket()
    maintenance.announce(
        db.session,
        clock,
        ADMIN,
        "civil-registry",
        starts_at=clock.now() + timedelta(days=2),
        ends_at=clock.now() + timedelta(days=2, hours=2),
        note="تحديث",
    )
    # A message the provider refused for good.
    message = db.session.scalars(select(Message)).first()
    assert message is not None
    message.status = MessageStatus.FAILED
    message.error_code = "30003"
    db.session.commit()

    signed_in("manager")
    html = client.get(CONSOLE).text
    assert '<html lang="ar" dir="rtl">' in html
    assert "لوحة إدارة الفرع" in html
    assert 'data-service="id-card"' in html
    assert '<td data-field="waiting">٢</td>' in html
    assert 'data-counter="2"' in html
    assert 'data-system="civil-registry"' in html
    assert "تحديث" in html
    assert "30003" in html
    assert "01012345678" not in html  # masked
    assert "+201••••••678" in html
    english = client.get(CONSOLE + "?lang=en").text
    assert "Branch console" in english
    assert "Messages that did not arrive (last 24 hours)" in english


@pytest.mark.parametrize(
    ("role", "branches"), [("staff", ("cairo-civil",)), ("manager", ("giza",))]
)
def test_staff_and_other_branches_managers_are_refused(
    client, make_branch, signed_in, role, branches
):
    make_branch()
    make_branch("giza")
    signed_in(role, branches=branches)
    assert client.get(CONSOLE).status_code == 403
    answer = client.post(
        f"{CONSOLE}/counters/1", data={"open": "no", "confirmed": "yes", "csrf_token": "x"}
    )
    assert answer.status_code == 403
    assert _counter_open()


def test_closing_a_counter_shows_what_moves_then_closes_it_on_confirmation(
    client, make_branch, signed_in
):
    make_branch(counters=2)
    signed_in("manager")
    csrf = _csrf(client)
    preview = client.post(f"{CONSOLE}/counters/1", data={"open": "no", "csrf_token": csrf})
    assert preview.status_code == 200
    assert "إغلاق الشباك" in preview.text
    assert "لن يُنقل أي موعد." in preview.text
    assert _counter_open()  # a preview changes nothing
    done = client.post(
        f"{CONSOLE}/counters/1", data={"open": "no", "confirmed": "yes", "csrf_token": csrf}
    )
    assert done.status_code == 303
    assert not _counter_open()
    page = client.get(CONSOLE).text
    assert "للتراجع، افتحه من جديد" in page
    client.post(f"{CONSOLE}/counters/1", data={"open": "yes", "csrf_token": csrf})
    assert _counter_open()


def test_closing_the_only_counter_counts_today_s_appointments_that_must_move(
    client, make_branch, signed_in
):
    make_branch(counters=1)
    slots = client.get("/api/v1/branches/cairo-civil/services/id-card/slots").json
    booked = client.post(
        "/api/v1/branches/cairo-civil/appointments",
        json={"service": "id-card", "start": slots[0]["start"], "phone": "01012345678"},
    )
    assert booked.status_code == 201, booked.json
    signed_in("manager")
    preview = client.post(f"{CONSOLE}/counters/1", data={"open": "no", "csrf_token": _csrf(client)})
    assert "لن يتسع اليوم لعدد ١ من المواعيد" in preview.text
    assert _counter_open()


def test_a_console_form_without_its_csrf_token_changes_nothing(client, make_branch, signed_in):
    make_branch()
    signed_in("manager")
    answer = client.post(f"{CONSOLE}/counters/1", data={"open": "no", "confirmed": "yes"})
    assert answer.status_code == 403
    assert _counter_open()
    answer = client.post(
        f"{CONSOLE}/capacity",
        data={
            "service": "id-card",
            "first_day": "2026-11-24",
            "last_day": "2026-11-25",
            "per_slot": "0",
            "confirmed": "yes",
        },
    )
    assert answer.status_code == 403
    assert db.session.scalars(select(CapacityOverride)).all() == []


def test_capacity_is_previewed_set_and_undone(client, make_branch, signed_in):
    make_branch()
    slots = client.get("/api/v1/branches/cairo-civil/services/id-card/slots").json
    booked = client.post(
        "/api/v1/branches/cairo-civil/appointments",
        json={"service": "id-card", "start": slots[0]["start"], "phone": "01012345678"},
    )
    assert booked.status_code == 201
    day = slots[0]["start"][:10]
    signed_in("manager")
    csrf = _csrf(client)
    form = {
        "service": "id-card",
        "first_day": day,
        "last_day": day,
        "per_slot": "0",
        "csrf_token": csrf,
    }
    preview = client.post(f"{CONSOLE}/capacity", data=form)
    assert preview.status_code == 200
    assert "١ من المواعيد المحجوزة تتجاوز السعة الجديدة" in preview.text
    assert db.session.scalars(select(CapacityOverride)).all() == []
    done = client.post(f"{CONSOLE}/capacity", data={**form, "confirmed": "yes"})
    assert done.status_code == 303
    [override] = db.session.scalars(select(CapacityOverride)).all()
    assert override.per_slot == 0
    assert override.set_by == "Manager-Person"
    page = client.get(CONSOLE).text
    assert "تم ضبط السعة. نُقل ١" in page
    undo_url = f"{CONSOLE}/capacity/{override.id}/undo"
    assert f'action="{undo_url}"' in page
    undo_preview = client.post(undo_url, data={"csrf_token": csrf})
    assert "تعود السعة إلى ما كانت عليه" in undo_preview.text
    assert db.session.scalars(select(CapacityOverride)).all() != []
    undone = client.post(undo_url, data={"csrf_token": csrf, "confirmed": "yes"})
    assert undone.status_code == 303
    db.session.expire_all()
    assert db.session.scalars(select(CapacityOverride)).all() == []


@pytest.mark.parametrize(
    "bad",
    [
        {"per_slot": "-1"},
        {"per_slot": "lots"},
        {"first_day": "2026-11-26", "last_day": "2026-11-24"},
        {"first_day": "tomorrow"},
        {"service": "no-such-service"},
    ],
)
def test_bad_capacity_input_answers_a_page_and_changes_nothing(client, make_branch, signed_in, bad):
    make_branch()
    signed_in("manager")
    form = {
        "service": "id-card",
        "first_day": "2026-11-24",
        "last_day": "2026-11-25",
        "per_slot": "3",
        "confirmed": "yes",
        "csrf_token": _csrf(client),
        **bad,
    }
    answer = client.post(f"{CONSOLE}/capacity", data=form)
    assert answer.status_code == 422
    assert answer.mimetype == "text/html"
    assert db.session.scalars(select(CapacityOverride)).all() == []


def test_undo_of_another_branch_s_setting_is_not_found(client, make_branch, signed_in):
    make_branch()
    signed_in("manager")
    answer = client.post(
        f"{CONSOLE}/capacity/999/undo", data={"csrf_token": _csrf(client), "confirmed": "yes"}
    )
    assert answer.status_code == 404


def test_maintenance_is_withdrawn_after_the_preview(
    client, make_branch, make_backend, signed_in, clock
):
    backend = make_backend()
    make_branch(backends=[backend])
    window = maintenance.announce(
        db.session,
        clock,
        ADMIN,
        "civil-registry",
        starts_at=clock.now() + timedelta(days=1),
        ends_at=clock.now() + timedelta(days=1, hours=1),
        note=None,
    )
    signed_in("manager")
    csrf = _csrf(client)
    url = f"{CONSOLE}/maintenance/{window.id}/withdraw"
    preview = client.post(url, data={"csrf_token": csrf})
    assert "سحب إعلان صيانة" in preview.text
    db.session.expire_all()
    assert db.session.get(Maintenance, window.id).cancelled_at is None
    assert client.post(url, data={"csrf_token": csrf, "confirmed": "yes"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Maintenance, window.id).cancelled_at is not None
    assert "تم سحب إعلان الصيانة" in client.get(CONSOLE).text
    # Gone from the list: a second withdrawal of the same window is refused.
    assert client.post(url, data={"csrf_token": csrf, "confirmed": "yes"}).status_code == 422


def test_user_supplied_text_is_escaped(client, make_branch, make_backend, make_person, clock):
    backend = make_backend()
    make_branch(backends=[backend])
    maintenance.announce(
        db.session,
        clock,
        ADMIN,
        "civil-registry",
        starts_at=clock.now() + timedelta(days=1),
        ends_at=clock.now() + timedelta(days=1, hours=1),
        note="<img src=x onerror=alert(1)>",
    )
    person = make_person("mona", "manager")
    person.display_name = "<script>alert(1)</script>"
    db.session.commit()
    from tests.conftest import sign_in

    sign_in(client, "mona")
    for page in (CONSOLE, "/status", "/counter/cairo-civil"):
        html = client.get(page).text
        assert "<script>alert(1)</script>" not in html, page
        assert "<img src=x" not in html, page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(CONSOLE).text


def _backend_state(client, code: str = "civil-registry") -> dict:
    return next(b for b in client.get("/api/v1/backends").json if b["code"] == code)


def test_a_manager_declares_the_system_down_here_only_after_the_preview(
    client, make_branch, make_backend, take_ticket, signed_in
):
    backend = make_backend()
    make_branch(backends=[backend])
    make_branch("giza", backends=[backend])
    take_ticket(phone="01012345678")
    take_ticket()
    signed_in("manager")
    csrf = _csrf(client)
    url = f"{CONSOLE}/systems/civil-registry/declare"
    preview = client.post(url, data={"csrf_token": csrf, "expected_minutes": "90", "note": "الخط"})
    assert preview.status_code == 200
    text = preview.text
    assert "إعلان توقف" in text
    assert "ينتظرها ٢ من المواطنين (١ منهم لديهم رقم هاتف محمول)" in text
    assert _backend_state(client)["down_at"] == []  # nothing yet
    done = client.post(
        url,
        data={"csrf_token": csrf, "expected_minutes": "90", "note": "الخط", "confirmed": "yes"},
    )
    assert done.status_code == 303
    state = _backend_state(client)
    assert state["down_at"] == ["cairo-civil"]
    assert state["state"] == "up"  # not everywhere: Giza keeps working
    page = client.get(CONSOLE).text
    assert 'data-test="down-here"' in page
    assert 'data-test="resolve-civil-registry"' in page

    resolve = f"{CONSOLE}/systems/civil-registry/resolve"
    preview = client.post(resolve, data={"csrf_token": csrf})
    assert "هل عاد" in preview.text
    assert _backend_state(client)["down_at"] == ["cairo-civil"]
    assert client.post(resolve, data={"csrf_token": csrf, "confirmed": "yes"}).status_code == 303
    assert _backend_state(client)["down_at"] == []


def test_declaring_needs_a_system_of_this_branch_and_good_input(
    client, make_branch, make_backend, signed_in
):
    needed = make_backend()
    make_backend("traffic", name_ar="المرور", name_en="Traffic")
    make_branch(backends=[needed])
    signed_in("manager")
    csrf = _csrf(client)
    other = client.post(
        f"{CONSOLE}/systems/traffic/declare", data={"csrf_token": csrf, "confirmed": "yes"}
    )
    assert other.status_code == 404
    for minutes in ("0", "lots", "999999"):
        bad = client.post(
            f"{CONSOLE}/systems/civil-registry/declare",
            data={"csrf_token": csrf, "expected_minutes": minutes, "confirmed": "yes"},
        )
        assert bad.status_code == 422, minutes
    assert _backend_state(client)["down_at"] == []
    # Nothing down here: resolving is refused with a page.
    refused = client.post(f"{CONSOLE}/systems/civil-registry/resolve", data={"csrf_token": csrf})
    assert refused.status_code == 422


def test_another_branch_s_manager_cannot_declare_here(client, make_branch, make_backend, signed_in):
    backend = make_backend()
    make_branch(backends=[backend])
    make_branch("giza", backends=[backend])
    signed_in("manager", branches=("giza",))
    csrf = csrf_of(client.get("/manage/giza").text)
    answer = client.post(
        f"{CONSOLE}/systems/civil-registry/declare", data={"csrf_token": csrf, "confirmed": "yes"}
    )
    assert answer.status_code == 403
    assert _backend_state(client)["down_at"] == []


def test_the_console_says_who_serves_at_each_counter(
    app, client, make_branch, take_ticket, make_person
):
    from tests.conftest import sign_in

    make_branch(counters=2)
    take_ticket()
    make_person("mona", "staff")
    make_person("samir", "manager")
    staff = app.test_client()
    sign_in(staff, "mona")
    csrf = csrf_of(staff.get("/counter/cairo-civil/1").text)
    called = staff.post(
        "/api/v1/branches/cairo-civil/counters/1/call-next", headers={"X-CSRFToken": csrf}
    )
    assert called.status_code == 200, called.json
    sign_in(client, "samir")
    html = client.get(CONSOLE).text
    row_1 = html.split('data-counter="1"')[1].split("</tr>")[0]
    row_2 = html.split('data-counter="2"')[1].split("</tr>")[0]
    assert '<td data-field="served-by">Mona</td>' in row_1
    assert '<td data-field="served-by">—</td>' in row_2
