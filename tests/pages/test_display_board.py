"""The waiting-room board: both languages at once, Arabic first."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from queue_app import moved_tickets, outage_moves, outages
from queue_app.models import BackendState, Ticket, TicketEvent
from queue_app.web.extensions import db
from tests.pages.conftest import page_blob


def test_board_shows_counters_and_services_in_both_languages(
    client, make_branch, take_ticket, make_token
):
    make_branch(counters=2)
    for _ in range(3):
        take_ticket()
    client.post("/api/v1/branches/cairo-civil/counters/2/call-next", headers=make_token("staff"))
    response = client.get("/display/cairo-civil")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="ar" dir="rtl">' in html
    assert "سجل مدني مدينة نصر" in html
    assert "Nasr City civil registry" in html
    assert html.index("الرقم الحالي") < html.index("Now serving")  # Arabic first
    counter_two = html.split('data-counter="2"')[1]
    assert '<p class="now-serving" dir="ltr" data-field="now-serving">A-001</p>' in counter_two
    assert "شباك \u20662\u2069" in counter_two
    assert "Counter \u20662\u2069" in counter_two
    assert "في الانتظار: ٢" in html  # two still waiting, in Arabic-Indic digits...
    assert "Waiting: 2" in html  # ...and in Western digits beside it
    assert "خدمة A" in html
    assert "Service A" in html


def test_board_keeps_arabic_first_whatever_the_cookie(client, make_branch):
    make_branch()
    html = client.get("/display/cairo-civil?lang=en").text
    assert '<html lang="ar" dir="rtl">' in html
    assert html.index("الرقم الحالي") < html.index("Now serving")


def test_board_says_which_system_is_down_and_since_when(client, make_branch, make_backend, clock):
    backend = make_backend()
    make_branch(backends=[backend])
    backend.state = BackendState.DOWN
    backend.state_since = clock.now() - timedelta(minutes=30)  # 09:30 in Cairo
    db.session.commit()
    html = client.get("/display/cairo-civil").text
    assert 'class="service state-paused"' in html
    assert "يوجد عطل في منظومة الأحوال المدنية منذ ٩:٣٠ ص." in html
    assert "Civil registry system has been down since 9:30\u202fAM." in html


def test_board_script_polls_the_branch_in_both_languages(client, make_branch):
    make_branch()
    blob = page_blob(client.get("/display/cairo-civil").text)
    assert blob["api"] == "/api/v1/branches/cairo-civil"
    assert blob["locales"] == ["ar", "en"]
    assert blob["poll_seconds"] <= 5
    assert blob["ar"]["strings"]["now_serving"] == "الرقم الحالي"
    assert blob["en"]["strings"]["now_serving"] == "Now serving"
    assert blob["ar"]["digits"] == "arab"
    assert blob["en"]["digits"] == "latn"


@pytest.mark.parametrize("path", ["/display/nowhere", "/display/"])
def test_unknown_branch_is_a_404_page(client, make_branch, path):
    make_branch()
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "غير موجود" in response.text


@pytest.fixture
def moved_by_an_outage(client, make_branch, make_backend, take_ticket, clock):
    """Two walk-ins, the first with a mobile number and the second without, moved by an
    outage expected to last past closing: both to Wednesday 08:00 (Cairo), at once."""
    backend = make_backend()
    make_branch(backends=[backend])
    with_phone = take_ticket(phone="01012345678")
    without = take_ticket()
    outages.declare(db.session, clock, backend.code, expected_minutes=6 * 60)
    assert outage_moves.run_timers(db.session, clock).moved == 2
    return with_phone, without


def test_board_lists_the_new_time_of_a_moved_ticket_without_a_phone(client, moved_by_an_outage):
    with_phone, without = moved_by_an_outage
    assert (with_phone["number"], without["number"]) == ("A-001", "A-002")
    html = client.get("/display/cairo-civil").text
    section = re.search(r'<section class="moved".*?</section>', html, re.S).group(0)
    assert " hidden" not in section.split(">")[0]
    assert 'aria-labelledby="moved-title"' in section
    assert section.index("مواعيد جديدة") < section.index("New times for tickets moved today")
    assert '<th scope="col">' in section
    rows = re.findall(r'<tr data-moved="([^"]+)">(.*?)</tr>', section, re.S)
    assert [number for number, _ in rows] == ["A-002"]  # the one nobody could text
    [(_, row)] = rows
    assert '<th scope="row" class="moved-number" dir="ltr">A-002</th>' in row
    assert "خدمة A" in row
    assert "Service A" in row
    assert "الأربعاء ٢٥ نوفمبر" in row
    assert "٨:٠٠" in row
    assert "Wednesday 25 November at 8:00\u202fAM" in row
    assert row.index("الأربعاء") < row.index("Wednesday")
    assert with_phone["token"] not in html
    assert without["token"] not in html


def test_the_boards_script_gets_the_same_list(client, moved_by_an_outage):
    blob = page_blob(client.get("/display/cairo-civil").text)
    assert blob["moved_api"] == "/display/cairo-civil/moved"
    assert blob["moved_poll_seconds"] >= blob["poll_seconds"]
    response = client.get(blob["moved_api"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    [row] = response.json["moved"]
    assert set(row) == {"number", "service", "when"}  # nothing more about the citizen
    assert row["number"] == "A-002"
    assert row["service"] == {"ar": "خدمة A", "en": "Service A"}
    assert row["when"]["en"] == "Wednesday 25 November at 8:00\u202fAM"
    assert row["when"]["ar"].startswith("الأربعاء ٢٥ نوفمبر")


def test_the_list_is_of_today_and_of_tickets_still_holding_their_new_time(
    client, moved_by_an_outage, clock, make_token
):
    _, without = moved_by_an_outage
    moved = "/display/cairo-civil/moved"
    cancelled = client.post(f"/api/v1/tickets/{without['token']}/cancel")
    assert cancelled.status_code == 200, cancelled.json
    assert client.get(moved).json["moved"] == []
    html = client.get("/display/cairo-civil").text
    assert '<section class="moved" id="moved"' in html
    assert re.search(r'<section class="moved"[^>]*\bhidden\b', html)  # nothing to show


def test_a_move_of_yesterday_is_not_listed(client, moved_by_an_outage, clock):
    clock.advance(hours=14)  # Wednesday 00:00 in Cairo: a new day at the branch
    assert client.get("/display/cairo-civil/moved").json["moved"] == []


def test_the_latest_moves_come_first_and_the_list_is_bounded(
    client, moved_by_an_outage, clock, make_token
):
    # A booking without a number (made at the kiosk), moved ten minutes after the outage's
    # move: the event the rescheduler writes, written here directly.
    clock.advance(minutes=10)
    booked = client.post(
        "/api/v1/branches/cairo-civil/appointments",
        json={"service": "id-card", "start": "2026-11-26T10:00:00+02:00"},
        headers=make_token("kiosk"),
    )
    assert booked.status_code == 201, booked.json
    ticket = db.session.scalars(select(Ticket).where(Ticket.token == booked.json["token"])).one()
    db.session.add(TicketEvent(ticket_id=ticket.id, at=clock.now(), event="rescheduled"))
    db.session.commit()
    listed = [row["number"] for row in client.get("/display/cairo-civil/moved").json["moved"]]
    assert listed == [booked.json["number"], "A-002"]
    bounded = moved_tickets.moved_today(db.session, "cairo-civil", clock.now(), limit=1)
    assert [row.number for row in bounded] == [booked.json["number"]]
    assert moved_tickets.BOARD_LIMIT == 30


def test_the_moved_list_of_an_unknown_branch_is_a_json_404(client, make_branch):
    make_branch()
    response = client.get("/display/nowhere/moved")
    assert response.status_code == 404
    assert set(response.json) == {"error", "message", "fields"}


# --- the last numbers called ---------------------------------------------------------------

CALL = "/api/v1/branches/cairo-civil/counters/{}/call-next"


def test_the_last_calls_are_listed_newest_first_with_counter_and_time(
    client, make_branch, take_ticket, make_token, clock
):
    make_branch(counters=2)
    first, second = take_ticket(), take_ticket()
    staff = make_token("staff")
    client.post(CALL.format(1), headers=staff)
    clock.advance(minutes=3)
    client.post(CALL.format(2), headers=staff)
    client.post(f"/api/v1/tickets/{first['token']}/hold", headers=staff)

    answer = client.get("/display/cairo-civil/calls")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    calls = answer.json["calls"]
    assert [(c["number"], c["counter"]) for c in calls] == [("A-002", "2"), ("A-001", "1")]
    assert calls[0]["id"] > calls[1]["id"]
    assert calls[0]["time"]["en"].replace("\u202f", " ") == "10:03 AM"
    assert calls[0]["time"]["ar"].startswith("١٠:٠٣")
    assert calls[1]["note"] == {"ar": "معلقة", "en": "On hold"}  # put aside since its call
    assert calls[0]["note"] == {"ar": "", "en": ""}

    html = client.get("/display/cairo-civil").text
    rows = re.findall(r'<tr data-call="(\d+)" data-number="([A-Z]-\d+)">', html)
    assert [number for _, number in rows] == [second["number"], first["number"]]
    blob = page_blob(html)
    assert blob["last_call_id"] == calls[0]["id"]  # already listed: not announced again
    assert blob["calls_api"] == "/display/cairo-civil/calls"


def test_a_recall_and_a_resumed_ticket_are_calls_too(client, make_branch, take_ticket, make_token):
    make_branch()
    ticket = take_ticket()
    staff = make_token("staff")
    client.post(CALL.format(1), headers=staff)
    client.post(f"/api/v1/tickets/{ticket['token']}/recall", headers=staff)
    client.post(f"/api/v1/tickets/{ticket['token']}/hold", headers=staff)
    client.post(f"/api/v1/tickets/{ticket['token']}/resume", headers=staff)
    calls = client.get("/display/cairo-civil/calls").json["calls"]
    assert [(c["number"], c["counter"]) for c in calls] == [("A-001", "1")] * 3


def test_the_board_has_a_live_region_a_sound_button_and_speech_on_request(client, make_branch):
    make_branch()
    html = client.get("/display/cairo-civil").text
    assert re.search(r'<p [^>]*id="announce"[^>]*aria-live="polite"', html)
    button = html.split('id="sound"')[1].split("</button>")[0]
    assert button.index("تشغيل الصوت") < button.index("Enable sound")
    assert page_blob(html)["speak"] is False
    blob = page_blob(client.get("/display/cairo-civil?speak=1").text)
    assert blob["speak"] is True
    assert blob["spoken_letters"]["A"] == "إيه"
    assert blob["ar"]["strings"]["announce"] == "التذكرة %(number)s، الشباك %(counter)s"
    assert blob["en"]["strings"]["announce"] == "Ticket %(number)s, counter %(counter)s"


def test_calls_of_yesterday_are_not_listed(client, make_branch, take_ticket, make_token, clock):
    make_branch()
    take_ticket()
    client.post(CALL.format(1), headers=make_token("staff"))
    clock.advance(days=1)
    assert client.get("/display/cairo-civil/calls").json["calls"] == []


def test_the_calls_of_an_unknown_branch_are_a_json_404(client, make_branch):
    make_branch()
    response = client.get("/display/nowhere/calls")
    assert response.status_code == 404
    assert set(response.json) == {"error", "message", "fields"}


def test_a_call_whose_citizen_was_texted_is_marked_told_in_words(
    client, make_branch, take_ticket, make_token
):
    """Waiting anywhere: beside a called number, "told by message" (they may be on the way), in
    both languages, as text and not only a sign; not beside one who left no number."""
    branch = make_branch(counters=2)
    branch.turn_near_minutes = 15
    db.session.commit()
    take_ticket(phone="01012345678")
    take_ticket()
    staff = make_token("staff")
    client.post(CALL.format(1), headers=staff)
    client.post(CALL.format(2), headers=staff)

    calls = client.get("/display/cairo-civil/calls").json["calls"]
    told = {c["number"]: c["told"] for c in calls}
    assert told == {
        "A-001": {"ar": "أُبلغ برسالة", "en": "Told by message"},
        "A-002": {"ar": "", "en": ""},
    }
    html = client.get("/display/cairo-civil").text
    rows = dict(re.findall(r'data-number="([A-Z]-\d+)">(.*?)</tr>', html, re.S))
    assert 'data-test="told"' in rows["A-001"]
    assert "Told by message" in rows["A-001"]
    assert "أُبلغ برسالة" in rows["A-001"]
    assert 'aria-hidden="true">✉' in rows["A-001"]
    assert 'data-test="told"' not in rows["A-002"]
