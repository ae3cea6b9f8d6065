"""The booking page lets the citizen choose WhatsApp or SMS where the branch offers both
(WhatsApp first when the branch puts it first), Arabic first; a choice the branch lacks is
explained and books nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from queue_app.models import Message, Ticket
from queue_app.web.extensions import db

PAGE = "/book/cairo-civil"
AT_11 = "2026-11-24T09:00Z"  # the fixture's clock is 10:00 in Cairo that Tuesday


def _form(html: str) -> str:
    return re.search(r"<form.*?</form>", html, re.S).group(0)


def _post(client, query: str = "", **form):
    data = {"service": "id-card", "start": AT_11, "phone": "01012345678", "locale": "ar", **form}
    return client.post(PAGE + query, data=data)


def _counts() -> tuple[int, int]:
    db.session.expire_all()
    return (
        db.session.scalar(select(func.count()).select_from(Ticket)),
        db.session.scalar(select(func.count()).select_from(Message)),
    )


def test_whatsapp_first_and_chosen_where_the_branch_offers_it(client, make_branch):
    make_branch(channels="whatsapp,sms")
    form = _form(client.get(f"{PAGE}?service=id-card&start={AT_11}").text)
    assert "أرسل رسائلي عبر" in form
    whatsapp, sms = form.index('value="whatsapp"'), form.index('value="sms"')
    assert whatsapp < sms
    assert re.search(r'value="whatsapp" data-test="channel-whatsapp"\s*checked', form)
    assert "رسالة نصية (SMS)" in form
    english = _form(client.get(f"{PAGE}?service=id-card&start={AT_11}&lang=en").text)
    assert "Send my messages by" in english
    assert "Text message (SMS)" in english


@pytest.mark.parametrize("chosen", ["sms", "whatsapp"])
def test_the_booking_goes_on_the_chosen_channel(client, make_branch, chosen):
    make_branch(channels="whatsapp,sms")
    assert _post(client, channel=chosen).status_code == 303
    db.session.expire_all()
    assert db.session.scalar(select(Ticket.channel)) == chosen
    assert db.session.scalar(select(Message.channel)) == chosen


def test_an_sms_only_branch_offers_no_choice(client, make_branch):
    make_branch()
    form = _form(client.get(f"{PAGE}?service=id-card&start={AT_11}").text)
    assert 'name="channel"' not in form
    assert "في رسالة نصية" in form
    assert _post(client).status_code == 303
    assert db.session.scalar(select(Ticket.channel)) == "sms"


@pytest.mark.parametrize("bad", ["whatsapp", "telegram"])
def test_a_channel_the_branch_lacks_is_explained_and_books_nothing(client, make_branch, bad):
    make_branch()
    response = _post(client, query="?lang=en", channel=bad)
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert "Choose how we should send your messages: WhatsApp or text message." in response.text
    assert _counts() == (0, 0)
