"""The public booking page, /book/<branch>, through the test client: each step as a phone without
script sees it, the form's POST and its redirect, and every way a booking is refused."""

from __future__ import annotations

import html as html_lib
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from queue_app.models import CapacityOverride, Message, SlotBooking, Ticket, TicketStatus
from queue_app.web.extensions import db
from tests.pages.conftest import page_blob

PAGE = "/book/cairo-civil"
# The fixture's clock: Tuesday 24 November 2026, 10:00 in Cairo (08:00 UTC). One counter, six
# minutes a citizen, 30-minute slots, half kept for walk-ins: two appointments a slot.
AT_11 = "2026-11-24T09:00Z"
AT_1130 = "2026-11-24T09:30Z"
TECHNICAL = ("Traceback", "Exception", "None", "undefined")


@pytest.fixture
def branch(make_branch):
    return make_branch()


def _state() -> tuple:
    """Everything a refused booking must leave as it was."""
    db.session.expire_all()
    return (
        db.session.scalar(select(func.count()).select_from(Ticket)),
        db.session.scalar(select(func.count()).select_from(Message)),
        tuple(db.session.execute(select(SlotBooking.starts_at, SlotBooking.booked)).all()),
    )


def _unbroken(text: str) -> str:
    """A booked time as the booking page writes it: never broken before its ص or م."""
    return re.sub("([٠-٩]) ([صم])", "\\1\u00a0\\2", text)


def _main(html: str) -> str:
    return html.split("<main>")[1].split("</main>")[0]


def _links(html: str) -> list[str]:
    """The choices of a step, as a phone would follow them."""
    section = _main(html)
    return [html_lib.unescape(h) for h in re.findall(r'class="choice" href="([^"]+)"', section)]


def _labels(html: str) -> list[str]:
    return re.findall(r'<span class="choice-label">(.*?)(?: <span class="tag">|</span>)', html)


def _post(client, start: str = AT_11, phone: str = "01012345678", query: str = "", **form):
    return client.post(
        PAGE + query,
        data={"service": "id-card", "start": start, "phone": phone, "locale": "ar", **form},
    )


def _api_book(client, start: str, phone: str):
    response = client.post(
        "/api/v1/branches/cairo-civil/appointments",
        json={"service": "id-card", "start": start, "phone": phone},
    )
    assert response.status_code == 201, response.json
    return response.json


def _plain(response, status: int) -> str:
    assert response.status_code == status
    assert response.mimetype == "text/html"
    text = _main(response.text)
    for word in TECHNICAL:
        assert word not in text, f"{word!r} on a citizen's page"
    return text


# --- the steps ----------------------------------------------------------------------------


def test_arabic_right_to_left_by_default(client, branch):
    response = client.get(PAGE)
    html = _plain(response, 200)
    assert '<html lang="ar" dir="rtl">' in response.text
    assert "حجز موعد" in html
    assert "الخطوة ١ من ٤" in html
    assert "سجل مدني مدينة نصر" in html
    # Each service with its earliest free time, weekday and month written out.
    assert "خدمة A" in html
    assert "أقرب موعد متاح: الثلاثاء ٢٤ نوفمبر الساعة ١٠:٣٠ ص" in html
    assert _links(response.text) == [PAGE + "?service=id-card"]
    # The switch to English, and nothing stored in between.
    assert f'href="{PAGE}?lang=en"' in response.text
    assert "no-store" in response.headers["Cache-Control"]


def test_english_on_request_keeps_the_step(client, branch):
    response = client.get(PAGE + "?service=id-card&lang=en")
    html = _plain(response, 200)
    assert '<html lang="en" dir="ltr">' in response.text
    assert "Choose a day" in html
    assert "Step 2 of 4" in html
    assert "Service A" in html
    assert f'href="{PAGE}?service=id-card&amp;lang=ar"' in response.text
    # Remembered for the next step, as on the other pages.
    assert '<html lang="en" dir="ltr">' in client.get(PAGE + "?service=id-card").text


