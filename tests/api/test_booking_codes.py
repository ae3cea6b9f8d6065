"""The API's public booking at a branch with ``booking_code``: a code asked for by
POST /branches/{b}/booking-codes and sent with the booking; without it, or wrong, nothing is
booked; the branch's kiosk books without one; limits per number."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from queue_app.models import Message, Ticket
from queue_app.web.extensions import db

BOOK = "/api/v1/branches/cairo-civil/appointments"
CODES = "/api/v1/branches/cairo-civil/booking-codes"
AT_11 = "2026-11-24T11:00:00+02:00"  # the fixture's clock is 10:00 in Cairo that Tuesday
PHONE = "01012345678"


@pytest.fixture
def branch(make_branch):
    branch = make_branch()
    branch.booking_code = True
    db.session.commit()
    return branch


def _counts() -> tuple[int, int]:
    db.session.expire_all()
    return (
        db.session.scalar(select(func.count()).select_from(Ticket)),
        db.session.scalar(select(func.count()).select_from(Message)),
    )


def _code() -> str:
    db.session.expire_all()
    body = db.session.scalars(
        select(Message.body).where(Message.event.like("code:booking:%")).order_by(Message.id.desc())
    ).first()
    return re.search(r"\b(\d{6})\b", body).group(1)


def _book(client, **extra):
    return client.post(BOOK, json={"service": "id-card", "start": AT_11, "phone": PHONE, **extra})


def test_a_booking_without_the_code_is_refused(client, branch):
    response = _book(client)
    assert response.status_code == 422
    assert response.json["error"] == "code_required"
    assert response.json["fields"]["code"] == ["required"]
    assert _counts() == (0, 0)


def test_the_code_sent_books(client, branch):
    asked = client.post(CODES, json={"service": "id-card", "phone": PHONE, "locale": "en"})
    assert asked.status_code == 202
    assert asked.json == {"sent": True, "valid_minutes": 10}
    assert _counts() == (0, 1)
    wrong = _book(client, code="000000" if _code() != "000000" else "111111")
    assert wrong.status_code == 422
    assert wrong.json["error"] == "code_wrong"
    assert _counts() == (0, 1)
    booked = _book(client, code=_code())
    assert booked.status_code == 201
    assert _counts()[0] == 1
    again = _book(client, code=_code())
    assert again.status_code == 409


def test_the_branchs_kiosk_books_without_a_code(client, branch, make_token):
    response = client.post(
        BOOK,
        json={"service": "id-card", "start": AT_11, "phone": PHONE},
        headers=make_token("kiosk"),
    )
    assert response.status_code == 201


def test_another_branchs_token_still_needs_the_code(client, branch, make_branch, make_token):
    make_branch("giza-traffic")
    response = client.post(
        BOOK,
        json={"service": "id-card", "start": AT_11, "phone": PHONE},
        headers=make_token("kiosk", branch="giza-traffic"),
    )
    assert response.status_code == 422
    assert response.json["error"] == "code_required"


def test_three_codes_per_number_then_429(client, branch, clock):
    for _ in range(3):
        assert client.post(CODES, json={"service": "id-card", "phone": PHONE}).status_code == 202
        clock.advance(minutes=1)
    refused = client.post(CODES, json={"service": "id-card", "phone": PHONE})
    assert refused.status_code == 429
    assert refused.json["error"] == "rate_limited"
    assert _counts() == (0, 3)


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"service": "id-card", "phone": "123"}, 422, "invalid_phone"),
        ({"service": "passport", "phone": PHONE}, 404, "not_found"),
        ({"service": "id-card", "phone": PHONE, "channel": "whatsapp"}, 422, "invalid_input"),
        ({"service": "id-card"}, 422, "invalid_input"),
    ],
)
def test_bad_requests_for_a_code_send_nothing(client, branch, body, status, error):
    response = client.post(CODES, json=body)
    assert response.status_code == status
    assert response.json["error"] == error
    assert _counts() == (0, 0)


def test_without_booking_code_no_code_is_needed(client, make_branch):
    make_branch()
    assert _book(client).status_code == 201


def test_a_code_without_a_number_is_refused(client, branch):
    """A code confirms a number: sent without one, it is an error, not a booking that skips it."""
    response = client.post(BOOK, json={"service": "id-card", "start": AT_11, "code": "123456"})
    assert response.status_code == 422
    assert response.json["error"] == "invalid_phone"
    assert response.json["fields"]["phone"] == ["required"]
    assert _counts() == (0, 0)
