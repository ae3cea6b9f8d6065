"""WhatsApp messages from the outbox, with the real ``twilio`` client against the stand-in on
loopback: a template outside the 24-hour window, free text inside it, and the fallback to SMS
exactly once, also when a worker dies between the two."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from queue_app import outbox, whatsapp
from queue_app.models import InboundSms, Message, MessageStatus
from queue_app.send_rates import RateKey
from queue_app.web.extensions import db
from queue_app.worker.sending import Pace, SmsSender
from sms.gateways import Channel, OutgoingSms, TwilioGateway
from sms.whatsapp import Templates
from tests.sms.conftest import ACCOUNT_SID, AUTH_TOKEN, SENDER
from tests.sms.twilio_server import NOT_ON_WHATSAPP, OUTSIDE_WINDOW, FakeTwilio

CALLBACK = "http://queue.test/sms/twilio/status"
CITIZEN = "+201012345678"
WHATSAPP_SENDER = "+14155238886"
BOOKED_AR = "HX" + "a" * 32
DEFAULT_AR = "HX" + "b" * 32
TEMPLATES = Templates.from_mapping({"booked": {"ar": BOOKED_AR}, "default": {"ar": DEFAULT_AR}})


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    server = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def gateway(twilio: FakeTwilio) -> Iterator[TwilioGateway]:
    made = TwilioGateway(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_=SENDER,
        whatsapp_from=WHATSAPP_SENDER,
        api_base=twilio.url,
        timeout=2.0,
    )
    yield made
    made.close()


def _sender(clock, gateway, templates: Templates = TEMPLATES) -> SmsSender:
    sessions: sessionmaker[Session] = sessionmaker(bind=db.engine, expire_on_commit=False)
    return SmsSender(
        sessions,
        clock,
        gateway,
        rate=1000.0,
        status_callback_url=CALLBACK,
        name="test-worker",
        pace=Pace(1000.0, sleep=lambda s: None, monotonic=lambda: 0.0),
        whatsapp_templates=templates,
    )


def _queue(clock, event: str = "booked", body: str = "موعدك الأحد") -> None:
    outbox.enqueue(
        db.session,
        clock.now(),
        ticket=None,
        event=event,
        to=CITIZEN,
        channel="whatsapp",
        locale="ar",
        body=body,
    )
    db.session.commit()


def _wrote_to_us(clock, channel: str, ago: timedelta) -> None:
    db.session.add(
        InboundSms(
            provider_sid=f"SM{channel}{int(ago.total_seconds())}",
            phone=CITIZEN,
            channel=channel,
            body="1",
            received_at=clock.now() - ago,
            understood_as="confirm",
        )
    )
    db.session.commit()


def _stored() -> Message:
    db.session.expire_all()
    (message,) = db.session.scalars(select(Message))
    return message


def _posts(twilio: FakeTwilio) -> list:
    return [e for e in twilio.exchanges if e.method == "POST"]


def _by_channel(twilio: FakeTwilio) -> tuple[int, int]:
    """Messages Twilio created (took), WhatsApp and SMS."""
    whatsapps = sum(1 for m in twilio.messages if m["to"].startswith("whatsapp:"))
    return whatsapps, len(twilio.messages) - whatsapps


def test_outside_the_window_a_template_of_the_kind(app, clock, twilio, gateway):
    _queue(clock, event="booked")
    _queue(clock, event="turn_near", body="اقترب دورك")
    _wrote_to_us(clock, "whatsapp", timedelta(hours=25))  # the window closed an hour ago
    _wrote_to_us(clock, "sms", timedelta(minutes=5))  # an SMS opens no WhatsApp window
    assert _sender(clock, gateway).run_once().sent == 2
    near, booked = _posts(twilio)  # "your turn is near" first: lane 0 (message_lanes)
    assert (booked.field("To"), booked.field("From")) == (
        f"whatsapp:{CITIZEN}",
        f"whatsapp:{WHATSAPP_SENDER}",
    )
    assert (booked.field("ContentSid"), booked.field("Body")) == (BOOKED_AR, None)
    assert json.loads(booked.field("ContentVariables") or "") == {"1": "موعدك الأحد"}
    assert near.field("ContentSid") == DEFAULT_AR  # no template of its own: the default one
    db.session.expire_all()
    assert {m.status for m in db.session.scalars(select(Message))} == {MessageStatus.SENT}


def test_inside_the_window_free_text(app, clock, twilio, gateway):
    _queue(clock)
    _wrote_to_us(clock, "whatsapp", timedelta(hours=23))
    assert _sender(clock, gateway).run_once().sent == 1
    (sent,) = _posts(twilio)
    assert (sent.field("Body"), sent.field("ContentSid")) == ("موعدك الأحد", None)
    assert sent.field("To") == f"whatsapp:{CITIZEN}"
    assert _stored().channel == "whatsapp"


@pytest.mark.parametrize("failure", [NOT_ON_WHATSAPP, OUTSIDE_WINDOW])
def test_refused_by_whatsapp_it_goes_by_sms_once(app, clock, twilio, gateway, failure):
    _queue(clock)
    twilio.fail_next(failure)
    sender = _sender(clock, gateway)
    twilio.not_on_whatsapp.add(CITIZEN)  # and if it were tried again: refused again
    assert sender.run_once().fell_back == 1
    assert sender.run_once().sent == 1
    clock.advance(days=2)
    assert sender.run_once().claimed == 0
    whatsapp_try, sms = _posts(twilio)
    assert whatsapp_try.field("To") == f"whatsapp:{CITIZEN}"
    assert (sms.field("To"), sms.field("From"), sms.field("Body")) == (
        CITIZEN,
        SENDER,
        "موعدك الأحد",
    )
    assert _by_channel(twilio) == (0, 1)
    stored = _stored()
    assert (stored.channel, stored.status, stored.fallback_reason) == (
        "sms",
        MessageStatus.SENT,
        str(failure.code),
    )
    assert stored.fell_back_at is not None
    assert stored.provider_sid == twilio.messages[0]["sid"]


def test_without_a_template_it_goes_by_sms_without_trying_whatsapp(app, clock, twilio, gateway):
    _queue(clock)
    sender = _sender(clock, gateway, templates=Templates())
    assert sender.run_once().fell_back == 1
    assert sender.run_once().sent == 1
    assert _by_channel(twilio) == (0, 1)
    assert len(_posts(twilio)) == 1
    assert _stored().fallback_reason == "no_template"


def test_failed_after_acceptance_it_goes_by_sms_once(app, clock, twilio, gateway):
    """WhatsApp's refusals mostly come later, as a status callback with the error code."""
    _queue(clock)
    sender = _sender(clock, gateway)
    assert sender.run_once().sent == 1
    whatsapp_sid = _stored().provider_sid
    assert outbox.record_delivery(
        db.session, clock.now(), whatsapp_sid, "undelivered", error_code="63003"
    )
    # Twilio repeats the callback: the message fell back already, nothing more happens.
    assert not outbox.record_delivery(
        db.session, clock.now(), whatsapp_sid, "failed", error_code="63003"
    )
    assert sender.run_once().sent == 1
    assert sender.run_once().claimed == 0
    assert _by_channel(twilio) == (1, 1)
    stored = _stored()
    assert (stored.channel, stored.whatsapp_sid, stored.fallback_reason) == (
        "sms",
        whatsapp_sid,
        "63003",
    )
    # The SMS's own callbacks apply to it; an SMS failure never falls back again.
    assert outbox.record_delivery(
        db.session, clock.now(), stored.provider_sid, "undelivered", error_code="63003"
    )
    assert _stored().status == MessageStatus.UNDELIVERED
    assert sender.run_once().claimed == 0