def test_days_are_the_next_two_weeks_with_a_free_time(client, branch, clock):
    # Thursday 26 November has no appointments at all (a manager's capacity of 0).
    db.session.add(
        CapacityOverride(
            service_id=branch.services[0].id,
            first_day=date(2026, 11, 26),
            last_day=date(2026, 11, 26),
            per_slot=0,
            created_at=clock.now(),
        )
    )
    db.session.commit()
    response = client.get(PAGE + "?service=id-card&lang=en")
    days = [link.rsplit("day=", 1)[1] for link in _links(response.text)]
    # Fridays and Saturdays are closed; the list stops before Tuesday 8 December.
    assert days == [
        "2026-11-24",
        "2026-11-25",
        "2026-11-29",
        "2026-11-30",
        "2026-12-01",
        "2026-12-02",
        "2026-12-03",
        "2026-12-06",
        "2026-12-07",
    ]
    html = response.text
    assert 'Tuesday 24 November <span class="tag">Today</span>' in html
    assert 'Wednesday 25 November <span class="tag">Tomorrow</span>' in html
    assert "9 free times" in html  # today: 10:30 to 14:30
    assert "14 free times" in html
    arabic = client.get(PAGE + "?service=id-card&lang=ar").text
    assert 'الثلاثاء ٢٤ نوفمبر <span class="tag">اليوم</span>' in arabic
    assert "٩ مواعيد متاحة" in arabic
    assert "١٤ موعدًا متاحًا" in arabic


def test_times_show_the_places_left_and_skip_full_ones(client, branch):
    _api_book(client, "2026-11-24T10:30:00+02:00", "01011111111")
    _api_book(client, "2026-11-24T10:30:00+02:00", "01022222222")
    _api_book(client, "2026-11-24T10:30:00+02:00", "01044444444")  # 10:30 (3 places) is full
    _api_book(client, "2026-11-24T11:00:00+02:00", "01033333333")
    response = client.get(PAGE + "?service=id-card&day=2026-11-24")
    html = _plain(response, 200)
    assert "الخطوة ٣ من ٤" in html
    assert "المواعيد بالتوقيت المحلي للمكتب." in html
    labels = _labels(html)
    assert labels[:2] == ["١١:٠٠ ص", "١١:٣٠ ص"]  # no 10:30
    assert labels[-1] == "٢:٣٠ م"
    assert "يتبقى مكان واحد" in html  # 11:00
    assert "يتبقى مكانان" in html
    assert _links(response.text)[0] == PAGE + "?service=id-card&start=" + AT_11
    english = client.get(PAGE + "?service=id-card&day=2026-11-24&lang=en").text
    assert "1 place left" in english
    assert "2 places left" in english


def test_times_in_the_branchs_own_time_zone(client, make_branch):
    make_branch("jeddah-north", timezone="Asia/Riyadh", country="SA")  # 08:00 UTC is 11:00
    html = client.get("/book/jeddah-north?service=id-card&day=2026-11-24&lang=en").text
    assert _labels(html)[0] == "11:30\u202fAM"
    response = client.post(
        "/book/jeddah-north?lang=en",
        data={"service": "id-card", "start": "2026-11-24T08:30Z", "phone": "01012345678"},
    )
    # An Egyptian number is no Saudi mobile number.
    assert "This is not a mobile number in Saudi Arabia." in _plain(response, 422)
    response = client.post(
        "/book/jeddah-north?lang=en",
        data={"service": "id-card", "start": "2026-11-24T08:30Z", "phone": "0512345678"},
    )
    assert response.status_code == 303
    booked = client.get(response.headers["Location"]).text
    assert "Tuesday 24 November, 11:30\u202fAM – 12:00\u202fPM" in booked


