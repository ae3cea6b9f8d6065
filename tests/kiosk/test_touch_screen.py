"""The kiosk's touch screen, /kiosk/<branch>, through the test client: what it renders before any
script runs (the script itself is tapped through in a browser by a later test)."""

from __future__ import annotations

import re
from datetime import timedelta

import flask_babel
import pytest
from sqlalchemy import select, update

from queue_app.models import BackendState, CapacityOverride, Counter, Service
from queue_app.models.kiosks import Kiosk
from queue_app.web.extensions import db
from tests.pages.conftest import page_blob

PAGE = "/kiosk/cairo-civil"


@pytest.fixture(autouse=True)
def _locale_per_request(app):
    # As tests/pages/conftest.py does: one app context serves every request of a test.
    app.before_request(flask_babel.refresh)


@pytest.fixture
def take_ticket(client, make_token):
    kiosk = None

    def take(service: str = "id-card") -> dict:
        nonlocal kiosk
        kiosk = kiosk or make_token("kiosk")
        response = client.post(
            "/api/v1/branches/cairo-civil/tickets", json={"service": service}, headers=kiosk
        )
        assert response.status_code == 201, response.json
        return response.json

    return take


def _tile(html: str, service: str) -> str:
    match = re.search(rf'<button[^>]*data-service="{service}".*?</button>', html, re.S)
    assert match, f"no tile for {service}"
    return match.group(0)


def test_arabic_right_to_left_by_default(client, make_branch):
    make_branch(services=[("id-card", "A"), ("birth-cert", "B")])
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.text
    assert '<html lang="ar" dir="rtl">' in html
    assert "اختر الخدمة" in html  # "Choose a service"
    assert "خدمة A" in html
    assert "خدمة B" in html
    assert "متاحة" in html  # "Open"
    assert "لا أحد في الانتظار" in html  # "Nobody is waiting"
    assert "لديّ موعد محجوز" in html  # the check-in entry
    assert 'data-test="service-id-card"' in html
    assert 'data-test="check-in"' in html
    assert ">English</a>" in html
    # The idle timeouts, where a branch can change them.
    assert 'data-idle-ticket="45" data-idle-flow="60"' in html
    # The states and waits are of this minute.
    assert "no-store" in response.headers["Cache-Control"]


def test_english_on_request(client, make_branch):
    make_branch()
    html = client.get(PAGE + "?lang=en").text
    assert '<html lang="en" dir="ltr">' in html
    assert "Choose a service" in html
    assert "Service A" in html
    assert "I have an appointment" in html
    assert ">العربية</a>" in html
    blob = page_blob(html)
    assert blob["locale"] == "en"
    # Back to the start means back to Arabic, whatever the citizen chose.
    assert blob["default_locale"] == "ar"
    assert blob["urls"]["home"] == PAGE + "?lang=ar"


def test_waiting_and_estimate_in_arabic_digits(client, make_branch, take_ticket):
    make_branch()
    for _ in range(3):
        take_ticket()
    tile = _tile(client.get(PAGE).text, "id-card")
    assert "في الانتظار: ٣" in tile
    assert "مدة الانتظار: نحو ١٨ دقيقة" in tile  # three ahead, six minutes each, one counter
    english = _tile(client.get(PAGE + "?lang=en").text, "id-card")
    assert "Waiting: 3" in english
    assert "Wait: about 18 minutes" in english


def test_enrolment_screen_in_both_languages(client, make_branch):
    """Without a kiosk token (kept by the device, never sent by the server) the script shows
    this screen: how to enrol, for staff, in Arabic and English at once."""
    make_branch()
    html = client.get(PAGE + "?lang=en").text
    enrol = re.search(r'<section[^>]*data-screen="enrol".*?</section>', html, re.S).group(0)
    assert "This screen is not a kiosk yet" in enrol
    assert "لم تُسجَّل هذه الشاشة بعدُ جهازًا لإصدار التذاكر" in enrol
    assert "queue-app kiosk enrol --branch cairo-civil" in enrol
    assert 'id="enrol-code"' in enrol
    assert 'data-test="enrol-submit"' in enrol
    blob = page_blob(html)
    assert set(blob["enrolment"]) == {"ar", "en"}
    assert blob["enrolment"]["ar"]["strings"]["wrong"].startswith("هذا الرمز غير صالح")
    assert blob["urls"]["enrol"] == "/kiosk/cairo-civil/enrol"
    # Nothing secret in the page: no token of any kind.
    assert "Bearer" not in html