def test_another_failure_does_not_fall_back(app, clock, twilio, gateway):
    _queue(clock)
    _sender(clock, gateway).run_once()
    sid = _stored().provider_sid
    assert outbox.record_delivery(db.session, clock.now(), sid, "undelivered", error_code="30003")
    stored = _stored()
    assert (stored.channel, stored.status, stored.fell_back_at) == (
        "whatsapp",
        MessageStatus.UNDELIVERED,
        None,
    )


def test_a_worker_dead_before_recording_the_refusal(app, clock, twilio, gateway):
    """Died after WhatsApp refused, before the fallback was written: the next worker finds no
    WhatsApp message at Twilio, tries again, and falls back; one SMS in all."""
    _queue(clock)
    (claimed,) = outbox.claim(db.session, clock.now(), "dead-worker", 1)
    twilio.not_on_whatsapp.add(CITIZEN)
    dead = gateway.send(OutgoingSms(to=claimed.to, body=claimed.body, channel=Channel.WHATSAPP))
    assert dead.falls_back
    clock.advance(minutes=5)  # past the lease
    sender = _sender(clock, gateway)
    report = sender.run_once()
    assert (report.resent, report.fell_back) == (1, 1)
    assert sender.run_once().sent == 1
    assert sender.run_once().claimed == 0
    assert _by_channel(twilio) == (0, 1)
    assert _stored().channel == "sms"


def test_a_worker_dead_after_sending_the_sms(app, clock, twilio, gateway):
    """Died after the fallback's SMS went, before recording it: found at Twilio, not resent."""
    _queue(clock)
    twilio.fail_next(NOT_ON_WHATSAPP)
    assert _sender(clock, gateway).run_once().fell_back == 1
    (claimed,) = outbox.claim(db.session, clock.now(), "dead-worker", 1)
    assert claimed.channel == "sms"
    assert gateway.send(OutgoingSms(to=claimed.to, body=claimed.body)).ok
    clock.advance(minutes=5)
    report = _sender(clock, gateway).run_once()
    assert (report.found_sent, report.resent, report.sent) == (1, 0, 0)
    assert _by_channel(twilio) == (0, 1)
    stored = _stored()
    assert (stored.status, stored.channel, stored.reconciled) == (
        MessageStatus.SENT,
        "sms",
        "found_sent",
    )