def test_the_number_step_says_what_is_booked(client, branch):
    response = client.get(f"{PAGE}?service=id-card&start={AT_11}")
    html = _plain(response, 200)
    assert "الخطوة ٤ من ٤" in html
    assert _unbroken("الثلاثاء ٢٤ نوفمبر، من ١١:٠٠ ص إلى ١١:٣٠ ص") in html
    assert "مثال: ٠١٠ ٠١٢٣٤٥٦٧" in html
    form = re.search(r"<form.*?</form>", html, re.S).group(0)
    assert 'method="post"' in form
    assert f'action="{PAGE}?lang=ar"' in form
    assert f'name="start" value="{AT_11}"' in form
    assert 'name="locale" value="ar"' in form
    assert 'type="tel"' in form
    # The script that sends it in the background, with its words.
    assert page_blob(response.text)["strings"]["booking"] == "جارٍ حجز موعدك…"
    with client.get("/static/book.js") as script:
        assert script.status_code == 200


# --- booking ------------------------------------------------------------------------------


def test_the_whole_booking_by_following_the_links(client, branch):
    step = client.get(PAGE)
    for _ in range(3):  # service, day, time: the first choice each time
        step = client.get(_links(step.text)[0])
        assert step.status_code == 200
    assert 'data-step="phone"' in step.text
    assert "start=2026-11-24T08:30Z" in step.request.full_path
    before = _state()
    response = _post(client, start="2026-11-24T08:30Z", phone="٠١٠١٢٣٤٥٦٧٨")  # Arabic digits
    assert response.status_code == 303  # Post/Redirect/Get
    location = response.headers["Location"]
    assert location.startswith(PAGE + "/booked/")
    assert location.endswith("?lang=ar")

    ticket = db.session.scalars(select(Ticket)).one()
    assert ticket.status == TicketStatus.SCHEDULED
    assert ticket.phone == "+201012345678"
    assert ticket.locale == "ar"
    assert ticket.number == "A-001"
    assert _state()[0] == before[0] + 1
    assert db.session.scalar(select(SlotBooking.booked)) == 1
    assert [m.event for m in db.session.scalars(select(Message))] == ["booked"]

    confirmation = client.get(location)
    html = _plain(confirmation, 200)
    assert "تم حجز موعدك" in html
    assert '<p class="number" dir="ltr" data-test="ticket-number">A-001</p>' in html
    assert _unbroken("الثلاثاء ٢٤ نوفمبر، من ١٠:٣٠ ص إلى ١١:٠٠ ص") in html
    assert "ابتداءً من الساعة ١٠:٠٠ ص" in html  # check-in opens half an hour before
    assert f'href="/t/{ticket.token}"' in html
    assert '<meta name="referrer" content="no-referrer">' in confirmation.text
    assert "no-store" in confirmation.headers["Cache-Control"]
    # The link leads to the ticket's own page, with the booked time on it.
    ticket_page = client.get(f"/t/{ticket.token}").text
    assert "الثلاثاء ٢٤ نوفمبر، من ١٠:٣٠ ص إلى ١١:٠٠ ص" in ticket_page


def test_booking_in_english_books_an_english_ticket(client, branch):
    response = _post(client, query="?lang=en", locale="en")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("?lang=en")
    assert db.session.scalars(select(Ticket)).one().locale == "en"
    html = client.get(response.headers["Location"]).text
    assert "Your appointment is booked" in html
    assert "Tuesday 24 November, 11:00\u202fAM – 11:30\u202fAM" in html
    assert "from 10:30\u202fAM" in html


@pytest.mark.parametrize("phone", ["123", "", "0101234", "+44 7700 900123"])
def test_a_wrong_number_is_explained_and_books_nothing(client, branch, phone):
    before = _state()
    response = _post(client, phone=phone)
    html = _plain(response, 422)
    assert "هذا ليس رقم هاتف محمول في مصر. تحقّق منه وحاول مرة أخرى." in html
    assert f'value="{phone}"' in html  # what was typed, to correct it
    assert f'name="start" value="{AT_11}"' in html  # the same time, still chosen
    assert _state() == before
    english = _post(client, phone=phone, query="?lang=en", locale="en")
    assert "This is not a mobile number in Egypt." in _plain(english, 422)