def test_the_enrolment_command_names_the_kiosks_of_the_branch(client, make_branch):
    branch = make_branch()
    for code in ("hall-b", "hall-a"):
        db.session.add(Kiosk(branch_id=branch.id, code=code, name_ar=code, name_en=code))
    db.session.commit()
    html = client.get(PAGE).text
    command = re.search(r'<code id="enrol-command">(.*?)</code>', html).group(1)
    assert command == "queue-app kiosk enrol --branch cairo-civil --kiosk hall-a|hall-b"


def test_script_addresses(client, make_branch):
    make_branch()
    urls = page_blob(client.get(PAGE).text)["urls"]
    assert urls == {
        "branch_api": "/api/v1/branches/cairo-civil",
        "tickets": "/api/v1/branches/cairo-civil/tickets",
        "appointments": "/api/v1/branches/cairo-civil/appointments",
        "check_in": "/api/v1/tickets/__ticket__/check-in",
        "enrol": "/kiosk/cairo-civil/enrol",
        "qr": "/t/__ticket__/qr.png",
        "print": "/kiosk/cairo-civil/tickets/__ticket__/print",
        "printer": "/kiosk/cairo-civil/printer",
        "home": "/kiosk/cairo-civil?lang=ar",
    }


def test_phone_keypad_knows_the_country(client, make_branch):
    make_branch("jeddah-north", timezone="Asia/Riyadh", country="SA")
    html = client.get("/kiosk/jeddah-north").text
    blob = page_blob(html)
    assert blob["country_name"] == "المملكة العربية السعودية"
    assert blob["phone"] == {"min_digits": 10, "max_digits": 15}  # 05x xxx xxxx
    assert "مثال: ٠٥١ ٢٣٤ ٥٦٧٨" in html
    assert page_blob(client.get("/kiosk/jeddah-north?lang=en").text)["country_name"] == (
        "Saudi Arabia"
    )


def test_paused_service_says_which_system_since_when(client, make_branch, make_backend, clock):
    backend = make_backend()
    make_branch(backends=[backend])
    backend.state = BackendState.DOWN
    backend.state_since = clock.now() - timedelta(minutes=15)  # 09:45 in Cairo
    db.session.commit()

    tile = _tile(client.get(PAGE).text, "id-card")
    assert 'data-mode="book"' in tile  # no ticket for a paused service: a time to book
    assert "متوقفة مؤقتًا" in tile
    assert "يوجد عطل في منظومة الأحوال المدنية منذ ٩:٤٥ ص." in tile
    assert "لا يمكن إصدار تذاكر لهذه الخدمة حتى يعود النظام إلى العمل" in tile
    english = _tile(client.get(PAGE + "?lang=en").text, "id-card")
    assert "Civil registry system has been down since 9:45\u202fAM." in english
    assert "No tickets can be taken for this service until the system is back." in english


def test_degraded_service_still_issues(client, make_branch, make_backend, clock):
    backend = make_backend()
    make_branch(backends=[backend])
    db.session.execute(update(Service).values(manual_fallback_percent=30))
    backend.state = BackendState.DOWN
    backend.state_since = clock.now()
    db.session.commit()
    tile = _tile(client.get(PAGE + "?lang=en").text, "id-card")
    assert "disabled" not in tile
    assert "Working by hand, more slowly" in tile
    assert "expect a longer wait" in tile


def test_closed_outside_hours_with_next_opening(client, make_branch, clock):
    make_branch()
    clock.advance(hours=6)  # Tuesday 16:00 in Cairo, after closing
    tile = _tile(client.get(PAGE).text, "id-card")
    assert 'data-mode="book"' in tile  # no ticket now; tomorrow's first time to book
    assert "أقرب موعد متاح: الأربعاء ٢٥ نوفمبر الساعة ٨:٠٠ ص" in tile
    assert "مغلقة" in tile
    assert "المكتب مغلق الآن. موعد الفتح التالي: الأربعاء ٢٥ نوفمبر الساعة ٨:٠٠ ص." in tile
    english = _tile(client.get(PAGE + "?lang=en").text, "id-card")
    assert "Next opening: Wednesday 25 November at 8:00\u202fAM." in english


def test_closed_when_no_counter_serves_it(client, make_branch):
    make_branch()
    for counter in db.session.scalars(select(Counter)):
        counter.is_open = False
    db.session.commit()
    tile = _tile(client.get(PAGE + "?lang=en").text, "id-card")
    assert 'data-mode="book"' in tile
    # Today's slots count the counters open now (none); tomorrow's, every counter.
    assert "Earliest free time: Wednesday 25 November at 8:00\u202fAM" in tile
    assert "No counter is serving this service right now." in tile


