"""The public booking page confirms the number with a one-time code where the branch says
``booking_code``: the code from the outbox books, a wrong or expired one books nothing, and a
branch without the key books at once as before."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from queue_app.models import Message, PhoneCode, SlotBooking, Ticket, TicketStatus
from queue_app.web.extensions import db

PAGE = "/book/cairo-civil"
AT_11 = "2026-11-24T09:00Z"  # the fixture's clock is 10:00 in Cairo that Tuesday
E164 = "+201012345678"


@pytest.fixture
def branch(make_branch):
    branch = make_branch()
    branch.booking_code = True
    db.session.commit()
    return branch


def _post(client, **form):
    data = {"service": "id-card", "start": AT_11, "phone": "01012345678", "locale": "ar", **form}
    return client.post(PAGE, data=data)


def _state() -> tuple:
    db.session.expire_all()
    return (
        db.session.scalar(select(func.count()).select_from(Ticket)),
        db.session.scalar(select(func.count()).select_from(Message)),
        tuple(db.session.execute(select(SlotBooking.starts_at, SlotBooking.booked)).all()),
    )


def _code() -> str:
    db.session.expire_all()
    message = db.session.scalars(
        select(Message).where(Message.event.like("code:%")).order_by(Message.id.desc())
    ).first()
    assert message.to == E164
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def test_without_booking_code_the_form_books_at_once(client, make_branch):
    make_branch()
    assert _post(client).status_code == 303
    db.session.expire_all()
    assert db.session.scalar(select(Ticket.status)) == TicketStatus.SCHEDULED
    assert db.session.scalar(select(func.count()).select_from(PhoneCode)) == 0
    assert "نرسل أولًا رمزًا" not in client.get(f"{PAGE}?service=id-card&start={AT_11}").text


def test_the_phone_step_says_a_code_comes_first(client, branch):
    html = client.get(f"{PAGE}?service=id-card&start={AT_11}").text
    assert "نرسل أولًا رمزًا إلى هذا الرقم لتأكيده." in html
    assert "أرسل لي رمزًا" in html


def test_with_booking_code_the_code_from_the_outbox_books(client, branch):
    asked = _post(client)
    assert asked.status_code == 200
    html = asked.text
    assert 'data-test="step-code"' in html
    assert "اكتب الرمز الذي أرسلناه" in html
    assert f'name="start" value="{AT_11}"' in html
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
    booked = _post(client, code=_code())
    assert booked.status_code == 303
    assert "/book/cairo-civil/booked/" in booked.headers["Location"]
    db.session.expire_all()
    ticket = db.session.scalar(select(Ticket))
    assert (ticket.status, ticket.phone) == (TicketStatus.SCHEDULED, E164)
    assert db.session.scalar(select(PhoneCode.used_at)) is not None


def test_a_wrong_code_books_nothing(client, branch):
    _post(client)
    code = _code()
    before = _state()
    response = _post(client, code="000000" if code != "000000" else "111111")
    assert response.status_code == 422
    assert "هذا ليس الرمز الذي أرسلناه" in response.text
    assert 'data-test="step-code"' in response.text
    assert _state() == before


def test_an_empty_code_books_nothing(client, branch):
    _post(client)
    before = _state()
    assert _post(client, code="").status_code == 422
    assert _state() == before


def test_an_expired_code_books_nothing(client, branch, clock):
    _post(client)
    code = _code()
    clock.advance(minutes=11)
    before = _state()
    response = _post(client, code=code)
    assert response.status_code == 409
    assert "انتهت صلاحية هذا الرمز" in response.text
    assert _state() == before


def test_a_full_slot_leaves_the_code_unused(client, branch, make_token):
    _post(client)
    code = _code()
    for phone in ("01112345678", "01212345678"):  # two places a slot (the fixture's branch)
        booked = client.post(
            "/api/v1/branches/cairo-civil/appointments",
            json={"service": "id-card", "start": AT_11, "phone": phone},
            headers=make_token("kiosk"),
        )
        assert booked.status_code == 201
    assert _post(client, code=code).status_code == 409
    db.session.expire_all()
    assert db.session.scalar(select(PhoneCode.used_at)) is None


def test_a_bad_number_gets_no_code(client, branch):
    before = _state()
    response = _post(client, phone="123")
    assert response.status_code == 422
    assert "هذا ليس رقم هاتف محمول" in response.text
    assert _state() == before


def test_a_number_that_said_stop_gets_no_code_step(client, branch, clock):
    from queue_app.models import OptOut

    db.session.add(OptOut(phone="+201012345678", at=clock.now()))
    db.session.commit()
    before = _state()
    response = _post(client)
    assert response.status_code == 409
    assert "START" in response.text
    assert _state() == before


def test_a_code_sent_without_the_number_books_nothing(client, branch):
    """The code confirms a number: the code step posted with the number gone books nothing
    (not a booking without a number that skips the code)."""
    _post(client)
    before = _state()
    response = _post(client, code=_code(), phone="")
    assert response.status_code == 422
    assert _state() == before