def test_a_time_just_taken_offers_the_next_free_one(client, branch):
    _api_book(client, "2026-11-24T11:00:00+02:00", "01011111111")
    _api_book(client, "2026-11-24T11:00:00+02:00", "01022222222")
    before = _state()
    response = _post(client, phone="01033333333")
    html = _plain(response, 409)
    assert "حُجز للتوّ آخر مكان في موعد الثلاثاء ٢٤ نوفمبر الساعة ١١:٠٠ ص." in html
    assert "أقرب موعد متاح بعده: الثلاثاء ٢٤ نوفمبر الساعة ١١:٣٠ ص." in html
    # The form now books the offered time, the number kept: one tap.
    assert f'name="start" value="{AT_1130}"' in html
    assert 'value="01033333333"' in html
    assert _unbroken("الثلاثاء ٢٤ نوفمبر، من ١١:٣٠ ص إلى ١٢:٠٠ م") in html
    assert _state() == before
    assert _post(client, start=AT_1130, phone="01033333333").status_code == 303

    # A full time opened from an old link says the same before the number is typed.
    step = client.get(f"{PAGE}?service=id-card&start={AT_11}&lang=en")
    assert "Someone has just taken the last place at Tuesday 24 November at 11:00" in _plain(
        step, 200
    )
    assert f'name="start" value="{AT_1130}"' in step.text


def test_a_full_last_time_offers_nothing_but_another_day(client, branch, clock):
    db.session.add(
        CapacityOverride(
            service_id=branch.services[0].id,
            first_day=date(2026, 11, 24),
            last_day=date(2027, 3, 1),
            per_slot=1,
            created_at=clock.now(),
        )
    )
    db.session.commit()
    start = "2026-11-24T12:30Z"  # 14:30, the last slot of the day
    response = client.post(
        PAGE + "?lang=en",
        data={"service": "id-card", "start": start, "phone": "01011111111", "locale": "en"},
    )
    assert response.status_code == 303
    response = client.post(
        PAGE + "?lang=en",
        data={"service": "id-card", "start": start, "phone": "01022222222", "locale": "en"},
    )
    html = _plain(response, 409)
    assert "The next free time is Wednesday 25 November at 8:00\u202fAM." in html


def test_a_number_already_booked_for_the_service(client, branch):
    assert _post(client).status_code == 303
    before = _state()
    response = _post(client, start=AT_1130)
    html = _plain(response, 409)
    assert (
        "لهذا الرقم موعد محجوز بالفعل في هذه الخدمة: \u2066A-001\u2069، الثلاثاء ٢٤ نوفمبر "
        "الساعة ١١:٠٠ ص."
    ) in html
    assert _state() == before


def test_too_many_bookings_from_one_address(client, branch):
    before = _state()
    answers = [_post(client, phone="123") for _ in range(10)]
    assert {a.status_code for a in answers} == {422}
    response = _post(client, phone="01012345678")
    html = _plain(response, 429)
    assert "طلبات حجز كثيرة جدًا من هذا الاتصال. انتظر دقيقة ثم حاول مرة أخرى." in html
    assert 'value="01012345678"' in html  # the form again, to send when allowed
    assert _state() == before


# --- bad input: a readable page, nothing changed --------------------------------------------


@pytest.mark.parametrize(
    ("query", "status", "says"),
    [
        ("?service=no-such-service", 404, "لا يقدّم هذا المكتب هذه الخدمة"),
        ("?service=id-card&day=someday", 422, "اختر يومًا من الأيام المعروضة"),
        ("?service=id-card&day=2026-12-30", 422, "اختر يومًا من الأيام المعروضة"),  # too far
        ("?service=id-card&day=2026-11-23", 422, "اختر يومًا من الأيام المعروضة"),  # yesterday
        ("?service=id-card&start=2026-11-24T09:15Z", 422, "هذا الموعد ليس من المواعيد المتاحة"),
        ("?service=id-card&start=2026-11-24T07:30Z", 422, "هذا الموعد ليس من المواعيد المتاحة"),
        ("?service=id-card&start=2026-11-27T09:00Z", 422, "هذا الموعد ليس من المواعيد المتاحة"),
        ("?service=id-card&start=tomorrow", 422, "هذا الموعد ليس من المواعيد المتاحة"),
        ("?service=id-card&start=2026-11-24T11:00", 422, "هذا الموعد ليس من المواعيد المتاحة"),
    ],
)
def test_bad_addresses_are_explained(client, branch, query, status, says):
    before = _state()
    response = client.get(PAGE + query)
    html = _plain(response, status)
    assert says in html
    assert '<html lang="ar" dir="rtl">' in response.text
    assert _state() == before


