"""/status through the test client, on both databases: the systems, recent outages, announced
maintenance, and the look-up of one's own ticket by its number and mobile number."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from queue_app import maintenance, outages, ticket_search
from queue_app.access import Principal
from queue_app.models import (
    Backend,
    DetectedBy,
    Maintenance,
    Message,
    Outage,
    Role,
    Ticket,
    TicketEvent,
)
from queue_app.web.extensions import db

# A health URL beyond loopback: the page must never call it (the loopback guard would fail).
FAR_AWAY = "http://203.0.113.7/health"
PHONE = "01012345678"  # +201012345678

ADMIN = Principal(Role.ADMIN, None, None)


@pytest.fixture
def registry(make_backend, make_branch):
    backend = make_backend(health_url=FAR_AWAY)
    make_branch(backends=[backend], services=[("id-card", "A"), ("passport", "P")])
    return backend


def _state() -> tuple:
    """Everything the page must leave as it was."""
    db.session.expire_all()
    return (
        tuple(db.session.execute(select(Ticket.id, Ticket.status, Ticket.version)).all()),
        db.session.scalar(select(func.count()).select_from(TicketEvent)),
        db.session.scalar(select(func.count()).select_from(Message)),
        db.session.scalar(select(func.count()).select_from(Outage)),
        tuple(db.session.execute(select(Backend.code, Backend.state)).all()),
    )


def _find(client, number: str, phone: str, lang: str = "en"):
    return client.post(f"/status/find?lang={lang}", data={"number": number, "phone": phone})


# --- the page -----------------------------------------------------------------------------


def test_arabic_right_to_left_by_default(client, registry):
    response = client.get("/status")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="ar" dir="rtl">' in html
    assert "حالة الخدمة" in html
    assert "منظومة الأحوال المدنية" in html
    assert "يعمل" in html  # Working
    assert "لا توجد صيانة معلنة." in html
    assert "لا أعطال في هذه الفترة." in html
    assert "ابحث عن تذكرتي" in html
    assert 'href="/status?lang=en"' in html  # the switch to English
    assert response.headers["Cache-Control"] == "no-store"


def test_english_on_the_switch(client, registry):
    html = client.get("/status?lang=en").text
    assert '<html lang="en" dir="ltr">' in html
    assert "Civil registry system" in html
    assert "Working" in html
    assert "No maintenance is announced." in html
    assert 'action="/status/find?lang=en"' in html


def test_a_down_system_names_its_paused_services_and_expected_end(client, registry, clock):
    outages.declare(db.session, clock, registry.code, expected_minutes=90)
    html = client.get("/status?lang=en").text
    assert "Down since Tuesday 24 November at 10:00\u202fAM (\u2066UTC+2\u2069)" in html
    assert "Expected back: Tuesday 24 November at 11:30\u202fAM (\u2066UTC+2\u2069)" in html
    assert "Nasr City civil registry · Service A: paused" in html
    assert "Nasr City civil registry · Service P: paused" in html
    arabic = client.get("/status?lang=ar").text
    assert "متوقف منذ الثلاثاء ٢٤ نوفمبر الساعة ١٠:٠٠ ص (\u2066UTC+٢\u2069)" in arabic
    assert "سجل مدني مدينة نصر · خدمة A: متوقفة مؤقتًا" in arabic


def test_a_system_down_at_one_office_names_that_office_and_its_services_only(
    client, make_backend, make_branch, clock
):
    backend = make_backend(health_url=FAR_AWAY)
    make_branch(backends=[backend])
    giza = make_branch("giza-civil", backends=[backend])
    giza.name_en, giza.name_ar = "Giza civil registry", "سجل مدني الجيزة"
    db.session.commit()
    outages.declare(db.session, clock, backend.code, branch_code="giza-civil")
    html = client.get("/status?lang=en").text
    assert "Working" in html  # everywhere else
    assert "Down at Giza civil registry only, since Tuesday 24 November at 10:00" in html
    assert "Giza civil registry · Service A: paused" in html
    assert "Nasr City civil registry · Service A" not in html
    assert '<dd data-test="outage-where">Giza civil registry</dd>' in html
    arabic = client.get("/status?lang=ar").text
    assert "متوقف في سجل مدني الجيزة وحده منذ" in arabic
    outages.resolve(db.session, clock, backend.code, branch_code="giza-civil")
    outages.declare(db.session, clock, backend.code)
    html = client.get("/status?lang=en").text
    assert "Down at" not in html
    assert '<dd data-test="outage-where">Every office</dd>' in html
    assert '<dd data-test="outage-where">كل المكاتب</dd>' in client.get("/status?lang=ar").text


def test_a_down_system_with_no_end_known_says_so(client, registry, clock):
    outages.declare(db.session, clock, registry.code)
    html = client.get("/status?lang=en").text
    assert "No expected end has been announced." in html


def test_times_of_a_saudi_system_are_riyadh_time(client, make_backend, make_branch, clock):
    backend = make_backend("traffic", name_en="Traffic licensing system", health_url=FAR_AWAY)
    make_branch("riyadh", timezone="Asia/Riyadh", country="SA", backends=[backend])
    outages.declare(db.session, clock, "traffic")
    html = client.get("/status?lang=en").text
    assert "Down since Tuesday 24 November at 11:00\u202fAM (\u2066UTC+3\u2069)" in html


def test_recent_outages_are_listed_and_old_ones_are_not(client, registry, clock):
    now = clock.now()
    db.session.add_all(
        [
            Outage(
                backend_id=registry.id,
                started_at=now - timedelta(days=2),
                ended_at=now - timedelta(days=2) + timedelta(hours=2, minutes=30),
                detected_by=DetectedBy.HEALTH_CHECK,
                tickets_moved=5,
                tickets_texted=4,
            ),
            Outage(
                backend_id=registry.id,
                started_at=now - timedelta(days=20),
                ended_at=now - timedelta(days=20) + timedelta(hours=1),
                detected_by=DetectedBy.STAFF_REPORTS,
                tickets_moved=77,
            ),
        ]
    )
    db.session.commit()
    outages.declare(db.session, clock, registry.code)
    clock.advance(minutes=45)
    outages.resolve(db.session, clock, registry.code)
    html = client.get("/status?lang=en").text
    assert html.count('data-test="outage"') == 2
    assert "Sunday 22 November at 10:00\u202fAM (\u2066UTC+2\u2069)" in html
    assert "2 h 30 min" in html
    assert "Automatic health check" in html
    assert "<dd>5</dd>" in html
    assert "<dd>4</dd>" in html
    assert "45 minutes" in html
    assert "Declared by a manager" in html
    assert "Reports from counter staff" not in html  # 20 days ago
    assert "77" not in html
    arabic = client.get("/status?lang=ar").text
    assert "٢ ساعة و٣٠ دقيقة" in arabic
    assert "<dd>٥</dd>" in arabic


def test_an_outage_in_progress_is_still_down(client, registry, clock):
    outages.declare(db.session, clock, registry.code)
    clock.advance(minutes=10)
    html = client.get("/status?lang=en").text
    assert "Still down" in html
    assert "10 minutes" in html


def test_maintenance_windows_that_have_not_ended(client, registry, clock):
    now = clock.now()
    maintenance.announce(
        db.session,
        clock,
        ADMIN,
        registry.code,
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=1, hours=2),
        note="Database upgrade",
    )
    db.session.add(
        Maintenance(
            backend_id=registry.id,
            starts_at=now - timedelta(hours=5),
            ends_at=now - timedelta(hours=1),
            note="Over already",
            announced_at=now - timedelta(days=3),
        )
    )
    db.session.commit()
    html = client.get("/status?lang=en").text
    assert html.count('data-test="window"') == 1
    assert (
        "From Wednesday 25 November at 10:00\u202fAM (\u2066UTC+2\u2069) to Wednesday 25 "
        "November at 12:00\u202fPM (\u2066UTC+2\u2069)"
    ) in html
    assert "Database upgrade" in html
    assert "Over already" not in html


# --- the look-up --------------------------------------------------------------------------


def test_find_my_ticket(client, registry, take_ticket):
    take_ticket()  # A-001, no phone
    mine = take_ticket(phone=PHONE)
    response = _find(client, "A-002", PHONE)
    assert response.status_code == 200
    html = response.text
    assert f'href="/t/{mine["token"]}"' in html
    assert "Waiting" in html
    assert "Nasr City civil registry · Service A" in html
    assert response.headers["Cache-Control"] == "no-store"
    # As people type it: lower case, no dash, Arabic-Indic digits, the international form.
    for number, phone in [("a2", "٠١٠١٢٣٤٥٦٧٨"), ("A 002", "+20 101 234 5678")]:
        again = _find(client, number, phone, lang="ar")
        assert again.status_code == 200
        assert f'href="/t/{mine["token"]}"' in again.text
        assert "في الانتظار" in again.text


def test_not_found_says_the_same_whether_the_number_exists_or_not(client, registry, take_ticket):
    take_ticket(phone=PHONE)
    answers = [
        _find(client, "A-001", "01112345678"),  # the number exists, with another phone
        _find(client, "A-009", PHONE),  # no such number
        _find(client, "B-001", PHONE),
    ]
    assert {a.status_code for a in answers} == {404}
    for answer in answers:
        assert "No ticket found with this number and phone." in answer.text
        assert "/t/" not in answer.text
    arabic = _find(client, "A-009", PHONE, lang="ar")
    assert "لا توجد تذكرة بهذا الرقم وهذا الهاتف." in arabic.text


def test_a_cancelled_ticket_is_not_found(client, registry, take_ticket):
    ticket = take_ticket(phone=PHONE)
    assert client.post(f"/api/v1/tickets/{ticket['token']}/cancel").status_code == 200
    assert _find(client, "A-001", PHONE).status_code == 404


def test_a_bad_phone_or_number_is_said_plainly(client, registry, take_ticket):
    take_ticket(phone=PHONE)
    before = _state()
    bad_phone = _find(client, "A-001", "123")
    assert bad_phone.status_code == 422
    assert "This is not a mobile number." in bad_phone.text
    assert 'value="123"' in bad_phone.text  # the form again, as typed
    bad_number = _find(client, "hello", PHONE)
    assert bad_number.status_code == 422
    assert "A ticket number is a letter and digits, as printed: A-012." in bad_number.text
    arabic = _find(client, "A-001", "123", lang="ar")
    assert "هذا ليس رقم هاتف محمول." in arabic.text
    assert _state() == before


def test_a_saudi_ticket_is_found_with_a_saudi_number(client, make_branch, make_token):
    make_branch("riyadh", timezone="Asia/Riyadh", country="SA")
    taken = client.post(
        "/api/v1/branches/riyadh/tickets",
        json={"service": "id-card", "phone": "0501234567"},
        headers=make_token("kiosk", "riyadh"),
    )
    assert taken.status_code == 201, taken.json
    found = _find(client, "A-001", "0501234567")
    assert found.status_code == 200
    assert f'href="/t/{taken.json["token"]}"' in found.text


def test_the_look_up_is_rate_limited(client, registry, take_ticket):
    take_ticket(phone=PHONE)
    answers = [_find(client, "A-009", PHONE) for _ in range(20)]
    assert {a.status_code for a in answers} == {404}
    limited = _find(client, "A-001", PHONE, lang="ar")
    assert limited.status_code == 429
    assert "/t/" not in limited.text
    assert '<html lang="ar" dir="rtl">' in limited.text
    assert client.get("/status").status_code == 200  # the page itself is not limited


def test_nothing_changes_in_the_database(client, registry, take_ticket, clock):
    take_ticket(phone=PHONE)
    outages.declare(db.session, clock, registry.code)
    before = _state()
    client.get("/status")
    client.get("/status?lang=en")
    _find(client, "A-001", PHONE)
    _find(client, "A-002", PHONE)
    _find(client, "A-001", "12")
    assert _state() == before


# --- the domain function ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("A-012", ("A", 12)), (" a12 ", ("A", 12)), ("B ٠٠٧", ("B", 7)), ("c–3", ("C", 3))],
)
def test_parse_number(text, parsed):
    assert ticket_search.parse_number(text) == parsed


@pytest.mark.parametrize("text", ["", "12", "AB-1", "A-12345", "A--1", "أ-١"])
def test_parse_number_refuses(text):
    with pytest.raises(ticket_search.BadTicketNumber):
        ticket_search.parse_number(text)


# --- links to it --------------------------------------------------------------------------


def test_the_ticket_page_and_the_booking_page_link_to_it(client, registry, take_ticket):
    ticket = take_ticket()
    for page in (f"/t/{ticket['token']}", "/book/cairo-civil"):
        html = client.get(page).text
        assert '<a href="/status" data-test="status-link">حالة الخدمة</a>' in html


def test_the_most_recent_ticket_is_found_first(client, make_branch, make_token, clock):
    make_branch()
    make_branch("giza-civil")
    tokens = []
    for branch in ("cairo-civil", "giza-civil"):
        taken = client.post(
            f"/api/v1/branches/{branch}/tickets",
            json={"service": "id-card", "phone": PHONE},
            headers=make_token("kiosk", branch),
        )
        assert taken.status_code == 201, taken.json
        tokens.append(taken.json["token"])
        clock.advance(minutes=5)
    found = _find(client, "A-001", PHONE)
    assert f'href="/t/{tokens[1]}"' in found.text
    assert f'href="/t/{tokens[0]}"' not in found.text
