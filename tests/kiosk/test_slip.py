"""The slip, made from a real ticket: the numbers the three renderings share."""

from __future__ import annotations

import dataclasses
from gettext import NullTranslations

import pytest

from kiosk import print_views
from kiosk.slip import LANGUAGES, slip_for
from queue_app import tickets
from queue_app.service_state import ServiceState, ServiceStatus
from queue_app.web.extensions import db

ENGLISH = {language: NullTranslations() for language in LANGUAGES}  # the msgids themselves


@pytest.fixture
def take(client, make_branch, make_token, clock):
    make_branch()

    def take_one(**body):
        response = client.post(
            "/api/v1/branches/cairo-civil/tickets",
            json={"service": "id-card", **body},
            headers=make_token("kiosk"),
        )
        assert response.status_code == 201, response.json
        return tickets.lookup(db.session, clock.now(), response.json["token"]), response.json

    return take_one


def _slip(view, locale="ar"):
    return slip_for(view, "http://queue.test/t/x", locale, catalogs=ENGLISH)


def test_arabic_first_then_english(take):
    view, ticket = take()
    slip = _slip(view)
    assert slip.number == ticket["number"] == "A-001"
    assert slip.status_url == "http://queue.test/t/x"
    assert [t.locale for t in slip.texts] == ["ar", "en"]
    assert [t.direction for t in slip.texts] == ["rtl", "ltr"]
    arabic, english = slip.texts
    assert (arabic.branch, arabic.service) == ("سجل مدني مدينة نصر", "خدمة A")
    assert (english.branch, english.service) == ("Nasr City civil registry", "Service A")
    assert slip.text("en") is english


def test_when_it_was_taken_in_the_branchs_time(take):
    view, _ = take()  # 08:00 UTC is 10:00 in Cairo
    arabic, english = _slip(view).texts
    assert arabic.facts[0].label == english.facts[0].label == "Issued"
    assert english.facts[0].value == "Tuesday 24 November at 10:00\u202fAM"
    assert "١٠:٠٠" in arabic.facts[0].value
    assert "٢٤" in arabic.facts[0].value
    assert not any(c.isascii() and c.isdigit() for c in arabic.facts[0].value)


def test_people_ahead_and_the_wait(take):
    first, _ = take()
    take()
    third, _ = take()
    slip = _slip(third)
    assert (slip.people_ahead, slip.eta_minutes) == (2, 12)
    rows = slip.fact_rows()
    assert [(f.label, f.value) for f in rows[1]] == [
        ("People ahead of you", "٢"),
        ("People ahead of you", "2"),
    ]
    assert [f.value for f in rows[2]] == ["١٢ minutes", "12 minutes"]
    # The first in line is next, and is called any moment now.
    first_slip = _slip(first)
    assert (first_slip.people_ahead, first_slip.eta_minutes) == (0, 0)
    assert [f.value for f in first_slip.fact_rows()[1]] == ["You are next"] * 2
    assert [f.value for f in first_slip.fact_rows()[2]] == ["Any moment now"] * 2


def test_no_wait_is_promised_while_the_service_is_paused(take):
    view, _ = take()
    paused = dataclasses.replace(view, service_status=ServiceStatus(ServiceState.PAUSED))
    slip = _slip(paused)
    assert slip.eta_minutes is None
    assert [f.label for f in slip.text("en").facts] == ["Issued", "People ahead of you"]


def test_priority(take):
    view, _ = take(priority=True)
    slip = _slip(view)
    assert slip.priority
    assert [t.priority for t in slip.texts] == ["Priority ticket"] * 2
    plain, _ = take()
    assert [t.priority for t in _slip(plain).texts] == [None, None]


def test_the_citizens_language_is_kept_for_the_screen(take):
    view, _ = take(locale="en")
    assert _slip(view, view.ticket.locale).locale == "en"
    assert _slip(view, "fr").locale == "ar"


def test_the_web_process_takes_the_words_from_the_catalog(app, take):
    _, ticket = take()
    with app.test_request_context():
        slip = print_views.ticket_slip("cairo-civil", ticket["token"])
        catalogs = print_views.catalogs()
    assert slip.status_url == ticket["status_url"]
    arabic, english = slip.texts
    assert arabic.facts[1].label == catalogs["ar"].gettext("People ahead of you")
    assert arabic.facts[1].label != "People ahead of you"  # translated long ago
    assert english.facts[1].label == "People ahead of you"


def test_an_appointment_not_yet_checked_in_shows_its_time_first(client, take, clock):
    take()  # the branch
    booked = client.post(
        "/api/v1/branches/cairo-civil/appointments",
        json={"service": "id-card", "start": "2026-11-25T11:00:00+02:00", "phone": "01012345678"},
    )
    assert booked.status_code == 201, booked.json
    view = tickets.lookup(db.session, clock.now(), booked.json["token"])
    arabic, english = _slip(view).texts
    assert [f.label for f in english.facts] == ["Your time", "Issued"]
    assert english.facts[0].value == "Wednesday 25 November at 11:00\u202fAM"
    assert "١١:٠٠" in arabic.facts[0].value


def test_a_booking_without_a_number_says_nobody_will_text_and_where_to_look(
    client, take, make_token, clock
):
    take()  # the branch
    booked = client.post(
        "/api/v1/branches/cairo-civil/appointments",
        json={"service": "id-card", "start": "2026-11-25T11:00:00+02:00"},
        headers=make_token("kiosk"),
    )
    assert booked.status_code == 201, booked.json
    view = tickets.lookup(db.session, clock.now(), booked.json["token"])
    arabic, english = _slip(view).texts
    assert english.facts[0].value == "Wednesday 25 November at 11:00\u202fAM"
    assert english.no_phone is not None
    assert "No text message" in english.no_phone
    assert "board" in english.no_phone
    assert arabic.no_phone == english.no_phone  # NullTranslations: the msgid in both


def test_a_ticket_with_a_number_or_in_the_line_has_no_such_words(client, take):
    view, _ = take(phone="01012345678")
    assert all(t.no_phone is None for t in _slip(view).texts)
    view, _ = take()  # no number, but waiting in the line: nothing to miss yet
    assert all(t.no_phone is None for t in _slip(view).texts)
