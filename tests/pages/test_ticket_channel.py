"""The ticket page lets the citizen switch between WhatsApp and SMS where the branch offers
both (a plain form, no script needed); messages still waiting go the new way; a bad choice
gets a readable page and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from queue_app.models import Message, Ticket
from queue_app.web.extensions import db


def _take(client, make_token, phone: str | None = "01012345678") -> str:
    body = {"service": "id-card", **({"phone": phone} if phone else {})}
    answer = client.post(
        "/api/v1/branches/cairo-civil/tickets", json=body, headers=make_token("kiosk")
    )
    assert answer.status_code == 201, answer.json
    return answer.json["token"]


def _channels() -> tuple[str, str | None]:
    db.session.expire_all()
    return db.session.scalar(select(Ticket.channel)), db.session.scalar(select(Message.channel))


def test_the_page_offers_the_choice_with_the_current_one_checked(client, make_branch, make_token):
    make_branch(channels="whatsapp,sms")
    token = _take(client, make_token)
    page = client.get(f"/t/{token}").text
    assert "أرسل رسائلي عبر" in page
    assert page.index('value="whatsapp"') < page.index('value="sms"')
    assert 'data-test="channel-whatsapp"\n             checked' in page or (
        'data-test="channel-whatsapp" checked' in page
    )


def test_switching_to_sms_moves_the_waiting_messages_too(client, make_branch, make_token):
    make_branch(channels="whatsapp,sms")
    token = _take(client, make_token)
    assert _channels() == ("whatsapp", "whatsapp")
    answer = client.post(f"/t/{token}/channel", data={"channel": "sms"})
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/t/{token}?lang=ar")
    assert _channels() == ("sms", "sms")
    assert "رسالة نصية (SMS)" in client.get(f"/t/{token}").text


def test_an_sms_only_branch_offers_nothing(client, make_branch, make_token):
    make_branch()
    token = _take(client, make_token)
    assert 'name="channel"' not in client.get(f"/t/{token}").text


@pytest.mark.parametrize(
    ("channels", "phone", "chosen", "status"),
    [
        ("whatsapp,sms", "01012345678", "telegram", 422),
        ("whatsapp,sms", "01012345678", "", 422),
        ("sms", "01012345678", "whatsapp", 422),
        ("whatsapp,sms", None, "sms", 422),  # no number to send to
    ],
)
def test_a_bad_choice_is_explained_and_changes_nothing(
    client, make_branch, make_token, channels, phone, chosen, status
):
    make_branch(channels=channels)
    token = _take(client, make_token, phone=phone)
    before = _channels()
    answer = client.post(f"/t/{token}/channel", data={"channel": chosen})
    assert answer.status_code == status
    assert answer.mimetype == "text/html"
    assert "Traceback" not in answer.text
    assert _channels() == before


def test_a_finished_or_unknown_ticket(client, make_branch, make_token):
    make_branch(channels="whatsapp,sms")
    token = _take(client, make_token)
    assert client.post(f"/api/v1/tickets/{token}/cancel").status_code == 200
    assert client.post(f"/t/{token}/channel", data={"channel": "sms"}).status_code == 409
    assert _channels()[0] == "whatsapp"
    assert client.post("/t/no-such-token/channel", data={"channel": "sms"}).status_code == 404