def test_unknown_branch_is_a_404_page(client, make_branch):
    make_branch()
    response = client.get("/kiosk/nowhere")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "لا يوجد فرع أو شباك بهذا الاسم" in response.text


def _down(backend, clock):
    backend.state = BackendState.DOWN
    backend.state_since = clock.now()
    db.session.commit()


def test_paused_service_offers_its_earliest_free_time(client, make_branch, make_backend, clock):
    backend = make_backend()
    make_branch(backends=[backend])
    _down(backend, clock)
    tile = _tile(client.get(PAGE).text, "id-card")
    # Tuesday 10:00 in Cairo: 10:00 has begun, so 10:30 is the earliest slot.
    assert 'data-next-slot="2026-11-24T08:30:00+00:00"' in tile
    assert "disabled" not in tile  # a touch books that time
    assert "أقرب موعد متاح: الثلاثاء ٢٤ نوفمبر الساعة ١٠:٣٠ ص" in tile
    assert "احجزه" in tile
    assert "ويمكنك بدلًا من ذلك حجز أقرب موعد متاح." in tile
    english = _tile(client.get(PAGE + "?lang=en").text, "id-card")
    assert "Earliest free time: Tuesday 24 November at 10:30\u202fAM" in english
    assert "You can book the earliest free time instead." in english
    assert "Please ask at the information desk" not in english


def test_the_earliest_time_skips_full_slots(client, make_branch, make_backend, clock):
    backend = make_backend()
    make_branch(backends=[backend])
    # 10:30 holds three appointments (2.5 places a slot: the 10:30 slot takes 3)
    for phone in ("01011111111", "01022222222", "01033333333"):
        booked = client.post(
            "/api/v1/branches/cairo-civil/appointments",
            json={"service": "id-card", "start": "2026-11-24T10:30:00+02:00", "phone": phone},
        )
        assert booked.status_code == 201, booked.json
    _down(backend, clock)
    tile = _tile(client.get(PAGE).text, "id-card")
    assert 'data-next-slot="2026-11-24T09:00:00+00:00"' in tile


def test_nothing_free_to_book_leaves_the_tile_disabled(client, make_branch, make_backend, clock):
    backend = make_backend()
    branch = make_branch(backends=[backend])
    today = clock.now().date()
    db.session.add(
        CapacityOverride(
            service_id=branch.services[0].id,
            first_day=today,
            last_day=today + timedelta(days=90),
            per_slot=0,
            created_at=clock.now(),
        )
    )
    _down(backend, clock)
    tile = _tile(client.get(PAGE + "?lang=en").text, "id-card")
    assert 'data-mode="none"' in tile
    assert "disabled" in tile
    assert 'data-field="book" data-test="book-id-card" hidden' in tile
    assert "Please ask at the information desk." in tile


def test_an_open_service_takes_tickets_and_offers_no_booking(client, make_branch):
    make_branch()
    tile = _tile(client.get(PAGE).text, "id-card")
    assert 'data-mode="ticket"' in tile
    assert 'data-next-slot=""' in tile
    assert 'data-field="book" data-test="book-id-card" hidden' in tile


def test_the_phone_screen_has_a_booking_mode(client, make_branch):
    make_branch()
    html = client.get(PAGE).text
    phone = re.search(r'<section[^>]*data-screen="phone".*?</section>', html, re.S).group(0)
    assert 'data-phone-mode="book" hidden>رقم هاتفك المحمول (اختياري)</h1>' in phone
    assert 'data-test="book-submit">احجز هذا الموعد</button>' in phone
    # Many citizens have no phone: the kiosk books them without a number.
    assert 'data-test="book-no-phone">احجز دون رقم</button>' in phone
    words = page_blob(html)["strings"]
    assert words["your_appointment"] == "موعدك"
    assert "%(when)s" in words["slot_taken"]
    assert words["no_phone_notice"].startswith("لن يراسلك أحد")
    ticket = re.search(r'<section[^>]*data-screen="ticket".*?</section>', html, re.S).group(0)
    assert 'id="no-phone-notice" data-test="no-phone-notice" role="note" hidden>' in ticket


@pytest.mark.parametrize(
    ("path", "mimetype"),
    [("/kiosk-static/kiosk.js", "text/javascript"), ("/kiosk-static/kiosk.css", "text/css")],
)
def test_static_files(client, make_branch, path, mimetype):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == mimetype
    response.close()