@pytest.mark.parametrize(
    ("form", "status", "says"),
    [
        ({"service": "no-such-service"}, 404, "This office offers no such service."),
        ({"start": "2026-11-24T09:15Z"}, 422, "This is not one of the free times"),  # not a slot
        ({"start": "2026-11-24T07:00Z"}, 422, "This is not one of the free times"),  # past
        ({"start": "2026-11-27T09:00Z"}, 422, "This is not one of the free times"),  # Friday
        ({"start": "2027-06-01T09:00Z"}, 422, "This is not one of the free times"),  # far
        ({"start": "not a time"}, 422, "This is not one of the free times"),
        ({"start": ""}, 422, "This is not one of the free times"),
    ],
)
def test_bad_posts_are_explained_and_book_nothing(client, branch, form, status, says):
    before = _state()
    response = _post(client, query="?lang=en", **form)
    assert says in _plain(response, status)
    assert _state() == before


def test_unknown_branch_is_the_404_page(client, branch):
    before = _state()
    posted = client.post("/book/nowhere", data={"service": "id-card", "start": AT_11})
    for response in (client.get("/book/nowhere"), posted):
        assert response.status_code == 404
        assert response.mimetype == "text/html"
        assert "لا يوجد فرع أو شباك بهذا الاسم" in response.text
    assert _state() == before


def test_a_confirmation_only_for_its_own_branch(client, branch, make_branch):
    make_branch("giza-traffic")
    location = _post(client).headers["Location"]
    token = location.split("/booked/")[1].split("?")[0]
    assert client.get(f"/book/giza-traffic/booked/{token}").status_code == 404
    forged = client.get(f"{PAGE}/booked/forged-token-forged-token")
    assert "لم نعثر على هذا الحجز" in _plain(forged, 404)


def test_a_confirmation_of_a_cancelled_booking_leads_to_its_ticket_page(client, branch):
    location = _post(client).headers["Location"]
    token = location.split("/booked/")[1].split("?")[0]
    assert client.post(f"/api/v1/tickets/{token}/cancel").status_code == 200
    response = client.get(location)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/t/{token}"


def test_no_free_time_says_so(client, branch, clock):
    db.session.add(
        CapacityOverride(
            service_id=branch.services[0].id,
            first_day=clock.now().date(),
            last_day=clock.now().date() + timedelta(days=90),
            per_slot=0,
            created_at=clock.now(),
        )
    )
    db.session.commit()
    html = client.get(PAGE + "?lang=en").text
    assert "No free time at the moment" in html
    assert _links(html) == []  # nothing to follow
    days = client.get(PAGE + "?service=id-card&lang=en").text
    assert "There is no free time in the next two weeks." in days


def test_a_time_an_outage_now_covers_offers_the_next_free_one(
    client, make_branch, make_backend, make_token
):
    backend = make_backend()
    make_branch(backends=[backend])
    form = client.get(f"{PAGE}?service=id-card&start={AT_11}")  # opened before the outage
    assert 'data-step="phone"' in form.text
    declared = client.post(
        f"/api/v1/backends/{backend.code}/outages",
        json={"expected_minutes": 120},  # 10:00 to 12:00
        headers=make_token("admin"),
    )
    assert declared.status_code in (200, 201), declared.json
    before = _state()
    response = _post(client, query="?lang=en", locale="en")
    html = _plain(response, 409)
    assert "A system this service needs will not be available at Tuesday 24 November" in html
    assert "The next free time is Tuesday 24 November at 12:00\u202fPM." in html
    assert 'name="start" value="2026-11-24T10:00Z"' in html
    assert _state() == before
    # Nor does the page offer the times the outage covers.
    times = client.get(f"{PAGE}?service=id-card&day=2026-11-24&lang=en").text
    assert _labels(times)[0] == "12:00\u202fPM"
