"""WhatsApp replies through the same webhook as SMS: ``From: whatsapp:+…``, by text or by a
template's button (``ButtonPayload``), applied as SMS replies are and answered on WhatsApp (free
text: the reply opened the window), sent with the real ``twilio`` client to the stand-in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from queue_app import outbox
from queue_app.models import InboundSms, Message, MessageStatus, Ticket, TicketStatus
from queue_app.settings import Settings
from queue_app.web.extensions import db
from queue_app.worker.sending import Pace, SmsSender
from sms.gateways import TwilioGateway
from sms.signatures import SIGNATURE_HEADER, sign
from tests.sms.conftest import ACCOUNT_SID, SENDER
from tests.sms.conftest import AUTH_TOKEN as TWILIO_TOKEN
from tests.sms.twilio_server import FakeTwilio

AUTH_TOKEN = TWILIO_TOKEN
PUBLIC_URL = "https://queue.example.gov.eg"
CITIZEN = "+201012345678"
WHATSAPP_SENDER = "+14155238886"

_sids = iter(range(10**6))


@pytest.fixture
def settings(tmp_path: Path) -> Callable[[str], Settings]:
    def make(database_url: str) -> Settings:
        return Settings(
            database_url=database_url,
            secret_key="test-secret",
            public_url=PUBLIC_URL,
            sms_gateway="twilio",
            twilio_auth_token=AUTH_TOKEN,
            instance_path=tmp_path / "instance",
        )

    return make


@pytest.fixture
def ticket(client, make_branch, make_token) -> dict:
    make_branch(channels="whatsapp,sms")
    response = client.post(
        "/api/v1/branches/cairo-civil/tickets",
        json={"service": "id-card", "phone": "01012345678"},
        headers=make_token("kiosk"),
    )
    assert response.status_code == 201
    assert response.json["channel"] == "whatsapp"
    return response.json


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    server = FakeTwilio(ACCOUNT_SID, TWILIO_TOKEN).start()
    yield server
    server.stop()


def _post(client, path: str, form: dict[str, str]):
    signature = sign(AUTH_TOKEN, f"{PUBLIC_URL}{path}", form)
    return client.post(path, data=form, headers={SIGNATURE_HEADER: signature})


def whatsapp_reply(client, *, body: str = "", button: str | None = None, sender: str = CITIZEN):
    form = {
        "MessageSid": f"SM{next(_sids):032d}",
        "From": f"whatsapp:{sender}",
        "To": f"whatsapp:{WHATSAPP_SENDER}",
        "Body": body,
    }
    if button is not None:
        form |= {"ButtonPayload": button, "ButtonText": body}
    return _post(client, "/sms/twilio/inbound", form)


def _status(token: str) -> TicketStatus:
    db.session.expire_all()
    return db.session.scalar(select(Ticket.status).where(Ticket.token == token))


def _answers() -> list[Message]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(Message).where(Message.event != "issued").order_by(Message.id))
    )


@pytest.mark.parametrize(
    ("body", "button"),
    [("إلغاء", "0"), ("Cancel", "0"), ("٠", None), ("cancel", None)],
    ids=["button-ar", "button-en", "text-digit", "text-word"],
)
def test_a_whatsapp_cancel_by_button_or_text(client, ticket, body, button):
    response = whatsapp_reply(client, body=body, button=button)
    assert response.status_code == 200
    assert _status(ticket["token"]) == TicketStatus.CANCELLED
    (answer,) = _answers()
    assert (answer.to, answer.channel) == (CITIZEN, "whatsapp")
    inbound = db.session.scalar(select(InboundSms))
    assert (inbound.phone, inbound.channel) == (CITIZEN, "whatsapp")


def test_the_button_payload_counts_not_its_label(client, ticket):
    # The label is words the parser does not know; the payload is the digit.
    whatsapp_reply(client, body="موعد آخر من فضلك", button="1")
    history = client.get(f"/api/v1/tickets/{ticket['token']}").json["history"]
    assert [e["event"] for e in history] == ["issued", "confirmed"]


def test_an_sms_reply_is_answered_by_sms(client, ticket):
    _post(
        client,
        "/sms/twilio/inbound",
        {"MessageSid": "SM" + "7" * 32, "From": CITIZEN, "Body": "0"},
    )
    (answer,) = _answers()
    assert answer.channel == "sms"
    assert db.session.scalar(select(InboundSms.channel)) == "sms"


@pytest.mark.parametrize("sender", ["whatsapp:", "whatsapp:2010123", "whatsapp:+20abc"])
def test_a_whatsapp_sender_that_is_no_number_is_refused(client, ticket, sender):
    form = {"MessageSid": "SM" + "8" * 32, "From": sender, "Body": "0"}
    response = _post(client, "/sms/twilio/inbound", form)
    assert response.status_code == 422
    assert response.json["fields"] == {"From": ["not an E.164 number"]}
    assert _status(ticket["token"]) == TicketStatus.WAITING
    assert db.session.scalar(select(func.count()).select_from(InboundSms)) == 0


def test_the_answer_goes_as_whatsapp_free_text(client, ticket, clock, twilio):
    whatsapp_reply(client, body="0")
    gateway = TwilioGateway(
        account_sid=ACCOUNT_SID,
        auth_token=TWILIO_TOKEN,
        from_=SENDER,
        whatsapp_from=WHATSAPP_SENDER,
        api_base=twilio.url,
        timeout=2.0,
    )
    sessions: sessionmaker[Session] = sessionmaker(bind=db.engine, expire_on_commit=False)
    sender = SmsSender(
        sessions,
        clock,
        gateway,
        rate=1000.0,
        name="test-worker",
        pace=Pace(1000.0, sleep=lambda s: None, monotonic=lambda: 0.0),
    )
    try:
        # No templates are configured: free text is possible only because the citizen wrote.
        assert sender.run_once().sent == 2
    finally:
        gateway.close()
    posts = [e for e in twilio.exchanges if e.method == "POST"]
    assert {e.field("To") for e in posts} == {f"whatsapp:{CITIZEN}"}
    assert {e.field("ContentSid") for e in posts} == {None}
    assert any("تم إلغاء حجزك" in (e.field("Body") or "") for e in posts)


def test_a_whatsapp_failure_reported_later_falls_back_to_sms(client, ticket, clock):
    (claimed,) = outbox.claim(db.session, clock.now(), "w", 1)
    assert claimed.channel == "whatsapp"
    outbox.record_sent(db.session, clock.now(), claimed, "w", "SM" + "5" * 32)
    form = {"MessageSid": "SM" + "5" * 32, "MessageStatus": "failed", "ErrorCode": "63003"}
    assert _post(client, "/sms/twilio/status", form).status_code == 204
    assert _post(client, "/sms/twilio/status", form).status_code == 204  # Twilio's retry
    db.session.expire_all()
    message = db.session.get(Message, claimed.id)
    assert (message.channel, message.status, message.fallback_reason) == (
        "sms",
        MessageStatus.QUEUED,
        "63003",
    )
    (again,) = outbox.claim(db.session, clock.now(), "w", 5)
    assert (again.id, again.channel) == (claimed.id, "sms")