def test_a_message_falls_back_once_and_never_to_both(app, clock, twilio, gateway):
    _queue(clock)
    (claimed,) = outbox.claim(db.session, clock.now(), "w", 1)
    now = clock.now()
    assert whatsapp.fall_back(db.session, now, claimed.id, worker="w", reason="63003", error="x")
    (again,) = outbox.claim(db.session, now, "w", 1)
    assert not whatsapp.fall_back(db.session, now, again.id, worker="w", reason="63003", error="x")
    # The database itself refuses a message that fell back and is WhatsApp again.
    db.session.expire_all()
    stored = db.session.scalar(select(Message))
    stored.channel = "whatsapp"
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_each_channel_spends_its_own_sender_s_budget(app, clock, twilio, gateway):
    for n in range(8):
        for channel in ("sms", "whatsapp"):
            outbox.enqueue(
                db.session,
                clock.now(),
                ticket=None,
                event=f"{channel}-{n}",
                to=f"+20101234{n:04d}",
                channel=channel,
                locale="ar",
                body=f"message {n}",
            )
    db.session.commit()
    sessions: sessionmaker[Session] = sessionmaker(bind=db.engine, expire_on_commit=False)
    sender = SmsSender(
        sessions,
        clock,
        gateway,
        rate=5.0,
        status_callback_url=CALLBACK,
        name="test-worker",
        pace=Pace(5.0, sleep=lambda s: None, monotonic=lambda: 0.0),
        whatsapp_templates=TEMPLATES,
        rate_key=RateKey("sms", SENDER),
        channel_rates={"whatsapp": (RateKey("whatsapp", WHATSAPP_SENDER), 3.0)},
    )
    assert sender.run_once().sent == 5 + 3  # one second's worth of each sender
    assert _by_channel(twilio) == (3, 5)
    assert sender.run_once().sent == 0  # both buckets empty until the clock moves
    clock.advance(seconds=1)
    assert sender.run_once().sent == 3 + 3
    assert _by_channel(twilio) == (6, 8)


def _early_reports() -> int:
    from sqlalchemy import func

    from queue_app.models import EarlyDeliveryReport

    return db.session.scalar(select(func.count()).select_from(EarlyDeliveryReport)) or 0


@pytest.mark.parametrize("record", ["batch", "one", "reconciled"])
def test_a_refusal_reported_before_the_send_is_recorded_still_falls_back(
    app, clock, twilio, gateway, record
):
    """Twilio's failed callback can come within a second, before the worker has stored the
    message's id: it is kept and applied when the send is recorded (by the worker's batch, one
    by one, or by crash recovery), so the message still goes by SMS, once."""
    _queue(clock)
    (claimed,) = outbox.claim(db.session, clock.now(), "test-worker", 1)
    sent = gateway.send(
        OutgoingSms(to=claimed.to, body=claimed.body, channel=Channel.WHATSAPP)
    )  # WhatsApp took it: the refusal comes later
    assert sent.ok
    assert sent.sid
    assert not outbox.record_delivery(
        db.session, clock.now(), sent.sid, "failed", error_code="63024"
    )
    assert _early_reports() == 1
    assert _stored().channel == "whatsapp"
    if record == "batch":
        outbox.record_sent_many(db.session, clock.now(), [(claimed, sent.sid)], "test-worker")
    elif record == "one":
        assert outbox.record_sent(db.session, clock.now(), claimed, "test-worker", sent.sid)
    else:
        assert outbox.record_found_sent(db.session, clock.now(), claimed, "test-worker", sent.sid)
    stored = _stored()
    assert (stored.channel, stored.status, stored.fallback_reason, stored.whatsapp_sid) == (
        "sms",
        MessageStatus.QUEUED,
        "63024",
        sent.sid,
    )
    assert _early_reports() == 0
    sender = _sender(clock, gateway)
    assert sender.run_once().sent == 1
    assert sender.run_once().claimed == 0
    assert _by_channel(twilio) == (1, 1)  # the WhatsApp try, and one SMS


def test_an_early_report_is_applied_once_and_an_unclaimed_one_is_dropped(
    app, clock, twilio, gateway
):
    from queue_app.worker.housekeeping import housekeeping_once

    _queue(clock)
    (claimed,) = outbox.claim(db.session, clock.now(), "test-worker", 1)
    outbox.record_delivery(db.session, clock.now(), "SM" + "1" * 32, "delivered")
    outbox.record_delivery(db.session, clock.now(), "SM" + "2" * 32, "sending")  # not kept
    outbox.record_sent_many(db.session, clock.now(), [(claimed, "SM" + "1" * 32)], "test-worker")
    assert _stored().status == MessageStatus.DELIVERED
    assert outbox.apply_early_reports(db.session, clock.now(), ["SM" + "1" * 32]) == 0
    # A report of a message that is never recorded (not one of ours) goes after a day.
    outbox.record_delivery(db.session, clock.now(), "SM" + "3" * 32, "failed", error_code="63003")
    assert _early_reports() == 1
    clock.advance(hours=23)
    assert housekeeping_once(db.session, clock)["early_delivery_reports"] == 0
    clock.advance(hours=2)
    assert housekeeping_once(db.session, clock)["early_delivery_reports"] == 1
    assert _early_reports() == 0
