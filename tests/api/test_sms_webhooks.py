"""Twilio's webhooks: citizens' replies and delivery reports, signed as Twilio signs them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from queue_app import outbox
from queue_app.models import InboundSms, Message, MessageStatus, OptOut, Ticket, TicketStatus
from queue_app.settings import Settings
from queue_app.web.extensions import db
from sms.signatures import SIGNATURE_HEADER, sign

AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
PUBLIC_URL = "https://queue.example.gov.eg"
CITIZEN = "+201012345678"


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
    make_branch()
    response = client.post(
        "/api/v1/branches/cairo-civil/tickets",
        json={"service": "id-card", "phone": "01012345678"},
        headers=make_token("kiosk"),
    )
    assert response.status_code == 201
    return response.json


def _post(client, path: str, form: dict[str, str], *, token: str = AUTH_TOKEN, url=None):
    signature = sign(token, url or f"{PUBLIC_URL}{path}", form)
    return client.post(path, data=form, headers={SIGNATURE_HEADER: signature})


_sids = iter(range(10**6))


def reply(client, body: str, *, sid: str | None = None, sender: str = CITIZEN):
    form = {
        "MessageSid": sid or f"SM{next(_sids):032d}",
        "From": sender,
        "To": "+15005550006",
        "Body": body,
    }
    return _post(client, "/sms/twilio/inbound", form)


def _answers() -> list[Message]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(Message).where(Message.event != "issued").order_by(Message.id))
    )


def _status(token: str) -> TicketStatus:
    db.session.expire_all()
    return db.session.scalar(select(Ticket.status).where(Ticket.token == token))


@pytest.mark.parametrize("body", ["0", "٠", "cancel", "إلغاء", " الغاء. "])
def test_a_cancel_reply_cancels_the_latest_ticket_and_says_so(client, ticket, body):
    response = reply(client, body)
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert "<Response></Response>" in response.text
    assert _status(ticket["token"]) == TicketStatus.CANCELLED
    (answer,) = _answers()
    assert answer.to == CITIZEN
    assert "تم إلغاء حجزك" in answer.body  # the ticket was taken in Arabic


def test_an_english_ticket_is_answered_in_english(client, make_branch, make_token):
    make_branch()
    client.post(
        "/api/v1/branches/cairo-civil/tickets",
        json={"service": "id-card", "phone": "01012345678", "locale": "en"},
        headers=make_token("kiosk"),
    )
    reply(client, "CANCEL")
    (answer,) = _answers()
    assert answer.body.startswith("Your booking is cancelled")


@pytest.mark.parametrize("body", ["1", "١", "yes", "نعم"])
def test_a_confirm_reply_is_noted_on_the_ticket(client, ticket, body):
    reply(client, body)
    assert _status(ticket["token"]) == TicketStatus.WAITING
    history = client.get(f"/api/v1/tickets/{ticket['token']}").json["history"]
    assert [e["event"] for e in history] == ["issued", "confirmed"]


def test_another_slot_keeps_the_place_and_says_so(client, ticket):
    reply(client, "٢")
    assert _status(ticket["token"]) == TicketStatus.WAITING
    (answer,) = _answers()
    assert "لا يوجد موعد آخر" in answer.body
    assert answer.body.endswith(ticket["token"])


@pytest.mark.parametrize("body", ["what?", "مرحبا", ""])
def test_an_unknown_reply_gets_one_help_message(client, ticket, body):
    reply(client, body)
    (answer,) = _answers()
    assert "أرسل ١ للتأكيد" in answer.body
    assert _status(ticket["token"]) == TicketStatus.WAITING


def test_stop_opts_out_and_only_its_answer_still_goes(client, ticket, clock):
    reply(client, "إيقاف")
    assert db.session.get(OptOut, CITIZEN) is not None
    issued, answer = db.session.scalars(select(Message).order_by(Message.id))
    assert issued.status == MessageStatus.SUPPRESSED  # the ticket SMS was not sent yet
    assert answer.event.startswith(outbox.OPT_OUT_EVENT)
    assert [m.id for m in outbox.claim(db.session, clock.now(), "w", 10)] == [answer.id]
    # START brings messages back.
    reply(client, "START")
    assert db.session.get(OptOut, CITIZEN) is None


def test_the_same_reply_delivered_twice_is_applied_once(client, ticket):
    first = reply(client, "0", sid="SM" + "1" * 32)
    again = reply(client, "0", sid="SM" + "1" * 32)
    assert first.status_code == again.status_code == 200
    assert len(_answers()) == 1
    assert db.session.scalar(select(func.count()).select_from(InboundSms)) == 1


def test_a_reply_without_a_ticket_gets_help(client, ticket):
    reply(client, "0", sender="+966501234567")
    (answer,) = _answers()
    assert answer.to == "+966501234567"
    assert answer.ticket_id is None
    assert _status(ticket["token"]) == TicketStatus.WAITING


@pytest.mark.parametrize(
    "forge",
    [
        {"token": "f" * 32},  # signed with another account's token
        {"url": "https://evil.example/sms/twilio/inbound"},  # signed for another URL
        {"body": "0 "},  # the body changed after signing
        {"header": None},  # no signature at all
    ],
)
def test_a_forged_reply_is_refused_and_changes_nothing(client, ticket, forge):
    form = {"MessageSid": "SM" + "9" * 32, "From": CITIZEN, "Body": "0"}
    signature = sign(
        forge.get("token", AUTH_TOKEN), forge.get("url", f"{PUBLIC_URL}/sms/twilio/inbound"), form
    )
    if "body" in forge:
        form["Body"] = forge["body"]
    headers = {} if "header" in forge else {SIGNATURE_HEADER: signature}
    response = client.post("/sms/twilio/inbound", data=form, headers=headers)
    assert response.status_code == 403
    assert response.json["error"] == "forbidden"
    assert _status(ticket["token"]) == TicketStatus.WAITING
    assert _answers() == []
    assert db.session.scalar(select(func.count()).select_from(InboundSms)) == 0


def test_a_reply_missing_its_sender_is_a_clear_error(client, ticket):
    response = _post(client, "/sms/twilio/inbound", {"MessageSid": "SM1", "Body": "0"})
    assert response.status_code == 422
    assert response.json["fields"] == {"From": ["required"]}
    assert _status(ticket["token"]) == TicketStatus.WAITING


def test_delivery_reports_update_the_message(client, ticket, clock):
    (claimed,) = outbox.claim(db.session, clock.now(), "w", 1)
    outbox.record_sent(db.session, clock.now(), claimed, "w", "SM" + "5" * 32)
    form = {"MessageSid": "SM" + "5" * 32, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert _post(client, "/sms/twilio/status", form).status_code == 204
    db.session.expire_all()
    message = db.session.get(Message, claimed.id)
    assert (message.status, message.error_code) == (MessageStatus.UNDELIVERED, "30003")
    form["MessageStatus"] = "delivered"
    form.pop("ErrorCode")
    _post(client, "/sms/twilio/status", form)
    db.session.expire_all()
    assert db.session.get(Message, claimed.id).status == MessageStatus.DELIVERED


def test_a_forged_delivery_report_changes_nothing(client, ticket, clock):
    (claimed,) = outbox.claim(db.session, clock.now(), "w", 1)
    outbox.record_sent(db.session, clock.now(), claimed, "w", "SM" + "6" * 32)
    form = {"MessageSid": "SM" + "6" * 32, "MessageStatus": "delivered"}
    response = _post(client, "/sms/twilio/status", form, token="0" * 32)
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Message, claimed.id).status == MessageStatus.SENT


def test_a_delivery_report_before_the_send_is_recorded_is_kept_for_it(client, ticket, clock):
    """Twilio may call back before the worker has stored the message's id: the report waits
    for the send to be recorded instead of being lost."""
    from queue_app.models import EarlyDeliveryReport

    (claimed,) = outbox.claim(db.session, clock.now(), "w", 1)
    sid = "SM" + "7" * 32
    form = {"MessageSid": sid, "MessageStatus": "delivered"}
    assert _post(client, "/sms/twilio/status", form).status_code == 204
    db.session.expire_all()
    assert db.session.get(Message, claimed.id).status == MessageStatus.SENDING  # not yet known
    assert db.session.scalar(select(func.count()).select_from(EarlyDeliveryReport)) == 1
    outbox.record_sent_many(db.session, clock.now(), [(claimed, sid)], "w")
    db.session.expire_all()
    message = db.session.get(Message, claimed.id)
    assert (message.status, message.provider_sid) == (MessageStatus.DELIVERED, sid)
    assert db.session.scalar(select(func.count()).select_from(EarlyDeliveryReport)) == 0
