"""Joining the line from a phone, /join/<branch>, through the test client: the whole flow with
the real texts in the outbox (the code read back from the message), every refusal of a code,
one ticket per number and service, the limits per number and per address, the poster's QR
read back by an independent decoder, and bad input answered by a readable page that changes
nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from queue_app import daily_cap, privacy
from queue_app.message_lanes import Lane, lane_of
from queue_app.models import Branch, Message, PhoneCode, Ticket, TicketStatus
from queue_app.web.extensions import db
from tests.helpers.qr_reading import decode, raster

PAGE = "/join/cairo-civil"
PHONE = "01012345678"
E164 = "+201012345678"
TECHNICAL = ("Traceback", "Exception", "None", "undefined")


def _joinable(branch: Branch, **values: object) -> Branch:
    branch.join_from_phone = True
    for name, value in values.items():
        setattr(branch, name, value)
    db.session.commit()
    return branch


@pytest.fixture
def branch(make_branch):
    return _joinable(make_branch(services=[("id-card", "A"), ("birth-cert", "B")]))


def _state() -> tuple:
    """What a refused request must leave as it was (a wrong code's try aside)."""
    db.session.expire_all()
    return (
        db.session.scalar(select(func.count()).select_from(Ticket)),
        db.session.scalar(select(func.count()).select_from(Message)),
        tuple(db.session.execute(select(PhoneCode.code_hash, PhoneCode.used_at)).all()),
    )


def _ask(client, phone: str = PHONE, service: str = "id-card", **form):
    data = {"service": service, "phone": phone, "locale": "ar", **form}
    return client.post(PAGE, data=data)


def _take(client, code: str, phone: str = PHONE, service: str = "id-card", **form):
    data = {"service": service, "phone": phone, "locale": "ar", "code": code, **form}
    return client.post(PAGE + "/ticket", data=data)


def _last_code(phone: str = E164) -> Message:
    db.session.expire_all()
    return db.session.scalars(
        select(Message)
        .where(Message.to == phone, Message.event.like("code:%"))
        .order_by(Message.id.desc())
    ).first()


def _code_in(message: Message) -> str:
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def _readable(response, status: int) -> str:
    assert response.status_code == status
    html = response.text
    assert 'dir="rtl"' in html
    for word in TECHNICAL:
        assert word not in html.split("<main>")[1].split("</main>")[0]
    return html


# --- the whole flow ------------------------------------------------------------------------


def test_join_from_a_phone_with_the_code_from_the_outbox(client, branch):
    page = client.get(PAGE)
    html = _readable(page, 200)
    assert "خذ تذكرتك من هاتفك" in html
    assert 'value="id-card"' in html
    assert 'value="birth-cert"' in html

    asked = _ask(client)
    html = _readable(asked, 200)
    assert 'data-test="step-code"' in html
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
    message = _last_code()
    assert message.lane == Lane.NOW
    assert message.channel == "sms"
    assert message.ticket_id is None
    assert message.body.startswith("رمز التحقق: ")
    assert "لا تعطه لأحد" in message.body
    code = _code_in(message)
    # Only its keyed hash is stored.
    stored = db.session.scalar(select(PhoneCode))
    assert code not in stored.code_hash
    assert stored.phone == E164

    taken = _take(client, code)
    assert taken.status_code == 303
    ticket = db.session.scalar(select(Ticket))
    assert taken.headers["Location"].endswith(f"/t/{ticket.token}?lang=ar")
    assert ticket.status == TicketStatus.WAITING
    assert (ticket.phone, ticket.channel, ticket.number) == (E164, "sms", "A-001")
    issued = db.session.scalars(select(Message).where(Message.ticket_id == ticket.id)).one()
    assert issued.event == "issued"
    assert f"http://queue.test/t/{ticket.token}" in issued.body
    assert client.get(taken.headers["Location"]).status_code == 200


def test_the_code_and_the_ticket_go_by_the_chosen_channel(client, make_branch):
    _joinable(make_branch(channels="whatsapp,sms"))
    html = client.get(PAGE).text
    assert html.index('value="whatsapp"') < html.index('value="sms"')
    _ask(client, channel="whatsapp")
    message = _last_code()
    assert message.channel == "whatsapp"
    assert _take(client, _code_in(message), channel="whatsapp").status_code == 303
    db.session.expire_all()
    assert db.session.scalar(select(Ticket.channel)) == "whatsapp"


def test_english_beside_arabic(client, branch):
    html = client.get(PAGE + "?lang=en").text
    assert "Take a ticket from your phone" in html
    _ask(client, locale="en")
    assert _last_code().body.startswith("Your code: ")


def test_the_language_switch_after_a_post_opens_the_join_page(client, branch):
    html = _ask(client).text
    assert 'href="/join/cairo-civil?lang=en"' in html
    assert client.get("/join/cairo-civil?lang=en").status_code == 200


def test_the_code_accepts_arabic_indic_digits(client, branch):
    _ask(client)
    arabic = _code_in(_last_code()).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert _take(client, arabic).status_code == 303


# --- refused codes ---------------------------------------------------------------------------


def test_a_wrong_code_issues_nothing_and_counts_a_try(client, branch):
    _ask(client)
    code = _code_in(_last_code())
    wrong = "000000" if code != "000000" else "111111"
    before = _state()
    html = _readable(_take(client, wrong), 422)
    assert "هذا ليس الرمز الذي أرسلناه" in html
    assert 'data-test="step-code"' in html
    assert _state() == before
    assert db.session.scalar(select(PhoneCode.tries)) == 1


def test_five_wrong_tries_and_even_the_right_code_is_refused(client, branch):
    _ask(client)
    code = _code_in(_last_code())
    wrong = "000000" if code != "000000" else "111111"
    answers = [_take(client, wrong).status_code for _ in range(5)]
    assert answers == [422, 422, 422, 422, 429]
    html = _readable(_take(client, code), 429)
    assert "رموز خاطئة كثيرة" in html
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
    # A new code starts afresh.
    _ask(client)
    assert _take(client, _code_in(_last_code())).status_code == 303


def test_an_expired_code(client, branch, clock):
    _ask(client)
    code = _code_in(_last_code())
    clock.advance(minutes=10)
    before = _state()
    html = _readable(_take(client, code), 409)
    assert "انتهت صلاحية هذا الرمز" in html
    assert _state() == before


def test_a_used_code_is_not_taken_twice(client, branch):
    _ask(client)
    code = _code_in(_last_code())
    token = _take(client, code).headers["Location"].split("/t/")[1].split("?")[0]
    assert client.post(f"/api/v1/tickets/{token}/cancel").status_code == 200
    before = _state()
    html = _readable(_take(client, code), 409)
    assert "استُخدم هذا الرمز من قبل" in html
    assert _state() == before


def test_a_new_code_replaces_the_old_one(client, branch, clock):
    _ask(client)
    first = _code_in(_last_code())
    clock.advance(minutes=1)
    _ask(client)
    second = _code_in(_last_code())
    assert db.session.scalar(select(func.count()).select_from(PhoneCode)) == 1
    if first != second:
        assert _take(client, first).status_code == 422
    assert _take(client, second).status_code == 303


def test_a_code_for_one_number_is_no_use_for_another(client, branch):
    _ask(client)
    code = _code_in(_last_code())
    assert _take(client, code, phone="01112345678").status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


# --- one ticket per number and service -------------------------------------------------------


def test_a_second_ticket_for_the_same_line_shows_the_first(client, branch):
    _ask(client)
    location = _take(client, _code_in(_last_code())).headers["Location"]
    token = location.split("/t/")[1].split("?")[0]
    before = _state()
    html = _readable(_ask(client), 409)
    assert 'data-test="already"' in html
    assert f'href="/t/{token}?lang=ar"' in html
    assert "\u2066A-001\u2069" in html
    assert _state() == before  # no second code sent
    # Another service's line is another matter.
    _ask(client, service="birth-cert")
    assert _take(client, _code_in(_last_code()), service="birth-cert").status_code == 303


# --- limits ----------------------------------------------------------------------------------


def test_three_codes_per_number_in_a_quarter_of_an_hour(client, branch, clock):
    for _ in range(3):
        assert _ask(client).status_code == 200
        clock.advance(minutes=1)
    before = _state()
    html = _readable(_ask(client), 429)
    assert "أُرسلت إلى هذا الرقم رسائل كثيرة" in html
    assert _state() == before
    clock.advance(minutes=13)
    assert _ask(client).status_code == 200


def test_codes_count_against_the_daily_cap(client, branch, clock, app):
    daily_cap.set_cap(db.session.info, 2)
    assert _ask(client).status_code == 200
    assert daily_cap.texted_today(db.session, clock.now(), E164, "Africa/Cairo") == 1
    clock.advance(minutes=1)
    assert _ask(client).status_code == 200
    clock.advance(minutes=1)
    before = _state()
    assert _ask(client).status_code == 429
    assert _state() == before


def test_too_many_requests_from_one_address(client, branch):
    answers = [_ask(client, phone="123").status_code for _ in range(5)]
    assert set(answers) == {422}
    before = _state()
    html = _readable(_ask(client), 429)
    assert "طلبات كثيرة جدًا من هذا الاتصال" in html
    assert f'value="{PHONE}"' in html
    assert _state() == before


# --- bad input -------------------------------------------------------------------------------


def test_a_branch_that_does_not_take_tickets_by_phone(client, make_branch):
    make_branch()
    for response in (client.get(PAGE), _ask(client), _take(client, "123456")):
        html = _readable(response, 404)
        assert "لا يعطي هذا المكتب تذاكر من الهاتف" in html
    assert client.get(PAGE + "/poster").status_code == 404
    assert _state() == (0, 0, ())


def test_an_unknown_branch(client, branch):
    assert client.get("/join/nowhere").status_code == 404
    assert client.post("/join/nowhere", data={"phone": PHONE}).status_code == 404


@pytest.mark.parametrize(
    ("form", "status", "said"),
    [
        ({"service": "passport"}, 404, "لا يقدّم هذا المكتب هذه الخدمة"),
        ({"phone": "123"}, 422, "هذا ليس رقم هاتف محمول"),
        ({"phone": ""}, 422, "هذا ليس رقم هاتف محمول"),
        ({"channel": "whatsapp"}, 422, "اختر كيف نرسل إليك رسائلنا"),
    ],
)
def test_bad_input_is_said_and_changes_nothing(client, branch, form, status, said):
    before = _state()
    html = _readable(_ask(client, **form), status)
    assert said in html
    assert 'data-test="join-form"' in html
    assert _state() == before


def test_a_closed_service_is_explained_and_refused(client, branch, clock):
    clock.advance(hours=9)  # 19:00 in Cairo: closed
    html = _readable(client.get(PAGE), 200)
    assert 'data-test="closed-id-card"' in html
    assert 'value="id-card"' not in html
    before = _state()
    html = _readable(_ask(client), 409)
    assert "لا تأخذ هذه الخدمة تذاكر الآن" in html
    assert _state() == before


# --- the poster ------------------------------------------------------------------------------


def test_the_posters_qr_opens_the_join_page(client, branch):
    html = client.get(PAGE + "/poster").text
    assert "خذ تذكرتك من هاتفك" in html
    assert "Take your ticket from your phone" in html
    assert "http://queue.test/join/cairo-civil" in html
    src = re.search(r'<img class="qr" src="([^"]+)"', html).group(1)
    svg = client.get(src)
    assert svg.mimetype == "image/svg+xml"
    assert decode(raster(svg.data)) == ["http://queue.test/join/cairo-civil"]


def test_the_console_links_to_the_poster(signed_in, branch):
    manager = signed_in("manager", branches=["cairo-civil"])
    html = manager.get("/manage/cairo-civil").text
    assert 'href="/join/cairo-civil/poster"' in html


def test_no_poster_link_where_phones_cannot_join(signed_in, make_branch):
    make_branch()
    manager = signed_in("manager", branches=["cairo-civil"])
    assert "/join/cairo-civil/poster" not in manager.get("/manage/cairo-civil").text


def test_a_code_waits_in_the_fastest_lane_and_counts():
    assert lane_of("code:join:cairo-civil:100000") == Lane.NOW
    assert daily_cap.exempt("code:join:cairo-civil:100000") is False
    assert daily_cap.exempt("called") is True


def test_a_code_holds_the_number_no_longer_than_it_can_be_used(client, branch, clock):
    _ask(client)
    _ask(client, phone="01112345678")
    erased = privacy.erase_number(db.session, "+201112345678")
    db.session.commit()
    assert erased.codes == 1
    assert db.session.scalars(select(PhoneCode.phone)).all() == [E164]
    assert privacy.erase_expired(db.session, clock.now(), 90).codes == 0
    clock.advance(minutes=10)
    assert privacy.erase_expired(db.session, clock.now(), 90).codes == 1
    assert db.session.scalar(select(func.count()).select_from(PhoneCode)) == 0


def test_a_number_that_said_stop_is_told_instead_of_waiting_for_a_code(client, branch, clock):
    """Its code would be suppressed: the page says why, and how to get messages again."""
    from queue_app.models import OptOut

    db.session.add(OptOut(phone=E164, at=clock.now()))
    db.session.commit()
    before = _state()
    response = _ask(client, channel="sms")
    assert response.status_code == 409
    assert "START" in response.text
    assert 'name="code"' not in response.text  # no code step: no code is coming
    assert _state() == before
