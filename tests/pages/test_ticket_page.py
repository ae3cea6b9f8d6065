"""The ticket's own page, behind its QR code, through the test client."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from queue_app.models import BackendState, Ticket
from queue_app.web.extensions import db
from tests.pages.conftest import page_blob


def _page(client, token: str, query: str = ""):
    return client.get(f"/t/{token}{query}")


def test_arabic_right_to_left_by_default(client, make_branch, take_ticket):
    make_branch()
    take_ticket()
    second = take_ticket()
    response = _page(client, second["token"])
    assert response.status_code == 200
    html = response.text
    assert '<html lang="ar" dir="rtl">' in html
    assert "A-002" in html  # the number as printed, never mapped to other digits
    assert "في الانتظار" in html  # "Waiting"
    assert "عدد المنتظرين قبلك" in html
    assert '<dd id="ahead">١</dd>' in html  # one person ahead, in Arabic-Indic digits
    assert '<dd id="eta">٦ دقائق</dd>' in html  # one ahead, six minutes each, one counter
    assert "سجل مدني مدينة نصر" in html
    assert "English" in html  # the switch to the other language


def test_a_long_wait_reads_as_a_range(client, make_branch, take_ticket):
    """Five ahead at six minutes: 30 minutes, 22 to 41 as times run short or long; so wide a
    spread is shown as the range, in Arabic first."""
    make_branch()
    for _ in range(5):
        take_ticket()
    sixth = take_ticket()
    assert (sixth["eta_minutes"], sixth["eta_range_minutes"]) == (30, [22, 41])
    arabic = _page(client, sixth["token"]).text
    assert '<dd id="eta">من ٢٢ إلى ٤١ دقيقة تقريبًا</dd>' in arabic
    english = _page(client, sixth["token"], "?lang=en").text
    assert '<dd id="eta">about 22–41 minutes</dd>' in english
    blob = page_blob(arabic)
    assert blob["range_from"] == 10
    assert blob["strings"]["minute_range"]["few"] == "من %(low)s إلى %(num)s دقائق تقريبًا"


def test_english_on_request_and_remembered(client, make_branch, take_ticket):
    make_branch()
    ticket = take_ticket()
    response = _page(client, ticket["token"], "?lang=en")
    html = response.text
    assert '<html lang="en" dir="ltr">' in html
    assert "Waiting" in html
    assert "You are next" in html
    assert "Nasr City civil registry" in html
    assert "lang=en" in response.headers["Set-Cookie"]
    # The cookie keeps English without asking again, until Arabic is chosen.
    assert '<html lang="en" dir="ltr">' in _page(client, ticket["token"]).text
    assert '<html lang="ar" dir="rtl">' in _page(client, ticket["token"], "?lang=ar").text


def test_a_ticket_taken_in_english_opens_in_english(client, make_branch, take_ticket):
    make_branch()
    english = take_ticket(locale="en")
    arabic = take_ticket()
    assert '<html lang="en" dir="ltr">' in _page(client, english["token"]).text
    assert '<html lang="ar" dir="rtl">' in _page(client, arabic["token"]).text
    # The reader's own choice still wins over the ticket's language.
    assert '<html lang="ar" dir="rtl">' in _page(client, english["token"], "?lang=ar").text


def test_forged_token_is_a_404_page(client, make_branch):
    make_branch()
    response = _page(client, "not-a-real-token-but-long-enough")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert '<html lang="ar" dir="rtl">' in response.text
    assert "لم نعثر على هذه التذكرة" in response.text
    assert "Traceback" not in response.text
    english = _page(client, "not-a-real-token-but-long-enough", "?lang=en")
    assert english.status_code == 404
    assert "We could not find this ticket" in english.text


def test_paused_service_names_the_system_that_is_down(
    client, make_branch, make_backend, take_ticket, clock
):
    # A health URL beyond loopback: the page must not call it (the loopback guard would fail).
    backend = make_backend(health_url="http://203.0.113.7/health")
    make_branch(backends=[backend])
    ticket = take_ticket()
    backend.state = BackendState.DOWN
    backend.state_since = clock.now() - timedelta(minutes=15)  # 09:45 in Cairo
    db.session.commit()

    arabic = _page(client, ticket["token"]).text
    assert "يوجد عطل في منظومة الأحوال المدنية منذ ٩:٤٥ ص." in arabic
    assert "متوقفة مؤقتًا" in arabic
    assert 'id="eta-row" hidden' in arabic  # no counter serves it: no honest estimate
    english = _page(client, ticket["token"], "?lang=en").text
    assert "Civil registry system has been down since 9:45\u202fAM." in english
    assert "Paused: a system it needs is down" in english


def test_called_ticket_gets_no_paused_notice(
    client, make_branch, make_backend, take_ticket, make_token
):
    backend = make_backend()
    make_branch(backends=[backend])
    ticket = take_ticket()
    client.post("/api/v1/branches/cairo-civil/counters/1/call-next", headers=make_token("staff"))
    backend.state = BackendState.DOWN
    db.session.commit()
    html = _page(client, ticket["token"], "?lang=en").text
    assert "Please go to counter" in html
    assert 'id="notice" role="status" hidden' in html  # they are at the counter already


def test_degraded_service_says_it_goes_on_by_hand(
    client, make_branch, make_backend, take_ticket, clock
):
    backend = make_backend()
    branch = make_branch(backends=[backend])
    branch.services[0].manual_fallback_percent = 30
    db.session.commit()
    ticket = take_ticket()
    backend.state = BackendState.DOWN
    db.session.commit()
    html = _page(client, ticket["token"], "?lang=en").text
    assert "Civil registry system is down." in html
    assert "The service goes on by hand" in html


def test_closed_office_says_when_it_opens(client, make_branch, take_ticket, clock):
    make_branch()
    ticket = take_ticket()
    clock.advance(hours=6)  # Tuesday 16:00 in Cairo: closed until Wednesday 08:00
    arabic = _page(client, ticket["token"]).text
    assert "المكتب مغلق الآن. موعد الفتح التالي: الأربعاء ٢٥ نوفمبر الساعة ٨:٠٠ ص." in arabic
    english = _page(client, ticket["token"], "?lang=en").text
    assert "Next opening: Wednesday 25 November at 8:00\u202fAM." in english


def test_called_ticket_sends_its_holder_to_the_counter(
    client, make_branch, take_ticket, make_token
):
    make_branch()
    ticket = take_ticket()
    client.post("/api/v1/branches/cairo-civil/counters/1/call-next", headers=make_token("staff"))
    html = _page(client, ticket["token"], "?lang=en").text
    assert "Please go to counter \u20661\u2069" in html
    assert 'id="ahead-row" hidden' in html
    history = html.split('id="history"')[1]
    assert history.index("Called to counter \u20661\u2069") < history.index(
        "Ticket taken"
    )  # newest first


def test_finished_ticket_shows_no_notice_and_no_cancel(
    client, make_branch, make_backend, take_ticket
):
    backend = make_backend()
    make_branch(backends=[backend])
    ticket = take_ticket()
    assert client.post(f"/api/v1/tickets/{ticket['token']}/cancel").status_code == 200
    backend.state = BackendState.DOWN
    db.session.commit()
    html = _page(client, ticket["token"]).text
    assert "ملغاة" in html
    assert 'id="notice" role="status" hidden' in html
    assert page_blob(html)["status"] == "cancelled"


def test_page_hands_its_script_the_api_and_the_words(client, make_branch, take_ticket):
    make_branch()
    ticket = take_ticket()
    html = _page(client, ticket["token"]).text
    blob = page_blob(html)
    assert blob["api"] == f"/api/v1/tickets/{ticket['token']}"
    assert blob["cancel"] == f"/api/v1/tickets/{ticket['token']}/cancel"
    assert blob["locale"] == "ar"
    assert blob["digits"] == "arab"
    assert blob["timezone"] == "Africa/Cairo"
    assert blob["strings"]["status"]["waiting"] == "في الانتظار"
    assert blob["strings"]["minutes"] == {
        "zero": "%(num)s دقيقة",
        "one": "دقيقة واحدة",
        "two": "دقيقتان",
        "few": "%(num)s دقائق",
        "many": "%(num)s دقيقة",
        "other": "%(num)s دقيقة",
    }
    assert 10 >= blob["poll_seconds"] > 0
    for script in ("pages.js", "ticket.js"):
        assert f"/static/{script}" in html
        with client.get(f"/static/{script}") as served:  # a file response: close it
            assert served.status_code == 200
    # The QR image sits on the page, relative to wherever the page is served.
    assert f'src="/t/{ticket["token"]}/qr.png"' in html
    # The token is the key to the ticket: the page keeps it from other sites.
    assert '<meta name="referrer" content="no-referrer">' in html


def test_a_slot_is_shown_in_the_branch_time(client, make_branch, take_ticket, clock):
    make_branch()
    ticket = take_ticket()
    # Appointments arrive with the booking work; the page already shows a ticket's slot.
    stored = db.session.scalar(select(Ticket).where(Ticket.token == ticket["token"]))
    stored.slot_start = clock.now() + timedelta(days=1, hours=1)  # Wednesday 11:00 in Cairo
    stored.slot_end = stored.slot_start + timedelta(minutes=30)
    db.session.commit()
    arabic = _page(client, ticket["token"]).text
    assert '<dd id="slot">الأربعاء ٢٥ نوفمبر، من ١١:٠٠ ص إلى ١١:٣٠ ص</dd>' in arabic
    english = _page(client, ticket["token"], "?lang=en").text
    assert "Wednesday 25 November, 11:00\u202fAM – 11:30\u202fAM" in english


# --- a booked time: the citizen's choices ---------------------------------------------------


def _book(client, start: str = "2026-11-25T11:00:00+02:00", **body) -> dict:
    response = client.post(
        "/api/v1/branches/cairo-civil/appointments",
        json={"service": "id-card", "start": start, "phone": "01012345678", **body},
    )
    assert response.status_code == 201, response.json
    return response.json


def test_a_booked_time_offers_confirm_another_time_and_cancel(client, make_branch):
    make_branch()
    ticket = _book(client)
    html = _page(client, ticket["token"]).text
    assert "محجوزة لموعد" in html
    assert '<dd id="slot">الأربعاء ٢٥ نوفمبر، من ١١:٠٠ ص إلى ١١:٣٠ ص</dd>' in html
    choices = html.split('id="choices"')[1].split("</section>")[0]
    assert "هل ستحضر في هذا الموعد؟" in choices
    assert 'id="confirm" data-test="confirm">نعم، سأحضر</button>' in choices
    assert 'id="next-slot" data-test="next-slot">موعد آخر</button>' in choices
    assert 'id="time-confirmed" hidden' in choices
    # Cancelling an appointment says what is lost: the time, not a place in the line.
    assert "هل تريد إلغاء الموعد \u2066A-001\u2069؟ سيُمنح موعدك لشخص آخر" in html
    assert "تم حجز الموعد" in html  # the history's first line
    blob = page_blob(html)
    token = ticket["token"]
    assert blob["confirm"] == f"/api/v1/tickets/{token}/confirm"
    assert blob["next_slot"] == f"/api/v1/tickets/{token}/next-slot"
    assert blob["time_set"] == ["booked", "moved", "rescheduled", "offer_accepted"]
    words = blob["strings"]
    assert words["moved_to"] == "موعدك الجديد: %(slot)s"
    assert set(words["cancel_question"]) == {"waiting", "scheduled"}
    english = _page(client, token, "?lang=en").text
    assert "Will you come at this time?" in english
    assert "Wednesday 25 November, 11:00\u202fAM – 11:30\u202fAM" in english


def test_a_confirmed_time_says_so_until_it_moves(client, make_branch):
    make_branch()
    token = _book(client)["token"]
    assert client.post(f"/api/v1/tickets/{token}/confirm").status_code == 200
    html = _page(client, token, "?lang=en").text
    assert '<p class="confirmed" id="time-confirmed">You have confirmed this time.</p>' in html
    assert 'data-test="confirm" hidden' in html
    assert "Time confirmed" in html  # in the history
    moved = client.post(f"/api/v1/tickets/{token}/next-slot")
    assert moved.status_code == 200
    html = _page(client, token, "?lang=en").text
    assert 'id="time-confirmed" hidden' in html  # a new time, not yet confirmed
    assert "Moved to the next free time" in html
    assert "Wednesday 25 November, 11:30\u202fAM – 12:00\u202fPM" in html


def test_a_walk_in_keeps_the_question_of_its_place(client, make_branch, take_ticket):
    make_branch()
    ticket = take_ticket()
    html = _page(client, ticket["token"]).text
    assert "هل تريد إلغاء التذكرة \u2066A-001\u2069؟ ستفقد مكانك في قائمة الانتظار" in html
    assert 'id="choices" data-test="choices" hidden' in html


def test_a_held_ticket_sends_its_holder_back_to_the_counter_when_ready(
    client, make_branch, take_ticket, make_token
):
    make_branch()
    ticket = take_ticket()
    staff = make_token("staff")
    client.post("/api/v1/branches/cairo-civil/counters/1/call-next", headers=staff)
    assert client.post(f"/api/v1/tickets/{ticket['token']}/hold", headers=staff).status_code == 200
    html = _page(client, ticket["token"], "?lang=en").text
    assert '<p class="status status-on_hold" id="status">On hold</p>' in html
    assert "on hold at counter \u20661\u2069. Go back to that counter" in html
    assert 'id="call" hidden' in html
    history = html.split('id="history"')[1]
    assert "Put on hold at counter \u20661\u2069" in history
    assert page_blob(html)["status"] == "on_hold"
    arabic = _page(client, ticket["token"], "?lang=ar").text
    assert "معلقة" in arabic


def test_a_ticket_transferred_to_a_counter_says_which_will_call(
    client, make_branch, take_ticket, make_token
):
    make_branch(services=[("id-card", "A"), ("birth-cert", "B")], counters=2)
    ticket = take_ticket()
    staff = make_token("staff")
    client.post("/api/v1/branches/cairo-civil/counters/1/call-next", headers=staff)
    moved = client.post(
        f"/api/v1/tickets/{ticket['token']}/transfer",
        json={"service": "birth-cert", "counter": "2"},
        headers=staff,
    )
    assert moved.status_code == 200, moved.json
    html = _page(client, ticket["token"], "?lang=en").text
    assert '<p class="service">Service B</p>' in html
    assert "Counter \u20662\u2069 will call you." in html
    history = html.split('id="history"')[1]
    assert "Transferred" in history
    assert "birth-cert" not in history  # a code for staff, not for the citizen
